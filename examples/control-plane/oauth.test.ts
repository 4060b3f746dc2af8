/**
 * The control plane's token issuance, against real PostgreSQL and the real app under the preload: each
 * grant's answers (RFC 6749 §4.4 and §6, RFC 8628) and the exact counts it adds to
 * `trc_auth_token_mints_total`, `trc_auth_token_refresh_total` and `trc_auth_device_flow_polls_total`.
 */
import { describe, expect, it } from 'vitest';
import type { TestPostgres } from '../../test/postgres.ts';
import { useAppOnDatabase } from './testing/app-on-database.ts';
import { call, deltas, demoToken, DEVICE_GRANT, samples, sql, type RunningControlPlane } from './testing/harness.ts';

let db: TestPostgres;
let cp: RunningControlPlane;
useAppOnDatabase((running) => ({ db, cp } = running), { CONTROL_PLANE_CLIENTS: 'demo:demo-secret,ci:ci-secret-123' });

const token = (form: Record<string, string>, basic = 'demo:demo-secret') => call(cp.base, '/oauth/token', { basic, form });
const poll = (deviceCode: string, basic = 'demo:demo-secret') => token({ grant_type: DEVICE_GRANT, device_code: deviceCode }, basic);
const mints = (grant_type: string, result: string) => ['trc_auth_token_mints_total', { grant_type, result }] as const;

/** Starts a device authorization of the demo client. */
async function deviceCode(): Promise<{ device_code: string; user_code: string }> {
  const r = await call(cp.base, '/oauth/device/code', { basic: 'demo:demo-secret', form: {} });
  expect(r.status).toBe(200);
  return r.body as { device_code: string; user_code: string };
}

describe('client_credentials', () => {
  it('mints an access token without a refresh token (RFC 6749 §4.4.3) for Basic or body credentials; a wrong secret is invalid_client', async () => {
    const before = await samples(cp);
    const basic = await token({ grant_type: 'client_credentials' });
    const body = await call(cp.base, '/oauth/token', { form: { grant_type: 'client_credentials', client_id: 'ci', client_secret: 'ci-secret-123' } });
    const wrong = await token({ grant_type: 'client_credentials' }, 'demo:not-the-secret');
    expect(basic.status).toBe(200);
    expect(basic.body).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    expect(basic.body.refresh_token).toBeUndefined();
    expect(basic.headers.get('cache-control')).toBe('no-store');
    expect(body.status).toBe(200);
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/);
    // The token opens the API.
    expect((await call(cp.base, '/v1/orgs/acme/apps', { token: basic.body.access_token as string })).status).toBe(200);
    const d = await deltas(cp, before);
    expect(d(...mints('client_credentials', 'success'))).toBe(2);
    expect(d(...mints('client_credentials', 'failed'))).toBe(1);
  });

  it('authorization_code is refused as unsupported and counted failed; an unknown grant type is refused and not counted', async () => {
    const before = await samples(cp);
    const code = await token({ grant_type: 'authorization_code', code: 'x' });
    const unknown = await token({ grant_type: 'password', username: 'u', password: 'p' });
    const missing = await token({});
    expect([code.body.error, unknown.body.error, missing.body.error]).toEqual(['unsupported_grant_type', 'unsupported_grant_type', 'invalid_request']);
    const d = await deltas(cp, before);
    expect(d(...mints('authorization_code', 'failed'))).toBe(1);
    expect(d('trc_auth_token_mints_total')).toBe(1);
  });

  it('a malformed JSON body is 400 invalid_request in the OAuth format, under its route template, and mints nothing', async () => {
    const before = await samples(cp);
    const r = await call(cp.base, '/oauth/token', { raw: '{"grant_type": "client_credentials"' });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('invalid_request');
    expect(r.body.error_description).toMatch(/not valid JSON/);
    const d = await deltas(cp, before);
    expect(d('trc_http_requests_total', { method: 'POST', path_template: '/oauth/token', status: '400' })).toBe(1);
    expect(d('trc_auth_token_mints_total')).toBe(0);
  });
});

