import { loadavg } from 'node:os';

/** One measured figure of a benchmark row: a peer's name and its value in the benchmark's unit. */
export interface Figure {
  readonly name: string;
  readonly value: number;
}

/**
 * A row's target: `factor` times the figure of `of` (a peer name, or {@link FASTER_CLIENT} for the faster of
 * the two Prometheus clients), or an absolute `value` in the row's unit. Lower is better for every figure.
 */
export type Target = { readonly of: string; readonly factor: number } | { readonly value: number };

/** One row: a case, its figures, and optionally its target. */
export interface Row {
  readonly case: string;
  readonly figures: readonly Figure[];
  readonly target?: Target;
}

/** The Prometheus client libraries every row is compared with; ratios are to the faster of them. */
export const PROMETHEUS_CLIENTS = ['@prometheus-io/client', 'prom-client'] as const;
/** Names the faster of {@link PROMETHEUS_CLIENTS} in a {@link Target}. */
export const FASTER_CLIENT = 'faster client';

/** The row's reference figure: the lower of the two Prometheus clients' figures (NaN when neither is in the row). */
export function referenceOf(row: Row): number {
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

/** Human text of a target: `<= 0.5x faster client`, `<= otel-sdk`, `<= 10`. */
export function describeTarget(t: Target): string {
  if ('value' in t) return `<= ${fmt(t.value)}`;
  return `<= ${t.factor === 1 ? '' : `${t.factor}x `}${t.of}`;
}

/** True when the row has a target and `ours` (or the named figure) is at or under it. */
export function meetsTarget(row: Row, name = 'ours'): boolean | undefined {
  const target = targetValueOf(row);
  const mine = row.figures.find((f) => f.name === name)?.value;
  return target === undefined || mine === undefined ? undefined : mine <= target;
}

/**
 * Prints a table of figures side by side, each with its ratio to the faster of the two Prometheus clients
 * (the row's reference, see {@link referenceOf}), and the row's target when it has one; lower is better.
 */
export function printRows(title: string, unit: string, rows: readonly Row[]): void {
  console.log(`\n## ${title} (${unit}; ratio = figure / faster Prometheus client, lower is better; load ${loadAverage()})`);
  for (const row of rows) {
    const ref = referenceOf(row);
    const cells = row.figures.map((f) => `${f.name} ${fmt(f.value)} (x${(f.value / ref).toFixed(2)})`);
    const target = row.target ? `   target ${describeTarget(row.target)}: ${meetsTarget(row) ? 'met' : 'NOT met'}` : '';
    console.log(`${row.case.padEnd(36)} ${cells.join('   ')}${target}`);
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
