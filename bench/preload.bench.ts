/**
 * `npm run bench:preload` (not a test): the cost of the preload on a trivial node:http server, on loopback.
 *
 * Six ways of running bench/support/preload-server.cjs: no instrumentation, `--import otel-contracts/register`
 * (all collectors, scrape on a free port), the same with only the http collector (what the peer below does),
 * the same per-request HTTP metrics written on `@prometheus-io/client` (support/prom-io-preload.ts), the floor
 * of any such subscriber (both node:http channels subscribed and each request timed, nothing recorded:
 * support/channels-only-preload.cjs), and
 * `--import @opentelemetry/auto-instrumentations-node/register` with a Prometheus metrics exporter (traces and
 * logs off, no cloud resource detectors). For each, autocannon
 * runs a warm-up, then a bounded measurement; then start-up time added by each preload is the median wall time
 * of `node --import X -e "process.exit(0)"` minus that of plain node (Node's compile cache off, our default;
 * also "otel-contracts + cache", with OTEL_CONTRACTS_COMPILE_CACHE=true). Targets:
 * throughput loss ≤ 5 %, start-up added ≤ 50 ms. Every child is stopped at the end, also on failure or Ctrl-C.
 * The figures go to bench/results/preload.json and preload.svg (`reportBenchmark`), and from there to the
 * README (`bench/readme.ts`); otel-contracts is `ours` there.
 *
 * The six are interleaved over BENCH_ROUNDS rounds, each round starting one variant later than the one
 * before, and the median of each is printed, with the server's
 * CPU time per request (user+system from /proc/PID/stat over the measured run), which shared-machine noise
 * disturbs less than throughput does. The loss is the median of the per-round losses (each variant against
 * the uninstrumented server of the same round, seconds apart), so that drift between rounds cancels out.
 * The 1-minute load average is printed before and after: on a shared 2-core machine, a busy neighbour
 * moves every figure.
 *
 * Environment: BENCH_DURATION_S (5), BENCH_WARMUP_S (1), BENCH_CONNECTIONS (10), BENCH_ROUNDS (5),
 * BENCH_STARTUP_RUNS (9).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpuSeconds } from '../e2e/support/process-usage.ts';
import { freePort } from '../test/ports.ts';
import { REPO_ROOT } from '../test/processes.ts';
import { startServer, startupMs, type Variant } from './support/preload-procs.ts';
import { reportBenchmark } from './support/results.ts';
import type { Figure } from './support/table.ts';
import { runBench } from './support/run-bench.ts';

/** The variants' names in the results (the README's columns). */
const SHOWN: Readonly<Record<string, string>> = {
  none: 'none',
  'otel-contracts': 'ours',
  'otel-contracts + cache': 'ours + compile cache',
  'otel-contracts, http only': 'ours, http collector only',
  '@prometheus-io/client': '@prometheus-io/client (http metrics only)',
  'channels only': 'both channels, timed, nothing recorded (floor)',
  'upstream auto-instr.': '@opentelemetry/auto-instrumentations-node',
};

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p99: number; average: number };
  errors: number;
  non2xx: number;
}
type Autocannon = (opts: { url: string; connections: number; duration: number; pipelining?: number }) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const DURATION = Number(process.env.BENCH_DURATION_S ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP_S ?? 1);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const STARTUP_RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 9);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SERVER = `${REPO_ROOT}/bench/support/preload-server.cjs`;

async function variants(): Promise<Variant[]> {
  return [
    { name: 'none', flags: [], env: {} },
    {
      name: 'otel-contracts',
      flags: ['--import', 'otel-contracts/register'],
      env: { OTEL_EXPORTER_PROMETHEUS_PORT: '0', OTEL_CONTRACTS_LOG_LEVEL: 'warn' },
    },
    {
      name: 'otel-contracts, http only',
      flags: ['--import', 'otel-contracts/register'],
      env: { OTEL_EXPORTER_PROMETHEUS_PORT: '0', OTEL_CONTRACTS_LOG_LEVEL: 'warn', OTEL_CONTRACTS_COLLECTORS: 'http', OTEL_CONTRACTS_PROCESS_METRICS: 'false' },
    },
    // Its start-up would time this repository's TypeScript sources it is loaded from.
    { name: '@prometheus-io/client', flags: ['--import', `${REPO_ROOT}/bench/support/prom-io-preload.ts`], env: {}, timesStartup: false },
    // The floor does nothing at start-up.
    { name: 'channels only', flags: ['--require', `${REPO_ROOT}/bench/support/channels-only-preload.cjs`], env: {}, timesStartup: false },
    {
      name: 'upstream auto-instr.',
      flags: ['--import', '@opentelemetry/auto-instrumentations-node/register'],
      env: {
        OTEL_METRICS_EXPORTER: 'prometheus',
        OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()),
        OTEL_TRACES_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
        // No cloud detectors: they would query metadata endpoints off this machine.
        OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process,serviceinstance',
        OTEL_LOG_LEVEL: 'error',
      },
    },
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

interface Run {
  reqPerSec: number;
  p99Ms: number;
  cpuUsPerReq: number;
  errors: number;
}

async function throughput(v: Variant): Promise<Run> {
  const { port, server } = await startServer(v, SERVER);
  try {
    const url = `http://127.0.0.1:${port}/users/42`;
    await autocannon({ url, connections: CONNECTIONS, duration: WARMUP });
    const c0 = cpuSeconds(server.pid) * 1000;
    const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION });
    const c1 = cpuSeconds(server.pid) * 1000;
    return { reqPerSec: r.requests.average, p99Ms: r.latency.p99, cpuUsPerReq: ((c1 - c0) * 1000) / Math.max(1, r.requests.total), errors: r.errors + r.non2xx };
  } finally {
    await server.stop('SIGTERM', 3_000);
  }
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];

