/**
 * The `query_class` label of `trc_db_query_duration_seconds` (seed 002 section A, "DB and pool"): a
 * bounded class name chosen by the caller, never raw SQL.
 */

/** The class of a query nothing classified, and of every class past the budget. */
export const OTHER_QUERY_CLASS = 'other';

/** What a classifier is given: the statement's text and, for a prepared statement, its name. */
export interface QueryShape {
  readonly text: string;
  readonly name?: string;
}

/**
 * How queries get their class: a function (return `undefined` for `other`), or a map from a prepared
 * statement's name (pg's `{ name, text }` query config) to its class.
 */
export type QueryClassifier = ((query: QueryShape) => string | undefined) | Readonly<Record<string, string>>;

/**
 * A classifier bounded to `budget` classes (the registry's `cardinality_limit` for `query_class`, 50):
 * the first `budget - 1` distinct classes keep their names, every later one and every unclassified or
 * failing query is `other`, so a classifier that leaks raw SQL can never grow the family past its budget.
 */
export function boundedClassifier(classify: QueryClassifier, budget: number): (query: QueryShape) => string {
  const seen = new Set<string>();
  const raw =
    typeof classify === 'function'
      ? (q: QueryShape) => {
          try {
            return classify(q);
          } catch {
            return undefined;
          }
        }
      : (q: QueryShape) => (q.name !== undefined && Object.hasOwn(classify, q.name) ? classify[q.name] : undefined);
  return (q) => {
    const c = raw(q);
    if (typeof c !== 'string' || c === '' || c === OTHER_QUERY_CLASS) return OTHER_QUERY_CLASS;
    if (seen.has(c)) return c;
    if (seen.size >= budget - 1) return OTHER_QUERY_CLASS;
    seen.add(c);
    return c;
  };
}
