/**
 * Traffic for the example control plane: drives every endpoint, the paths that succeed and the ones
 * that fail, so that every trc family of sections A, B and C gets real series (for an end-to-end run
 * against the native stack, and for `otel-contracts check --contract trc --component control-plane`).
 *
 *   node examples/control-plane/traffic.ts [--api http://127.0.0.1:8088] [--client demo:demo-secret]
 *        [--rounds 1] [--max-seconds 60] [--database-url postgres://…]
 *
 * Each round: client_credentials (and a wrong secret), an unsupported grant, a device flow (pending,
 * slow_down, approval, token, the spent code, a denied code), a refresh (and its reuse), commands with
 * Idempotency-Keys (first use, replay, conflict), refused commands, a malformed body, the read models and
 * the projections' overview. After the last round both projections are rebuilt. With `--database-url`,
 * one poison event is written straight into the events table first (what an old writer could leave),
 * so `trc_projection_errors_total` moves. Bounded by `--rounds` (at most 1000) and `--max-seconds`.
 * Prints one JSON summary on stdout: answers by endpoint and status. Exits 1 when an answer is not the
 * one expected.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** The options, from the command line. */
interface TrafficOptions {
  readonly api: string;
  readonly basic: string;
  readonly rounds: number;
  readonly maxSeconds: number;
  readonly databaseUrl?: string;
}

/** Answers by `METHOD path status`, and the unexpected ones. */
const tally = new Map<string, number>();
const unexpected: string[] = [];

