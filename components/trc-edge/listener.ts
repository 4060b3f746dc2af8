import { createServer, type Server, type Socket } from 'node:net';
import type { Admission } from '../kit/admission.ts';
import { httpError } from '../kit/http-host.ts';
import type { HostPort } from '../kit/host-port.ts';
import { listen } from '../kit/listen.ts';
import type { ListenerKind, ListenSpec } from './config.ts';
import { ClientConnection } from './connection.ts';
import { forward, type ForwardContext } from './forward.ts';
import type { RouteTable } from './route-table.ts';
import { sniffClientHello, sniffHttpHost } from './sniff.ts';

/**
 * One edge listener (`--listen [kind=]HOST:PORT`): accepts connections, admits them under the limits,
 * finds each one's route by its kind (a TLS listener by the ClientHello's SNI, an HTTP listener by the
 * Host header, a TCP listener sends all to `listeners_default`) and forwards it. Recorded here:
 * `trc_edge_concurrent_connections{listener_port}` (+1 on accept, -1 on close) and, on a TLS listener,
 * `trc_edge_sni_sniffs_total{result}` and `trc_edge_sni_sniff_seconds{result}` (time from accept), each
 * sniff counted once: `ok`, `no_sni`, `not_tls` (another first byte, a malformed, oversized or truncated
 * ClientHello), or `timeout` (no complete ClientHello by `--sniff-timeout-ms`).
 */

/** What a listener needs from the edge. */
export interface ListenerContext extends ForwardContext {
  readonly admission: Admission;
  /** The active routes (a reload swaps them; a connection uses the table of the moment its sniff ended). */
  routes(): RouteTable;
}

/** A listening edge listener. */
export interface EdgeListener {
  readonly kind: ListenerKind;
  /** Where it listens (the kernel's port when asked for 0). */
  readonly address: HostPort;
  /** Stops accepting; open connections are closed by the admission's `destroyAll`. */
  close(): Promise<void>;
}

function onTls(conn: ClientConnection, ctx: ListenerContext): void {
  sniffClientHello(conn.socket, (r, head) => {
    ctx.metrics.sniff(r.result, conn.age());
    if (r.result === 'not_tls') return conn.fail(`not a TLS ClientHello: ${r.why}`);
    if (r.result === 'no_sni') return conn.fail('ClientHello without SNI');
    const route = ctx.routes().find('tls', r.name);
    if (!route) return conn.fail(`no route for SNI "${r.name.slice(0, 253)}"`);
    forward(conn, route, head, r.name, ctx);
  });
}

function onHttp(conn: ClientConnection, ctx: ListenerContext): void {
  sniffHttpHost(conn.socket, (r, head) => {
    if (r.result !== 'host') return conn.fail(r.why, httpError(400, `trc-edge: ${r.why}`));
    const route = ctx.routes().find('http', r.name);
    if (!route) return conn.fail(`no route for Host "${r.name.slice(0, 253)}"`, httpError(502, 'trc-edge: no route for this host'));
    forward(conn, route, head, r.name, ctx);
  });
}

function onTcp(conn: ClientConnection, ctx: ListenerContext): void {
  const route = ctx.routes().listenersDefault;
  if (!route) return conn.fail('no listeners_default route');
  forward(conn, route, Buffer.alloc(0), undefined, ctx);
}

const HANDLERS: Readonly<Record<ListenerKind, (conn: ClientConnection, ctx: ListenerContext) => void>> = { tls: onTls, http: onHttp, tcp: onTcp };

/**
 * Listens on `spec.at`.
 * @throws the listen error (EADDRINUSE, EACCES, EADDRNOTAVAIL); the server is left closed.
 */
export async function startListener(spec: ListenSpec, ctx: ListenerContext): Promise<EdgeListener> {
  let port = '';
  const handle = HANDLERS[spec.kind];
  const server: Server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: false }, (socket: Socket) => {
    ctx.metrics.opened(port);
    socket.once('close', () => ctx.metrics.closed(port));
    socket.on('error', (e) => ctx.logger.debug({ err: e.message, listener_port: port }, 'client connection error'));
    const conn = new ClientConnection(socket, port, spec.kind, ctx.metrics, ctx.logger);
    conn.admitted = ctx.admission.admit(socket, (reason) => {
      if (spec.kind === 'tls' && reason === 'sniff_timeout') ctx.metrics.sniff('timeout', conn.age());
      conn.limited(reason);
    });
    handle(conn, ctx);
  });
  server.on('error', (e) => ctx.logger.error({ err: e.message, listener_port: port }, 'listener error'));
  const address = await listen(server, spec.at);
  port = String(address.port);
  return {
    kind: spec.kind,
    address,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
