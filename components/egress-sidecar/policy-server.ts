import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { listen } from '../kit/listen.ts';
import type { HostPort } from './config.ts';
import { MAX_RULES, parsePolicySliced, PolicyError, type ActivePolicy, type CompiledPolicy, type NetworkPolicy } from './policy.ts';

/**
 * The policy server (seed 000 §2 and "Exposure"), one port for:
 * - `GET /policy`: `{mode, enforcementMode, policy, alwaysAllowed}`;
 * - `POST /policy` (or PUT): replaces the policy after strict validation; an empty body resets to allow-all;
 *   updates take effect one at a time, in the order their bodies arrived: the rules are validated and
 *   compiled in slices that yield to the event loop (DNS keeps answering, under the old policy), then the
 *   nftables verdict changes and the compiled policy is swapped in at once; 400 with `{error, field}` for
 *   bad JSON or schema, 413 above the body cap ({@link MAX_POLICY_BODY_BYTES}, refused while streaming),
 *   429 when {@link MAX_PENDING_UPDATES} updates are already under way, and the old policy stays; a
 *   success counts `policy_updates_total`;
 * - both guarded by `OPENSANDBOX_EGRESS_TOKEN` through the `OPENSANDBOX-EGRESS-AUTH` header when set;
 * - `GET /healthz`;
 * - `GET /metrics`: the pipeline's scrape handler.
 */

/** Header carrying the token, as in the upstream sidecar. */
export const AUTH_HEADER = 'opensandbox-egress-auth';
/**
 * Largest policy body accepted, in bytes (8 MiB): room for {@link MAX_RULES} rules of the longest names,
 * pretty-printed (10 000 typical rules are about 0.6 MB, 10 000 rules of 253-character names about 3 MB).
 */
export const MAX_POLICY_BODY_BYTES = 8 * 1024 * 1024;
/** Bytes of an over-cap body drained (and discarded) so the client reads the 413; beyond, the connection is cut. */
const MAX_DRAIN_BYTES = 16 * 1024 * 1024;
/**
 * Policy updates under way at once (reading their body, waiting their turn or being applied); one more is
 * answered 429. Bounds the memory held by bodies to a few times {@link MAX_POLICY_BODY_BYTES}.
 */
export const MAX_PENDING_UPDATES = 4;

/** Options of {@link startPolicyServer}. */
export interface PolicyServerOptions {
  readonly listen: HostPort;
  readonly policy: ActivePolicy;
  readonly token: string | undefined;
  /** The enforcement mode in force (`dns` or `dns+nft`). */
  readonly enforcementMode: () => string;
  /**
   * Runs before a new policy takes effect (nftables default verdict); throwing keeps the old policy (500).
   * A successful update is announced through {@link ActivePolicy.onChange}.
   */
  readonly beforeApply?: (policy: NetworkPolicy) => Promise<void>;
  /** The pipeline's `/metrics` handler. */
  readonly scrapeHandler: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Runs before each scrape (uptime, nftables counters); bounded by the caller. */
  readonly beforeScrape?: () => Promise<void>;
  readonly logger: Logger;
}

/** A running policy server. */
export interface PolicyServer {
  readonly address: HostPort;
  /** `POST /policy` requests whose body is read and that wait for their turn or are being applied. */
  pendingUpdates(): number;
  /** Stops listening and ends open connections. Idempotent. */
  close(): Promise<void>;
}

/** The `mode` field of `GET /policy`, as upstream reports it. */
export function policyMode(p: NetworkPolicy): 'allow_all' | 'deny_all' | 'enforcing' {
  if (p.egress.length > 0) return 'enforcing';
  return p.default_action === 'allow' ? 'allow_all' : 'deny_all';
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(text);
}

/** How one policy update ended. */
type UpdateOutcome =
  | { readonly kind: 'applied'; readonly policy: NetworkPolicy }
  | { readonly kind: 'invalid'; readonly err: PolicyError }
  | { readonly kind: 'nft-failed'; readonly err: Error };

