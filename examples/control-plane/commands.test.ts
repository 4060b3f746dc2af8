/**
 * Commands on the event store, against real PostgreSQL and the real app under the preload: every series
 * known in advance at 0 from the first scrape; each Idempotency-Key case (first use, replay, reuse for
 * another request, concurrent first uses) with its exact counts; refused commands; malformed bodies.
 */
import { describe, expect, it } from 'vitest';
import { find } from '../../test/exposition.ts';
import type { TestPostgres } from '../../test/postgres.ts';
import { useAppOnDatabase } from './testing/app-on-database.ts';
import { call, deltas, demoToken, samples, sql, type RunningControlPlane } from './testing/harness.ts';

let db: TestPostgres;
let cp: RunningControlPlane;
let token: string;
useAppOnDatabase((running) => ({ db, cp } = running));

const APPS = '/v1/orgs/:org/apps';
const DEPLOYS = '/v1/orgs/:org/apps/:app/deploys';
const eventCount = async () => Number((await sql(db.url, 'SELECT count(*) AS n FROM events')).rows[0].n);

describe('series known in advance', () => {
  it('the first scrape has every grant, command, endpoint, projection and result at 0, histograms with zero counts', async () => {
    const s = await samples(cp);
    const value = (name: string, labels: Record<string, string>) => find(s, name, labels).map((x) => x.value);
    for (const grant_type of ['authorization_code', 'client_credentials', 'refresh_token', 'device_code'])
      for (const result of ['success', 'failed']) expect(value('trc_auth_token_mints_total', { grant_type, result }), `${grant_type} ${result}`).toEqual([0]);
    for (const result of ['success', 'failure']) {
      expect(value('trc_auth_token_refresh_total', { result })).toEqual([0]);
      expect(value('trc_auth_device_flow_polls_total', { result })).toEqual([0]);
      expect(value('trc_event_append_total', { result })).toEqual([0]);
      expect(value('trc_event_append_duration_seconds_count', { result })).toEqual([0]);
      for (const command of ['create_app', 'create_deploy', 'scale_app', 'delete_app']) {
        expect(value('trc_commands_total', { command, result })).toEqual([0]);
        expect(value('trc_command_duration_seconds_count', { command, result })).toEqual([0]);
      }
    }
    for (const endpoint of [APPS, DEPLOYS, '/v1/orgs/:org/apps/:app/scale', '/v1/orgs/:org/apps/:app']) {
      expect(value('trc_idempotency_hits_total', { endpoint })).toEqual([0]);
      expect(value('trc_idempotency_conflicts_total', { endpoint })).toEqual([0]);
    }
    for (const projection of ['apps', 'deploys']) {
      expect(value('trc_projection_errors_total', { projection })).toEqual([0]);
      expect(value('trc_projection_rebuilds_total', { projection })).toEqual([0]);
      expect(value('trc_projection_apply_duration_seconds_count', { projection })).toEqual([0]);
    }
    for (const query_class of ['event_append', 'idempotency_claim', 'events_fetch', 'transaction', 'catalog']) expect(find(s, 'trc_db_query_duration_seconds_count', { query_class })).toHaveLength(1);
    expect(value('trc_db_connections_max', {})).toEqual([10]);
  });
});

