/**
 * `npm run bench:pg` (not a test): the per-query cost of timing PostgreSQL queries, on a real database (a
 * throwaway cluster from test/postgres.ts), in one process and one run:
 * - `none`: `pool.query()` of pg 8 with no instrumentation;
 * - `ours`: the same through a pool given to `instrumentPgPool` (collectors/pg: `Client#query` wrapped,
 *   `trc_db_query_duration_seconds{query_class}` recorded into a pipeline with its scrape reader);
 * - `@opentelemetry/instrumentation-pg` 0.77 with a metrics reader on the bare SDK (its
 *   `db.client.operation.duration` histogram and pool counters; no tracer provider, so its spans are
 *   non-recording, the least it does).
 * Each peer has its own pool of the same size; the OTel instrumentation patches pg's prototypes, so it is
 * enabled only during its own rounds (and the counts each peer recorded are checked: every query of its
 * rounds, none of the others'). The peers are interleaved over ROUNDS rounds, each round starting one peer
 * later; a round is QUERIES prepared `SELECT $1::int` with CONCURRENCY in flight. Per round: this process's
 * CPU time (process.cpuUsage, user + system) and wall time per query; the added cost of a peer is the
 * median over rounds of (its CPU per query − `none`'s in the same round), so drift between rounds cancels.
 * The floor of our wrapper is measured apart, without a database: a client whose `query` resolves at once,
 * bare and instrumented (FLOOR_CALLS calls each), which wall-clock figures on a real database cannot resolve
 * below a few tenths of a µs. Targets: our added CPU per query ≤ the OTel instrumentation's, and ≤ 5 µs.
 * The figures go to bench/results/pg.json and pg.svg (`reportBenchmark`).
 *
 * Environment: BENCH_ROUNDS (15), BENCH_QUERIES (5000 per peer and round), BENCH_CONCURRENCY (4).
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type pgTypes from 'pg';
import { instrumentPgPool, type PgPoolLike } from '../collectors/pg/index.ts';
import { createPipeline, type Pipeline } from '../instrumentation/pipeline.ts';
import { trc } from '../semconv/generated/trc.ts';
import { readExposition } from '../test/exposition.ts';
import { startPostgres } from '../test/postgres.ts';
import { reportBenchmark } from './support/results.ts';
import { runBench } from './support/run-bench.ts';
import type { Figure } from './support/table.ts';

const envInt = (name: string, def: number, max: number) => Math.min(max, Math.max(1, Number(process.env[name]) || def));
const ROUNDS = envInt('BENCH_ROUNDS', 15, 101);
const QUERIES = envInt('BENCH_QUERIES', 5000, 100_000);
const CONCURRENCY = envInt('BENCH_CONCURRENCY', 4, 32);
const FLOOR_CALLS = 200_000;

/** The median of `xs`. */
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const OTEL = '@opentelemetry/instrumentation-pg';
const QUERY = { name: 'bench_select', text: 'SELECT $1::int AS n' };

/** A pull reader on the bare SDK: `collect()` on demand, nothing exported. */
class PullReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

// The OTel instrumentation hooks `require`: it must exist before pg is first loaded, through require.
const otelReader = new PullReader();
const otelProvider = new MeterProvider({ readers: [otelReader] });
const otelPg = new PgInstrumentation();
otelPg.setMeterProvider(otelProvider);
const pg = createRequire(import.meta.url)('pg') as typeof pgTypes;
otelPg.disable();

/** One peer: its pool, and whether the OTel instrumentation is on during its rounds. */
interface Peer {
  readonly name: string;
  readonly pool: pgTypes.Pool;
  readonly otel: boolean;
}

/** One round's figures, per query: CPU µs of this process, wall µs. */
interface Round {
  readonly cpuUs: number;
  readonly wallUs: number;
}

/** Runs QUERIES queries on `peer` with CONCURRENCY in flight. */
async function round(peer: Peer): Promise<Round> {
  if (peer.otel) otelPg.enable();
  try {
    let next = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < QUERIES) await peer.pool.query({ ...QUERY, values: [next++] });
      }),
    );
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    return { cpuUs: (cpu.user + cpu.system) / QUERIES, wallUs: (wall * 1000) / QUERIES };
  } finally {
    if (peer.otel) otelPg.disable();
  }
}

/** Sum of the `count` of every data point of the histogram `name` the OTel reader holds. */
async function otelCount(name: string): Promise<number> {
  const { resourceMetrics, errors } = await otelReader.collect();
  if (errors.length) throw new AggregateError(errors, 'OTel collection failed');
  const points = (rm: ResourceMetrics) =>
    rm.scopeMetrics
      .flatMap((s) => s.metrics)
      .filter((m) => m.descriptor.name === name)
      .flatMap((m) => m.dataPoints as readonly { value: unknown }[]);
  return points(resourceMetrics).reduce((a, p) => a + ((p.value as { count?: number }).count ?? 0), 0);
}

/** Our histogram's count for the bench query class. */
async function ourCount(pipeline: Pipeline): Promise<number> {
  const s = readExposition(await pipeline.render()).samples;
  return s.filter((x) => x.name === 'trc_db_query_duration_seconds_count' && x.labels.query_class === 'bench').reduce((a, x) => a + x.value, 0);
}

/**
 * The floor of our wrapper, without a database: ns of CPU per call of a `query` that resolves at once,
 * bare and wrapped by instrumentPgPool (the same pipeline and classifier), median of 5 passes.
 */
