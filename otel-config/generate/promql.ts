/**
 * PromQL as the generated dashboards and rules use it, read with Prometheus' own grammar
 * (`@prometheus-io/lezer-promql`): Grafana macros expanded, syntax checked, metric names listed, and
 * an alert expression reduced to the query it compares.
 */
import { parser } from '@prometheus-io/lezer-promql';

/** A parsed PromQL expression (lezer syntax tree). */
export type Tree = ReturnType<typeof parser.parse>;
type SyntaxNode = NonNullable<Tree['topNode']['firstChild']>;

/** The range Grafana's `$__rate_interval` stands for when a panel query is sent to Prometheus directly. */
export const RATE_INTERVAL_FOR_PROMETHEUS = '1m';

/**
 * A panel query as Prometheus can run it: `$__rate_interval` becomes {@link RATE_INTERVAL_FOR_PROMETHEUS}
 * and every `$variable` / `${variable}` becomes `.*` (the "All" value the dashboards give each variable).
 */
export function expandGrafanaMacros(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', RATE_INTERVAL_FOR_PROMETHEUS)
    .replace(/\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g, '.*');
}

/**
 * Parses `expr` with the PromQL grammar.
 * @throws Error naming the expression and the offset of the first syntax error.
 */
export function parsePromQL(expr: string): Tree {
  const tree = parser.parse(expr);
  let errorAt = -1;
  tree.iterate({
    enter: (n) => {
      if (errorAt < 0 && n.type.isError) errorAt = n.from;
    },
  });
  if (errorAt >= 0) {
    throw new Error(`invalid PromQL at offset ${errorAt} (near "${expr.slice(errorAt, errorAt + 20)}"): ${expr}\n  -> fix the query in the layout (otel-config/generate/layouts/) or the query builder, then run \`npm run gen:dashboards\``);
  }
  return tree;
}

/** The metric names `expr` selects (`x_bucket`, `x_sum` as written), in order of appearance, without repeats. */
export function metricNames(expr: string): string[] {
  const names: string[] = [];
  parsePromQL(expr).iterate({
    enter: (n) => {
      if (n.name !== 'VectorSelector') return;
      const id = n.node.getChild('Identifier');
      if (id) {
        const name = expr.slice(id.from, id.to);
        if (!names.includes(name)) names.push(name);
      }
    },
  });
  return names;
}

const COMPARISONS = new Set(['Gtr', 'Lss', 'Gte', 'Lte', 'Eql', 'Neq']);

/**
 * The query an alert expression compares, without its threshold: for `Q > 0.1` (any comparison
 * against a number literal at the top of the expression) returns `Q`; any other expression is
 * returned unchanged. An alert that fires only on bad conditions is empty while all is well; its
 * query alone still proves that the series it reads exist.
 */
export function thresholdFree(expr: string): string {
  const root = parsePromQL(expr).topNode.firstChild;
  if (root?.name !== 'BinaryExpr') return expr;
  const children: SyntaxNode[] = [];
  for (let c = root.firstChild; c; c = c.nextSibling) children.push(c);
  const [left, op, right] = children;
  if (children.length === 3 && left && op && right && COMPARISONS.has(op.name) && right.name === 'NumberDurationLiteral') {
    return expr.slice(left.from, left.to).trim();
  }
  return expr;
}

/** One `label="value"` (or `!=`, `=~`, `!~`) matcher of a selector, with the metric it selects. */
export interface LabelMatcher {
  readonly metric: string;
  readonly label: string;
  readonly op: string;
  readonly value: string;
}

/** Every label matcher of every named selector in `expr`. */
export function labelMatchers(expr: string): LabelMatcher[] {
  const out: LabelMatcher[] = [];
  parsePromQL(expr).iterate({
    enter: (n) => {
      if (n.name !== 'VectorSelector') return;
      const id = n.node.getChild('Identifier');
      const list = n.node.getChild('LabelMatchers');
      if (!id || !list) return;
      for (let m = list.firstChild; m; m = m.nextSibling) {
        const label = m.getChild('LabelName');
        const op = m.getChild('MatchOp');
        const value = m.getChild('StringLiteral');
        if (!label || !op || !value) continue;
        out.push({ metric: expr.slice(id.from, id.to), label: expr.slice(label.from, label.to), op: expr.slice(op.from, op.to), value: JSON.parse(expr.slice(value.from, value.to)) as string });
      }
    },
  });
  return out;
}
