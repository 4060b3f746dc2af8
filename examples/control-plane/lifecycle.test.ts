/**
 * The control plane as a process: a clean exit on SIGTERM, one readable line for each configuration
 * mistake, and the API and the projection worker in two processes on one database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runApp } from '../../preload/testing/harness.ts';
import { find, scrapeUntil, type SampleLine } from '../../test/exposition.ts';
import { startPostgres, type TestPostgres } from '../../test/postgres.ts';
import { stopAllProcesses } from '../../test/processes.ts';
import { call, demoToken, MAIN, samples, sql, startControlPlaneApp } from './testing/harness.ts';

let db: TestPostgres;
beforeAll(async () => {
  db = await startPostgres();
}, 60_000);
// Each test stops its own apps: stopAllProcesses() would stop the database too.
afterAll(async () => {
  await stopAllProcesses();
  await db?.stop();
});

describe('lifecycle', () => {
  it('SIGTERM: requests finish, the worker and the pool stop, exit 0', async () => {
    const cp = await startControlPlaneApp(db.url);
    const token = await demoToken(cp.base);
    expect((await call(cp.base, '/v1/orgs/acme/apps', { token, json: { name: 'web' } })).status).toBe(201);
    const exit = await cp.app.stop('SIGTERM', 12_000);
    expect(exit, cp.app.describe()).toEqual({ code: 0, signal: null });
    expect(cp.app.stderr()).toMatch(/"msg":"stopped"/);
    expect(cp.app.stderr()).not.toMatch(/"level":50/);
  });

  it.each([
    [{ DATABASE_URL: undefined }, /control plane did not start: DATABASE_URL is not set/],
    [{ OTEL_CONTRACTS_APP_CONTRACTS: undefined }, /control plane did not start: .*OTEL_CONTRACTS_APP_CONTRACTS=trc:control-plane,trc:projections/],
    [{ CONTROL_PLANE_LISTEN: '8088' }, /control plane did not start: CONTROL_PLANE_LISTEN "8088"/],
    [{ CONTROL_PLANE_CLIENTS: 'demo' }, /control plane did not start: CONTROL_PLANE_CLIENTS entry "demo"/],
    [{ CONTROL_PLANE_ROLE: 'both' }, /control plane did not start: CONTROL_PLANE_ROLE="both"/],
  ])('a configuration mistake (%o) exits 1 with one line naming it', async (env, line) => {
    const app = runApp(MAIN, { DATABASE_URL: db.url, OTEL_CONTRACTS_APP_CONTRACTS: 'trc:control-plane,trc:projections', OTEL_CONTRACTS_COLLECTORS: 'http', CONTROL_PLANE_LISTEN: '127.0.0.1:0', ...env });
    const exit = await app.exited;
    expect(exit.code, app.describe()).toBe(1);
    expect(app.stderr()).toMatch(line);
  });
});

describe('CONTROL_PLANE_ROLE', () => {
  it('api and worker in two processes: the API appends, the worker applies and exports the checkpoints, each its own families', async () => {
    await sql(db.url, 'CREATE DATABASE role_split');
    const url = db.url.replace(/\/postgres$/, '/role_split');
    const api = await startControlPlaneApp(url, { CONTROL_PLANE_ROLE: 'api' });
    const worker = runApp(MAIN, { DATABASE_URL: url, OTEL_CONTRACTS_APP_CONTRACTS: 'trc:control-plane,trc:projections', OTEL_CONTRACTS_COLLECTORS: 'none', OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '1000:1000', CONTROL_PLANE_ROLE: 'worker', CONTROL_PLANE_CATALOG_INTERVAL_MS: '0', CONTROL_PLANE_PROJECTION_POLL_MS: '50' });
    const [ready, startup] = await Promise.all([worker.ready, worker.startup]);
    expect(ready).toEqual({ ready: true, role: 'worker' });
    const token = await demoToken(api.base);
    expect((await call(api.base, '/v1/orgs/roles/apps', { token, json: { name: 'split' } })).status).toBe(201);
    const applied = (x: SampleLine[]) => find(x, 'trc_projection_apply_duration_seconds_count', { projection: 'apps' })[0]?.value === 1 && find(x, 'trc_projection_last_applied_event_id', { projection: 'apps' })[0]?.value === 1;
    const s = await scrapeUntil(startup.scrapeUrl as string, 'the worker applied the event and its checkpoint gauge shows it', applied, { timeoutMs: 15_000 });
    expect(find(s, 'trc_projection_lag_events', { projection: 'apps' }).length).toBe(1);
    expect(find(s, 'trc_commands_total')).toEqual([]);
    expect(find(s, 'trc_events_table_size_bytes')).toEqual([]);
    const a = await samples(api);
    expect(find(a, 'trc_commands_total', { command: 'create_app', result: 'success' })[0]?.value).toBe(1);
    expect(find(a, 'trc_projection_apply_duration_seconds_count')).toEqual([]);
    expect(find(a, 'trc_projection_rebuilds_total', { projection: 'apps' })[0]?.value).toBe(0);
    expect((await Promise.all([api.app.stop(), worker.stop()])).map((e) => e.code)).toEqual([0, 0]);
  }, 60_000);
});
