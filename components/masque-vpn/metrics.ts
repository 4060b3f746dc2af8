import type { Logger } from 'pino';
import type { Pipeline } from '../../instrumentation/pipeline.ts';
import { createComponentPipeline } from '../kit/pipeline.ts';
import type { Recorders } from '../../instrumentation/recorders.ts';
import { masqueVpn } from '../../semconv/generated/masque-vpn.ts';
import type { DropReason } from './ip-packet.ts';

/**
 * The masque-vpn server's metrics wiring: the pipeline (service `masque-vpn`) and the typed recorders
 * of the 19 `masque_vpn_*` families of seed 004, fed by the events the server reports (VPN connections,
 * HTTP/2 streams, CONNECT-IP requests, packets, drops, errors, the pool) plus two read at each
 * collection: uptime and the TUN link state. The serving side never touches the pipeline's set-up.
 *
 * Every series starts, at 0 or with zero counts, as soon as its label set is known (Prometheus' advice:
 * export 0 for every series known in advance, so `rate()` and alerts see the first event): the label-less
 * and enum-only series at creation, a client's series when its VPN connection or its stream begins.
 */

/** `error_type` values of `masque_vpn_errors_total` (seed 004, "Error Metrics"). */
export type ErrorType = 'connection' | 'packet' | 'auth' | 'tun' | 'masque';

/** The metrics of one masque-vpn server. */
export interface MasqueMetrics {
  readonly pipeline: Pipeline;
  readonly m: Recorders<typeof masqueVpn>;
  /**
   * A client's VPN connection began (its HTTP/2 session got its first tunnel): `total_connections` + 1,
   * `active_connections` + 1, and the client's traffic counters and `connection_duration_seconds` series
   * start (at 0, zero counts) if they do not exist yet.
   */
  connectionOpened(clientId: string): void;
  /** It ended (its last tunnel closed) after `seconds`: `active_connections` - 1, `connection_duration_seconds{client_id}`. */
  connectionClosed(clientId: string, seconds: number): void;
  /**
   * An HTTP/2 stream of an authenticated client opened: `quic_streams_total{client_id,stream_type="bidirectional"}` + 1
   * (`"unidirectional"` starts at 0: HTTP/2 has no such streams), `quic_stream_duration_seconds{client_id}` starts.
   */
  streamOpened(clientId: string): void;
  /** It closed after `seconds`: `quic_stream_duration_seconds{client_id}`. */
  streamClosed(clientId: string, seconds: number): void;
  /** A CONNECT (extended, `:protocol connect-ip`) was answered after `seconds`: `masque_requests_total` and `masque_request_duration_seconds`. */
  request(status: 'success' | 'failed', seconds: number): void;
  /** One IP packet of `bytes` came from a client in a DATAGRAM capsule: `packets_received_total`, `bytes_received_total`. */
  received(clientId: string, bytes: number): void;
  /** One IP packet of `bytes` went to a client in a DATAGRAM capsule: `packets_sent_total`, `bytes_sent_total`. */
  sent(clientId: string, bytes: number): void;
  /** Time spent on one packet, client → TUN (`inbound`) or TUN → client (`outbound`), in seconds. */
  processed(direction: 'inbound' | 'outbound', seconds: number): void;
  /** One packet dropped: `packet_drops_total{reason}`. */
  drop(reason: DropReason): void;
  /** One error: `errors_total{error_type}`. */
  error(type: ErrorType): void;
  /** The pool's client addresses: `ip_pool_total`, `ip_pool_used`, `ip_pool_available`. */
  pool(total: number, used: number): void;
  /** From now on, `tun_interface_status` reads `linkUp()` and `server_uptime_seconds` grows at each collection. */
  start(linkUp: () => boolean): void;
}

/** Seconds since `t0` (a `process.hrtime.bigint()` reading): what the duration histograms record. */
export function secondsSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Counts one error in `errors_total{error_type}` and logs it (warn) with `detail`. */
export function reportError(metrics: MasqueMetrics, logger: Logger, type: ErrorType, detail: Record<string, unknown>, msg: string): void {
  metrics.error(type);
  logger.warn({ error_type: type, ...detail }, msg);
}

