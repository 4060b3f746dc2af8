import type { Logger } from 'pino';
import { createLogger } from '../../instrumentation/logger.ts';
import type { Pipeline } from '../../instrumentation/pipeline.ts';
import { assertBindAllowed, isLoopback } from '../../instrumentation/scrape/server.ts';
import { bounded } from './bounded.ts';
import { readSidecarConfig, SidecarConfigError, type EnforcementMode, type HostPort, type SidecarConfig } from './config.ts';
import { answerAddresses } from './dns-answers.ts';
import { startDnsServer, type DnsServer } from './dns-server.ts';
import { Forwarder } from './forwarder.ts';
import { createSidecarMetrics, type SidecarMetrics } from './metrics.ts';
import { NftManager, type NftRunner } from './nft.ts';
import { keepPinnedResolved, pinnedFromEnv, type PinnedHosts } from './pinned-hosts.ts';
import { ActivePolicy, initialPolicy, type Action } from './policy.ts';
import { startPolicyServer, type PolicyServer } from './policy-server.ts';
import { Resolver, type AnswerHook } from './resolver.ts';
import { formatHostPort } from '../kit/host-port.ts';
import { runComponent, startComponent, type ComponentStop } from '../kit/lifecycle.ts';

/**
 * Entry of the egress sidecar (`npm start` = `node components/egress-sidecar/main.ts`): wires the
 * configuration, policy, forwarder, DNS listeners, policy server and nftables layer (the serving side,
 * here) to the metrics wiring in metrics.ts (pipeline, recorders, gauges, drop accounting), which records
 * the eleven families of seed 000 from what the serving side reports.
 */

export { sidecarVersion } from './metrics.ts';

/** A running sidecar. */
export interface EgressSidecar extends ComponentStop {
  /** Where DNS listens (UDP and TCP share the port). */
  readonly dnsAddress: HostPort;
  /** Where the policy API, /healthz and /metrics listen. */
  readonly httpAddress: HostPort;
  /** The mode in force: `dns+nft` only when ApplyStatic succeeded. */
  readonly enforcementMode: EnforcementMode;
  readonly pipeline: Pipeline;
  /** Forwarded queries still waiting for an upstream (0 when idle: no leaked entries). */
  pendingQueries(): number;
  /** `POST /policy` requests whose body is read and that wait for their turn or are being applied (0 when idle). */
  pendingPolicyUpdates(): number;
}

/** Options of {@link runEgressSidecar}. */
export interface RunOptions {
  /** Logger to use (default: pino on stderr, level from OTEL_CONTRACTS_LOG_LEVEL). */
  readonly logger?: Logger;
  /** Install SIGTERM/SIGINT/exit handlers with the final push (the CLI does; tests do not). */
  readonly exitHandlers?: boolean;
  /** Runs `nft` in dns+nft mode (default: the system binary); tests pass a fake or one inside a namespace. */
  readonly nftRunner?: NftRunner;
}


/**
 * Starts the sidecar.
 *
 * @param argv flags without node and script: `--dns-listen`, `--http-listen`, `--upstream` (repeatable),
 *   `--mode`, `--upstream-timeout-ms`, `--resolv-conf`, `--nft-table`, `--doh-blocklist`, `--block-doh-443`.
 * @param env `OPENSANDBOX_NETWORK_POLICY` or `OPENSANDBOX_NETWORK_POLICY_FILE` (not both), `OPENSANDBOX_EGRESS_TOKEN`,
 *   `OPENSANDBOX_EGRESS_MODE`, `OPENSANDBOX_EGRESS_INSTANCE_ID`, `OPENSANDBOX_EGRESS_HTTP_ADDR`,
 *   `OTEL_CONTRACTS_ALLOW_NON_LOOPBACK`, `OTEL_*`.
 * @throws SidecarConfigError / PolicyError / ConfigError for bad flags or variables (a policy file that is
 *   missing, unreadable or malformed names `OPENSANDBOX_NETWORK_POLICY_FILE`); NonLoopbackBindError for an
 *   `--http-listen` beyond loopback without `OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true`, SidecarConfigError for
 *   one without `OPENSANDBOX_EGRESS_TOKEN`; CommanderError for unknown flags or --help; the listen error of
 *   either port. Nothing stays open after a throw.
 */