async function main(): Promise<void> {
  const vs = await variants();
  console.log(`# preload benchmark: node ${process.version}, ${CONNECTIONS} connections, ${WARMUP} s warm-up + ${DURATION} s per run, loopback`);

  console.log(`load average before: ${load()}`);
  const runs = new Map<string, Run[]>(vs.map((v) => [v.name, []]));
  // Each round starts one variant later, so that a machine slowing down within a round weighs on every variant alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < vs.length; i++) {
      const v = vs[(round + i) % vs.length] as Variant;
      runs.get(v.name)?.push(await throughput(v));
    }
  }
  const med = (name: string, pick: (r: Run) => number) => median((runs.get(name) ?? []).map(pick));
  const noneRps = med('none', (r) => r.reqPerSec);
  const noneRounds = (runs.get('none') ?? []).map((r) => r.reqPerSec);
  /** Per-round losses of a variant against the uninstrumented server of the same round, in %. */
  const lossesOf = (name: string) => (runs.get(name) ?? []).map((r, i) => (1 - r.reqPerSec / (noneRounds[i] as number)) * 100);
  const loss = (name: string) => median(lossesOf(name));
  const noneCpu = med('none', (r) => r.cpuUsPerReq);
  console.log(`\n## Throughput (median of ${ROUNDS} interleaved rounds: req/s, p99 latency ms, server CPU µs per request; loss: median of per-round losses vs none, target ≤ 5 %)`);
  for (const v of vs) {
    const rps = med(v.name, (r) => r.reqPerSec);
    const cpu = med(v.name, (r) => r.cpuUsPerReq);
    const errors = (runs.get(v.name) ?? []).reduce((a, r) => a + r.errors, 0);
    console.log(
      `${v.name.padEnd(22)} ${rps.toFixed(0).padStart(7)} req/s  p99 ${med(v.name, (r) => r.p99Ms).toFixed(0).padStart(4)} ms  ` +
        `ratio x${(rps / noneRps).toFixed(3)}  loss ${loss(v.name).toFixed(1).padStart(5)} %  ` +
        `cpu ${cpu.toFixed(1)} µs/req (+${(cpu - noneCpu).toFixed(1)})${errors ? `  errors ${errors}` : ''}`,
    );
    const perRound = v.name === 'none' ? '' : `; losses ${lossesOf(v.name).map((l) => l.toFixed(1)).join(', ')} %`;
    console.log(`${''.padEnd(22)} rounds: ${(runs.get(v.name) ?? []).map((r) => r.reqPerSec.toFixed(0)).join(', ')} req/s${perRound}`);
  }

  // The default keeps Node's compile cache off; also with it opted in (OTEL_CONTRACTS_COMPILE_CACHE=true).
  const ours = vs.find((v) => v.name === 'otel-contracts') as Variant;
  const cached: Variant = { name: 'otel-contracts + cache', flags: ours.flags, env: { ...ours.env, OTEL_CONTRACTS_COMPILE_CACHE: 'true' } };
  const sv = vs.filter((v) => v.timesStartup !== false).flatMap((v) => (v === ours ? [v, cached] : [v]));
  const startup = new Map<string, number[]>(sv.map((v) => [v.name, []]));
  for (let i = 0; i < STARTUP_RUNS; i++) for (const v of sv) startup.get(v.name)?.push(await startupMs(v));
  const base = median(startup.get('none') ?? []);
  console.log(`\n## Start-up (median of ${STARTUP_RUNS} runs of node [--import X] -e "process.exit(0)"; added vs none, target ≤ 50 ms)`);
  for (const v of sv) {
    const m = median(startup.get(v.name) ?? []);
    console.log(`${v.name.padEnd(24)} ${m.toFixed(0).padStart(5)} ms  added ${(m - base).toFixed(0).padStart(4)} ms`);
  }
  console.log(`\nload average after: ${load()}`);

  const fig = (v: Variant, value: number): Figure => ({ name: SHOWN[v.name] ?? v.name, value });
  const instrumented = vs.filter((v) => v.name !== 'none');
  const startupAdded = sv.filter((v) => v.name !== 'none');
  reportBenchmark('preload', `Preload on a trivial node:http server (median of ${ROUNDS} rounds)`, 'ms', [
    { case: `throughput, ${CONNECTIONS} connections`, unit: 'req/s', higherIsBetter: true, ratioTo: 'none', figures: vs.map((v) => fig(v, med(v.name, (r) => r.reqPerSec))) },
    { case: 'throughput loss vs none (median of per-round losses)', unit: '%', target: { value: 5 }, figures: instrumented.map((v) => fig(v, loss(v.name))) },
    { case: 'server CPU per request', unit: 'µs', ratioTo: 'none', figures: vs.map((v) => fig(v, med(v.name, (r) => r.cpuUsPerReq))) },
    { case: 'start-up added vs none', unit: 'ms', target: { value: 50 }, figures: startupAdded.map((v) => fig(v, median(startup.get(v.name) ?? []) - base)) },
  ]);
}

await runBench('bench:preload', main);
