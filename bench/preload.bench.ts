/**
 * `npm run bench:preload` (not a test): the cost of the preload on a trivial node:http server, on loopback.
 *
 * Three ways of running bench/support/preload-server.cjs: no instrumentation, `--import otel-contracts/register`
 * (all collectors, scrape on a free port), and `--import @opentelemetry/auto-instrumentations-node/register`
 * with a Prometheus metrics exporter (traces and logs off, no cloud resource detectors). For each, autocannon
 * runs a warm-up, then a bounded measurement; then start-up time added by each preload is the median wall time
 * of `node --import X -e "process.exit(0)"` minus that of plain node. Targets (issue 5): throughput loss ≤ 10 %,
 * start-up added ≤ 150 ms. Every child is stopped at the end, also on failure or Ctrl-C.
 *
 * Environment: BENCH_DURATION_S (5), BENCH_WARMUP_S (1), BENCH_CONNECTIONS (10), BENCH_STARTUP_RUNS (9).
 */
import { createRequire } from 'node:module';
import { freePort, startServer, startupMs, stop, stopAll, ROOT, type Variant } from './support/preload-procs.ts';

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
const SERVER = `${ROOT}/bench/support/preload-server.cjs`;

async function variants(): Promise<Variant[]> {
  return [
    { name: 'none', flags: [], env: {} },
    {
      name: 'otel-contracts',
      flags: ['--import', 'otel-contracts/register'],
      env: { OTEL_EXPORTER_PROMETHEUS_PORT: '0', OTEL_CONTRACTS_LOG_LEVEL: 'warn' },
    },
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

async function throughput(v: Variant): Promise<AutocannonResult> {
  const { port, child } = await startServer(v, SERVER);
  try {
    const url = `http://127.0.0.1:${port}/users/42`;
    await autocannon({ url, connections: CONNECTIONS, duration: WARMUP });
    return await autocannon({ url, connections: CONNECTIONS, duration: DURATION });
  } finally {
    await stop(child);
  }
}

async function main(): Promise<void> {
  const vs = await variants();
  console.log(`# preload benchmark: node ${process.version}, ${CONNECTIONS} connections, ${WARMUP} s warm-up + ${DURATION} s per run, loopback`);

  const results = new Map<string, AutocannonResult>();
  for (const v of vs) results.set(v.name, await throughput(v));
  const none = results.get('none') as AutocannonResult;
  console.log('\n## Throughput (req/s average; p99 latency ms; loss vs none, target ≤ 10 %)');
  for (const v of vs) {
    const r = results.get(v.name) as AutocannonResult;
    const loss = (1 - r.requests.average / none.requests.average) * 100;
    const errs = r.errors || r.non2xx ? `  errors ${r.errors} non2xx ${r.non2xx}` : '';
    console.log(
      `${v.name.padEnd(22)} ${r.requests.average.toFixed(0).padStart(7)} req/s  p99 ${String(r.latency.p99).padStart(4)} ms  ` +
        `ratio x${(r.requests.average / none.requests.average).toFixed(3)}  loss ${loss.toFixed(1)} %${errs}`,
    );
  }

  const startup = new Map<string, number[]>(vs.map((v) => [v.name, []]));
  for (let i = 0; i < STARTUP_RUNS; i++) for (const v of vs) startup.get(v.name)?.push(await startupMs(v));
  const base = median(startup.get('none') ?? []);
  console.log(`\n## Start-up (median of ${STARTUP_RUNS} runs of node [--import X] -e "process.exit(0)"; added vs none, target ≤ 150 ms)`);
  for (const v of vs) {
    const m = median(startup.get(v.name) ?? []);
    console.log(`${v.name.padEnd(22)} ${m.toFixed(0).padStart(5)} ms  added ${(m - base).toFixed(0).padStart(4)} ms`);
  }
}

process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
