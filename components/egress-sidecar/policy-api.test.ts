import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthoritative, type Authoritative } from './testing/authoritative.ts';
import { scrape, total } from '../../test/exposition.ts';
import { query, rcodeName, udpQuery } from './testing/dns-client.ts';
import { startSidecar, type TestSidecar } from './testing/harness.ts';
import { MAX_RULES } from './policy.ts';
import { bigPolicy } from './testing/policies.ts';
import { MAX_POLICY_BODY_BYTES } from './policy-server.ts';

// The policy API over real HTTP: auth, strict validation with field names, size cap, a policy of the
// most rules allowed, reset, and the counts it drives (policy_updates_total, policy_rule_count), with
// DNS behaviour following the policy.

const TOKEN = 's3cret-token';
const AUTH = { 'OPENSANDBOX-EGRESS-AUTH': TOKEN };
const INITIAL = { default_action: 'deny', egress: [{ action: 'allow', target: '*.example.test' }] };

let up: Authoritative;
let t: TestSidecar;

beforeAll(async () => {
  up = await startAuthoritative();
  t = await startSidecar([`127.0.0.1:${up.port}`], { OPENSANDBOX_EGRESS_TOKEN: TOKEN, OPENSANDBOX_NETWORK_POLICY: JSON.stringify(INITIAL) });
});

afterAll(async () => {
  await t?.sidecar.close();
  await up?.close();
});