type BodyResult = { readonly ok: true; readonly body: string } | { readonly ok: false; readonly status: number; readonly error: string };

/**
 * Reads a request body up to `cap` bytes. A declared Content-Length over the cap is refused before
 * reading; a streamed body is refused as soon as it passes the cap, and the rest is discarded.
 */
function readBody(req: IncomingMessage, cap: number): Promise<BodyResult> {
  const tooLarge: BodyResult = { ok: false, status: 413, error: `body: larger than ${cap} bytes; a policy holds at most ${MAX_RULES} rules` };
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > cap) {
    discard(req);
    return Promise.resolve(tooLarge);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > cap) {
        done = true;
        chunks.length = 0;
        discard(req);
        resolve(tooLarge);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve({ ok: true, body: Buffer.concat(chunks).toString('utf8') });
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
      resolve({ ok: false, status: 400, error: `body: ${err.message}` });
    });
  });
}

/** Drops the rest of a refused body without keeping it; cuts the connection past {@link MAX_DRAIN_BYTES}. */
function discard(req: IncomingMessage): void {
  let drained = 0;
  req.removeAllListeners('data');
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > MAX_DRAIN_BYTES) req.socket.destroy();
  });
  req.resume();
}

/**
 * Starts the policy server.
 * @throws the listen error with the address and a hint (EADDRINUSE, EACCES).
 */
