import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { PerClientRateLimit } from './rate-limit.ts';
import { PROMETHEUS_TEXT_CONTENT_TYPE } from './serializer.ts';

/** The podtrace endpoint's hardening headers (seed 003, "Security"). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'X-XSS-Protection': '1; mode=block',
};

/** What the `/metrics` handler needs. */
export interface ScrapeHandlerOptions {
  /** Renders one exposition (answers HEAD, with its Content-Length; and GET when there is no `stream`). */
  readonly render: () => Promise<string>;
  /**
   * The exposition in pieces as it is rendered (see `ScrapeReader.stream`): GET then answers with a chunked
   * response written piece by piece, so a big exposition is never held whole nor written in one block.
   */
  readonly stream?: () => AsyncIterable<string>;
  /** Requests per second and burst of each client address's token bucket (default 10 and 20). */
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number };
  /** Told of each scrape refused with 429. */
  readonly onRejected?: () => void;
}

/**
 * A `(req, res) => boolean` handler for `GET /metrics`: answers and returns true for that path, returns
 * false for any other path so a component can serve its own routes on the same port (the egress
 * sidecar's policy API). A client over its address's rate limit gets 429 with `Retry-After: 1`; other
 * addresses are still served.
 */
export function createScrapeHandler(opts: ScrapeHandlerOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const limit = new PerClientRateLimit(opts.rateLimit?.perSecond ?? 10, opts.rateLimit?.burst ?? 20);
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') return false;
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
      return true;
    }
    if (!limit.take(req.socket.remoteAddress)) {
      opts.onRejected?.();
      res.writeHead(429, { 'Retry-After': '1', 'Content-Type': 'text/plain' }).end('rate limit exceeded: reduce the scrape frequency\n');
      return true;
    }
    if (req.method === 'GET' && opts.stream) {
      streamTo(res, opts.stream());
      return true;
    }
    opts.render().then(
      (body) => {
        res.writeHead(200, { 'Content-Type': PROMETHEUS_TEXT_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`collection failed: ${(err as Error).message}\n`);
      },
    );
    return true;
  };
}

/**
 * Writes the pieces as a chunked 200 response, waiting for `drain` when the socket's buffer is full.
 * A failure before the first piece (collection failed) answers 500; a later one cuts the response, so the
 * scraper sees an incomplete body and not a truncated exposition taken for whole.
 */
async function streamTo(res: ServerResponse, pieces: AsyncIterable<string>): Promise<void> {
  let started = false;
  try {
    for await (const piece of pieces) {
      if (!started) {
        res.writeHead(200, { 'Content-Type': PROMETHEUS_TEXT_CONTENT_TYPE });
        started = true;
      }
      if (res.destroyed) return;
      if (!res.write(piece)) await drained(res);
    }
    if (!started) res.writeHead(200, { 'Content-Type': PROMETHEUS_TEXT_CONTENT_TYPE });
    res.end();
  } catch (err) {
    if (started) res.destroy(err as Error);
    else res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`collection failed: ${(err as Error).message}\n`);
  }
}

/** Resolves once the response can take more (`drain`), or is closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Raised when a non-loopback bind address is asked for without the explicit opt-in. */
export class NonLoopbackBindError extends Error {
  /** @param what the endpoint refused (`metrics`, `the policy API and metrics`). */
  constructor(host: string, what = 'metrics') {
    super(
      `refusing to serve ${what} on non-loopback address ${host}: the endpoint binds to loopback by default; ` +
        'set OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true (or pass --allow-non-loopback where the command has it) to expose it',
    );
    this.name = 'NonLoopbackBindError';
  }
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

/**
 * Checks a bind address against the loopback default.
 * @throws NonLoopbackBindError when `host` is not loopback and `allowNonLoopback` is false.
 */
export function assertBindAllowed(host: string, allowNonLoopback: boolean, what = 'metrics'): void {
  if (!allowNonLoopback && !isLoopback(host)) throw new NonLoopbackBindError(host, what);
}

/** Options of {@link startScrapeServer}. */
export interface ScrapeServerOptions {
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  readonly allowNonLoopback?: boolean;
  /** Keep the process alive while listening (a server); false for a preload, whose app decides its own lifetime. */
  readonly keepAlive?: boolean;
  /** The `/metrics` handler, from {@link createScrapeHandler}. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/**
 * Starts a standalone HTTP server that serves `GET /metrics` and answers 404 elsewhere.
 * @returns the server and the address it listens on.
 * @throws NonLoopbackBindError; the listen error (EADDRINUSE, EACCES) when the port cannot be bound.
 */
export async function startScrapeServer(opts: ScrapeServerOptions): Promise<{ server: Server; host: string; port: number }> {
  assertBindAllowed(opts.host, opts.allowNonLoopback ?? false);
  const server = createServer((req, res) => {
    if (!opts.handle(req, res)) res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: metrics are at /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host.replace(/^\[|\]$/g, ''), () => {
      server.off('error', reject);
      resolve();
    });
  });
  if (opts.keepAlive === false) server.unref();
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return { server, host: opts.host, port };
}
