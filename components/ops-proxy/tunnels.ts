import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ListenConfig } from './config.ts';
import { httpError } from '../kit/http-host.ts';
import type { Admitted } from '../kit/admission.ts';
import type { OpsProxyMetrics, Protocol } from './metrics.ts';
import type { ControlSession } from './registry.ts';
import { remoteOf } from './sockets.ts';
import { closeGently } from '../kit/close-gently.ts';
import { splice } from '../kit/splice.ts';
import { readAcceptedDirect } from './accepted-reader.ts';
import { encode, type DataMessage } from './wire.ts';

/**
 * Tunnel matching on the listening peer (seed 001, "Tunnel / proxy-id" and the traffic families): a
 * routed public connection gets a fresh proxy_id, a FORWARD over its name's control connection and a
 * bounded wait (`--data-timeout-ms`) for the DATA connection carrying that proxy_id; the matched pair is
 * spliced with the idle and half-close bounds. Each step is counted in the family named beside it.
 */

/** A public connection routed to a name with a live control connection, holding an authenticated slot. */
export interface TunnelRequest {
  readonly name: string;
  readonly protocol: Protocol;
  /** The public connection, paused. */
  readonly socket: Socket;
  /** The public connection's admission, holding the tunnel's authenticated slot; its DATA connection joins it. */
  readonly admitted: Admitted;
  /** Bytes read while routing (request head, ClientHello), forwarded first. */
  readonly head: Buffer;
  /** `performance.now()` at accept, for `ops_proxy_latency_seconds`. */
  readonly acceptedAt: number;
  /** The name's control connection, which carries the FORWARD. */
  readonly session: ControlSession;
}

interface Pending extends TunnelRequest {
  readonly timer: NodeJS.Timeout;
  /** Ends the request as failed with `data_io_error` (once). */
  fail(): void;
  /** Ends the request with the outcome of its tunnel (once). */
  finish(ok: boolean): void;
}

/** Tunnels of one listening peer: pending proxy_ids and the byte counts of the spliced pairs. */
export class Tunnels {
  private readonly pending = new Map<string, Pending>();
  /** Byte-count flushers of the tunnels in flight, run before every collection. */
  private readonly flushers = new Set<() => void>();
  private readonly cfg: ListenConfig;
  private readonly metrics: OpsProxyMetrics;
  private readonly logger: Logger;

  constructor(cfg: ListenConfig, metrics: OpsProxyMetrics, logger: Logger) {
    this.cfg = cfg;
    this.metrics = metrics;
    this.logger = logger;
  }

  /** proxy_ids waiting for their DATA connection. */
  pendingCount(): number {
    return this.pending.size;
  }

  /** Adds the bytes moved since the last call to the byte counters (before each collection). */
  flush(): void {
    for (const flush of this.flushers) flush();
  }

  /** Stops the DATA timers (the listener is closing; its sockets are destroyed by the admission). */
  close(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
  }

  /**
   * Sends FORWARD for `req` and waits for its DATA connection. Counts `connections_active` (until the
   * request ends), `pending_data_connections`, `forward_commands_total`, and on failure
   * `data_connections_timeout_total` and `proxy_errors_total` (`data_timeout`, `forward_write_error`).
   */
  open(req: TunnelRequest): void {
    const { m } = this.metrics;
    const { name, protocol, socket } = req;
    m.ops_proxy_connections_active.add(1, { client_name: name });
    let ended = false;
    const finish = (ok: boolean) => {
      if (ended) return;
      ended = true;
      m.ops_proxy_connections_active.add(-1, { client_name: name });
      if (ok) m.ops_proxy_requests_success_total.add(1, { client_name: name, protocol });
      else {
        m.ops_proxy_requests_failed_total.add(1, { client_name: name, protocol });
        m.ops_proxy_connections_failed_total.add(1, { client_name: name });
      }
    };
    const proxyId = randomBytes(12).toString('base64url');
    const failNow = (reason: 'forward_write_error' | 'data_timeout' | 'data_io_error', body: string) => {
      m.ops_proxy_proxy_errors_total.add(1, { client_name: name, reason });
      finish(false);
      if (protocol === 'http') closeGently(socket, httpError(502, body), this.cfg.halfCloseTimeoutMs);
      else socket.destroy();
    };
    const timer = setTimeout(() => {
      if (!this.unpend(proxyId)) return;
      m.ops_proxy_data_connections_timeout_total.add(1, { client_name: name });
      this.logger.warn({ client_name: name, proxy_id: proxyId, timeoutMs: this.cfg.dataTimeoutMs }, 'no DATA connection in time');
      failNow('data_timeout', 'ops-proxy: the service did not answer in time');
    }, this.cfg.dataTimeoutMs);
    const fail = () => failNow('data_io_error', 'ops-proxy: the service could not reach its backend');
    this.pending.set(proxyId, { ...req, timer, fail, finish });
    m.ops_proxy_pending_data_connections.add(1);
    // The client gave up before the tunnel was up.
    socket.once('close', () => this.unpend(proxyId) && finish(false));
    const forwardFailed = () => failNow('forward_write_error', 'ops-proxy: the service connection failed');
    const accepted = req.session.send(encode({ op: 'forward', proxy_id: proxyId, name }), (e) => {
      if (!this.unpend(proxyId)) return;
      this.logger.warn({ client_name: name, err: e.message }, 'FORWARD write failed');
      forwardFailed();
    });
    if (!accepted) {
      this.unpend(proxyId);
      this.logger.warn({ client_name: name }, 'FORWARD could not be written: the control connection is closing');
      forwardFailed();
      return;
    }
    m.ops_proxy_forward_commands_total.add(1, { client_name: name });
  }

