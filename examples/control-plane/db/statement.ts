/**
 * The app's SQL statements, each a named prepared statement whose name is its `query_class` in
 * `trc_db_query_duration_seconds` (seed 002 section A, "bounded query class names"): the classifier
 * handed to `instrumentPgPool` reads the name, never the SQL. Every module defines its statements with
 * {@link statement}, so the set of classes is known (and exported with zero counts) before the first query.
 */

/** A named statement: pg prepares it once per connection under `name`. */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

const defined = new Map<string, string>();

/**
 * Defines a statement. Names are `[a-z][a-z0-9_]*` and unique: the same name with other SQL is a bug
 * (pg would refuse it on a connection that already prepared the first).
 * @throws Error for a malformed name or a name defined twice with different SQL.
 */
export function statement(name: string, text: string): Statement {
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(name)) throw new Error(`statement name "${name}": expected [a-z][a-z0-9_]*`);
  const before = defined.get(name);
  if (before !== undefined && before !== text) throw new Error(`statement "${name}" defined twice with different SQL`);
  defined.set(name, text);
  return { name, text };
}

/** Class of `BEGIN`, `COMMIT`, `ROLLBACK` and savepoints. */
export const TRANSACTION_CLASS = 'transaction';
/** Class of the collector's catalog reads (table statistics and projection checkpoints). */
export const CATALOG_CLASS = 'catalog';
/** Class of the start-up schema statements. */
export const MIGRATION_CLASS = 'migration';
/** Plain-text statements of transaction control. */
export const TX = { begin: 'BEGIN', commit: 'COMMIT', rollback: 'ROLLBACK' } as const;

/** Every class the app's queries are timed under: the defined statements, transaction control, the catalog reads, the migration. */
export function queryClasses(): string[] {
  return [...defined.keys(), TRANSACTION_CLASS, CATALOG_CLASS, MIGRATION_CLASS];
}

/**
 * The classifier for `instrumentPgPool`: a named statement's name; `transaction` for transaction control;
 * the class `texts` gives an unnamed statement's exact text (the checkpoint query: `catalog`; the schema's
 * statements: `migration`); `catalog` for the collector's table-statistics read; anything else `other`.
 */
export function classifyQuery(texts: ReadonlyMap<string, string>): (q: { text: string; name?: string }) => string | undefined {
  return (q) => {
    if (q.name !== undefined) return defined.has(q.name) ? q.name : undefined;
    if (/^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b/i.test(q.text)) return TRANSACTION_CLASS;
    return texts.get(q.text) ?? (/\bpg_total_relation_size\b/.test(q.text) ? CATALOG_CLASS : undefined);
  };
}
