import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { Pipeline } from '../../instrumentation/pipeline.ts';
import { createComponentPipeline } from '../kit/pipeline.ts';
import type { Recorders } from '../../instrumentation/recorders.ts';
import { egress } from '../../semconv/generated/egress.ts';
import { self } from '../../semconv/generated/self.ts';
import { bounded } from './bounded.ts';
import type { EnforcementMode } from './config.ts';
import type { NftManager } from './nft.ts';
import type { Action, ActivePolicy, NetworkPolicy } from './policy.ts';

/**
 * The egress sidecar's metrics wiring: the pipeline and its recorders (the eleven `opensandbox_egress_*`
 * families of seed 000 and the `otel_contracts_*` self-metrics), known series started at 0, the info,
 * enforcement-mode, rule-count and uptime gauges, and the nftables counters turned into metrics. The
 * serving side (main.ts) reports what happens through it and never touches the pipeline's set-up.
 *
 * From the first scrape, in either mode, every family is present and every series of an enum label
 * exists: counters at 0, `enforcement_mode{mode}` 1 for the mode in force and 0 for the other,
 * `policy_rule_count{default_action}` the rule count under the policy's default action and 0 under the
 * other. A `dns`-mode sidecar shows the nftables families of seed 000 §3 and `violations_total{type="l2_deny"}`
 * at 0 (nothing applies nftables), except `nft_apply_total{result="failure"}` 1 when `dns+nft` was asked
 * for and ApplyStatic failed. `dns_forward_duration_seconds` starts with zero counts. One series waits
 * for data that never comes: the opt-in `domain` label of `nft_resolved_ips_added_total` (never set: unbounded).
 */