describe('idempotency', () => {
  it('same key and body: the first answer again (Idempotent-Replayed), one command and one event; keys reordered are the same body', async () => {
    token = await demoToken(cp.base);
    const events = await eventCount();
    const before = await samples(cp);
    const first = await call(cp.base, '/v1/orgs/acme/apps', { token, idempotencyKey: 'create-web', json: { name: 'web', labels: { a: 1, b: 2 } } });
    const again = await call(cp.base, '/v1/orgs/acme/apps', { token, idempotencyKey: 'create-web', raw: '{"labels":{"b":2,"a":1},"name":"web"}' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await eventCount()).toBe(events + 1);
    const d = await deltas(cp, before);
    expect(d('trc_idempotency_hits_total', { endpoint: APPS })).toBe(1);
    expect(d('trc_idempotency_conflicts_total')).toBe(0);
    expect(d('trc_commands_total', { command: 'create_app', result: 'success' })).toBe(1);
    expect(d('trc_commands_total', { result: 'failure' })).toBe(0);
    expect(d('trc_event_append_total', { result: 'success' })).toBe(1);
    expect(d('trc_event_append_duration_seconds_count', { result: 'success' })).toBe(1);
  });

  it('a replayed deploy returns the first deploy id; without a key each request is a new deploy', async () => {
    const before = await samples(cp);
    const a = await call(cp.base, '/v1/orgs/acme/apps/web/deploys', { token, idempotencyKey: 'deploy-1', json: { image: 'registry.example/acme/web:1.0' } });
    const b = await call(cp.base, '/v1/orgs/acme/apps/web/deploys', { token, idempotencyKey: 'deploy-1', json: { image: 'registry.example/acme/web:1.0' } });
    const c = await call(cp.base, '/v1/orgs/acme/apps/web/deploys', { token, json: { image: 'registry.example/acme/web:1.0' } });
    expect([a.status, b.status, c.status]).toEqual([201, 201, 201]);
    expect(b.body.id).toBe(a.body.id);
    expect(c.body.id).not.toBe(a.body.id);
    const d = await deltas(cp, before);
    expect(d('trc_idempotency_hits_total', { endpoint: DEPLOYS })).toBe(1);
    expect(d('trc_commands_total', { command: 'create_deploy', result: 'success' })).toBe(2);
  });

  it('same key, another body (or another endpoint): 409, counted as a conflict, nothing appended', async () => {
    const events = await eventCount();
    const before = await samples(cp);
    const other = await call(cp.base, '/v1/orgs/acme/apps', { token, idempotencyKey: 'create-web', json: { name: 'api' } });
    const elsewhere = await call(cp.base, '/v1/orgs/acme/apps/web/deploys', { token, idempotencyKey: 'create-web', json: { image: 'registry.example/acme/web:2.0' } });
    expect([other.status, other.body.error]).toEqual([409, 'idempotency_key_reused']);
    expect([elsewhere.status, elsewhere.body.error]).toEqual([409, 'idempotency_key_reused']);
    expect(await eventCount()).toBe(events);
    const d = await deltas(cp, before);
    expect(d('trc_idempotency_conflicts_total', { endpoint: APPS })).toBe(1);
    expect(d('trc_idempotency_conflicts_total', { endpoint: DEPLOYS })).toBe(1);
    expect(d('trc_commands_total')).toBe(0);
    expect(d('trc_event_append_total')).toBe(0);
  });

  it('five concurrent first uses of one key: one command runs, four replay its answer', async () => {
    const before = await samples(cp);
    const answers = await Promise.all(Array.from({ length: 5 }, () => call(cp.base, '/v1/orgs/acme/apps/web/deploys', { token, idempotencyKey: 'race', json: { image: 'registry.example/acme/web:3.0' } })));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 201]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    const d = await deltas(cp, before);
    expect(d('trc_commands_total', { command: 'create_deploy', result: 'success' })).toBe(1);
    expect(d('trc_idempotency_hits_total', { endpoint: DEPLOYS })).toBe(4);
    expect(d('trc_event_append_total', { result: 'success' })).toBe(1);
  });

  it('a refused command stores nothing under its key: the retry runs again', async () => {
    const before = await samples(cp);
    const missing = await call(cp.base, '/v1/orgs/acme/apps/nope/deploys', { token, idempotencyKey: 'retry-me', json: { image: 'registry.example/x:1' } });
    await call(cp.base, '/v1/orgs/acme/apps', { token, json: { name: 'nope' } });
    const retried = await call(cp.base, '/v1/orgs/acme/apps/nope/deploys', { token, idempotencyKey: 'retry-me', json: { image: 'registry.example/x:1' } });
    expect([missing.status, missing.body.error]).toEqual([404, 'app_not_found']);
    expect(retried.status).toBe(201);
    const d = await deltas(cp, before);
    expect(d('trc_commands_total', { command: 'create_deploy', result: 'failure' })).toBe(1);
    expect(d('trc_commands_total', { command: 'create_deploy', result: 'success' })).toBe(1);
    expect(d('trc_idempotency_hits_total')).toBe(0);
  });
});

