/**
 * The control plane's own trc families (seed 002 sections A, B and C), recorded through the preload's
 * pipeline: the app runs under `node --import otel-contracts/register` with `OTEL_CONTRACTS_APP_CONTRACTS=trc:control-plane,trc:projections`,
 * so these families share one `/metrics` (and one OTLP push) with the preload's HTTP and process families.
 */
import { preloadPipeline, trc, type Pipeline, type Recorders } from '../../index.ts';
import { ConfigError } from '../../index.ts';

/** The typed trc recorders: a family or label value outside the contract is a compile error. */
export type TrcRecorders = Recorders<typeof trc>;

/** The preload's pipeline and its trc recorders. */
export interface ControlPlaneMetrics {
  readonly pipeline: Pipeline;
  readonly m: TrcRecorders;
}

/**
 * The preload's pipeline, checked to hold the whole trc contract.
 * @throws ConfigError saying how to start the app when there is no preload, or when the preload was not
 *   told the app records trc (it then holds trc's two HTTP families only).
 */
export function controlPlaneMetrics(): ControlPlaneMetrics {
  const pipeline = preloadPipeline();
  if (!pipeline) throw new ConfigError('no otel-contracts preload in this process: start it as `node --import otel-contracts/register examples/control-plane/main.ts` (npm run example:control-plane)');
  const m = pipeline.recorders(trc);
  // Documented families are own properties; without OTEL_CONTRACTS_APP_CONTRACTS=trc:control-plane,trc:projections only the HTTP ones are.
  if (!Object.hasOwn(m, 'trc_commands_total')) throw new ConfigError('the preload does not hold the trc contract: set OTEL_CONTRACTS_APP_CONTRACTS=trc:control-plane,trc:projections');
  return { pipeline, m };
}

/** `success`/`failed`, the result values of `trc_auth_token_mints_total`. */
export type MintResult = 'success' | 'failed';
/** `success`/`failure`, the result values of every other trc family with a `result`. */
export type Result = 'success' | 'failure';

const GRANT_TYPES = ['authorization_code', 'client_credentials', 'refresh_token', 'device_code'] as const;
const RESULTS = ['success', 'failure'] as const;

/** What the process runs and defines, whose series exist from the start. */
export interface KnownSeries {
  /** The API runs here: the token families and the event append families. */
  readonly api: boolean;
  /** Command names (`create_app`), for `trc_commands_total` and `trc_command_duration_seconds`. */
  readonly commands: readonly string[];
  /** Endpoints taking an `Idempotency-Key` (route templates), for the idempotency counters. */
  readonly endpoints: readonly string[];
  /** Projections the worker here applies: the apply and error families. */
  readonly projections: readonly string[];
  /** Projections the API here can rebuild: `trc_projection_rebuilds_total`. */
  readonly rebuilds: readonly string[];
  /** Query classes the app's statements are timed under, for `trc_db_query_duration_seconds`. */
  readonly queryClasses: readonly string[];
}

/**
 * Exports every series known in advance with 0 (counters) or zero counts (histograms, `begin`), so
 * `rate()` and alerts see the first event (Prometheus' advice): each grant type and result, each
 * command and result, each idempotent endpoint, each projection, each query class.
 */
export function beginKnownSeries(m: TrcRecorders, known: KnownSeries): void {
  for (const result of RESULTS) {
    if (known.api) {
      m.trc_auth_token_refresh_total.add(0, { result });
      m.trc_auth_device_flow_polls_total.add(0, { result });
      m.trc_event_append_total.add(0, { result });
      m.trc_event_append_duration_seconds.begin({ result });
      for (const grant_type of GRANT_TYPES) m.trc_auth_token_mints_total.add(0, { grant_type, result: result === 'success' ? 'success' : 'failed' });
    }
    for (const command of known.commands) {
      m.trc_commands_total.add(0, { command, result });
      m.trc_command_duration_seconds.begin({ command, result });
    }
  }
  for (const endpoint of known.endpoints) {
    m.trc_idempotency_hits_total.add(0, { endpoint });
    m.trc_idempotency_conflicts_total.add(0, { endpoint });
  }
  for (const projection of known.projections) {
    m.trc_projection_apply_duration_seconds.begin({ projection });
    m.trc_projection_errors_total.add(0, { projection });
  }
  for (const projection of known.rebuilds) m.trc_projection_rebuilds_total.add(0, { projection });
  for (const query_class of known.queryClasses) m.trc_db_query_duration_seconds.begin({ query_class });
}