/** One request; counts its answer and checks its status against `expect` (one status or the accepted ones). */
async function send(opts: TrafficOptions, method: string, path: string, expect: number | readonly number[], init: { json?: unknown; raw?: string; form?: Record<string, string>; token?: string; basic?: string; key?: string; label?: string } = {}): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  } else if (init.json !== undefined || init.raw !== undefined) {
    headers['content-type'] = 'application/json';
    body = init.raw ?? JSON.stringify(init.json);
  }
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.basic) headers.authorization = `Basic ${Buffer.from(init.basic).toString('base64')}`;
  if (init.key) headers['idempotency-key'] = init.key;
  const res = await fetch(opts.api + path, { method, headers, body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  const label = `${method} ${init.label ?? path} ${res.status}`;
  tally.set(label, (tally.get(label) ?? 0) + 1);
  if (!(typeof expect === 'number' ? [expect] : expect).includes(res.status)) unexpected.push(`${label} (expected ${String(expect)}): ${text.slice(0, 200)}`);
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Token requests of every grant, the device flow with its waits and refusals, and the refresh grant. */
async function authTraffic(o: TrafficOptions): Promise<string> {
  const cc = await send(o, 'POST', '/oauth/token', 200, { basic: o.basic, form: { grant_type: 'client_credentials' } });
  const token = cc.access_token as string;
  await send(o, 'POST', '/oauth/token', 401, { basic: `${o.basic.split(':')[0]}:wrong-secret`, form: { grant_type: 'client_credentials' } });
  await send(o, 'POST', '/oauth/token', 400, { basic: o.basic, form: { grant_type: 'authorization_code', code: 'none' } });
  await send(o, 'POST', '/oauth/token', 400, { raw: '{"grant_type":' });
  const poll = (code: string, expect: number) => send(o, 'POST', '/oauth/token', expect, { basic: o.basic, form: { grant_type: DEVICE_GRANT, device_code: code } });
  const device = await send(o, 'POST', '/oauth/device/code', 200, { basic: o.basic, form: {} });
  await poll(device.device_code as string, 400); // authorization_pending
  await poll(device.device_code as string, 400); // slow_down
  await send(o, 'POST', '/oauth/device/approve', 200, { token, json: { user_code: device.user_code } });
  const minted = await poll(device.device_code as string, 200);
  await poll(device.device_code as string, 400); // spent
  const denied = await send(o, 'POST', '/oauth/device/code', 200, { basic: o.basic, form: {} });
  await send(o, 'POST', '/oauth/device/approve', 200, { token, json: { user_code: denied.user_code, action: 'deny' } });
  await poll(denied.device_code as string, 400); // access_denied
  const refresh = minted.refresh_token as string;
  await send(o, 'POST', '/oauth/token', 200, { basic: o.basic, form: { grant_type: 'refresh_token', refresh_token: refresh } });
  await send(o, 'POST', '/oauth/token', 400, { basic: o.basic, form: { grant_type: 'refresh_token', refresh_token: refresh } }); // reused
  return token;
}

/** Commands (with keys: first use, replay, conflict), refusals, a malformed body, and the read side. */
async function commandTraffic(o: TrafficOptions, token: string, app: string): Promise<void> {
  const apps = '/v1/orgs/traffic/apps';
  const T = { apps: '/v1/orgs/:org/apps', app: '/v1/orgs/:org/apps/:app', deploys: '/v1/orgs/:org/apps/:app/deploys', scale: '/v1/orgs/:org/apps/:app/scale' };
  await send(o, 'POST', apps, 201, { token, key: `${app}-create`, json: { name: app }, label: T.apps });
  await send(o, 'POST', apps, 201, { token, key: `${app}-create`, json: { name: app }, label: T.apps }); // replayed
  await send(o, 'POST', apps, 409, { token, key: `${app}-create`, json: { name: `${app}-x` }, label: T.apps }); // key reused
  await send(o, 'POST', apps, 409, { token, json: { name: app }, label: T.apps }); // exists
  await send(o, 'POST', apps, 400, { token, raw: '{"name":', label: T.apps });
  await send(o, 'POST', `${apps}/${app}/deploys`, 201, { token, key: `${app}-deploy`, json: { image: `registry.example/traffic/${app}:1` }, label: T.deploys });
  await send(o, 'POST', `${apps}/${app}/deploys`, 201, { token, key: `${app}-deploy`, json: { image: `registry.example/traffic/${app}:1` }, label: T.deploys });
  await send(o, 'POST', `${apps}/${app}/deploys`, 201, { token, json: { image: `registry.example/traffic/${app}:2` }, label: T.deploys });
  await send(o, 'POST', `${apps}/${app}-missing/deploys`, 404, { token, json: { image: 'registry.example/x:1' }, label: T.deploys });
  await send(o, 'POST', `${apps}/${app}/scale`, 200, { token, key: `${app}-scale`, json: { process_type: 'web', count: 2 }, label: T.scale });
  await send(o, 'POST', `${apps}/${app}/scale`, 422, { token, json: { process_type: 'web', count: 1000 }, label: T.scale });
  await send(o, 'POST', apps, 201, { token, json: { name: `${app}-tmp` }, label: T.apps });
  await send(o, 'DELETE', `${apps}/${app}-tmp`, 200, { token, key: `${app}-delete`, label: T.app });
  await send(o, 'DELETE', `${apps}/${app}-tmp`, 200, { token, key: `${app}-delete`, label: T.app }); // replayed
  await send(o, 'GET', apps, 200, { token, label: T.apps });
  await send(o, 'GET', `${apps}/${app}`, [200, 404], { token, label: T.app }); // 404 until the worker applied the creation
  await send(o, 'GET', '/admin/projections', 200, { token });
  await send(o, 'GET', apps, 401, { label: T.apps });
}

/** Writes one poison event: an `app.created` whose app is a number, which the `apps` projection cannot apply. */
async function writePoisonEvent(databaseUrl: string, runId: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("INSERT INTO events (stream_id, version, type, payload) VALUES ($1, 1, 'app.created', '{\"org\":\"traffic\",\"app\":42}')", [`app:traffic/poison-${runId}`]);
  } finally {
    await client.end();
  }
}

/** Reads the command line. @throws Error for a bad value. */
function readOptions(argv: string[]): TrafficOptions {
  const { values } = parseArgs({
    args: argv,
    options: { api: { type: 'string', default: 'http://127.0.0.1:8088' }, client: { type: 'string', default: 'demo:demo-secret' }, rounds: { type: 'string', default: '1' }, 'max-seconds': { type: 'string', default: '60' }, 'database-url': { type: 'string' } },
  });
  const rounds = Number(values.rounds);
  const maxSeconds = Number(values['max-seconds']);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 1000) throw new Error(`--rounds ${values.rounds}: expected 1..1000`);
  if (!Number.isFinite(maxSeconds) || maxSeconds <= 0 || maxSeconds > 3600) throw new Error(`--max-seconds ${values['max-seconds']}: expected 1..3600`);
  if (!values.client.includes(':')) throw new Error('--client: expected id:secret');
  return { api: values.api.replace(/\/$/, ''), basic: values.client, rounds, maxSeconds, ...(values['database-url'] ? { databaseUrl: values['database-url'] } : {}) };
}

/** Runs the traffic and prints the summary. */
async function main(): Promise<void> {
  const o = readOptions(process.argv.slice(2));
  const runId = Date.now().toString(36);
  const deadline = Date.now() + o.maxSeconds * 1000;
  if (o.databaseUrl) await writePoisonEvent(o.databaseUrl, runId);
  let token = '';
  let rounds = 0;
  for (; rounds < o.rounds && Date.now() < deadline; rounds++) {
    token = await authTraffic(o);
    await commandTraffic(o, token, `t${runId}-${rounds}`);
  }
  for (const p of ['apps', 'deploys']) await send(o, 'POST', `/admin/projections/${p}/rebuild`, 202, { token, label: '/admin/projections/:name/rebuild' });
  console.log(JSON.stringify({ rounds, answers: Object.fromEntries([...tally].sort()), unexpected }, null, 2));
  if (unexpected.length) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`traffic: ${(e as Error).message}\n`);
  process.exit(2);
});