describe('refused and malformed requests', () => {
  it('state and validation refusals are failed commands with no append; a malformed body is 400 and no command; no token is 401', async () => {
    const before = await samples(cp);
    const exists = await call(cp.base, '/v1/orgs/acme/apps', { token, json: { name: 'web' } });
    const badName = await call(cp.base, '/v1/orgs/acme/apps', { token, json: { name: 'Not A Name' } });
    const badCount = await call(cp.base, '/v1/orgs/acme/apps/web/scale', { token, json: { process_type: 'web', count: -1 } });
    const badKey = await call(cp.base, '/v1/orgs/acme/apps', { token, idempotencyKey: 'é', json: { name: 'x' } });
    const malformed = await call(cp.base, '/v1/orgs/acme/apps', { token, raw: '{"name": "web",' });
    const notObject = await call(cp.base, '/v1/orgs/acme/apps', { token, raw: '["web"]' });
    const anonymous = await call(cp.base, '/v1/orgs/acme/apps', { json: { name: 'web' } });
    expect([exists.status, exists.body.error]).toEqual([409, 'app_exists']);
    expect([badName.status, badName.body.error]).toEqual([422, 'invalid_field']);
    expect([badCount.status, badCount.body.error]).toEqual([422, 'invalid_field']);
    expect([malformed.status, malformed.body.error]).toEqual([400, 'invalid_json']);
    expect(malformed.body.message).toMatch(/not valid JSON/);
    expect([notObject.status, notObject.body.error]).toEqual([400, 'invalid_body']);
    expect(anonymous.status).toBe(401);
    const d = await deltas(cp, before);
    expect(d('trc_commands_total', { command: 'create_app', result: 'failure' })).toBe(4); // exists, bad name, bad key, not an object
    expect(d('trc_commands_total', { command: 'scale_app', result: 'failure' })).toBe(1);
    expect(d('trc_commands_total', { result: 'success' })).toBe(0);
    expect(d('trc_event_append_total')).toBe(0);
    expect(d('trc_http_requests_total', { method: 'POST', path_template: APPS, status: '400' })).toBe(3); // bad key, malformed, not an object
    expect(d('trc_http_requests_total', { method: 'POST', path_template: APPS, status: '401' })).toBe(1);
    expect(d('otel_contracts_measurements_dropped_total')).toBe(0);
  });

  it('scale and delete run as commands; a replayed delete answers again; deleting a deleted app is refused', async () => {
    const before = await samples(cp);
    expect((await call(cp.base, '/v1/orgs/acme/apps/web/scale', { token, json: { process_type: 'web', count: 3 } })).status).toBe(200);
    expect((await call(cp.base, '/v1/orgs/acme/apps/nope', { token, method: 'DELETE', idempotencyKey: 'del-nope' })).status).toBe(200);
    expect((await call(cp.base, '/v1/orgs/acme/apps/nope', { token, method: 'DELETE', idempotencyKey: 'del-nope' })).headers.get('idempotent-replayed')).toBe('true');
    expect((await call(cp.base, '/v1/orgs/acme/apps/nope', { token, method: 'DELETE' })).status).toBe(404);
    const d = await deltas(cp, before);
    expect(d('trc_commands_total', { command: 'delete_app', result: 'success' })).toBe(1);
    expect(d('trc_commands_total', { command: 'delete_app', result: 'failure' })).toBe(1);
    expect(d('trc_idempotency_hits_total', { endpoint: '/v1/orgs/:org/apps/:app' })).toBe(1);
    expect(d('trc_commands_total', { command: 'scale_app', result: 'success' })).toBe(1);
  });
});
