import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ListenConfig } from './config.ts';
import { hostCandidates, httpError, readHttpHead } from '../kit/http-host.ts';
import type { Admission, Admitted, LimitReason } from '../kit/admission.ts';
import { UNKNOWN_NAME, type OpsProxyMetrics, type Protocol } from './metrics.ts';
import type { ControlSession, NameRegistry } from './registry.ts';
import { MAX_CLIENT_HELLO_BYTES, readClientHello } from '../kit/client-hello.ts';
import { remoteOf } from './sockets.ts';
import { closeGently } from '../kit/close-gently.ts';
import type { Tunnels } from './tunnels.ts';

/**
 * The listening peer's public side (seed 001, "Proxy traffic"): connections on `--http` (routed by the
 * Host header), `--https` (by the ClientHello SNI, TLS passed through) and each `--tcp` port (by its fixed
 * name). A connection is unauthenticated while its first bytes are read; routed to a name with a live
 * control connection it takes an authenticated slot and becomes a tunnel; anything else is answered
 * (HTTP 502) or closed, and counted. Every accepted connection counts as one request, exactly once.
 */

/** What the public side works with. */
export interface PublicSideDeps {
  readonly cfg: ListenConfig;
  readonly metrics: OpsProxyMetrics;
  readonly logger: Logger;
  readonly registry: NameRegistry;
  readonly admission: Admission;
  readonly tunnels: Tunnels;
}

/** Why a connection was not routed, for the debug log, by limit reason. */
const LIMIT_WHY: Record<LimitReason, string> = {
  sniff_timeout: 'no complete request head or ClientHello within --handshake-timeout-ms',
  evicted: 'evicted: the oldest unauthenticated connection past --max-unauthenticated',
};

/**
 * The connection handler of a public listener.
 * @param fixedName the route of a `--tcp` listener (routed at once, no bytes read); undefined for http and https.
 */
export function publicAcceptor(deps: PublicSideDeps, protocol: Protocol, fixedName?: string): (socket: Socket) => void {
  return (socket) => {
    const acceptedAt = performance.now();
    socket.setNoDelay(true);
    socket.on('error', (e) => deps.logger.debug({ err: e.message, protocol }, 'public connection error'));
    let reader: FirstBytes | undefined;
    // Past its deadline or evicted, the connection still counts as one (failed, `<unknown>`) request.
    const handshake = deps.admission.admit(socket, (reason) => {
      route(deps, conn, [], reader?.abandon() ?? Buffer.alloc(0), LIMIT_WHY[reason]);
      socket.destroy();
    });
    const conn: PublicConnection = { socket, handshake, protocol, acceptedAt };
    if (fixedName !== undefined) {
      socket.pause();
      route(deps, conn, [fixedName], Buffer.alloc(0));
      return;
    }
    reader = readFirstBytes(socket, protocol, (candidates, head, why, closed) => {
      route(deps, conn, candidates, head, why);
      if (closed) socket.destroy();
    });
  };
}

/** A public connection being routed. */
interface PublicConnection {
  readonly socket: Socket;
  readonly handshake: Admitted;
  readonly protocol: Protocol;
  readonly acceptedAt: number;
}

/**
 * Counts the request under the first candidate that is a known name (`<unknown>` if none) and opens its
 * tunnel, or refuses it: `no_client` when the name has no live control connection, `connection_limit`
 * (self-metric) when `--max-connections` slots are taken.
 */
function route(deps: PublicSideDeps, conn: PublicConnection, candidates: readonly string[], head: Buffer, why?: string): void {
  const { m } = deps.metrics;
  const { socket, protocol } = conn;
  let name = UNKNOWN_NAME;
  let session: ControlSession | undefined;
  for (const c of candidates) {
    const found = deps.registry.lookup(c);
    if (found.known) {
      name = c;
      session = found.session;
      break;
    }
  }
  m.ops_proxy_connections_total.add(1, { client_name: name });
  m.ops_proxy_requests_total.add(1, { client_name: name, protocol });
  const refuse = (status: 502 | 503, body: string) => {
    m.ops_proxy_requests_failed_total.add(1, { client_name: name, protocol });
    m.ops_proxy_connections_failed_total.add(1, { client_name: name });
    conn.handshake.refused();
    closeGently(socket, protocol === 'http' ? httpError(status, body) : '', deps.cfg.halfCloseTimeoutMs);
  };
  if (session === undefined) {
    m.ops_proxy_proxy_errors_total.add(1, { client_name: name, reason: 'no_client' });
    deps.logger.debug({ protocol, client_name: name, candidates: candidates.slice(0, 1), why, remote: remoteOf(socket) }, 'no connected peer for this name');
    refuse(502, name === UNKNOWN_NAME ? 'ops-proxy: no route for this host' : 'ops-proxy: the service is not connected');
    return;
  }
  if (!conn.handshake.establish()) {
    deps.logger.debug({ protocol, client_name: name, remote: remoteOf(socket), max: deps.cfg.maxConnections }, 'connection limit reached: public connection refused');
    refuse(503, 'ops-proxy: too many connections, try again later');
    return;
  }
  deps.tunnels.open({ name, protocol, socket, admitted: conn.handshake, head, acceptedAt: conn.acceptedAt, session });
}

/** Reading the first bytes of an http or https connection. */
interface FirstBytes {
  /** Stops reading (the connection hit a limit); @returns the bytes read so far. */
  abandon(): Buffer;
}

/**
 * Reads the request head (http) or ClientHello (https) until it is complete, malformed, too long, or
 * the client ends first; then pauses the socket and calls `decided` once with the candidate names (empty
 * when none), the bytes read, why it is not routable, and whether the client already closed.
 */
function readFirstBytes(socket: Socket, protocol: Protocol, decided: (candidates: string[], head: Buffer, why: string | undefined, closed: boolean) => void): FirstBytes {
  let buf: Buffer = Buffer.alloc(0);
  const stop = () => {
    socket.off('data', onData);
    socket.off('end', onEarlyEnd);
    socket.pause();
  };
  const decide = (candidates: string[], why?: string) => {
    stop();
    decided(candidates, buf, why, false);
  };
  const onData = (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    if (protocol === 'http') {
      const r = readHttpHead(buf);
      if (r.kind === 'incomplete') return;
      if (r.kind === 'host') return decide(hostCandidates(r.host));
      return decide([], r.kind === 'no_host' ? 'no Host header' : r.why);
    }
    const r = readClientHello(buf);
    if (r.kind === 'incomplete' && buf.length <= MAX_CLIENT_HELLO_BYTES) return;
    if (r.kind === 'sni') return decide([r.name.toLowerCase()]);
    return decide([], r.kind === 'no_sni' ? 'ClientHello without SNI' : r.kind === 'not_tls' ? r.why : 'ClientHello too long');
  };
  // The client ended (or closed) before its request head or ClientHello was complete.
  const onEarlyEnd = () => {
    stop();
    decided([], buf, 'closed before a request head or ClientHello', true);
  };
  socket.on('data', onData);
  socket.once('end', onEarlyEnd);
  return {
    abandon: () => {
      stop();
      return buf;
    },
  };
}
