import type { Logger } from 'pino';
import type { Pipeline } from '../../instrumentation/pipeline.ts';
import type { LimitReason } from '../kit/admission.ts';
import { createComponentPipeline } from '../kit/pipeline.ts';
import type { Recorders } from '../../instrumentation/recorders.ts';
import { opsProxy } from '../../semconv/generated/ops-proxy.ts';
import { self } from '../../semconv/generated/self.ts';

/**
 * The ops proxy's metrics wiring: the pipeline (service `ops-proxy`) and the typed recorders of the 22
 * `ops_proxy_*` families of seed 001, plus the two pieces of state the recorders cannot hold themselves:
 * the latency sum/count behind `ops_proxy_latency_seconds` (seed: "Average latency in seconds (derived
 * from internal sum/count)") and the last value of `ops_proxy_clients_connected` (an up-down counter).
 * The serving side (listener.ts, connector.ts) reports events here and never touches the pipeline.
 *
 * Series exist from the start wherever their labels are known, so `rate()` and sums work from the first
 * scrape: the label-less families when the listening role starts, the `<unknown>` series unroutable
 * traffic counts in, and, when a routing name becomes known (first REGISTER, or again after it was
 * forgotten), every per-name series of it × each `protocol` and `reason`, at 0.
 */

/** `protocol` label values (seed 001, `requests_total`: http / https / tcp). */
export type Protocol = 'http' | 'https' | 'tcp';
/** `reason` label values of `ops_proxy_proxy_errors_total` (seed 001, "current reasons"). */
export type ErrorReason = 'no_client' | 'forward_write_error' | 'data_timeout' | 'data_io_error';
/** `reason` of the self-metric `otel_contracts_connections_refused_total` (semconv/self.yaml, "ops proxy"). */
export type RefusalReason = 'unauthenticated_evicted' | 'handshake_timeout' | 'connection_limit' | 'unauthorized' | 'malformed';
/** The refusal `reason` of a connection the admission limits closed. */
export const LIMIT_REFUSAL: Readonly<Record<LimitReason, RefusalReason>> = { evicted: 'unauthenticated_evicted', sniff_timeout: 'handshake_timeout' };
/** `outcome` of the self-metric `otel_contracts_name_takeovers_total`: the name stayed, or moved (`--allow-takeover`). */
export type TakeoverOutcome = 'refused' | 'allowed';

const PROTOCOLS: readonly Protocol[] = ['http', 'https', 'tcp'];
const ERROR_REASONS: readonly ErrorReason[] = ['no_client', 'forward_write_error', 'data_timeout', 'data_io_error'];
const REFUSAL_REASONS: readonly RefusalReason[] = ['unauthenticated_evicted', 'handshake_timeout', 'connection_limit', 'unauthorized', 'malformed'];

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
  /**
   * The listening role is active: `ops_proxy_server_info` = 1; the label-less families, the `<unknown>`
   * series (`connections_total`, `connections_failed_total`, `requests_total` and `requests_failed_total`
   * per protocol, `proxy_errors_total{reason="no_client"}`) and the two ops-proxy self-metrics start at 0.
   */
  serverRole(): void;
  /**
   * A routing name became known (first REGISTER, or again after it was forgotten): each of its per-name
   * series starts at 0 (per protocol and per reason where the family has them; the average latency reads
   * 0 until its first tunnel). `client_up` and `client_registrations_total` are the registry's to record.
   */
  nameKnown(name: string): void;
  /** A connection refused or closed by the limits or the protocol: `otel_contracts_connections_refused_total{reason}` + 1. */
  refused(reason: RefusalReason): void;
  /** One routing name REGISTERed while another live connection held it: `otel_contracts_name_takeovers_total{outcome}` + 1. */
  takeover(outcome: TakeoverOutcome): void;
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
  const s = pipeline.recorders(self);
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
      const unknown = { client_name: UNKNOWN_NAME };
      m.ops_proxy_connections_total.add(0, unknown);
      m.ops_proxy_connections_failed_total.add(0, unknown);
      m.ops_proxy_proxy_errors_total.add(0, { ...unknown, reason: 'no_client' });
      for (const protocol of PROTOCOLS) {
        m.ops_proxy_requests_total.add(0, { ...unknown, protocol });
        m.ops_proxy_requests_failed_total.add(0, { ...unknown, protocol });
      }
      for (const reason of REFUSAL_REASONS) s.otel_contracts_connections_refused_total.add(0, { reason });
      for (const outcome of ['refused', 'allowed'] as const) s.otel_contracts_name_takeovers_total.add(0, { outcome });
    },
    nameKnown(name) {
      const l = { client_name: name };
      m.ops_proxy_client_disconnects_total.add(0, l);
      m.ops_proxy_connections_total.add(0, l);
      m.ops_proxy_connections_active.add(0, l);
      m.ops_proxy_connections_failed_total.add(0, l);
      m.ops_proxy_connections_bytes_tx_total.add(0, l);
      m.ops_proxy_connections_bytes_rx_total.add(0, l);
      m.ops_proxy_forward_commands_total.add(0, l);
      m.ops_proxy_data_connections_matched_total.add(0, l);
      m.ops_proxy_data_connections_timeout_total.add(0, l);
      for (const protocol of PROTOCOLS) {
        m.ops_proxy_requests_total.add(0, { ...l, protocol });
        m.ops_proxy_requests_success_total.add(0, { ...l, protocol });
        m.ops_proxy_requests_failed_total.add(0, { ...l, protocol });
        m.ops_proxy_latency_seconds.record(0, { ...l, protocol });
      }
      for (const reason of ERROR_REASONS) m.ops_proxy_proxy_errors_total.add(0, { ...l, reason });
    },
    refused(reason) {
      s.otel_contracts_connections_refused_total.add(1, { reason });
    },
    takeover(outcome) {
      s.otel_contracts_name_takeovers_total.add(1, { outcome });
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