/**
 * Creates the pipeline and recorders, with every series of the label-less and enum-labelled families
 * started (counters and gauges at 0, histograms with zero counts), so `rate()` and `check` see them from
 * the first scrape.
 * @param env `OTEL_*` (see `readConfig`).
 * @throws ConfigError for a bad `OTEL_*` value.
 */
export function createMasqueMetrics(env: NodeJS.ProcessEnv, logger: Logger): MasqueMetrics {
  const pipeline = createComponentPipeline({ contracts: [masqueVpn], serviceName: 'masque-vpn', env, logger });
  const m = pipeline.recorders(masqueVpn);
  let active = 0;
  m.masque_vpn_active_connections.record(0);
  m.masque_vpn_total_connections.add(0);
  m.masque_vpn_server_uptime_seconds.add(0);
  m.masque_vpn_tun_interface_status.record(0);
  for (const t of ['connection', 'packet', 'auth', 'tun', 'masque'] as const) m.masque_vpn_errors_total.add(0, { error_type: t });
  for (const r of ['invalid', 'oversized', 'processing_error'] as const) m.masque_vpn_packet_drops_total.add(0, { reason: r });
  for (const s of ['success', 'failed'] as const) m.masque_vpn_masque_requests_total.add(0, { method: 'CONNECT', status: s });
  for (const d of ['inbound', 'outbound'] as const) m.masque_vpn_packet_processing_duration_seconds.begin({ direction: d });
  m.masque_vpn_masque_request_duration_seconds.begin({ method: 'CONNECT' });

  return {
    pipeline,
    m,
    connectionOpened(clientId) {
      active++;
      m.masque_vpn_total_connections.add(1);
      m.masque_vpn_active_connections.record(active);
      const client = { client_id: clientId };
      m.masque_vpn_packets_received_total.add(0, client);
      m.masque_vpn_bytes_received_total.add(0, client);
      m.masque_vpn_packets_sent_total.add(0, client);
      m.masque_vpn_bytes_sent_total.add(0, client);
      m.masque_vpn_connection_duration_seconds.begin(client);
    },
    connectionClosed(clientId, seconds) {
      active--;
      m.masque_vpn_active_connections.record(active);
      m.masque_vpn_connection_duration_seconds.record(seconds, { client_id: clientId });
    },
    streamOpened(clientId) {
      m.masque_vpn_quic_streams_total.add(1, { client_id: clientId, stream_type: 'bidirectional' });
      m.masque_vpn_quic_streams_total.add(0, { client_id: clientId, stream_type: 'unidirectional' });
      m.masque_vpn_quic_stream_duration_seconds.begin({ client_id: clientId });
    },
    streamClosed: (clientId, seconds) => m.masque_vpn_quic_stream_duration_seconds.record(seconds, { client_id: clientId }),
    request(status, seconds) {
      m.masque_vpn_masque_requests_total.add(1, { method: 'CONNECT', status });
      m.masque_vpn_masque_request_duration_seconds.record(seconds, { method: 'CONNECT' });
    },
    received(clientId, bytes) {
      m.masque_vpn_packets_received_total.add(1, { client_id: clientId });
      m.masque_vpn_bytes_received_total.add(bytes, { client_id: clientId });
    },
    sent(clientId, bytes) {
      m.masque_vpn_packets_sent_total.add(1, { client_id: clientId });
      m.masque_vpn_bytes_sent_total.add(bytes, { client_id: clientId });
    },
    processed: (direction, seconds) => m.masque_vpn_packet_processing_duration_seconds.record(seconds, { direction }),
    drop: (reason) => m.masque_vpn_packet_drops_total.add(1, { reason }),
    error: (type) => m.masque_vpn_errors_total.add(1, { error_type: type }),
    pool(total, used) {
      m.masque_vpn_ip_pool_total.record(total);
      m.masque_vpn_ip_pool_used.record(used);
      m.masque_vpn_ip_pool_available.record(total - used);
    },
    start(linkUp) {
      let last = performance.now();
      const sample = () => {
        const now = performance.now();
        m.masque_vpn_server_uptime_seconds.add((now - last) / 1000);
        last = now;
        m.masque_vpn_tun_interface_status.record(linkUp() ? 1 : 0);
      };
      sample();
      pipeline.onCollect(sample);
    },
  };
}