  /**
   * A DATA connection with a valid token: joins the pending request with its proxy_id and splices the
   * two (`data_connections_matched_total`, `latency_seconds`, the byte counters), or is counted in
   * `data_connections_unexpected_total` and closed when no such proxy_id is pending.
   * @param rest bytes received after the DATA line: the tunnel's first payload towards the client.
   */
  match(data: Socket, handshake: Admitted, msg: DataMessage, rest: Buffer): void {
    const { m } = this.metrics;
    const p = this.pending.get(msg.proxy_id);
    if (!p) {
      m.ops_proxy_data_connections_unexpected_total.add(1);
      this.logger.warn({ remote: remoteOf(data), proxy_id: msg.proxy_id.slice(0, 64) }, 'DATA connection with no pending proxy_id');
      data.destroy();
      return;
    }
    this.unpend(msg.proxy_id);
    handshake.join(p.admitted);
    m.ops_proxy_data_connections_matched_total.add(1, { client_name: p.name });
    if (msg.error !== undefined || p.socket.destroyed) {
      if (msg.error !== undefined) this.logger.warn({ client_name: p.name, error: msg.error }, 'the connecting peer could not reach the backend');
      data.destroy();
      if (p.socket.destroyed) p.finish(false);
      else p.fail();
      return;
    }
    this.metrics.latency(p.name, p.protocol, (performance.now() - p.acceptedAt) / 1000);
    data.setNoDelay(true);
    this.spliceCounted(p, data, rest);
  }

  /**
   * Pipes the public connection and its DATA connection. Byte counts are summed per read and added to
   * the counters at each collection (scrape or push) and when the tunnel ends, not per read.
   */
  private spliceCounted(p: Pending, data: Socket, rest: Buffer): void {
    const { m } = this.metrics;
    const labels = { client_name: p.name };
    let tx = p.head.length;
    let rx = rest.length;
    const flushBytes = () => {
      if (tx > 0) m.ops_proxy_connections_bytes_tx_total.add(tx, labels);
      if (rx > 0) m.ops_proxy_connections_bytes_rx_total.add(rx, labels);
      tx = rx = 0;
    };
    this.flushers.add(flushBytes);
    // Both sockets were accepted: switched to reused read buffers where Node allows (accepted-reader.ts),
    // each after the bytes it had read before the switch.
    const fromClient = readAcceptedDirect(p.socket);
    const fromData = readAcceptedDirect(data);
    for (const chunk of [p.head, ...(fromClient?.buffered ?? [])]) {
      if (chunk !== p.head) tx += chunk.length;
      if (chunk.length > 0) data.write(chunk);
    }
    for (const chunk of [rest, ...(fromData?.buffered ?? [])]) {
      if (chunk !== rest) rx += chunk.length;
      if (chunk.length > 0) p.socket.write(chunk);
    }
    splice(p.socket, data, {
      readers: { a: fromClient?.reader, b: fromData?.reader },
      idleTimeoutMs: this.cfg.idleTimeoutMs,
      halfCloseTimeoutMs: this.cfg.halfCloseTimeoutMs,
      aToB: (n) => void (tx += n),
      bToA: (n) => void (rx += n),
      done: (error) => {
        this.flushers.delete(flushBytes);
        flushBytes();
        if (error) m.ops_proxy_proxy_errors_total.add(1, { client_name: p.name, reason: 'data_io_error' });
        p.finish(error === undefined);
      },
    });
  }

  /** Removes a pending proxy_id; false when it was no longer pending (matched, timed out or failed). */
  private unpend(proxyId: string): boolean {
    const p = this.pending.get(proxyId);
    if (!p) return false;
    this.pending.delete(proxyId);
    clearTimeout(p.timer);
    this.metrics.m.ops_proxy_pending_data_connections.add(-1);
    return true;
  }
}
