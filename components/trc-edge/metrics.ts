import type { Logger } from 'pino';
import type { Pipeline } from '../../instrumentation/pipeline.ts';
import type { Recorders } from '../../instrumentation/recorders.ts';
import { createComponentPipeline } from '../kit/pipeline.ts';
import { trcEdge, type EdgeContract } from './contract.ts';
import { PROTOCOL_HINTS, type ProtocolHint } from './route-table.ts';
import type { ConnectFailure } from './upstream.ts';

/**
 * The edge's metrics wiring: the pipeline (service `trc-edge`) and the 12 `trc_edge_*` families of seed
 * 002, section F (contract.ts: the edge's part of the trc contract, so its /metrics holds these and not
 * the other trc components' families), each fed by one kind of real event. `node_id` comes from `TRC_NODE_ID` (the registry's
 * instance label); `route_id` is never a label (the seed forbids it for cardinality).
 *
 * Every series known in advance starts at 0 (Prometheus' advice, so `rate()` and alerts see the first
 * event): each sniff result, each upstream reason, each config-apply and injection result, each protocol
 * hint and the label-less gauges at creation; each listener's `listener_port` × `result` and its
 * concurrent gauge once it listens. Histogram series start with zero counts (`begin`).
 */

/** `result` of `trc_edge_connections_total`: `success` = piped to a backend; every other accepted connection is `failure`. */
export type ConnectionResult = 'success' | 'failure';
/** `result` of `trc_edge_sni_sniffs_total` and `trc_edge_sni_sniff_seconds`. */
export type SniffResult = 'ok' | 'timeout' | 'not_tls' | 'no_sni';
/** `reason` of `trc_edge_upstream_connect_failures_total`. */
export type UpstreamReason = 'no_backend' | ConnectFailure;

const SNIFF_RESULTS: readonly SniffResult[] = ['ok', 'timeout', 'not_tls', 'no_sni'];
const UPSTREAM_REASONS: readonly UpstreamReason[] = ['no_backend', 'refused', 'timeout', 'unreachable', 'reset'];

/** The metrics of one edge process. */
export interface EdgeMetrics {
  readonly pipeline: Pipeline;
  readonly m: Recorders<EdgeContract>;
  /** The edge listens on these ports: `connections_total{listener_port,result}` and `concurrent_connections{listener_port}` start at 0. */
  listening(ports: readonly string[]): void;
  /** A connection was accepted on `port` (+1 concurrent) or closed (-1). */
  opened(port: string): void;
  closed(port: string): void;
  /** The connection's outcome, once per accepted connection. */
  connection(port: string, result: ConnectionResult): void;
  /** A TLS listener's sniff ended with `result` after `seconds` (from accept). */
  sniff(result: SniffResult, seconds: number): void;
  /** A client connection could not reach a backend. */
  upstreamFailure(reason: UpstreamReason): void;
  /** One load of the routes file took `seconds`. */
  configApplied(result: 'success' | 'error', seconds: number): void;
  /** The active routes: `routes_loaded` and `proxy_v2_enabled_routes`. */
  routes(loaded: number, proxyV2: number): void;
  /** Healthy (route, backend) pairs, in all and by the route's protocol hint. */
  backends(byProtocol: Readonly<Record<ProtocolHint, number>>): void;
  /** A PROXY v2 header was written (`success`) or could not be (`failure`). */
  injection(result: 'success' | 'failure'): void;
}

/**
 * Creates the pipeline and recorders and starts the series known in advance.
 * @param env `OTEL_*` (see `readConfig`) and `TRC_NODE_ID` (the `node_id` label; left off when unset).
 * @throws ConfigError for a bad `OTEL_*` value.
 */
export function createEdgeMetrics(env: NodeJS.ProcessEnv, logger: Logger): EdgeMetrics {
  const pipeline = createComponentPipeline({ contracts: [trcEdge], serviceName: 'trc-edge', env, logger });
  const m = pipeline.recorders(trcEdge);
  for (const result of SNIFF_RESULTS) {
    m.trc_edge_sni_sniffs_total.add(0, { result });
    m.trc_edge_sni_sniff_seconds.begin({ result });
  }
  for (const reason of UPSTREAM_REASONS) m.trc_edge_upstream_connect_failures_total.add(0, { reason });
  for (const result of ['success', 'error'] as const) {
    m.trc_edge_config_apply_total.add(0, { result });
    m.trc_edge_config_apply_seconds.begin({ result });
  }
  for (const result of ['success', 'failure'] as const) m.trc_edge_proxy_v2_injections_total.add(0, { result });
  m.trc_edge_routes_loaded.record(0);
  m.trc_edge_proxy_v2_enabled_routes.record(0);
  m.trc_edge_backends_active_total.record(0);
  for (const protocol_hint of PROTOCOL_HINTS) m.trc_edge_backends_active_by_protocol.record(0, { protocol_hint });
  return {
    pipeline,
    m,
    listening(ports) {
      for (const listener_port of ports) {
        m.trc_edge_connections_total.add(0, { listener_port, result: 'success' });
        m.trc_edge_connections_total.add(0, { listener_port, result: 'failure' });
        m.trc_edge_concurrent_connections.add(0, { listener_port });
      }
    },
    opened: (listener_port) => m.trc_edge_concurrent_connections.add(1, { listener_port }),
    closed: (listener_port) => m.trc_edge_concurrent_connections.add(-1, { listener_port }),
    connection: (listener_port, result) => m.trc_edge_connections_total.add(1, { listener_port, result }),
    sniff(result, seconds) {
      m.trc_edge_sni_sniffs_total.add(1, { result });
      m.trc_edge_sni_sniff_seconds.record(seconds, { result });
    },
    upstreamFailure: (reason) => m.trc_edge_upstream_connect_failures_total.add(1, { reason }),
    configApplied(result, seconds) {
      m.trc_edge_config_apply_total.add(1, { result });
      m.trc_edge_config_apply_seconds.record(seconds, { result });
    },
    routes(loaded, proxyV2) {
      m.trc_edge_routes_loaded.record(loaded);
      m.trc_edge_proxy_v2_enabled_routes.record(proxyV2);
    },
    backends(byProtocol) {
      let total = 0;
      for (const protocol_hint of PROTOCOL_HINTS) {
        total += byProtocol[protocol_hint];
        m.trc_edge_backends_active_by_protocol.record(byProtocol[protocol_hint], { protocol_hint });
      }
      m.trc_edge_backends_active_total.record(total);
    },
    injection: (result) => m.trc_edge_proxy_v2_injections_total.add(1, { result }),
  };
}
