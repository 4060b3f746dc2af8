/**
 * Instructions per operation of each hot path (bench/instructions/paths/), ours beside the peers, counted by
 * callgrind on the repository's pinned Node with V8 made deterministic (`--single-threaded --predictable`):
 * the same run gives the same counts to a few instructions, where time on this shared 2-core machine moves
 * 10-30 %. Each implementation runs in a child process of its own (bench/instructions/child.ts, bundled to
 * plain JavaScript): set-up and warm-up, then a segment of 0 operations (the baseline) and segments of
 * growing operation counts, each cut out by a callgrind dump; per operation = (segment - baseline) / count,
 * the lowest of the counts (they agree to a few instructions; what V8 does once on its own schedule lands
 * in one segment only). Callgrind's instrumentation is off until the child is warm, so the warm-ups cost
 * little. No collection runs inside a segment (a young-generation collection between segments, a 64 MB
 * young generation); the heap bytes each operation allocates are given beside.
 *
 * The figures of our rows are checked against bench/instructions/budgets.json: the run exits 1, saying what
 * exceeded and by how much, when ours grows more than 3 % over its budget, or misses its ratio target
 * without a recorded floor. `npm test` runs the same count of our rows alone and fails on the same 3 %
 * (bench/instructions/budgets-held.test.ts).
 *   npm run bench:instructions                         (all rows, 2 at a time: a few minutes)
 *   npm run bench:instructions -- --only histogram-1,dns-query --jobs 1
 *   npm run bench:instructions -- --write-budgets      (set the budgets to this run's figures; commit with the reason)
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { checkBudgets, loadBudgets, saveBudgets, withMeasured, type Budgets, type MeasuredPath } from './instructions/budgets.ts';
import type { HotPath, Implementation } from './instructions/hot-path.ts';
import { measuredPaths, measurePaths, valgrindVersion, type Measurement } from './instructions/measure.ts';
import { HOT_PATHS } from './instructions/paths/index.ts';
import type { PerOperation } from './instructions/per-op.ts';
import { RESULTS_DIR, reportBenchmark } from './support/results.ts';
import { printRows, type Row } from './support/table.ts';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    jobs: { type: 'string', default: String(Math.min(2, availableParallelism())) },
    'write-budgets': { type: 'boolean', default: false },
  },
});

const METHOD =
  'Counted by `valgrind --tool=callgrind` on the pinned Node (node_modules/.bin/node) with `--single-threaded --predictable` ' +
  '(no background compilation or GC threads, no timing-driven V8 decisions: a count repeats to a few instructions), one child process per ' +
  'implementation: set-up and warm-up (uncounted), then a segment of 0 operations (the baseline) and segments of growing operation counts, ' +
  'each cut out by a callgrind dump at a marker call; per operation = (segment - baseline) / operations, the lowest of the counts (they agree ' +
  'within the spread given in bench/results/instructions.json). No garbage collection runs inside a segment (a young-generation ' +
  'collection between segments, a 64 MB young generation); the heap bytes allocated per operation are in the JSON. In-process, no ' +
  'sockets: the DNS rows on dgram sockets whose sends stay in the process, masque on stand-ins for the HTTP/2 stream and the TUN. ' +
  'Every recording implementation first records once into ten other metrics with other label names, as a process with more than one ' +
  'metric has, so that code shared between metrics runs on the inline caches it has in use, not those of a one-metric process. ' +
  'User space only: system calls and the kernel (the DNS proxy\'s sendmsg, podtrace\'s BPF programs) are not counted. ' +
  '`npm run bench:instructions` checks our rows against bench/instructions/budgets.json (3 % over a budget, or a ratio target missed ' +
  'without a recorded floor, fails the run).';

async function main(): Promise<void> {
  const only = args.only ? new Set(args.only.split(',')) : undefined;
  const paths = HOT_PATHS.filter((p) => !only || only.has(p.id));
  if (only) for (const id of only) if (!HOT_PATHS.some((p) => p.id === id)) throw new Error(`no hot path "${id}"; there are: ${HOT_PATHS.map((p) => p.id).join(', ')}`);
  const committed = loadBudgets();
  const version = valgrindVersion();
  const width = Number(args.jobs);
  const total = paths.reduce((n, p) => n + p.implementations.length, 0);
  console.log(`${version}, Node ${process.version}: ${total} child runs under callgrind, ${width} at a time`);
  const t0 = performance.now();
  const runs = await measurePaths(paths, {
    jobs: width,
    node: process.execPath,
    onDone: (m, k, n) => {
      const gcs = m.collections ? `; ${m.collections} garbage collections inside the segments, counted in the figure` : '';
      const linear = m.per.spread > 0.01 ? ' (not linear: V8 did one-off work inside a segment; the lowest is kept; a longer warm-up may remove it)' : '';
      console.log(`[${k}/${n}] ${m.path.id} / ${m.impl.name}: ${fmtCount(m.per.instructions)} ${m.path.unit}, counts within ${(m.per.spread * 100).toFixed(2)} %${linear}, ${m.per.heapBytes.toFixed(0)} heap bytes allocated per unit (${m.seconds.toFixed(0)} s${gcs})`);
    },
  });
  console.log(`callgrind runs took ${((performance.now() - t0) / 1000).toFixed(0)} s`);

  const measured = measuredPaths(paths, runs);
  // --write-budgets: this run's figures become the budgets, and the run is checked against them.
  const budgets = args['write-budgets'] ? withMeasured(committed, measured) : committed;
  if (args['write-budgets']) saveBudgets(budgets);
  const rows: Row[] = paths.map((p, k) => {
    const target = budgets.paths[p.id]?.target;
    return { case: p.title, unit: p.unit, figures: (measured[k] as MeasuredPath).figures, ...(p.ratioTo ? { ratioTo: p.ratioTo } : {}), ...(target ? { target } : {}) };
  });
  const title = 'Instructions per operation (callgrind, deterministic V8)';
  const findings = checkBudgets(measured, budgets);
  if (only) {
    // A partial run prints its rows and checks their budgets; the results files keep the last full run.
    printRows(title, 'instructions', rows);
  } else {
    const result = reportBenchmark('instructions', title, 'instructions', rows);
    const detailed = {
      ...result,
      method: `${METHOD} ${budgetLine(budgets, findings, paths)}`,
      valgrind: version,
      rows: result.rows.map((row, k) => {
        const p = paths[k] as HotPath;
        const b = budgets.paths[p.id];
        return {
          ...row,
          id: p.id,
          ...(b ? { budget: { ours: b.ours, ceiling: Math.round(b.ours * (1 + budgets.tolerance) * 10) / 10, ...(b.floor ? { floor: b.floor } : {}) } } : {}),
          details: p.implementations.map((impl) => {
            const per = perOf(runs, p, impl);
            return { name: impl.name, byCount: per.byCount, spread: per.spread, heapBytesPerUnit: per.heapBytes, baseline: per.baseline };
          }),
        };
      }),
    };
    writeFileSync(new URL('instructions.json', RESULTS_DIR), `${JSON.stringify(detailed, null, 2)}\n`);
  }

  console.log('\nheap bytes allocated per unit: ' + paths.map((p) => `${p.id}: ${p.implementations.map((i) => `${i.name} ${perOf(runs, p, i).heapBytes.toFixed(0)}`).join(', ')}`).join('; '));
  if (args['write-budgets']) console.log('bench/instructions/budgets.json: ours set to this run\'s figures; commit it saying why');
  for (const f of findings) console.log(`${f.severity === 'fail' ? 'FAILED' : 'note'} ${f.path}: ${f.message}`);
  const failed = findings.filter((f) => f.severity === 'fail');
  if (failed.length) {
    console.error(`${failed.length} row${failed.length === 1 ? '' : 's'} failed against bench/instructions/budgets.json`);
    process.exitCode = 1;
  } else {
    console.log(`every budget and target held (${paths.length} rows, tolerance ${budgets.tolerance * 100} %)`);
  }
}

function perOf(runs: readonly Measurement[], path: HotPath, impl: Implementation): PerOperation {
  const m = runs.find((r) => r.path === path && r.impl === impl);
  if (!m) throw new Error(`no run of ${path.id} / ${impl.name}`);
  return m.per;
}

function fmtCount(x: number): string {
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

/** The budgets' verdict, for the README under the table. */
function budgetLine(budgets: Budgets, findings: readonly { severity: string; path: string }[], paths: readonly HotPath[]): string {
  const failed = findings.filter((f) => f.severity === 'fail').map((f) => f.path);
  const floors = paths.filter((p) => budgets.paths[p.id]?.floor).map((p) => p.id);
  const held = failed.length === 0 ? 'every budget and target held in this run' : `failed in this run: ${[...new Set(failed)].join(', ')}`;
  return `Budgets: ${held}${floors.length ? `; targets not met, with their floor recorded: ${floors.join(', ')}` : ''}.`;
}

await main().catch((e: unknown) => {
  console.error(`bench:instructions failed: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 1;
});
