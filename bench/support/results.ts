import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { renderChart } from './chart.ts';
import { meetsTarget, printRows, referenceOf, targetValueOf, type Row } from './table.ts';

/** Where `npm run bench` writes `<id>.json` and `<id>.svg`. */
export const RESULTS_DIR = new URL('../results/', import.meta.url);

/** One benchmark's figures as written to `bench/results/<id>.json` (read back by `bench/readme.ts`). */
export interface BenchResult {
  /** File stem: `recording`, `render`, `memory`, `dns`, `preload`, `ops-proxy`, `masque`. */
  readonly id: string;
  readonly title: string;
  /** Unit of every figure (`ns per call`, `ms`, `bytes per series`), except in rows that give their own. */
  readonly unit: string;
  /** ISO time of the run, Node version and the 1/5/15-minute load averages when it ended. */
  readonly date: string;
  readonly node: string;
  readonly loadAverage: readonly number[];
  /** Each row with its reference figure (null when the row has none: no ratios), target value and verdict. */
  readonly rows: readonly (Row & { readonly reference: number | null; readonly targetValue?: number; readonly met?: boolean })[];
}

/**
 * Prints the rows (see `printRows`), then writes them as `bench/results/<id>.json` and one chart,
 * `bench/results/<id>.svg` (bars per peer, the target as a line).
 * @throws the file system's error when the results directory cannot be written.
 */
export function reportBenchmark(id: string, title: string, unit: string, rows: readonly Row[]): BenchResult {
  printRows(title, unit, rows);
  const result: BenchResult = {
    id,
    title,
    unit,
    date: new Date().toISOString(),
    node: process.version,
    loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
    rows: rows.map((r) => {
      const targetValue = targetValueOf(r);
      const met = meetsTarget(r);
      const reference = referenceOf(r);
      return { ...r, reference: Number.isFinite(reference) ? reference : null, ...(targetValue !== undefined ? { targetValue } : {}), ...(met !== undefined ? { met } : {}) };
    }),
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(new URL(`${id}.json`, RESULTS_DIR), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(new URL(`${id}.svg`, RESULTS_DIR), renderChart(result));
  return result;
}