export async function startPolicyServer(opts: PolicyServerOptions): Promise<PolicyServer> {
  const policyEndpoint = new PolicyEndpoint(opts);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      const scrape = opts.beforeScrape?.() ?? Promise.resolve();
      void scrape.catch(() => {}).then(() => opts.scrapeHandler(req, res));
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/policy') {
      policyEndpoint.handle(req, res).catch((e: unknown) => {
        opts.logger.error({ err: e }, '/policy handler failed');
        if (!res.headersSent) sendJson(res, 500, { error: (e as Error).message });
      });
      return;
    }
    sendJson(res, 404, { error: `not found: ${path}; the sidecar serves /policy, /healthz and /metrics` });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.on('clientError', (_err, socket) => socket.destroy());

  let address: HostPort;
  try {
    address = await listen(server, opts.listen);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const hint = err.code === 'EADDRINUSE' ? 'another process listens there; stop it or pass --http-listen HOST:PORT' : 'check --http-listen';
    throw new Error(`cannot listen for the policy API on ${opts.listen.host}:${opts.listen.port}: ${err.message} (${hint})`);
  }
  let closing: Promise<void> | undefined;
  return {
    address,
    pendingUpdates: () => policyEndpoint.pending(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** The token check: `OPENSANDBOX-EGRESS-AUTH` compared in constant time (over digests, so lengths do not leak); all pass without a token. */
function tokenCheck(token: string | undefined): (req: IncomingMessage) => boolean {
  const tokenDigest = token ? digest(token) : undefined;
  return (req) => {
    if (!tokenDigest) return true;
    const given = req.headers[AUTH_HEADER];
    if (typeof given !== 'string' || given === '') return false;
    return timingSafeEqual(digest(given), tokenDigest);
  };
}

/**
 * `/policy`: GET answers the policy in force; POST and PUT replace it. Updates take effect one at a time,
 * in arrival order: each is parsed, validated and compiled in its turn (one large policy built at a
 * time), then the nftables verdict (beforeApply) and the policy DNS enforces change together, so
 * concurrent updates cannot leave them on different policies.
 */
class PolicyEndpoint {
  /** Updates whose body is read: waiting for their turn or being applied. */
  private queued = 0;
  /** Updates under way, body read or not (bounded by MAX_PENDING_UPDATES). */
  private underWay = 0;
  /** The last update in line; the next one starts when it has settled. */
  private updating: Promise<unknown> = Promise.resolve();
  private readonly opts: PolicyServerOptions;
  private readonly authorized: (req: IncomingMessage) => boolean;

  constructor(opts: PolicyServerOptions) {
    this.opts = opts;
    this.authorized = tokenCheck(opts.token);
  }

  /** Updates whose body is read and that wait for their turn or are being applied. */
  pending(): number {
    return this.queued;
  }

  /** One request to `/policy`, answered whatever happens (a rejection is the caller's 500). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.authorized(req)) {
      if (req.method === 'POST' || req.method === 'PUT') discard(req);
      return sendJson(res, 401, { error: 'unauthorized: send the OPENSANDBOX_EGRESS_TOKEN value in the OPENSANDBOX-EGRESS-AUTH header' });
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      const p = this.opts.policy.current.policy;
      return sendJson(res, 200, { mode: policyMode(p), enforcementMode: this.opts.enforcementMode(), policy: p, alwaysAllowed: this.opts.policy.alwaysAllowed });
    }
    if (req.method !== 'POST' && req.method !== 'PUT') {
      return sendJson(res, 405, { error: `method ${req.method} not allowed on /policy; use GET, POST or PUT` }, { Allow: 'GET, POST, PUT' });
    }
    if (this.underWay >= MAX_PENDING_UPDATES) {
      discard(req);
      return sendJson(res, 429, { error: `${MAX_PENDING_UPDATES} policy updates are already under way; retry when they are done` }, { 'Retry-After': '1', Connection: 'close' });
    }
    this.underWay++;
    try {
      await this.update(req, res);
    } finally {
      this.underWay--;
    }
  }

  /** One `POST /policy`: read the body, then, in its turn, validate, compile, nftables, swap. */
  private async update(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, MAX_POLICY_BODY_BYTES);
    if (!body.ok) return sendJson(res, body.status, { error: body.error, field: 'body' }, { Connection: 'close' });
    const t0 = performance.now();
    this.queued++;
    const outcome = await this.inTurn(() => this.apply(body.body)).finally(() => this.queued--);
    if (outcome.kind === 'invalid') {
      const err = outcome.err;
      this.opts.logger.info({ field: err.field, err: err.message }, 'POST /policy refused; the policy in force is unchanged');
      return sendJson(res, 400, { error: err.message, field: err.field });
    }
    if (outcome.kind === 'nft-failed') {
      this.opts.logger.error({ err: outcome.err }, 'POST /policy: applying to nftables failed; the policy in force is unchanged');
      return sendJson(res, 500, { error: `the policy could not be applied to nftables: ${outcome.err.message}` });
    }
    const next = outcome.policy;
    const ms = Math.round((performance.now() - t0) * 10) / 10;
    this.opts.logger.info({ mode: policyMode(next), default_action: next.default_action, rules: next.egress.length, applyMs: ms}, 'egress policy updated');
    sendJson(res, 200, { status: 'ok', mode: policyMode(next), enforcementMode: this.opts.enforcementMode() });
  }

  /** Runs `update` once every update before it has settled. */
  private inTurn<T>(update: () => Promise<T>): Promise<T> {
    const result = this.updating.then(update);
    this.updating = result.catch(() => undefined);
    return result;
  }

  /** Parses, validates and compiles `raw` (sliced), sets the nftables verdict, then swaps the policy in. */
  private async apply(raw: string): Promise<UpdateOutcome> {
    let next: CompiledPolicy;
    try {
      next = await this.opts.policy.compile(await parsePolicySliced(raw));
    } catch (e) {
      if (e instanceof PolicyError) return { kind: 'invalid', err: e };
      throw e;
    }
    try {
      await this.opts.beforeApply?.(next.policy);
    } catch (e) {
      return { kind: 'nft-failed', err: e as Error };
    }
    this.opts.policy.replace(next);
    return { kind: 'applied', policy: next.policy };
  }
}
