import type { IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { answerAndClose, checkConnectIpRequest } from './connect-ip-request.ts';
import { reportError, secondsSince, type ErrorType, type MasqueMetrics } from './metrics.ts';
import { serveTunnel, type TunnelDeps, type TunnelLifetime } from './server-tunnel.ts';

/**
 * The server's HTTP/2 sessions: who the client is (mTLS: the subject CN of its certificate is its
 * `client_id`), its streams (each one timed and counted, the CONNECT-IP ones served as tunnels) and its
 * VPN connection.
 *
 * A VPN connection (seed 004, "Connection Metrics") is a client's session while it holds at least one
 * tunnel: it begins at the session's first `200` and ends when its last tunnel closes. A session whose
 * requests are all refused (a `503` with the pool exhausted, a bad request) is never a VPN connection, so
 * `active_connections` counts only clients that have an address.
 */

/** The subject CN of the session's client certificate, or undefined without one. */
function clientIdOf(session: ServerHttp2Session): string | undefined {
  const cn = (session.socket as TLSSocket).getPeerCertificate?.()?.subject?.CN as string | string[] | undefined;
  const id = Array.isArray(cn) ? cn[0] : cn;
  return id && id.length > 0 ? id : undefined;
}

/**
 * The `error_type` of a failed TLS handshake: `auth` for a bad, missing or untrusted client certificate,
 * `connection` for anything else.
 * @param socket Node puts the verification failure on the socket (`authorizationError`) and reports a bare hang-up as the error.
 */
export function tlsErrorType(err: Error & { code?: string }, socket: TLSSocket & { authorizationError?: string | Error }): ErrorType {
  if (socket.authorizationError !== undefined) return 'auth';
  return /CERT|CERTIFICATE|PEER_DID_NOT_RETURN|UNKNOWN_CA|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/i.test(`${err.code ?? ''} ${err.message}`) ? 'auth' : 'connection';
}

/** Counts a session's VPN connection: begun at its first open tunnel, ended when it holds none. */
function vpnConnection(clientId: string, metrics: MasqueMetrics): TunnelLifetime {
  let tunnels = 0;
  let since = 0n;
  return {
    opened() {
      if (tunnels++ > 0) return;
      since = process.hrtime.bigint();
      metrics.connectionOpened(clientId);
    },
    closed() {
      if (--tunnels === 0) metrics.connectionClosed(clientId, secondsSince(since));
    },
  };
}

/**
 * Takes a new session: a client certificate without a CN is refused (`errors_total{auth}`, the session
 * destroyed); otherwise every stream is served ({@link serveStream}) and the session is kept in
 * `sessions` until it closes (so the server's close can end it).
 */
export function acceptSession(session: ServerHttp2Session, sessions: Set<ServerHttp2Session>, deps: TunnelDeps): void {
  const { metrics, logger } = deps;
  const clientId = clientIdOf(session);
  if (!clientId) {
    reportError(metrics, logger, 'auth', { remote: session.socket.remoteAddress }, 'client refused: certificate without a subject CN');
    session.destroy();
    return;
  }
  sessions.add(session);
  const connection = vpnConnection(clientId, metrics);
  session.on('stream', (stream, headers) => serveStream(stream, headers, clientId, connection, deps));
  session.on('error', (e) => reportError(metrics, logger, 'connection', { client_id: clientId, err: e.message }, 'connection error'));
  session.on('close', () => sessions.delete(session));
}

/**
 * One stream of an authenticated client: counted and timed (`quic_streams_total`,
 * `quic_stream_duration_seconds`), answered with a refusal unless it is a CONNECT-IP request this server
 * serves (see `checkConnectIpRequest`; a refused extended CONNECT also counts `masque_requests_total{failed}`
 * and `errors_total{masque}`), served as a tunnel otherwise.
 */
function serveStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, clientId: string, connection: TunnelLifetime, deps: TunnelDeps): void {
  const { metrics, logger } = deps;
  const opened = process.hrtime.bigint();
  metrics.streamOpened(clientId);
  stream.on('close', () => metrics.streamClosed(clientId, secondsSince(opened)));
  stream.on('error', (e) => logger.debug({ client_id: clientId, err: e.message }, 'stream error'));
  const refusal = checkConnectIpRequest(headers);
  if (refusal) {
    if (refusal.masque) {
      metrics.request('failed', secondsSince(opened));
      reportError(metrics, logger, 'masque', { client_id: clientId, status: refusal.status, why: refusal.why }, 'CONNECT-IP request refused');
    }
    answerAndClose(stream, refusal.status, refusal.why);
    return;
  }
  serveTunnel(stream, clientId, opened, deps, connection);
}
