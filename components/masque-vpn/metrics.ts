import type { Logger } from 'pino';
import type { Pipeline } from '../../instrumentation/pipeline.ts';
import { createComponentPipeline } from '../kit/pipeline.ts';
import type { Recorders } from '../../instrumentation/recorders.ts';
import { masqueVpn } from '../../semconv/generated/masque-vpn.ts';
import type { DropReason } from './ip-packet.ts';

/**
 * The masque-vpn server's metrics wiring: the pipeline (service `masque-vpn`) and the typed recorders
 * of the 19 `masque_vpn_*` families of seed 004, fed by the events the server reports (sessions,
 * CONNECT-IP streams and requests, packets, drops, errors, the pool) plus two read at each collection:
 * uptime and the TUN link state. The serving side never touches the pipeline's set-up.
 */

/** `error_type` values of `masque_vpn_errors_total` (seed 004, "Error Metrics"). */
export type ErrorType = 'connection' | 'packet' | 'auth' | 'tun' | 'masque';

/** The metrics of one masque-vpn server. */
export interface MasqueMetrics {
  readonly pipeline: Pipeline;
  readonly m: Recorders<typeof masqueVpn>;
  /** An authenticated HTTP/2 connection began: `total_connections` + 1, `active_connections` + 1. */
  connectionOpened(): void;
  /** It ended after `seconds`: `active_connections` - 1, `connection_duration_seconds{client_id}`. */
  connectionClosed(clientId: string, seconds: number): void;
  /** An HTTP/2 stream of an authenticated client opened: `quic_streams_total{client_id,stream_type="bidirectional"}`. */
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
  drop(reason: DropReason): void;
  error(type: ErrorType): void;
  /** The pool's client addresses: `ip_pool_total`, `ip_pool_used`, `ip_pool_available`. */
  pool(total: number, used: number): void;
  /** From now on, `tun_interface_status` reads `linkUp()` and `server_uptime_seconds` grows at each collection. */
  start(linkUp: () => boolean): void;
}

/**
 * Creates the pipeline and recorders, with every enum series of the label-less and enum-labelled
 * counters started at 0 (so `rate()` and `check` see them from the first scrape).
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

  return {
    pipeline,
    m,
    connectionOpened() {
      active++;
      m.masque_vpn_total_connections.add(1);
      m.masque_vpn_active_connections.record(active);
    },
    connectionClosed(clientId, seconds) {
      active--;
      m.masque_vpn_active_connections.record(active);
      m.masque_vpn_connection_duration_seconds.record(seconds, { client_id: clientId });
    },
    streamOpened: (clientId) => m.masque_vpn_quic_streams_total.add(1, { client_id: clientId, stream_type: 'bidirectional' }),
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
