/**
 * The projection worker against real PostgreSQL and the real app under the preload: events applied to
 * the read models with their checkpoints and lag (the collector's catalog gauges), a poison event set
 * aside and counted once per projection that cannot apply it, and a rebuild that applies the whole
 * stream again, with exact counts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { find, scrapeUntil, total, type SampleLine } from '../../test/exposition.ts';
import { pollUntil } from '../../test/poll.ts';
import type { TestPostgres } from '../../test/postgres.ts';
import { useAppOnDatabase } from './testing/app-on-database.ts';
import { call, deltas, demoToken, samples, sql, type RunningControlPlane } from './testing/harness.ts';

let db: TestPostgres;
let cp: RunningControlPlane;
let token: string;
useAppOnDatabase((running) => ({ db, cp } = running));
beforeAll(async () => {
  token = await demoToken(cp.base);
});

const lastEventId = async () => Number((await sql(db.url, 'SELECT coalesce(max(id), 0) AS id FROM events')).rows[0].id);
const gauge = (s: SampleLine[], name: string, projection: string) => find(s, name, { projection })[0]?.value;
/** Scrapes until both projections' checkpoint gauges stand at `id` with no lag. */
const caughtUp = (id: number) =>
  scrapeUntil(cp.metricsUrl, `both projections at event ${id} with no lag`, (s) =>
    ['apps', 'deploys'].every((p) => gauge(s, 'trc_projection_last_applied_event_id', p) === id && gauge(s, 'trc_projection_lag_events', p) === 0),
  { timeoutMs: 15_000 });

describe('projection worker', () => {
  it('applies every event once per projection and the checkpoint gauges follow; the read models answer', async () => {
    const before = await samples(cp);
    expect((await call(cp.base, '/v1/orgs/acme/apps', { token, json: { name: 'web' } })).status).toBe(201);
    expect((await call(cp.base, '/v1/orgs/acme/apps/web/deploys', { token, json: { image: 'registry.example/acme/web:1.0' } })).status).toBe(201);
    expect((await call(cp.base, '/v1/orgs/acme/apps/web/scale', { token, json: { process_type: 'worker', count: 2 } })).status).toBe(200);
    const id = await lastEventId();
    expect(id).toBe(3);
    await caughtUp(id);
    const d = await deltas(cp, before);
    expect(d('trc_projection_apply_duration_seconds_count', { projection: 'apps' })).toBe(3);
    expect(d('trc_projection_apply_duration_seconds_count', { projection: 'deploys' })).toBe(3);
    expect(d('trc_projection_errors_total')).toBe(0);
    const app = await call(cp.base, '/v1/orgs/acme/apps/web', { token });
    expect(app.body).toMatchObject({ name: 'web', image: 'registry.example/acme/web:1.0', deploys: 1, processes: { worker: 2 } });
    expect((app.body.latest_deploys as unknown[]).length).toBe(1);
    const s = await samples(cp);
    expect(find(s, 'trc_events_table_size_bytes')[0]?.value).toBeGreaterThan(0);
    expect(find(s, 'trc_events_table_rows')).toHaveLength(1);
  });

  it('a poison event is set aside: one error for the projection that cannot apply it, none for the one that ignores it, and later events still apply', async () => {
    const before = await samples(cp);
    // What an old writer or a hand edit could leave: an app.created whose app is not a string.
    await sql(db.url, "INSERT INTO events (stream_id, version, type, payload) VALUES ('app:acme/bad', 1, 'app.created', '{\"org\":\"acme\",\"app\":42}')");
    expect((await call(cp.base, '/v1/orgs/acme/apps', { token, json: { name: 'api' } })).status).toBe(201);
    await caughtUp(await lastEventId());
    const d = await deltas(cp, before);
    expect(d('trc_projection_errors_total', { projection: 'apps' })).toBe(1);
    expect(d('trc_projection_errors_total', { projection: 'deploys' })).toBe(0);
    expect(d('trc_projection_apply_duration_seconds_count', { projection: 'apps' })).toBe(1); // the api app; the poison event is not an apply
    expect(d('trc_projection_apply_duration_seconds_count', { projection: 'deploys' })).toBe(2);
    const overview = (await call(cp.base, '/admin/projections', { token })).body.projections as { projection: string; dead_letters: number }[];
    expect(overview.map((p) => [p.projection, p.dead_letters])).toEqual([
      ['apps', 1],
      ['deploys', 0],
    ]);
    expect(((await call(cp.base, '/v1/orgs/acme/apps', { token })).body.apps as { name: string }[]).map((a) => a.name)).toEqual(['api', 'web']);
  });

  it('a rebuild empties the read model and applies the whole stream again (meeting the poison event again); an unknown projection is 404', async () => {
    const id = await lastEventId();
    const before = await samples(cp);
    const r = await call(cp.base, '/admin/projections/apps/rebuild', { token, method: 'POST' });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ projection: 'apps', status: 'rebuilding', previous_event_id: id });
    expect((await call(cp.base, '/admin/projections/nope/rebuild', { token, method: 'POST' })).status).toBe(404);
    expect((await call(cp.base, '/admin/projections/apps/rebuild', { method: 'POST' })).status).toBe(401);
    const s = await scrapeUntil(cp.metricsUrl, 'the apps projection re-applied every event', (x) => total(x, 'trc_projection_apply_duration_seconds_count', { projection: 'apps' }) - total(before, 'trc_projection_apply_duration_seconds_count', { projection: 'apps' }) === id - 1, { timeoutMs: 15_000 });
    await caughtUp(id);
    const d = (name: string, labels: Record<string, string>) => total(s, name, labels) - total(before, name, labels);
    expect(d('trc_projection_rebuilds_total', { projection: 'apps' })).toBe(1);
    expect(d('trc_projection_rebuilds_total', { projection: 'deploys' })).toBe(0);
    expect(d('trc_projection_errors_total', { projection: 'apps' })).toBe(1);
    expect(d('trc_projection_apply_duration_seconds_count', { projection: 'deploys' })).toBe(0);
    const apps = await pollUntil('the rebuilt read model', async () => (await call(cp.base, '/v1/orgs/acme/apps', { token })).body.apps as { name: string; deploys: number }[], (a) => a.length === 2, { timeoutMs: 10_000, intervalMs: 100 });
    expect(apps.map((a) => [a.name, a.deploys])).toEqual([
      ['api', 0],
      ['web', 1],
    ]);
  });
});
