/**
 * Test support for the control plane: the real app as a child process under the real preload
 * (`node --import otel-contracts/register examples/control-plane/main.ts`, through preload/testing's
 * `runApp`, so `stopAllProcesses()` ends it), against a throwaway PostgreSQL (test/postgres.ts), and a
 * small HTTP client for its API and its `/metrics`.
 */
import pg from 'pg';
import { runApp, type AppProcess } from '../../../preload/testing/harness.ts';
import { scrape, total, type SampleLine } from '../../../test/exposition.ts';
import type { ProcessEnv } from '../../../test/processes.ts';

/** The entry, relative to the repository root (where `runApp` starts it). */
export const MAIN = 'examples/control-plane/main.ts';
/** RFC 8628's grant type. */
export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** A running control plane. */
export interface RunningControlPlane {
  readonly app: AppProcess;
  /** `http://127.0.0.1:PORT` of the API. */
  readonly base: string;
  /** The preload's `/metrics`. */
  readonly metricsUrl: string;
}

/**
 * Starts the app on `databaseUrl` with a free API port, the catalog read at every scrape, a 50 ms
 * projection poll, only the preload's http collector and no scrape rate limit; `env` overrides.
 * @throws Error with the app's output when it does not get ready.
 */
export async function startControlPlaneApp(databaseUrl: string, env: ProcessEnv = {}): Promise<RunningControlPlane> {
  const app = runApp(MAIN, {
    DATABASE_URL: databaseUrl,
    OTEL_CONTRACTS_APP_CONTRACTS: 'trc:control-plane,trc:projections',
    OTEL_CONTRACTS_COLLECTORS: 'http',
    OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '1000:1000',
    OTEL_CONTRACTS_LOG_FORMAT: 'json',
    CONTROL_PLANE_LISTEN: '127.0.0.1:0',
    CONTROL_PLANE_CATALOG_INTERVAL_MS: '0',
    CONTROL_PLANE_PROJECTION_POLL_MS: '50',
    ...env,
  });
  const [ready, startup] = await Promise.all([app.ready, app.startup]).catch((e: Error) => {
    throw new Error(`${e.message}\n${app.describe()}`);
  });
  return { app, base: `http://127.0.0.1:${ready.port as number}`, metricsUrl: startup.scrapeUrl as string };
}

/** An HTTP answer: status, headers and the JSON body (or the text when it is not JSON). */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

/** Options of {@link call}. */
export interface CallOptions {
  readonly method?: string;
  /** Sent as JSON unless `raw` or `form` is given. */
  readonly json?: unknown;
  /** Sent as is, as `application/json` (malformed bodies). */
  readonly raw?: string;
  /** Sent as `application/x-www-form-urlencoded`. */
  readonly form?: Record<string, string>;
  readonly token?: string;
  /** HTTP Basic client credentials `id:secret`. */
  readonly basic?: string;
  readonly idempotencyKey?: string;
}

/** One request to the API (10 s bound). */
export async function call(base: string, path: string, opts: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  } else if (opts.raw !== undefined || opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = opts.raw ?? JSON.stringify(opts.json);
  }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.basic) headers.authorization = `Basic ${Buffer.from(opts.basic).toString('base64')}`;
  if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;
  const res = await fetch(base + path, { method: opts.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** A `client_credentials` access token of the demo client. @throws Error when the token endpoint refuses. */
export async function demoToken(base: string): Promise<string> {
  const r = await call(base, '/oauth/token', { basic: 'demo:demo-secret', form: { grant_type: 'client_credentials' } });
  if (r.status !== 200) throw new Error(`token: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.access_token as string;
}

/** The samples of the app's `/metrics`. */
export async function samples(p: RunningControlPlane): Promise<SampleLine[]> {
  return (await scrape(p.metricsUrl)).samples;
}

/**
 * Counts between two scrapes: `delta(name, labels)` is how much the sum of matching samples grew.
 * Take `before` with {@link samples}, act, then `const d = await deltas(p, before)`.
 */
export async function deltas(p: RunningControlPlane, before: readonly SampleLine[]): Promise<(name: string, labels?: Record<string, string>) => number> {
  const after = await samples(p);
  return (name, labels = {}) => total(after, name, labels) - total(before, name, labels);
}

/** Runs `sql` on the database directly (what a test does behind the app's back: a poison event, an expiry). */
export async function sql(databaseUrl: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}
