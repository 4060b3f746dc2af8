import type { Logger } from 'pino';
import type { Pipeline } from '../../instrumentation/pipeline.ts';
import { createComponentPipeline } from '../kit/pipeline.ts';
import type { Recorders } from '../../instrumentation/recorders.ts';
import { opsProxy } from '../../semconv/generated/ops-proxy.ts';

/**
 * The ops proxy's metrics wiring: the pipeline (service `ops-proxy`) and the typed recorders of the 22
 * `ops_proxy_*` families of seed 001, plus the two pieces of state the recorders cannot hold themselves:
 * the latency sum/count behind `ops_proxy_latency_seconds` (seed: "Average latency in seconds (derived
 * from internal sum/count)") and the last value of `ops_proxy_clients_connected` (an up-down counter).
 * The serving side (listener.ts, connector.ts) reports events here and never touches the pipeline.
 */

/** `protocol` label values (seed 001, `requests_total`: http / https / tcp). */
export type Protocol = 'http' | 'https' | 'tcp';
/** `reason` label values of `ops_proxy_proxy_errors_total` (seed 001, "current reasons"). */
export type ErrorReason = 'no_client' | 'forward_write_error' | 'data_timeout' | 'data_io_error';

/**
 * `client_name` of traffic that matches no registered name (unknown Host or SNI, no SNI, not TLS, not
 * HTTP). It cannot collide with a routing name: `<` and `>` are not allowed in a Host header.
 */
export const UNKNOWN_NAME = '<unknown>';

/** The metrics of one ops-proxy process. */
export interface OpsProxyMetrics {
  /** The pipeline (`prometheus` reader by default; `OTEL_*` override, OTLP push as for every component). */
  readonly pipeline: Pipeline;
  /** Recorders of the ops-proxy contract, keyed by exact family name. */
  readonly m: Recorders<typeof opsProxy>;
  /** The listening role is active: `ops_proxy_server_info` = 1, registry gauges and label-less families start at 0. */
  serverRole(): void;
  /** The connecting role is active: `ops_proxy_client_info` = 1. */
  clientRole(): void;
  /** Registry sizes: `ops_proxy_clients_total` (registered names) and `ops_proxy_clients_connected`. */
  clients(total: number, connected: number): void;
  /** One tunnel set up in `seconds` (public accept → DATA matched): updates the average in `ops_proxy_latency_seconds`. */
  latency(name: string, protocol: Protocol, seconds: number): void;
  /**
   * A name was forgotten (gone longer than the prune age): every series labelled with it leaves the
   * exposition and the push, and its place in each family's series budget is freed; its latency sums go too.
   */
  forget(name: string): void;
}

/**
 * Creates the pipeline and recorders of the ops proxy.
 * @param env `OTEL_*` (see `readConfig`), `NODE_NAME` and `POD_NAME` (the `node` and `pod` labels, hostname otherwise).
 * @throws ConfigError for a bad `OTEL_*` value.
 */
export function createOpsProxyMetrics(env: NodeJS.ProcessEnv, logger: Logger): OpsProxyMetrics {
  const pipeline = createComponentPipeline({ contracts: [opsProxy], serviceName: 'ops-proxy', env, logger });
  const m = pipeline.recorders(opsProxy);
  let connected = 0;
  // name → protocol → [sum seconds, count]. Nested maps: no composite string key, so any name is safe.
  const sums = new Map<string, Map<Protocol, [number, number]>>();
  return {
    pipeline,
    m,
    serverRole() {
      m.ops_proxy_server_info.record(1);
      m.ops_proxy_clients_total.record(0);
      m.ops_proxy_clients_connected.add(0);
      m.ops_proxy_pending_data_connections.add(0);
      m.ops_proxy_data_connections_unexpected_total.add(0);
    },
    clientRole() {
      m.ops_proxy_client_info.record(1);
    },
    clients(total, now) {
      m.ops_proxy_clients_total.record(total);
      if (now !== connected) m.ops_proxy_clients_connected.add(now - connected);
      connected = now;
    },
    latency(name, protocol, seconds) {
      let byProtocol = sums.get(name);
      if (!byProtocol) sums.set(name, (byProtocol = new Map()));
      let s = byProtocol.get(protocol);
      if (!s) byProtocol.set(protocol, (s = [0, 0]));
      s[0] += seconds;
      s[1] += 1;
      m.ops_proxy_latency_seconds.record(s[0] / s[1], { client_name: name, protocol });
    },
    forget(name) {
      sums.delete(name);
      pipeline.removeSeries({ client_name: name });
    },
  };
}
