/**
 * The pg collector against a real PostgreSQL (a throwaway cluster per file): pool gauges exact at each
 * collection, every query timed under its bounded class, the catalog gauges read in the background with
 * their timeout, and a database restart under load survived.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from '../../instrumentation/pipeline.ts';
import { trc } from '../../semconv/generated/trc.ts';
import { readExposition, type SampleLine } from '../../test/exposition.ts';
import { pollUntil } from '../../test/poll.ts';
import { startPostgres, type TestPostgres } from '../../test/postgres.ts';
import { instrumentPgPool, OTHER_QUERY_CLASS, type PgPoolCollector } from './index.ts';

let db: TestPostgres;
beforeAll(async () => {
  db = await startPostgres();
}, 60_000);
afterAll(() => db?.stop());

let pools: pg.Pool[] = [];
let pipelines: Pipeline[] = [];
let collectors: PgPoolCollector[] = [];
afterEach(async () => {
  for (const c of collectors.splice(0)) c.stop();
  await Promise.all(pools.splice(0).map((p) => p.end()));
  await Promise.all(pipelines.splice(0).map((p) => p.shutdown(1000)));
});

function setUp(opts: Parameters<typeof instrumentPgPool>[2] = {}, max = 4) {
  const pool = new pg.Pool({ connectionString: db.url, max });
  pool.on('error', () => undefined); // idle clients cut by the restart test
  pools.push(pool);
  const pipeline = createPipeline({ contracts: [trc], serviceName: 'pg-test', env: { OTEL_CONTRACTS_LOG_LEVEL: 'silent', OTEL_METRICS_EXPORTER: 'prometheus', TRC_NODE_ID: 'n1' } });
  pipelines.push(pipeline);
  const collector = instrumentPgPool(pool, pipeline, opts);
  collectors.push(collector);
  return { pool, pipeline, collector };
}

async function scrape(p: Pipeline): Promise<SampleLine[]> {
  return readExposition(await p.render()).samples;
}
const value = (s: SampleLine[], name: string, labels: Record<string, string> = {}) =>
  s.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;

describe('instrumentPgPool', () => {
  it('exports the pool gauges and the `other` class from the first scrape, then checked-out clients exactly', async () => {
    const { pool, pipeline } = setUp({}, 4);
    let s = await scrape(pipeline);
    expect(value(s, 'trc_db_connections_max')).toBe(4);
    expect(value(s, 'trc_db_connections_in_use')).toBe(0);
    expect(value(s, 'trc_db_query_duration_seconds_count', { query_class: OTHER_QUERY_CLASS })).toBe(0);
    const a = await pool.connect();
    const b = await pool.connect();
    s = await scrape(pipeline);
    expect(value(s, 'trc_db_connections_in_use')).toBe(2);
    a.release();
    s = await scrape(pipeline);
    expect(value(s, 'trc_db_connections_in_use')).toBe(1);
    b.release();
    s = await scrape(pipeline);
    expect(value(s, 'trc_db_connections_in_use')).toBe(0);
  });

  it('times every query under its class (named statements, a function), failed ones too, never raw SQL', async () => {
    const { pool, pipeline } = setUp({ classify: (q) => (q.name === 'app.insert' ? 'app_insert' : /^SELECT now/.test(q.text) ? 'clock' : undefined) });
    await pool.query('CREATE TEMP TABLE IF NOT EXISTS t (id int)');
    for (let i = 0; i < 3; i++) await pool.query({ name: 'app.insert', text: 'SELECT $1::int AS id', values: [i] });
    await pool.query('SELECT now()');
    await expect(pool.query('SELECT * FROM no_such_table')).rejects.toThrow(/no_such_table/);
    const client = await pool.connect();
    await new Promise<void>((resolve, reject) => client.query('SELECT now()', (err) => (err ? reject(err) : resolve())));
    client.release();
    const s = await scrape(pipeline);
    expect(value(s, 'trc_db_query_duration_seconds_count', { query_class: 'app_insert' })).toBe(3);
    expect(value(s, 'trc_db_query_duration_seconds_count', { query_class: 'clock' })).toBe(2);
    // CREATE and the failed SELECT
    expect(value(s, 'trc_db_query_duration_seconds_count', { query_class: OTHER_QUERY_CLASS })).toBe(2);
    expect((value(s, 'trc_db_query_duration_seconds_sum', { query_class: 'clock' }) ?? 0) > 0).toBe(true);
    expect(s.some((x) => x.family === 'trc_db_query_duration_seconds' && /select|table/i.test(x.labels.query_class ?? ''))).toBe(false);
  });

  it('bounds the classes to the registry budget: a classifier leaking SQL gives at most 49 classes plus other', async () => {
    const { pool, pipeline } = setUp({ classify: (q) => q.text });
    for (let i = 0; i < 80; i++) await pool.query(`SELECT ${i} AS n`);
    const s = await scrape(pipeline);
    const classes = new Set(s.filter((x) => x.name === 'trc_db_query_duration_seconds_count').map((x) => x.labels.query_class));
    expect(classes.size).toBe(50);
    expect(value(s, 'trc_db_query_duration_seconds_count', { query_class: OTHER_QUERY_CLASS })).toBe(80 - 49);
  });

  it('reads the catalog gauges in the background: events table rows and size, projection checkpoints', async () => {
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query('DROP TABLE IF EXISTS events; CREATE TABLE events (id bigserial primary key, body text)');
    await setup.query("INSERT INTO events (body) SELECT repeat('x', 100) FROM generate_series(1, 1000); ANALYZE events");
    await setup.end();
    const { pipeline, collector } = setUp({
      catalog: { eventsTable: 'events', checkpointsQuery: "SELECT 'apps' AS projection, 900 AS last_applied_event_id, 100 AS lag_events", minIntervalMs: 0 },
    });
    await scrape(pipeline); // starts the first read
    await collector.idle();
    const s = await scrape(pipeline);
    expect(value(s, 'trc_events_table_rows')).toBe(1000);
    expect(value(s, 'trc_events_table_size_bytes')).toBeGreaterThan(100_000);
    expect(value(s, 'trc_projection_last_applied_event_id', { projection: 'apps' })).toBe(900);
    expect(value(s, 'trc_projection_lag_events', { projection: 'apps' })).toBe(100);
  });

  it('a catalog read that hangs is cut by its timeout, counted as such, never delays a scrape, and the last values stay', async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('DROP TABLE IF EXISTS sleep_for; CREATE TABLE sleep_for (seconds float8); INSERT INTO sleep_for VALUES (0)');
    const failures: string[] = [];
    const { pipeline, collector } = setUp({
      catalog: { checkpointsQuery: "SELECT 'apps' AS projection, 7 AS last_applied_event_id FROM sleep_for WHERE pg_sleep(seconds) IS NOT NULL", timeoutMs: 300, minIntervalMs: 0 },
      onCatalogFailure: (why) => failures.push(why),
    });
    await scrape(pipeline);
    await collector.idle();
    expect(value(await scrape(pipeline), 'trc_projection_last_applied_event_id', { projection: 'apps' })).toBe(7);
    await collector.idle();
    await admin.query('UPDATE sleep_for SET seconds = 3');
    await admin.end();
    const t0 = performance.now();
    const during = await scrape(pipeline); // starts the read that hangs
    expect(performance.now() - t0).toBeLessThan(250);
    expect(value(during, 'trc_projection_last_applied_event_id', { projection: 'apps' })).toBe(7);
    await collector.idle();
    expect(failures).toEqual(['timeout']);
    const after = await scrape(pipeline);
    expect(value(after, 'trc_projection_last_applied_event_id', { projection: 'apps' })).toBe(7);
    expect(value(after, 'otel_contracts_catalog_reads_failed_total', { reason: 'timeout' })).toBe(1);
    expect(value(after, 'otel_contracts_catalog_reads_failed_total', { reason: 'error' })).toBe(0);
  });

  it('survives a database restart under load: queries fail while it is down, the pool recovers', async () => {
    const { pool, pipeline } = setUp({ classify: () => 'ping' }, 2);
    await pool.query('SELECT 1');
    await db.restart();
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => pool.query('SELECT 1')));
    await pollUntil('the pool answers again', () => pool.query('SELECT 1').then(() => true, () => false), (ok) => ok, { timeoutMs: 20_000, intervalMs: 200 });
    const s = await scrape(pipeline);
    const timed = value(s, 'trc_db_query_duration_seconds_count', { query_class: 'ping' }) ?? 0;
    // Every query was timed, failed or not: the first, the five under the restart, the successful probe at least.
    expect(timed).toBeGreaterThanOrEqual(1 + outcomes.length + 1);
    expect(value(s, 'trc_db_connections_in_use')).toBe(0);
  }, 60_000);
});