describe('device code (RFC 8628) and refresh_token', () => {
  it('pending, slow_down, approval, a token with a refresh token, then the spent code; the refresh rotates and a reused one fails', async () => {
    const before = await samples(cp);
    const { device_code, user_code } = await deviceCode();
    expect(user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    const pending = await poll(device_code);
    const tooFast = await poll(device_code);
    expect([pending.status, pending.body.error]).toEqual([400, 'authorization_pending']);
    expect([tooFast.status, tooFast.body.error]).toEqual([400, 'slow_down']);
    const user = await demoToken(cp.base);
    const approved = await call(cp.base, '/oauth/device/approve', { token: user, json: { user_code: user_code.toLowerCase().replace('-', '') } });
    expect(approved.body).toEqual({ user_code, status: 'approved' });
    const minted = await poll(device_code);
    expect(minted.status).toBe(200);
    expect(typeof minted.body.refresh_token).toBe('string');
    const spent = await poll(device_code);
    expect([spent.status, spent.body.error]).toEqual([400, 'invalid_grant']);

    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: minted.body.refresh_token as string });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(minted.body.refresh_token);
    const reused = await token({ grant_type: 'refresh_token', refresh_token: minted.body.refresh_token as string });
    const otherClient = await token({ grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token as string }, 'ci:ci-secret-123');
    expect([reused.body.error, otherClient.body.error]).toEqual(['invalid_grant', 'invalid_grant']);

    const d = await deltas(cp, before);
    expect(d('trc_auth_device_flow_polls_total', { result: 'success' })).toBe(3); // pending, slow_down, the token
    expect(d('trc_auth_device_flow_polls_total', { result: 'failure' })).toBe(1); // the spent code
    expect(d(...mints('device_code', 'success'))).toBe(1);
    expect(d(...mints('device_code', 'failed'))).toBe(1);
    expect(d('trc_auth_token_refresh_total', { result: 'success' })).toBe(1);
    expect(d('trc_auth_token_refresh_total', { result: 'failure' })).toBe(2);
    expect(d(...mints('refresh_token', 'success'))).toBe(1);
    expect(d(...mints('refresh_token', 'failed'))).toBe(2);
  });

  it('denied, expired, unknown and another client\'s codes fail (access_denied, expired_token, invalid_grant) and count as failures', async () => {
    const before = await samples(cp);
    const user = await demoToken(cp.base);
    const denied = await deviceCode();
    expect((await call(cp.base, '/oauth/device/approve', { token: user, json: { user_code: denied.user_code, action: 'deny' } })).body.status).toBe('denied');
    const expired = await deviceCode();
    await sql(db.url, "UPDATE oauth_device_codes SET expires_at = now() - interval '1 second' WHERE user_code = $1", [expired.user_code]);
    const other = await deviceCode();
    const answers = [await poll(denied.device_code), await poll(expired.device_code), await poll('no-such-code'), await poll(other.device_code, 'ci:ci-secret-123')];
    expect(answers.map((a) => [a.status, a.body.error])).toEqual([
      [400, 'access_denied'],
      [400, 'expired_token'],
      [400, 'invalid_grant'],
      [400, 'invalid_grant'],
    ]);
    // Approving an expired or decided code is refused too.
    expect((await call(cp.base, '/oauth/device/approve', { token: user, json: { user_code: expired.user_code } })).status).toBe(404);
    expect((await call(cp.base, '/oauth/device/approve', { json: { user_code: other.user_code } })).status).toBe(401);
    const d = await deltas(cp, before);
    expect(d('trc_auth_device_flow_polls_total', { result: 'failure' })).toBe(4);
    expect(d('trc_auth_device_flow_polls_total', { result: 'success' })).toBe(0);
    expect(d(...mints('device_code', 'failed'))).toBe(4);
    expect(d(...mints('device_code', 'success'))).toBe(0);
  });
});
