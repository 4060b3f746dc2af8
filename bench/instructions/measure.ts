import { execFileSync } from 'node:child_process';
import { bundleChild } from './bundle.ts';
import { runChild, type ChildRun } from './callgrind.ts';
import type { HotPath, Implementation } from './hot-path.ts';
import { perOperation, type PerOperation } from './per-op.ts';
import type { MeasuredPath } from './budgets.ts';

/**
 * Counts the instructions per operation of hot paths: one child process per implementation of each path,
 * first natively (about a second in all: a broken implementation fails here, not after minutes), then under
 * callgrind. Shared by `npm run bench:instructions` (every implementation) and the budget test in
 * `npm test` (ours only).
 */

/** One implementation of one path and what its callgrind run gave. */
export interface Measurement {
  readonly path: HotPath;
  readonly impl: Implementation;
  readonly per: PerOperation;
  /** Collections inside the counted segments (0 unless a segment filled the young generation). */
  readonly collections: number;
  /** Wall time of its callgrind run, seconds. */
  readonly seconds: number;
}

/** Options of {@link measurePaths}. */
export interface MeasureOptions {
  /** Which implementations to run (default: all). */
  readonly implementations?: (impl: Implementation) => boolean;
  /** Child processes at a time. */
  readonly jobs: number;
  /** The Node binary of the children: the repository's pinned one. */
  readonly node: string;
  /** Told of each run as it ends: k of total. */
  readonly onDone?: (m: Measurement, k: number, total: number) => void;
}

/** The installed valgrind's version line. @throws Error saying how to install it when it is missing. */
export function valgrindVersion(): string {
  try {
    return execFileSync('valgrind', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('valgrind is not installed: apt-get install -y valgrind (npm run provision installs it)');
  }
}

/**
 * Bundles the child and runs every selected implementation of `paths` natively, then under callgrind,
 * `jobs` at a time; returns the measurements in the order of `paths` and their implementations.
 * @throws Error when valgrind is missing, or with the child's stderr when one fails.
 */
export async function measurePaths(paths: readonly HotPath[], o: MeasureOptions): Promise<Measurement[]> {
  valgrindVersion();
  const jobs = paths.flatMap((path) => path.implementations.filter((impl) => o.implementations?.(impl) ?? true).map((impl) => ({ path, impl })));
  const bundle = await bundleChild();
  try {
    const run = (j: (typeof jobs)[number], native: boolean) => runChild({ node: o.node, entry: bundle.entry, path: j.path.id, implementation: j.impl.name, counts: j.path.counts, warmup: j.path.warmup, native });
    await pool(jobs, o.jobs, (j) => run(j, true));
    let done = 0;
    return await pool(jobs, o.jobs, async (j) => {
      const started = performance.now();
      const r = await run(j, false);
      const m: Measurement = { ...j, per: figuresOf(j.path, r), collections: r.child.collections, seconds: (performance.now() - started) / 1000 };
      o.onDone?.(m, ++done, jobs.length);
      return m;
    });
  } finally {
    bundle.dispose();
  }
}

/** The measurements as table rows: per path, the figure of each implementation measured. */
export function measuredPaths(paths: readonly HotPath[], measurements: readonly Measurement[]): MeasuredPath[] {
  return paths.map((p) => ({
    id: p.id,
    unit: p.unit,
    figures: measurements.filter((m) => m.path === p).map((m) => ({ name: m.impl.name, value: m.per.instructions })),
    ...(p.ratioTo ? { ratioTo: p.ratioTo } : {}),
  }));
}

/** Runs `work` over `items` on `width` workers; results in the order of `items`. */
async function pool<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const k = next++;
      results[k] = await work(items[k] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, width) }, worker));
  return results;
}

function figuresOf(path: HotPath, r: ChildRun): PerOperation {
  const segments = r.child.operations.map((operations, k) => ({ operations, instructions: r.instructions[k] as number, heapBytes: r.child.heapBytes[k] as number }));
  return perOperation(segments, path.unitsPerOperation);
}
