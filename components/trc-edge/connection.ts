import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Admitted, LimitReason } from '../kit/admission.ts';
import { closeGently } from '../kit/close-gently.ts';
import type { ListenerKind } from './config.ts';
import type { EdgeMetrics } from './metrics.ts';

/**
 * One accepted client connection, from accept to its outcome: it counts in
 * `trc_edge_connections_total{listener_port,result}` exactly once (`success` when piped to a backend,
 * `failure` for everything else), and a refused one is closed the same way everywhere.
 */

/** How long a refused client gets to close its side after ours (then it is destroyed). */
export const REFUSE_CLOSE_BOUND_MS = 2000;

/** One client connection of a listener. */
export class ClientConnection {
  readonly socket: Socket;
  /** `listener_port` label: the port of the listener it came in on. */
  readonly port: string;
  readonly kind: ListenerKind;
  /** performance.now() at accept. */
  readonly acceptedAt: number;
  /** Its place in the admission pools; set right after accept. */
  admitted!: Admitted;
  private counted = false;
  private readonly metrics: EdgeMetrics;
  private readonly logger: Logger;

  constructor(socket: Socket, port: string, kind: ListenerKind, metrics: EdgeMetrics, logger: Logger) {
    this.socket = socket;
    this.port = port;
    this.kind = kind;
    this.metrics = metrics;
    this.logger = logger;
    this.acceptedAt = performance.now();
  }

  /** Seconds since accept. */
  age(): number {
    return (performance.now() - this.acceptedAt) / 1000;
  }

  /** Piped to a backend: counts `success` (once; nothing after an outcome counts). */
  succeed(): void {
    if (this.counted) return;
    this.counted = true;
    this.metrics.connection(this.port, 'success');
  }

  /**
   * Refuses the connection: counts `failure` (once), logs `why` at debug, leaves it to the admission
   * limits (still evictable, still under its deadline) and closes it gently: `lastBytes` (an HTTP error
   * answer, or nothing), our end, then a destroy if the client has not closed within {@link REFUSE_CLOSE_BOUND_MS}.
   */
  fail(why: string, lastBytes = ''): void {
    if (this.counted) return;
    this.counted = true;
    this.metrics.connection(this.port, 'failure');
    this.logger.debug({ listener_port: this.port, remote: `${this.socket.remoteAddress}:${this.socket.remotePort}`, why }, 'connection refused');
    this.admitted.refused();
    closeGently(this.socket, lastBytes, REFUSE_CLOSE_BOUND_MS);
  }

  /** The admission limits closed it (deadline or eviction): counts `failure` once; the socket is destroyed by the limits. */
  limited(reason: LimitReason): void {
    if (this.counted) return;
    this.counted = true;
    this.metrics.connection(this.port, 'failure');
    this.logger.debug({ listener_port: this.port, reason }, reason === 'evicted' ? 'unauthenticated connection evicted' : 'no ClientHello or request head in time');
  }
}