async function wrapperFloor(pipeline: Pipeline): Promise<{ bareNs: number; oursNs: number }> {
  const done = Promise.resolve({ rows: [] });
  const makeClient = () => ({ query: (..._args: unknown[]): unknown => done });
  const bare = makeClient();
  const wrapped = makeClient();
  const fakePool = Object.assign(new EventEmitter(), { totalCount: 0, idleCount: 0, options: { max: 1 }, query: async () => ({ rows: [] }) });
  const collector = instrumentPgPool(fakePool as unknown as PgPoolLike, pipeline, { classify: { [QUERY.name]: 'bench_floor' } });
  fakePool.emit('connect', wrapped);
  const pass = async (client: { query: (...a: unknown[]) => unknown }) => {
    const c0 = process.cpuUsage();
    for (let i = 0; i < FLOOR_CALLS; i++) await client.query({ ...QUERY, values: [i] });
    const c = process.cpuUsage(c0);
    return ((c.user + c.system) * 1000) / FLOOR_CALLS;
  };
  const bareNs: number[] = [];
  const oursNs: number[] = [];
  for (let i = 0; i < 5; i++) {
    bareNs.push(await pass(bare));
    oursNs.push(await pass(wrapped));
  }
  collector.stop();
  return { bareNs: median(bareNs), oursNs: median(oursNs) };
}

async function main(): Promise<void> {
  const db = await startPostgres();
  const pipeline = createPipeline({ contracts: [trc], serviceName: 'bench-pg', env: { OTEL_METRICS_EXPORTER: 'prometheus', OTEL_CONTRACTS_LOG_LEVEL: 'silent' } });
  const pool = () => {
    const p = new pg.Pool({ connectionString: db.url, max: CONCURRENCY });
    p.on('error', () => undefined); // idle clients cut when the database stops at the end
    return p;
  };
  const ours = pool();
  instrumentPgPool(ours, pipeline, { classify: { [QUERY.name]: 'bench' } });
  const peers: Peer[] = [
    { name: 'none', pool: pool(), otel: false },
    { name: 'ours', pool: ours, otel: false },
    { name: OTEL, pool: pool(), otel: true },
  ];
  try {
    console.log(`pg bench: ${ROUNDS} rounds × ${QUERIES} queries per peer, ${CONCURRENCY} in flight, on PostgreSQL at ${db.url}`);
    for (const p of peers) await round(p); // warm-up: connections, prepared statements, JIT
    const base = { ours: await ourCount(pipeline), otel: await otelCount('db.client.operation.duration') };
    const runs = new Map<string, Round[]>(peers.map((p) => [p.name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < peers.length; i++) {
        const p = peers[(r + i) % peers.length] as Peer;
        runs.get(p.name)?.push(await round(p));
      }
    }
    // Each instrumentation saw its own rounds' queries and no other's.
    const oursSeen = (await ourCount(pipeline)) - base.ours;
    const otelSeen = (await otelCount('db.client.operation.duration')) - base.otel;
    if (oursSeen !== ROUNDS * QUERIES || otelSeen !== ROUNDS * QUERIES) throw new Error(`instrumented query counts: ours ${oursSeen}, OTel ${otelSeen}; expected ${ROUNDS * QUERIES} each`);
    const floor = await wrapperFloor(pipeline);
    report(runs, floor);
  } finally {
    await Promise.all(peers.map((p) => p.pool.end()));
    await pipeline.shutdown(500);
    await db.stop();
  }
}

/** Prints and writes the figures. */
function report(runs: Map<string, Round[]>, floor: { bareNs: number; oursNs: number }): void {
  const rounds = (name: string) => runs.get(name) ?? [];
  const med = (name: string, pick: (r: Round) => number) => median(rounds(name).map(pick));
  const added = (name: string) => median(rounds(name).map((r, i) => r.cpuUs - (rounds('none')[i] as Round).cpuUs));
  const names = ['none', 'ours', OTEL];
  const fig = (name: string, value: number): Figure => ({ name, value });
  for (const n of names) console.log(`${n.padEnd(34)} CPU µs/query per round: ${rounds(n).map((r) => r.cpuUs.toFixed(1)).join(' ')}`);
  const floorUs = (floor.oursNs - floor.bareNs) / 1000;
  console.log(`wrapper floor without a database: bare ${floor.bareNs.toFixed(0)} ns, ours ${floor.oursNs.toFixed(0)} ns per call: +${floorUs.toFixed(2)} µs`);
  reportBenchmark('pg', `PostgreSQL query timing on a real database (pool.query, ${CONCURRENCY} in flight; median of ${ROUNDS} rounds)`, 'µs per query', [
    { case: 'CPU per query (this process)', ratioTo: 'none', figures: names.map((n) => fig(n, med(n, (r) => r.cpuUs))) },
    { case: 'wall time per query', ratioTo: 'none', figures: names.map((n) => fig(n, med(n, (r) => r.wallUs))) },
    { case: 'added CPU per query vs none', ratioTo: OTEL, target: { of: OTEL, factor: 1 }, figures: [fig('ours', added('ours')), fig(OTEL, added(OTEL))] },
    { case: 'added CPU per query, ours', target: { value: 5 }, figures: [fig('ours', added('ours'))] },
    { case: 'wrapper alone, no database (floor)', ratioTo: 'none', figures: [fig('none', floor.bareNs / 1000), fig('ours', floor.oursNs / 1000)] },
  ]);
  console.log('targets: our added CPU per query ≤ the OTel instrumentation\'s, and ≤ 5 µs');
}

await runBench('bench:pg', main);
process.exit();