/** The sidecar's version, from the package's own package.json (`info{version}`); `0.0.0` when it cannot be read. */
export function sidecarVersion(): string {
  try {
    // The package self-reference resolves through `exports["./package.json"]`, both in the repository and
    // when installed, whether this file runs from its source or from a compiled copy under dist/.
    const pkg = createRequire(import.meta.url)('otel-contracts/package.json') as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The metrics of one running sidecar. */
export interface SidecarMetrics {
  /** The pipeline (service `opensandbox-egress`, `prometheus` reader by default; `OTEL_*` override). */
  readonly pipeline: Pipeline;
  /** Recorders of the egress contract (seed 000), for the resolver. */
  readonly egress: Recorders<typeof egress>;
  /** Recorders of the self-metrics contract (dropped DNS packets), for the resolver. */
  readonly self: Recorders<typeof self>;
  /** {@link sidecarVersion}, read once. */
  readonly version: string;
  /** One nftables apply (ApplyStatic or a default-verdict change) ended: `opensandbox_egress_nft_apply_total{result}`. */
  nftApplied(result: 'success' | 'failure'): void;
  /** Addresses of allowed DNS answers newly added to the nftables allow set: `opensandbox_egress_nft_resolved_ips_added_total`. */
  resolvedIpsAdded(count: number): void;
  /**
   * Once the enforcement mode is decided: records `info{enforcement_mode,version}` and `enforcement_mode{mode}`
   * (1 for `mode`, 0 for the other), the rule count of `initial` and of every later policy (under its default
   * action; the other default action's series reads 0),
   * counts every replacement in `policy_updates_total`, refreshes `uptime_seconds` every second and, with
   * `nft`, adds the nftables drop/deny counter deltas every 5 seconds. Call once.
   */
  start(mode: EnforcementMode, policy: ActivePolicy, initial: NetworkPolicy, nft: NftManager | undefined): void;
  /** Before each scrape: refreshes the uptime gauge and syncs the nftables counters (waits at most 1 s). */
  beforeScrape(): Promise<void>;
  /** Stops the timers after a last nftables counter sync (waits at most 2 s); never rejects. */
  stop(): Promise<void>;
}

/**
 * Creates the sidecar's pipeline and recorders, and starts every known series at 0 so that `rate()` and
 * the counts match from the first scrape.
 *
 * @param env `OTEL_*` (see `readConfig`) and `OPENSANDBOX_EGRESS_INSTANCE_ID` (the `instance_id` label).
 * @throws ConfigError for a bad `OTEL_*` value.
 */
export function createSidecarMetrics(env: NodeJS.ProcessEnv, logger: Logger): SidecarMetrics {
  const pipeline = createComponentPipeline({ contracts: [egress], serviceName: 'opensandbox-egress', env, logger });
  const m = pipeline.recorders(egress);
  const s = pipeline.recorders(self);
  const version = sidecarVersion();

  for (const result of ['allowed', 'denied', 'forward_error'] as const) m.opensandbox_egress_dns_queries_total.add(0, { result });
  for (const type of ['dns_deny', 'l2_deny'] as const) m.opensandbox_egress_violations_total.add(0, { type });
  m.opensandbox_egress_nft_resolved_ips_added_total.add(0);
  m.opensandbox_egress_dns_forward_duration_seconds.begin();
  for (const result of ['success', 'failure'] as const) m.opensandbox_egress_nft_apply_total.add(0, { result });
  for (const reason of ['dot_853', 'doh_443'] as const) m.opensandbox_egress_nft_doh_dot_packets_dropped_total.add(0, { reason });
  for (const reason of ['malformed', 'oversized', 'not_a_query', 'unmatched_response'] as const) s.otel_contracts_dns_packets_dropped_total.add(0, { reason });

  const recordUptime = () => m.opensandbox_egress_uptime_seconds.record(Math.round(process.uptime() * 1000) / 1000);
  const timers: NodeJS.Timeout[] = [];
  let nftManager: NftManager | undefined;

  // nftables counters → metrics, every 5 s, before each scrape and at shutdown; one read at a time.
  let syncing: Promise<void> | undefined;
  const syncCounters = (): Promise<void> => {
    const nft = nftManager;
    if (!nft) return Promise.resolve();
    syncing ??= nft
      .counterDeltas()
      .then((d) => {
        if (d.dot_853) m.opensandbox_egress_nft_doh_dot_packets_dropped_total.add(d.dot_853, { reason: 'dot_853' });
        if (d.doh_443) m.opensandbox_egress_nft_doh_dot_packets_dropped_total.add(d.doh_443, { reason: 'doh_443' });
        if (d.l2_deny) m.opensandbox_egress_violations_total.add(d.l2_deny, { type: 'l2_deny' });
      })
      .catch((e: unknown) => logger.warn({ err: (e as Error).message }, 'reading nftables counters failed'))
      .finally(() => (syncing = undefined));
    return syncing;
  };

  return {
    pipeline,
    egress: m,
    self: s,
    version,
    nftApplied: (result) => m.opensandbox_egress_nft_apply_total.add(1, { result }),
    resolvedIpsAdded: (count) => m.opensandbox_egress_nft_resolved_ips_added_total.add(count),
    start(mode, policy, initial, nft) {
      m.opensandbox_egress_info.record(1, { enforcement_mode: mode, version });
      for (const each of ['dns', 'dns+nft'] as const) m.opensandbox_egress_enforcement_mode.record(each === mode ? 1 : 0, { mode: each });
      // Both default actions have a series: the policy's rule count under its own, 0 under the other.
      const recordRules = (p: { default_action: Action; egress: readonly unknown[] }) => {
        for (const action of ['allow', 'deny'] as const) m.opensandbox_egress_policy_rule_count.record(action === p.default_action ? p.egress.length : 0, { default_action: action });
      };
      recordRules(initial);
      // Every replacement is a successful POST /policy.
      policy.onChange((p) => {
        recordRules(p);
        m.opensandbox_egress_policy_updates_total.add(1);
      });
      recordUptime();
      const uptimeTimer = setInterval(recordUptime, 1000);
      uptimeTimer.unref();
      timers.push(uptimeTimer);
      if (nft) {
        nftManager = nft;
        const counterTimer = setInterval(() => void syncCounters(), 5000);
        counterTimer.unref();
        timers.push(counterTimer);
      }
    },
    beforeScrape() {
      recordUptime();
      return bounded(syncCounters(), 1000);
    },
    async stop() {
      if (nftManager) await bounded(syncCounters(), 2000);
      for (const t of timers.splice(0).reverse()) clearInterval(t);
    },
  };
}