export async function runEgressSidecar(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, opts: RunOptions = {}): Promise<EgressSidecar> {
  const cfg = readSidecarConfig(argv, env);
  const policyAtStart = initialPolicy(env);
  const pinned = pinnedFromEnv(env);
  const logger = opts.logger ?? createLogger('opensandbox-egress', env);
  const metrics = createSidecarMetrics(env, logger);
  const { pipeline, version } = metrics;

  const policy = new ActivePolicy(policyAtStart, pinned.names);
  return startComponent(pipeline, logger, opts.exitHandlers, async (cleanups) => {
    guardHttpListen(cfg.httpListen, cfg.token, pipeline.config.prometheus.allowNonLoopback);
    let resolver: Resolver | undefined;
    const forwarder = new Forwarder({ upstreams: cfg.upstreams, timeoutMs: cfg.upstreamTimeoutMs, logger, onDrop: (reason) => resolver?.drop(reason) });
    await forwarder.start();
    cleanups.add(() => forwarder.close());

    const nft = cfg.mode === 'dns+nft' ? await applyNftables(cfg, pinned.ipEndpoints, policyAtStart.default_action, metrics, logger, opts.nftRunner) : undefined;
    if (nft) cleanups.add(() => nft.removeTable());
    const mode: EnforcementMode = nft ? 'dns+nft' : 'dns';
    resolver = new Resolver({ policy, forwarder, metrics: metrics.egress, selfMetrics: metrics.self, logger, onAllowedAnswer: nft && allowResolved(nft, metrics) });

    // Pinned OTLP names: resolved into the allow set now and periodically.
    if (nft && pinned.names.length > 0) {
      const keeper = keepPinnedResolved(pinned.names, forwarder, nft, logger);
      cleanups.add(() => keeper.stop());
      await bounded(keeper.refresh(), cfg.upstreamTimeoutMs * 2);
    }

    // Gauges (info, enforcement mode, rule count, uptime) and the nftables counters, from here on.
    metrics.start(mode, policy, policyAtStart, nft);
    cleanups.add(() => metrics.stop());

    const dns: DnsServer = await startDnsServer({ listen: cfg.dnsListen, resolver, logger });
    cleanups.add(() => dns.close());

    const http: PolicyServer = await startPolicyServer({
      listen: cfg.httpListen,
      policy,
      token: cfg.token,
      enforcementMode: () => mode,
      beforeApply: nft && ((p) => setNftDefaultAction(nft, p.default_action, metrics)),
      scrapeHandler: pipeline.scrapeHandler,
      beforeScrape: () => metrics.beforeScrape(),
      logger,
    });
    cleanups.add(() => http.close());

    const { pushUrl } = await pipeline.start({ listen: false });
    logListening(logger, { cfg, dns: dns.address, http: http.address, mode, pushUrl, policy, version });

    return {
      dnsAddress: dns.address,
      httpAddress: http.address,
      enforcementMode: mode,
      pipeline,
      pendingQueries: () => forwarder.pendingCount(),
      pendingPolicyUpdates: () => http.pendingUpdates(),
    };
  });
}

/**
 * nftables' ApplyStatic, for `--mode dns+nft`: the table with the static rules and the policy's default
 * verdict. When it fails the sidecar falls back to DNS-only enforcement and reports that mode.
 * @returns the manager with its table in place, or undefined after a failure (logged and counted).
 */
