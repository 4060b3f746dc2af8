import { loadavg } from 'node:os';

/** One measured figure of a benchmark row: a peer's name and its value in the benchmark's unit. */
export interface Figure {
  readonly name: string;
  readonly value: number;
}

/**
 * A row's target: `factor` times the figure of `of` (a peer name, or {@link FASTER_CLIENT} for the faster of
 * the two Prometheus clients), or an absolute `value` in the row's unit. An upper bound (lower is better),
 * or a lower bound in a row marked `higherIsBetter`.
 */
export type Target = { readonly of: string; readonly factor: number } | { readonly value: number };

/**
 * One row: a case, its figures, and optionally its target. The target applies to the figures named in
 * `judged` (default: `ours`), and the row meets it only when every one of them does.
 * Benchmarks whose peers are not Prometheus clients name the peer their ratios are to in `ratioTo` (the
 * direct path, dnsmasq, no instrumentation); `unit` overrides the benchmark's unit for this row, and
 * `higherIsBetter` marks throughput figures.
 */
export interface Row {
  readonly case: string;
  readonly figures: readonly Figure[];
  readonly target?: Target;
  readonly judged?: readonly string[];
  readonly ratioTo?: string;
  readonly unit?: string;
  readonly higherIsBetter?: boolean;
}

/** The Prometheus client libraries every row is compared with; ratios are to the faster of them. */
export const PROMETHEUS_CLIENTS = ['@prometheus-io/client', 'prom-client'] as const;
/** Names the faster of {@link PROMETHEUS_CLIENTS} in a {@link Target}. */
export const FASTER_CLIENT = 'faster client';

/**
 * The row's reference figure: the figure of the peer named in `ratioTo`, else the lower of the two Prometheus
 * clients' figures (NaN when the row has neither).
 */
export function referenceOf(row: Row): number {
  if (row.ratioTo !== undefined) return row.figures.find((f) => f.name === row.ratioTo)?.value ?? Number.NaN;
  const values = row.figures.filter((f) => (PROMETHEUS_CLIENTS as readonly string[]).includes(f.name)).map((f) => f.value);
  return values.length ? Math.min(...values) : Number.NaN;
}

/** The row's target in its unit, or undefined without one. */
export function targetValueOf(row: Row): number | undefined {
  const t = row.target;
  if (!t) return undefined;
  if ('value' in t) return t.value;
  const base = t.of === FASTER_CLIENT ? referenceOf(row) : row.figures.find((f) => f.name === t.of)?.value;
  return base === undefined ? undefined : base * t.factor;
}

/** Human text of a target: `<= 0.5x faster client`, `<= otel-sdk`, `<= 10`, `>= 1.5x dnsmasq`. */
export function describeTarget(t: Target, higherIsBetter = false): string {
  const op = higherIsBetter ? '>=' : '<=';
  if ('value' in t) return `${op} ${fmt(t.value)}`;
  return `${op} ${t.factor === 1 ? '' : `${t.factor}x `}${t.of}`;
}

/**
 * True when the row has a target and every judged figure (see {@link Row}) is at or under it (at or over it
 * for `higherIsBetter`); undefined without a target or a judged figure.
 */
export function meetsTarget(row: Row): boolean | undefined {
  const target = targetValueOf(row);
  const mine = row.figures.filter((f) => (row.judged ?? ['ours']).includes(f.name)).map((f) => f.value);
  if (target === undefined || mine.length === 0) return undefined;
  return mine.every((v) => (row.higherIsBetter ? v >= target : v <= target));
}

/** `x0.95`-style ratio of a figure to the row's reference, or '' when the row has no reference figure. */
export function ratioText(value: number, reference: number, prefix = 'x'): string {
  return Number.isFinite(reference) && reference !== 0 ? `${prefix}${(value / reference).toFixed(2)}` : '';
}

/** The name of what a row's ratios are to. */
export function referenceName(row: Row): string {
  return row.ratioTo ?? 'the faster Prometheus client';
}

/**
 * Prints a table of figures side by side, each with its ratio to the row's reference (the faster of the two
 * Prometheus clients, or the row's `ratioTo` peer, see {@link referenceOf}), and the row's target when it has
 * one; lower is better unless the row says otherwise.
 */
export function printRows(title: string, unit: string, rows: readonly Row[]): void {
  const refs = [...new Set(rows.filter((r) => Number.isFinite(referenceOf(r))).map(referenceName))].join(' / ') || 'none';
  console.log(`\n## ${title} (${unit}; ratio = figure / ${refs}, lower is better unless marked; load ${loadAverage()})`);
  for (const row of rows) {
    const ref = referenceOf(row);
    const cells = row.figures.map((f) => {
      const r = ratioText(f.value, ref);
      return `${f.name} ${fmt(f.value)}${r ? ` (${r})` : ''}`;
    });
    const target = row.target ? `   target ${describeTarget(row.target, row.higherIsBetter)}: ${meetsTarget(row) ? 'met' : 'NOT met'}` : '';
    const label = `${row.case}${row.unit ? ` (${row.unit}${row.higherIsBetter ? ', higher is better' : ''})` : row.higherIsBetter ? ' (higher is better)' : ''}`;
    console.log(`${label.padEnd(36)} ${cells.join('   ')}${target}`);
  }
}

/** The 1-, 5- and 15-minute load averages, as `0.52 0.81 1.02`. */
export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** A figure with 3 significant-ish digits: 1234, 56.7, 8.912. */
export function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(3);
}

/** Median of a few repetitions of `fn`, which returns one measurement. */
export function median(runs: number, fn: () => number): number {
  const xs = Array.from({ length: runs }, fn).sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)] as number;
}

/** Median async variant. */
export async function medianAsync(runs: number, fn: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(await fn());
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)] as number;
}
