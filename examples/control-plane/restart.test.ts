/**
 * The database restarted under load, with the real app under the preload: commands answered while it is
 * down fail with 503 and are counted `result=failure` (each request counted exactly once), the pool
 * replaces its dead connections, the worker catches up, and the process never crashes.
 */
import { expect, it } from 'vitest';
import { find, scrapeUntil } from '../../test/exposition.ts';
import { delay, pollUntil } from '../../test/poll.ts';
import type { TestPostgres } from '../../test/postgres.ts';
import { useAppOnDatabase } from './testing/app-on-database.ts';
import { call, deltas, demoToken, samples, sql, type RunningControlPlane } from './testing/harness.ts';

let db: TestPostgres;
let cp: RunningControlPlane;
useAppOnDatabase((running) => ({ db, cp } = running));

/** Bounds of each load loop: requests, and the pause after a failed one (pacing, not synchronisation). */
const MAX_REQUESTS = 1500;
const PAUSE_AFTER_FAILURE_MS = 20;

it('commands fail (503, result=failure) while the database restarts, every request is counted once, and the pool and worker recover', async () => {
  const token = await demoToken(cp.base);
  for (const app of ['web0', 'web1']) expect((await call(cp.base, '/v1/orgs/acme/apps', { token, json: { name: app } })).status).toBe(201);
  const before = await samples(cp);
  const statuses: number[] = [];
  let stop = false;
  // One loop per app, so the two never race on one stream (that would be a legitimate 409).
  const load = async (app: string) => {
    for (let i = 0; i < MAX_REQUESTS && !stop; i++) {
      const r = await call(cp.base, `/v1/orgs/acme/apps/${app}/deploys`, { token, json: { image: `registry.example/acme/${app}:${i}` } }).catch((e: Error) => ({ status: -1, error: e.message }));
      statuses.push(r.status);
      if (r.status !== 201) await delay(PAUSE_AFTER_FAILURE_MS);
    }
  };
  const loops = [load('web0'), load('web1')];
  try {
    await pollUntil('load under way', async () => statuses.length, (n) => n >= 20, { timeoutMs: 20_000, intervalMs: 50 });
    await db.restart();
    const mark = statuses.length;
    await pollUntil('a command succeeding after the restart', async () => statuses.slice(mark).filter((s) => s === 201).length, (n) => n >= 5, { timeoutMs: 30_000, intervalMs: 100 });
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  const ok = statuses.filter((s) => s === 201).length;
  const failed = statuses.filter((s) => s === 503).length;
  expect(statuses.filter((s) => s !== 201 && s !== 503), 'every answer is 201 or 503: no 500, no connection error').toEqual([]);
  expect(failed).toBeGreaterThan(0);
  expect(cp.app.exitInfo(), cp.app.describe()).toBeNull();

  const d = await deltas(cp, before);
  expect(d('trc_commands_total', { command: 'create_deploy', result: 'success' })).toBe(ok);
  expect(d('trc_commands_total', { command: 'create_deploy', result: 'failure' })).toBe(failed);
  expect(d('trc_command_duration_seconds_count', { command: 'create_deploy' })).toBe(ok + failed);
  expect(d('trc_event_append_total', { result: 'success' })).toBe(ok);
  expect(d('trc_event_append_total', { result: 'failure' })).toBeLessThanOrEqual(failed);
  expect(d('trc_http_requests_total', { path_template: '/v1/orgs/:org/apps/:app/deploys', status: '503' })).toBe(failed);
  // A commit whose answer the restart cut may have landed: at least every acknowledged deploy is stored.
  const stored = Number((await sql(db.url, "SELECT count(*) AS n FROM events WHERE type = 'deploy.created'")).rows[0].n);
  expect(stored).toBeGreaterThanOrEqual(ok);

  // The pool gave every client back, and the worker caught up with the stream.
  const last = Number((await sql(db.url, 'SELECT max(id) AS id FROM events')).rows[0].id);
  const s = await scrapeUntil(cp.metricsUrl, 'no connection in use and both projections at the last event', (x) =>
    find(x, 'trc_db_connections_in_use')[0]?.value === 0 && ['apps', 'deploys'].every((projection) => find(x, 'trc_projection_last_applied_event_id', { projection })[0]?.value === last),
  { timeoutMs: 20_000 });
  expect(find(s, 'trc_db_connections_max')[0]?.value).toBe(10);
  // Tokens are issued again.
  expect((await call(cp.base, '/oauth/token', { basic: 'demo:demo-secret', form: { grant_type: 'client_credentials' } })).status).toBe(200);
}, 90_000);
