/**
 * `npm run bench:agent` (not a test; root, for the tmpfs mounts): how long a scrape of `otel-contracts trc-agent`
 * takes on a node with 16 mounts and 3 caches of 100 000 files each (target: ≤ 20 ms, p50 and p99).
 *
 * Set-up: 16 tmpfs mounts (one also the volume pool) and one tmpfs holding the three caches, each 100 000
 * files in 100 directories (every tenth file 4 KiB, the others empty). The agent runs as its own process
 * (the CLI), as Prometheus would scrape it; the bench scrapes it over HTTP with keep-alive, one request at
 * a time with a pause of 5-25 ms between, and times each from request to the end of the body.
 *
 * Two runs of the agent:
 * - walks running: `--cache-interval 0.05`, so a walk of some cache is in progress at nearly every
 *   scrape (the worst case; by default a round runs every 30 s);
 * - walks idle: `--cache-interval 3600`, after the first round (the cost of the scrape itself).
 *
 * The walks run on a worker thread at nice 19, so a scrape neither walks nor waits for a walk; on two
 * shared cores a scrape can still wait for the CPU. Also timed, in this process: one round of walks of the
 * three caches (median of 3), what the walker thread spends per round and what a scrape that measured the
 * caches itself would take.
 *
 * Printed, and written to bench/results/agent.json and agent.svg (`reportBenchmark`): scrape p50 and p99
 * for both runs (target ≤ 20 ms for both), the max (no target: one scrape in 300 on a shared machine waits
 * for whatever else runs, walks or not; compare the two runs), and the round of walks.
 *
 * Environment: BENCH_SCRAPES (300 per run). Every mount and process is removed at the end, also on failure or Ctrl-C.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { walkTree } from '../components/trc-agent/tree-walk.ts';
import { delay } from '../test/poll.ts';
import { freePort } from '../test/ports.ts';
import { CLI, NODE_BIN, startProcess } from '../test/processes.ts';
import { reportBenchmark } from './support/results.ts';
import { runBench } from './support/run-bench.ts';

const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 300);
const MOUNTS = 16;
const FILES = 100_000;
const DIRS = 100;
const KINDS = ['oci', 'rootdisks', 'tmp'] as const;

const mounted: string[] = [];

function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  mounted.push(dir);
}

function unmountAll(): void {
  for (const dir of mounted.splice(0).reverse()) {
    try {
      execFileSync('umount', [dir]);
    } catch {
      execFileSync('umount', ['-l', dir]);
    }
  }
}

/** `FILES` files under `dir` in `DIRS` directories; every tenth holds 4 KiB. */
function makeCache(dir: string): void {
  const data = Buffer.alloc(4096, 7);
  for (let d = 0; d < DIRS; d++) {
    const sub = join(dir, `d${d}`);
    mkdirSync(sub, { recursive: true });
    for (let i = 0; i < FILES / DIRS; i++) {
      const f = join(sub, `f${i}`);
      if (i % 10 === 0) writeFileSync(f, data);
      else closeSync(openSync(f, 'w'));
    }
  }
}

const quantile = (xs: readonly number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] as number;

/** Starts the agent with `cacheInterval`, scrapes it SCRAPES times, stops it; returns each scrape's time in ms. */
async function scrapeRun(base: string, cacheInterval: string): Promise<number[]> {
  const port = await freePort();
  const args = [CLI, 'trc-agent', '--metrics', `127.0.0.1:${port}`, '--cache-interval', cacheInterval, '--volume-pool', join(base, 'm0')];
  for (let i = 0; i < MOUNTS; i++) args.push('--mount', join(base, `m${i}`));
  for (const k of KINDS) args.push('--cache', `${k}=${join(base, 'caches', k)}`);
  const agent = startProcess(`trc-agent (cache interval ${cacheInterval} s)`, NODE_BIN, args, { OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '10000:10000', OTEL_CONTRACTS_LOG_FORMAT: 'json' });
  await agent.waitForLine(/trc-agent serving/, { stream: 'stderr', timeoutMs: 120_000 });
  const url = `http://127.0.0.1:${port}/metrics`;
  const times: number[] = [];
  for (let i = 0; i < SCRAPES + 10; i++) {
    const t0 = performance.now();
    const res = await fetch(url);
    const body = await res.text();
    const ms = performance.now() - t0;
    if (res.status !== 200 || !body.includes('trc_agent_cache_bytes{kind="tmp"')) throw new Error(`scrape ${i}: HTTP ${res.status}\n${body.slice(0, 300)}`);
    if (i >= 10) times.push(ms); // the first ten warm the connection and the JIT
    await delay(5 + ((i * 7) % 21));
  }
  await agent.stop('SIGTERM', 10_000);
  return times;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:agent mounts tmpfs filesystems and needs root');
  process.once('exit', unmountAll); // also after Ctrl-C, when runBench exits before the finally below
  const base = mkdtempSync(join(tmpdir(), 'trc-agent-bench-'));
  try {
    for (let i = 0; i < MOUNTS; i++) mountTmpfs(join(base, `m${i}`), '1m');
    mountTmpfs(join(base, 'caches'), '1g');
    const t0 = performance.now();
    for (const k of KINDS) makeCache(join(base, 'caches', k));
    console.log(`set-up: ${MOUNTS} mounts, ${KINDS.length} caches of ${FILES} files in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // What one round of walks costs the walker thread (and what a scrape walking the caches itself would take).
    const rounds: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      for (const k of KINDS) await walkTree(join(base, 'caches', k), { sliceMs: Number.POSITIVE_INFINITY });
      rounds.push(performance.now() - t);
    }

    const walking = await scrapeRun(base, '0.05');
    const idle = await scrapeRun(base, '3600');
    const fig = (q: number) => [
      { name: 'walks running', value: quantile(walking, q) },
      { name: 'walks idle', value: quantile(idle, q) },
    ];
    console.log(`\none round of walks (3 caches of ${FILES} files, one thread): ${rounds.map((x) => x.toFixed(0)).join(', ')} ms`);
    reportBenchmark('agent', `trc-agent scrape, ${MOUNTS} mounts and ${KINDS.length} caches of ${FILES} files (${SCRAPES} scrapes per run)`, 'ms', [
      { case: 'scrape p50', target: { value: 20 }, judged: ['walks running', 'walks idle'], figures: fig(0.5) },
      { case: 'scrape p99', target: { value: 20 }, judged: ['walks running', 'walks idle'], figures: fig(0.99) },
      { case: 'scrape max', figures: fig(1) },
      { case: 'round of walks, 3 x 100k files', figures: [{ name: 'walker thread', value: quantile(rounds, 0.5) }] },
    ]);
  } finally {
    unmountAll();
    rmSync(base, { recursive: true, force: true });
  }
}

await runBench('bench:agent', main);