async function applyNftables(
  cfg: SidecarConfig,
  pinnedEndpoints: PinnedHosts['ipEndpoints'],
  defaultAction: Action,
  metrics: SidecarMetrics,
  logger: Logger,
  run: NftRunner | undefined,
): Promise<NftManager | undefined> {
  const nft = new NftManager({ table: cfg.nftTable, upstreams: cfg.upstreams, pinnedEndpoints, dohBlocklist: cfg.dohBlocklist, logger, run });
  try {
    await nft.applyStatic(defaultAction);
  } catch (e) {
    metrics.nftApplied('failure');
    logger.error({ err: (e as Error).message }, 'nftables ApplyStatic failed: falling back to DNS-only enforcement (enforcement_mode{mode="dns"})');
    return undefined;
  }
  metrics.nftApplied('success');
  logger.info({ table: `inet ${cfg.nftTable}`, dohBlocklist: cfg.dohBlocklist.length }, 'nftables ApplyStatic done: dns+nft enforcement in force');
  return nft;
}

/** In dns+nft mode, the addresses of every allowed answer join nftables' allow set (counted when new). */
function allowResolved(nft: NftManager, metrics: SidecarMetrics): AnswerHook {
  return (response) => {
    const addresses = answerAddresses(response);
    if (addresses.length === 0) return undefined;
    return nft.addResolved(addresses).then((added) => {
      if (added > 0) metrics.resolvedIpsAdded(added);
    });
  };
}

/** A new policy's default verdict in nftables, before the policy takes effect; counted either way. @throws the nft failure (the old policy stays). */
async function setNftDefaultAction(nft: NftManager, action: Action, metrics: SidecarMetrics): Promise<void> {
  try {
    await nft.setDefaultAction(action);
  } catch (e) {
    metrics.nftApplied('failure');
    throw e;
  }
  metrics.nftApplied('success');
}

/** What the start-up line reports. */
interface Listening {
  readonly cfg: SidecarConfig;
  readonly dns: HostPort;
  readonly http: HostPort;
  readonly mode: EnforcementMode;
  readonly pushUrl: string | undefined;
  readonly policy: ActivePolicy;
  readonly version: string;
}

/** The "egress sidecar listening" line: where each port is, the upstreams, the mode in force and the policy. */
function logListening(logger: Logger, l: Listening): void {
  const httpBase = `http://${formatHostPort(l.http)}`;
  logger.info(
    {
      dns: `udp+tcp ${formatHostPort(l.dns)}`,
      policy: `${httpBase}/policy`,
      metrics: `${httpBase}/metrics`,
      healthz: `${httpBase}/healthz`,
      upstreams: l.cfg.upstreams.map(formatHostPort),
      upstreamSource: l.cfg.upstreamSource,
      mode: l.mode,
      modeRequested: l.cfg.mode,
      push: l.pushUrl ?? 'off',
      policyMode: l.policy.current.policy.default_action,
      rules: l.policy.current.policy.egress.length,
      version: l.version,
    },
    `egress sidecar listening: DNS on ${formatHostPort(l.dns)} (udp+tcp), policy API ${httpBase}/policy, metrics ${httpBase}/metrics, mode ${l.mode}`,
  );
}

/**
 * The policy API and /metrics share `--http-listen`: beyond loopback they need the operator's opt-in
 * (`OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true`), and the policy API a token, or anyone who reaches the port
 * could rewrite the egress policy.
 * @throws NonLoopbackBindError without the opt-in; SidecarConfigError without `OPENSANDBOX_EGRESS_TOKEN`.
 */
function guardHttpListen(at: HostPort, token: string | undefined, allowNonLoopback: boolean): void {
  assertBindAllowed(at.host, allowNonLoopback, 'the policy API and metrics');
  if (!isLoopback(at.host) && !token) {
    throw new SidecarConfigError(
      `--http-listen ${formatHostPort(at)} is beyond loopback without OPENSANDBOX_EGRESS_TOKEN: anyone who reaches it could change the egress policy; set OPENSANDBOX_EGRESS_TOKEN`,
    );
  }
}

if (import.meta.main) void runComponent('egress sidecar', () => runEgressSidecar(process.argv.slice(2), process.env, { exitHandlers: true }));
