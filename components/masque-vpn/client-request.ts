import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { TlsFiles } from './config.ts';
import { CAPSULE_STREAM_OPTIONS } from './capsule-stream.ts';
import { connectIpRequestHeaders } from './connect-ip-request.ts';

/**
 * How the client asks for a tunnel: a TLS session with its certificate (ALPN `h2`, Nagle off), then,
 * once the server's SETTINGS allow extended CONNECT (RFC 8441 §3), one CONNECT-IP request (RFC 9484 §3);
 * and how that session is closed.
 */

/** The server answered the CONNECT-IP request with something other than 200: its status and text. */
export class TunnelRefused extends Error {
  override readonly name = 'TunnelRefused';
  readonly status: number;
  constructor(status: number, body: string) {
    super(`server answered ${status}: ${body.trim().slice(0, 300)}`);
    this.status = status;
  }
}

/**
 * Opens an HTTP/2 session to `server` (`https://HOST:PORT`) with the client certificate. SNI is sent for
 * a host name only (RFC 6066); an IP literal is checked against the certificate's IP SANs.
 */
export function openSession(server: URL, tls: TlsFiles): ClientHttp2Session {
  const host = server.hostname.replace(/^\[|\]$/g, '');
  const tlsOptions = { host, port: Number(server.port), cert: tls.cert, key: tls.key, ca: tls.ca, ALPNProtocols: ['h2'], ...(isIP(host) ? {} : { servername: host }) };
  // Our own TLS socket, with Nagle off: one packet per capsule, each sent at once.
  return connect(server, { createConnection: () => tlsConnect(tlsOptions).setNoDelay(true) });
}

/**
 * Sends the CONNECT-IP request on `session` once its SETTINGS arrive.
 * @returns the tunnel's stream, after a `200` (opened for `openCapsuleStream`).
 * @throws TunnelRefused for another status (with the server's text, read to its end); Error when the
 *   server does not allow extended CONNECT, or the session or stream fails or closes before the response.
 */
export function requestTunnel(session: ClientHttp2Session, server: URL): Promise<ClientHttp2Stream> {
  return new Promise((resolve, reject) => {
    const early = (why: string) => reject(new Error(why));
    session.once('close', () => early('connection closed before the response'));
    session.once('error', (e) => early(e.message));
    session.once('remoteSettings', (settings) => {
      if (!settings.enableConnectProtocol) return early('the server does not allow extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL)');
      const req = session.request(connectIpRequestHeaders(server.host), { endStream: false, ...CAPSULE_STREAM_OPTIONS });
      let refusal: { status: number; body: string } | undefined;
      req.once('error', (e) => early(e.message));
      // 'close' comes last, after the refusal's text if there is one.
      req.once('close', () => (refusal ? reject(new TunnelRefused(refusal.status, refusal.body)) : early(`tunnel stream closed before the response (code ${req.rstCode ?? 0})`)));
      req.once('response', (headers) => {
        const status = Number(headers[':status']);
        if (status === 200) return resolve(req);
        const r = (refusal = { status, body: '' });
        req.setEncoding('utf8');
        req.on('data', (d: string) => (r.body = (r.body + d).slice(0, 1000)));
        // The server resets a refused stream once its text is sent; close ours too in case it does not.
        req.on('end', () => req.close());
      });
    });
  });
}

/** Closes `session` gracefully (its open streams may finish), destroying it after `graceMs`. Resolves once closed. */
export function closeSession(session: ClientHttp2Session, graceMs: number): Promise<void> {
  if (session.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      session.destroy();
      resolve();
    }, graceMs).unref();
    session.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
