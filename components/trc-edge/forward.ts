import type { Logger } from 'pino';
import { formatHostPort, type HostPort } from '../kit/host-port.ts';
import { splice } from '../kit/splice.ts';
import type { Balancer } from './balancer.ts';
import type { ClientConnection } from './connection.ts';
import type { EdgeMetrics } from './metrics.ts';
import { encodeProxyV2, ProxyV2Error } from './proxy-v2.ts';
import type { Route } from './route-table.ts';
import { dialBackend } from './upstream.ts';

/**
 * A routed connection's way to its backend: take an established slot, pick a healthy backend (round
 * robin), connect, write the PROXY v2 header when the route asks for it (with the bytes already read, in
 * one write), then pipe both ways with back-pressure (the kit's `splice`). TLS is never terminated: the
 * ClientHello goes to the backend as it came.
 */

/** A piped connection's bound once one side has ended and the other has not. */
export const HALF_CLOSE_TIMEOUT_MS = 30_000;

/** What forwarding needs from the edge. */
export interface ForwardContext {
  readonly metrics: EdgeMetrics;
  readonly logger: Logger;
  readonly balancer: Balancer;
  isHealthy(backend: HostPort): boolean;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

/** The first bytes to the backend: the PROXY v2 header (when asked for) then the bytes read while sniffing; undefined when the header cannot be made. */
function firstBytes(conn: ClientConnection, route: Route, head: Buffer, authority: string | undefined, ctx: ForwardContext): Buffer | undefined {
  if (!route.proxyV2) return head;
  const s = conn.socket;
  try {
    const header = encodeProxyV2({ sourceAddress: s.remoteAddress as string, sourcePort: s.remotePort as number, destinationAddress: s.localAddress as string, destinationPort: s.localPort as number, authority });
    return head.length === 0 ? header : Buffer.concat([header, head]);
  } catch (e) {
    if (!(e instanceof ProxyV2Error)) throw e;
    ctx.metrics.injection('failure');
    ctx.logger.debug({ route: route.id, err: e.message }, 'PROXY v2 header not written');
    return undefined;
  }
}

/**
 * Sends `conn` to a backend of `route`; `head` (the bytes read while sniffing) goes first, `authority`
 * (the SNI or Host) into the PROXY v2 header. Counts the connection's outcome, an upstream failure's
 * reason and the header's injection result.
 */
export function forward(conn: ClientConnection, route: Route, head: Buffer, authority: string | undefined, ctx: ForwardContext): void {
  if (conn.socket.destroyed) return conn.fail('the client closed before its route was found');
  if (!conn.admitted.establish()) return conn.fail('--max-connections established connections are open');
  const backend = ctx.balancer.pick(route, (b) => ctx.isHealthy(b));
  if (!backend) {
    ctx.metrics.upstreamFailure('no_backend');
    ctx.logger.debug({ route: route.id }, 'no healthy backend');
    return conn.fail(`route ${route.id} has no healthy backend`);
  }
  const onClientGone = () => {
    dial.abort();
    conn.fail('the client closed while the backend was being connected');
  };
  const dial = dialBackend(backend, ctx.connectTimeoutMs, (r) => {
    conn.socket.off('close', onClientGone);
    if ('failure' in r) {
      ctx.metrics.upstreamFailure(r.failure);
      ctx.logger.warn({ route: route.id, backend: formatHostPort(backend), reason: r.failure, err: r.detail }, 'backend connect failed');
      return conn.fail(`backend ${formatHostPort(backend)}: ${r.detail}`);
    }
    const upstream = r.socket;
    const first = firstBytes(conn, route, head, authority, ctx);
    if (first === undefined) {
      upstream.destroy();
      return conn.fail('the PROXY v2 header could not be made');
    }
    if (route.proxyV2) upstream.write(first, (e) => ctx.metrics.injection(e ? 'failure' : 'success'));
    else if (first.length > 0) upstream.write(first);
    conn.succeed();
    // A client that half-closed while the backend was being connected has already emitted 'end':
    // splice passes that FIN on.
    splice(conn.socket, upstream, {
      idleTimeoutMs: ctx.idleTimeoutMs,
      halfCloseTimeoutMs: HALF_CLOSE_TIMEOUT_MS,
      done: (e) => {
        if (e) ctx.logger.debug({ route: route.id, err: e.message }, 'piped connection ended with an error');
      },
    });
  });
  conn.socket.once('close', onClientGone);
}
