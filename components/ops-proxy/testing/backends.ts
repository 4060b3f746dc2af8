import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real backends on loopback for the tunnel tests: an HTTP server, an HTTPS server with a throwaway
 * self-signed certificate made by the `openssl` CLI, and a TCP echo server. Each answers with what
 * identifies it, so a test sees which backend a routed connection reached.
 */

/** A backend listening on 127.0.0.1. */
export interface Backend {
  readonly port: number;
  close(): Promise<void>;
}

function listening(server: Server | HttpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closer(server: Server | HttpServer): () => Promise<void> {
  return () =>
    new Promise((r) => {
      if ('closeAllConnections' in server) server.closeAllConnections();
      server.close(() => r());
    });
}

/**
 * HTTP backend answering `<tag> <method> <url> host=<Host>` to every request.
 * @param keepAliveTimeoutMs how long an idle keep-alive connection stays open (Node's default: 5 s).
 */
export async function startHttpBackend(tag: string, keepAliveTimeoutMs?: number): Promise<Backend> {
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(`${tag} ${req.method} ${req.url} host=${req.headers.host}`));
  });
  if (keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = keepAliveTimeoutMs;
  return { port: await listening(server), close: closer(server) };
}

/** A self-signed certificate for `names` (PEM), valid one day, made with `openssl req -x509`. */
export function selfSignedCert(names: readonly string[]): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ops-proxy-cert-'));
  try {
    const san = names.map((n) => `DNS:${n}`).join(',');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${san}`,
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** HTTPS backend (TLS terminated here, never by the proxy) answering `<tag> sni=<servername> <url>`. */
export async function startHttpsBackend(tag: string, pem: { key: string; cert: string }): Promise<Backend> {
  const server = createHttpsServer({ key: pem.key, cert: pem.cert }, (req, res) => {
    const sni = (req.socket as unknown as { servername?: string }).servername;
    req.resume();
    req.on('end', () => res.end(`${tag} sni=${sni} ${req.url}`));
  });
  return { port: await listening(server), close: closer(server) };
}

/** TCP echo backend: writes back every byte and ends when the client ends. */
export async function startEchoBackend(): Promise<Backend> {
  const server = createNetServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return { port: await listening(server), close: () => closeWith(server, sockets) };
}

/** Destroys the sockets a test backend holds, then closes its server. */
function closeWith(server: { close(cb: () => void): unknown }, sockets: Iterable<import('node:net').Socket>): Promise<void> {
  return new Promise((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  });
}

/**
 * A backend that never answers: the kernel completes the TCP handshake, and the accepted socket is never
 * read, written or closed (until {@link Backend.close}), as if the program never called accept. It never
 * sees a FIN, so it never sends one.
 */
export async function startMuteBackend(): Promise<Backend> {
  const sockets: import('node:net').Socket[] = [];
  const server = createNetServer({ pauseOnConnect: true }, (s) => sockets.push(s));
  return { port: await listening(server), close: () => closeWith(server, sockets) };
}
