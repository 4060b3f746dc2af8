/**
 * The program callgrind runs: one implementation of one hot path (see hot-path.ts), through this protocol:
 *
 *   set-up, warm-up, full GC, warm-up again     callgrind's instrumentation off (about 10x faster): nothing counted
 *   print READY_TAG, wait for a line on stdin   the parent turns instrumentation on (callgrind_control -i on)
 *   for n of [0, ...counts]:
 *     young-generation GC, read the heap       ─┐ segments between markers; at each marker callgrind
 *     mark()                                    │ writes what it counted since the previous one
 *     n operations                              │ (the segment of n = 0 is the baseline)
 *     mark()                                   ─┘
 *     read the heap
 *
 * so callgrind's dump parts 2, 4, 6, ... are the counted segments. V8 runs with `--single-threaded
 * --predictable` (no background compilation or GC threads, no timing-driven decisions), `--expose-gc` and
 * a young generation large enough (see `V8_FLAGS`) that no collection happens inside a segment; a full
 * collection would deoptimise code that embeds objects it frees, so there is one only before the second
 * warm-up, which compiles again whatever it deoptimised. The figures are the operation's own instructions;
 * its allocations are given apart, in heap bytes. The result goes to stdout as one line
 * `RESULT_TAG <json>` ({@link ChildResult}).
 *   node bench/instructions/child.ts <path id> <implementation> <count,count,...> <warm-up>   (or its bundle; press Enter at READY)
 */
import { readSync } from 'node:fs';
import { GCProfiler } from 'node:v8';
import { mark } from './marker.ts';
import { HOT_PATHS } from './paths/index.ts';
import type { Operation } from './hot-path.ts';

/** Prefix of the child's result line on stdout. */
export const RESULT_TAG = 'instructions-child-result';
/** The line the child prints once warm, before it waits for a line on stdin. */
export const READY_TAG = 'instructions-child-ready';

/** V8 flags of every child run (with or without callgrind): deterministic V8, no GC inside segments. */
export const V8_FLAGS = ['--single-threaded', '--predictable', '--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64'];

/** What a child reports besides callgrind's counts. */
export interface ChildResult {
  readonly path: string;
  readonly implementation: string;
  /** Operations of each segment, baseline first, in the order run. */
  readonly operations: readonly number[];
  /** Heap bytes allocated during each segment (the heap after it minus before; no collection ran between). */
  readonly heapBytes: readonly number[];
  /** Collections during the segments, apart from the young-generation ones forced between them: 0 unless a segment filled the heap. */
  readonly collections: number;
}

type Gc = (o?: { type: 'minor' | 'major' }) => void;

/** Operations per call of the loop function during the warm-up (a segment is one call). */
const WARMUP_CALL = 8;

async function main(argv: readonly string[]): Promise<ChildResult> {
  const [pathId, name, countsArg, warmupArg] = argv;
  const path = HOT_PATHS.find((p) => p.id === pathId);
  const impl = path?.implementations.find((i) => i.name === name);
  if (!path || !impl) throw new Error(`no hot path "${pathId}" with an implementation "${name}"`);
  const counts = (countsArg ?? '').split(',').map(Number);
  const warmup = Number(warmupArg);
  if (counts.some((n) => !Number.isInteger(n) || n <= 0) || !Number.isInteger(warmup) || warmup < 0) throw new Error(`bad counts "${countsArg}" or warm-up "${warmupArg}"`);
  const gc = (globalThis as { gc?: Gc }).gc;
  if (!gc) throw new Error('run with --expose-gc (see V8_FLAGS)');

  const op = await impl.setup();
  // The warm-up runs in short calls of the segments' own loop, so that V8 optimises the loop function
  // too (by its calls, not on-stack replacement) before the first segment calls it.
  const run = async (from: number, n: number) => {
    for (let k = 0; k < n; k += WARMUP_CALL) {
      if (impl.async) await runAsync(op, from + k, Math.min(WARMUP_CALL, n - k));
      else runSync(op, from + k, Math.min(WARMUP_CALL, n - k));
    }
  };
  let i = 0;
  await run(i, warmup);
  i += warmup;
  gc({ type: 'major' });
  await run(i, warmup);
  i += warmup;
  waitForGo();

  const operations = [0, ...counts];
  const heapBytes: number[] = [];
  const profiler = new GCProfiler();
  profiler.start();
  for (const n of operations) {
    gc({ type: 'minor' });
    const before = process.memoryUsage().heapUsed;
    mark();
    if (impl.async) await runAsync(op, i, n);
    else runSync(op, i, n);
    mark();
    heapBytes.push(process.memoryUsage().heapUsed - before);
    i += n;
  }
  const gcs = profiler.stop()?.statistics ?? [];
  return { path: path.id, implementation: impl.name, operations, heapBytes, collections: gcs.length - operations.length };
}

/** Prints {@link READY_TAG} and blocks until a line (or end of input) arrives on stdin. */
function waitForGo(): void {
  process.stdout.write(`${READY_TAG}\n`);
  const b = Buffer.alloc(1);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, b, 0, 1, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw e;
    }
    if (n === 0 || b[0] === 0x0a) return;
  }
}

/** Runs `n` operations from index `from`; one loop for every segment and the warm-up (one call site). */
function runSync(op: Operation, from: number, n: number): void {
  const end = from + n;
  for (let i = from; i < end; i++) (op as (i: number) => void)(i);
}

async function runAsync(op: Operation, from: number, n: number): Promise<void> {
  const end = from + n;
  for (let i = from; i < end; i++) await op(i);
}

if (import.meta.main) {
  try {
    const result = await main(process.argv.slice(2));
    process.stdout.write(`${RESULT_TAG} ${JSON.stringify(result)}\n`);
    process.exit(0);
  } catch (e) {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  }
}