async function post(body: string, headers: Record<string, string> = AUTH): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${t.base}/policy`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function current(): Promise<unknown> {
  const res = await fetch(`${t.base}/policy`, { headers: AUTH });
  expect(res.status).toBe(200);
  return ((await res.json()) as { policy: unknown }).policy;
}

const updates = async () => total((await scrape(t.metricsUrl)).samples, 'opensandbox_egress_policy_updates_total');

describe('egress sidecar: policy API', () => {
  it('requires the OPENSANDBOX-EGRESS-AUTH header when OPENSANDBOX_EGRESS_TOKEN is set', async () => {
    expect((await fetch(`${t.base}/policy`)).status).toBe(401);
    expect((await fetch(`${t.base}/policy`, { headers: { 'OPENSANDBOX-EGRESS-AUTH': 'wrong' } })).status).toBe(401);
    const denied = await post(JSON.stringify({ default_action: 'allow' }), {});
    expect(denied.status).toBe(401);
    expect(String(denied.json.error)).toContain('OPENSANDBOX-EGRESS-AUTH');
    const ok = await fetch(`${t.base}/policy`, { headers: AUTH });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ mode: 'enforcing', enforcementMode: 'dns', policy: INITIAL, alwaysAllowed: [] });
    // /healthz and /metrics need no token.
    expect((await fetch(`${t.base}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.base}/metrics`)).status).toBe(200);
  });

  const bad: [string, string, string][] = [
    ['bad JSON', '{"default_action": "deny",', 'body'],
    ['a non-object body', '[1,2]', 'body'],
    ['a wrong type for default_action', '{"default_action": 1}', 'default_action'],
    ['an unknown default_action', '{"default_action": "block"}', 'default_action'],
    ['egress not an array', '{"egress": {"action": "allow"}}', 'egress'],
    ['a rule that is not an object', '{"egress": ["example.com"]}', 'egress[0]'],
    ['a wrong type for a target', '{"egress": [{"action": "allow", "target": 5}]}', 'egress[0].target'],
    ['an unknown action', '{"egress": [{"action": "block", "target": "a.com"}]}', 'egress[0].action'],
    ['a missing target', '{"egress": [{"action": "allow"}]}', 'egress[0].target'],
    ['an unknown top-level field', '{"default_action": "deny", "mode": "strict"}', 'mode'],
    ['an unknown rule field', '{"egress": [{"action": "allow", "target": "a.com", "port": 443}]}', 'egress[0].port'],
    ['a double wildcard', '{"egress": [{"action": "allow", "target": "*.*.example.com"}]}', 'egress[0].target'],
    ['a bare wildcard', '{"egress": [{"action": "allow", "target": "*"}]}', 'egress[0].target'],
    ['a URL as target', '{"egress": [{"action": "allow", "target": "https://example.com"}]}', 'egress[0].target'],
    ['a space in a target', '{"egress": [{"action": "allow", "target": "exa mple.com"}]}', 'egress[0].target'],
    ['an empty label', '{"egress": [{"action": "allow", "target": "a..example.com"}]}', 'egress[0].target'],
    ['a leading hyphen', '{"egress": [{"action": "allow", "target": "-bad.example.com"}]}', 'egress[0].target'],
    ['a 64-character label', `{"egress": [{"action": "allow", "target": "${'a'.repeat(64)}.com"}]}`, 'egress[0].target'],
    ['the second rule bad', '{"egress": [{"action": "allow", "target": "ok.com"}, {"action": "deny", "target": "no_t@ok"}]}', 'egress[1].target'],
  ];

  it.each(bad)('refuses %s with 400 naming the field, and keeps the policy', async (_what, body, field) => {
    const before = await updates();
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.json.field).toBe(field);
    expect(String(res.json.error)).toContain(field === 'body' ? 'body' : field);
    expect(await current()).toEqual(INITIAL);
    expect(await updates()).toBe(before);
  });

  it(`refuses a body over ${MAX_POLICY_BODY_BYTES} bytes (8 MiB) with 413 without reading it whole, declared or streamed, and keeps the policy`, async () => {
    const before = await updates();
    const big = JSON.stringify({ default_action: 'allow', egress: [] }) + ' '.repeat(MAX_POLICY_BODY_BYTES);
    const declared = await post(big);
    expect(declared.status).toBe(413);
    expect(declared.json.field).toBe('body');
    expect(String(declared.json.error)).toContain(`larger than ${MAX_POLICY_BODY_BYTES} bytes`);
    // Chunked: no Content-Length, the cap applies while streaming.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = request(`${t.base}/policy`, { method: 'POST', headers: { ...AUTH, 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i <= MAX_POLICY_BODY_BYTES / (64 * 1024); i++) req.write(Buffer.alloc(64 * 1024, 0x20));
      req.end();
    });
    expect(streamed).toBe(413);
    expect(await current()).toEqual(INITIAL);
    expect(await updates()).toBe(before);
  });

  it(`applies a policy of ${MAX_RULES} rules: 200, the whole policy in force, its rule count in the scrape, DNS following its last rule`, async () => {
    const before = await updates();
    const next = bigPolicy();
    const body = JSON.stringify(next, null, 2);
    expect(body.length).toBeGreaterThan(519 * 1024); // where the old 64 KiB cap answered 413
    const res = await post(body);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok', mode: 'enforcing', enforcementMode: 'dns' });
    expect(await current()).toEqual(next);
    const m = (await scrape(t.metricsUrl)).samples;
    expect(total(m, 'opensandbox_egress_policy_rule_count', { default_action: 'deny' })).toBe(MAX_RULES);
    expect(total(m, 'opensandbox_egress_policy_rule_count', { default_action: 'allow' })).toBe(0);
    expect(total(m, 'opensandbox_egress_policy_updates_total')).toBe(before + 1);
    // Rule 9998 denies flip.example.test, rule 9999 allows the rest of *.example.test, the default denies others.
    expect(rcodeName(await udpQuery(t.dnsPort, query('flip.example.test')))).toBe('NXDOMAIN');
    expect(rcodeName(await udpQuery(t.dnsPort, query('any.example.test')))).toBe('NOERROR');
    expect(rcodeName(await udpQuery(t.dnsPort, query('outside.test')))).toBe('NXDOMAIN');
    await post(JSON.stringify(INITIAL)); // back to the policy the other tests expect
  });

  it(`refuses a ${MAX_RULES}-rule policy whose last rule is bad, and one of ${MAX_RULES + 1} rules, naming the field, and keeps the policy`, async () => {
    const before = await updates();
    const good = bigPolicy();
    const lastBad = await post(JSON.stringify({ ...good, egress: [...good.egress.slice(0, -1), { action: 'allow', target: '*.*.example.test' }] }));
    expect(lastBad.status).toBe(400);
    expect(lastBad.json.field).toBe(`egress[${MAX_RULES - 1}].target`);
    const tooMany = await post(JSON.stringify({ ...good, egress: [...good.egress, { action: 'allow', target: 'one.more.test' }] }));
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.field).toBe('egress');
    expect(String(tooMany.json.error)).toContain(`more than ${MAX_RULES} rules`);
    expect(await current()).toEqual(INITIAL);
    expect(await updates()).toBe(before);
    expect(rcodeName(await udpQuery(t.dnsPort, query('flip.example.test')))).toBe('NOERROR'); // the old policy decides
  });

  it('applies a valid policy: counted, rule count tracked, DNS follows it; an empty body resets to allow-all', async () => {
    expect(rcodeName(await udpQuery(t.dnsPort, query('a.example.test')))).toBe('NOERROR');
    expect(rcodeName(await udpQuery(t.dnsPort, query('outside.test')))).toBe('NXDOMAIN'); // default deny

    const before = await updates();
    const next = { default_action: 'allow', egress: [{ action: 'deny', target: 'A.Example.Test' }, { action: 'deny', target: '*.tracker.test.' }] };
    const res = await post(JSON.stringify(next));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok', mode: 'enforcing', enforcementMode: 'dns' });
    expect(await current()).toEqual(next);
    let m = (await scrape(t.metricsUrl)).samples;
    expect(total(m, 'opensandbox_egress_policy_updates_total')).toBe(before + 1);
    expect(total(m, 'opensandbox_egress_policy_rule_count', { default_action: 'allow' })).toBe(2);
    expect(total(m, 'opensandbox_egress_policy_rule_count', { default_action: 'deny' })).toBe(0);
    expect(rcodeName(await udpQuery(t.dnsPort, query('a.example.test')))).toBe('NXDOMAIN');
    expect(rcodeName(await udpQuery(t.dnsPort, query('x.tracker.test')))).toBe('NXDOMAIN');
    expect(rcodeName(await udpQuery(t.dnsPort, query('b.example.test')))).toBe('NOERROR');

    const reset = await post('');
    expect(reset.status).toBe(200);
    expect(reset.json.mode).toBe('allow_all');
    expect(await current()).toEqual({ default_action: 'allow', egress: [] });
    m = (await scrape(t.metricsUrl)).samples;
    expect(total(m, 'opensandbox_egress_policy_updates_total')).toBe(before + 2);
    expect(total(m, 'opensandbox_egress_policy_rule_count', { default_action: 'allow' })).toBe(0);
    expect(rcodeName(await udpQuery(t.dnsPort, query('a.example.test')))).toBe('NOERROR');
  });

  it('answers 405 for other methods on /policy and 404 elsewhere', async () => {
    expect((await fetch(`${t.base}/policy`, { method: 'DELETE', headers: AUTH })).status).toBe(405);
    expect((await fetch(`${t.base}/nope`)).status).toBe(404);
  });
});
