import type { Socket } from 'node:net';
import { connectDirect } from '../kit/direct-reader.ts';
import type { HostPort } from '../kit/host-port.ts';

/**
 * The edge's connection to a backend for one client connection: a TCP connect bounded by
 * `--connect-timeout-ms`, read through the ops proxy's direct reader (one reused buffer per socket, see
 * ops-proxy/direct-reader.ts), and, when it fails, the `reason` of
 * `trc_edge_upstream_connect_failures_total` (the registry's enum; `no_backend` is decided before any
 * connect, by the balancer).
 */

/** Why a connect to a backend failed (every reason of the family but `no_backend`). */
export type ConnectFailure = 'refused' | 'timeout' | 'unreachable' | 'reset';

/**
 * The reason for a connect error: ECONNREFUSED `refused`; ETIMEDOUT `timeout`; ECONNRESET, EPIPE and
 * ECONNABORTED `reset`; anything else (EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, a name that does not
 * resolve) `unreachable`.
 */
export function connectFailureOf(e: NodeJS.ErrnoException): ConnectFailure {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return 'reset';
    default:
      return 'unreachable';
  }
}

/**
 * Connects to `backend`; `done` is called once: with the connected socket (paused; `splice` resumes it),
 * or with the failure and its error text (the socket is destroyed then). `abort` gives up at once (the
 * client left), without calling `done`.
 */
export function dialBackend(backend: HostPort, timeoutMs: number, done: (r: { socket: Socket } | { failure: ConnectFailure; detail: string }) => void): { abort(): void } {
  let settled = false;
  const socket = connectDirect({ host: backend.host, port: backend.port, noDelay: true, allowHalfOpen: true });
  const settle = (r: { socket: Socket } | { failure: ConnectFailure; detail: string }) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.off('error', onError);
    // From here the caller's pipe listens for errors; until it does, a late one must not throw.
    socket.on('error', () => undefined);
    if ('failure' in r) socket.destroy();
    done(r);
  };
  const onError = (e: NodeJS.ErrnoException) => settle({ failure: connectFailureOf(e), detail: e.code ?? e.message });
  const timer = setTimeout(() => settle({ failure: 'timeout', detail: `no connect in ${timeoutMs} ms` }), timeoutMs);
  socket.once('connect', () => settle({ socket }));
  socket.on('error', onError);
  return {
    abort() {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
    },
  };
}
