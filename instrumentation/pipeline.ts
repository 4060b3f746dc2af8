import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { MeterProvider, type IMetricReader } from '@opentelemetry/sdk-metrics';
import { defaultResource, detectResources, envDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { self as selfContract } from '../semconv/generated/self.ts';
import type { ContractSpec } from '../semconv/types.ts';
import { readConfig, type ConfigDefaults, type PipelineConfig } from './config.ts';
import { resolveInstanceLabels } from './instance-labels.ts';
import { createLogger, type Logger } from './logger.ts';
import { createPushReader, otlpMetricsUrl } from './push/otlp.ts';
import { pushExposition, pushgatewayUrl } from './push/pushgateway.ts';
import type { PushStatus, RecordingExporter } from './push/recording-exporter.ts';
import { createRecorders, type DropReason, type Recorders } from './recorders.ts';
import { ScrapeReader } from './scrape/reader.ts';
import { createScrapeHandler, startScrapeServer } from './scrape/server.ts';
import { buildViews, meterNameOf } from './views.ts';

/** Options of {@link createPipeline}. */
export interface PipelineOptions {
  /** The component contracts this process records into; the self-metrics contract is always added. */
  readonly contracts: readonly ContractSpec[];
  /** `service.name` unless `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` say otherwise. */
  readonly serviceName: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Component defaults applied before the environment (readers, scrape address). */
  readonly defaults?: ConfigDefaults;
  readonly logger?: Logger;
}

/** Outcome of {@link Pipeline.shutdown}. */
export interface ShutdownReport {
  /** True when no push was configured, or the final push was delivered within the bound. */
  readonly ok: boolean;
  readonly pushed: boolean;
  /** Why the final push failed or did not finish. */
  readonly reason?: string;
  readonly elapsedMs: number;
}

/** A running pipeline: MeterProvider, Views, the scrape reader and/or the push reader. */
export interface Pipeline {
  readonly config: PipelineConfig;
  readonly meterProvider: MeterProvider;
  readonly resource: Resource;
  readonly logger: Logger;
  /** Typed recorders of one of the pipeline's contracts (created once, then reused). @throws Error for a contract the pipeline was not built with. */
  recorders<C extends ContractSpec>(contract: C): Recorders<C>;
  /** Renders the exposition of every family the pipeline holds. @throws Error without a scrape reader. */
  render(): Promise<string>;
  /** `GET /metrics` handler to mount in a component's own HTTP server; returns false for other paths. */
  readonly scrapeHandler: (req: IncomingMessage, res: ServerResponse) => boolean;
  /**
   * Starts the standalone scrape server when the `prometheus` reader is on (skip with `listen: false`
   * when the component mounts {@link scrapeHandler} itself).
   * @returns the address listened on, if any.
   * @throws NonLoopbackBindError, or the listen error (EADDRINUSE).
   */
  start(opts?: { listen?: boolean; keepAlive?: boolean }): Promise<{ scrapeUrl?: string; pushUrl?: string; pushgatewayUrl?: string }>;
  pushStatus(): PushStatus | undefined;
  /**
   * Final push and shutdown, bounded: resolves within `timeoutMs` (default the exit bound) even when
   * the collector is down. Idempotent: later calls return the first call's report.
   */
  shutdown(timeoutMs?: number): Promise<ShutdownReport>;
}

/**
 * Builds the pipeline from contracts and the environment (see {@link readConfig}): one View per
 * documented family, the exact-name scrape reader when `prometheus` is on, and the OTLP push reader
 * when `otlp` is on. Both readers see the same instruments, so scrape and push carry the same data.
 *
 * @throws ConfigError for a bad `OTEL_*` value; ViewConflictError when two contracts declare one family name.
 */
export function createPipeline(opts: PipelineOptions): Pipeline {
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? createLogger(opts.serviceName, env);
  const config = readConfig(env, opts.defaults);
  const contracts = dedupe([...opts.contracts, selfContract]);
  assertUniqueFamilies(contracts);

  const readers: IMetricReader[] = [];
  const families = contracts.flatMap((c) => c.families);
  // The Pushgateway gets the same exposition as a scrape, so it needs the scrape reader even when no one scrapes.
  const gateway = config.pushgatewayUrl;
  const flushers: (() => void)[] = [];
  const flushAll = () => {
    for (const f of flushers) f();
  };
  const scrapeReader = config.exporters.has('prometheus') || gateway ? new ScrapeReader(families, config.prometheus.targetInfo, flushAll) : undefined;
  if (scrapeReader) readers.push(scrapeReader);

  let selfRecorders: Recorders<typeof selfContract> | undefined;
  let push: { exporter: RecordingExporter } | undefined;
  if (config.exporters.has('otlp')) {
    const created = createPushReader(config, env, (ok, error) => {
      selfRecorders?.otel_contracts_exports_total.add(1, { result: ok ? 'success' : 'failure' });
      if (!ok) logger.warn({ endpoint: otlpMetricsUrl(env), err: error }, 'OTLP push failed; the next export retries with cumulative values, so nothing is lost while the process lives');
    }, flushAll);
    readers.push(created.reader);
    push = created;
  }

  const instanceLabels = new Map(contracts.map((c) => [c.id, resolveInstanceLabels(c, env)]));
  const resource = buildResource(opts.serviceName, contracts, instanceLabels, env);
  const meterProvider = new MeterProvider({ resource, views: buildViews(contracts), readers });

  const loggedDrops = new Set<string>();
  const onDrop = (contract: string, family: string, reason: DropReason, detail: string) => {
    if (contract !== selfContract.id) {
      selfRecorders?.otel_contracts_measurements_dropped_total.add(1, { contract, family: family.slice(0, 200), reason });
    }
    const key = `${contract}\u0000${family}\u0000${reason}\u0000${detail}`;
    if (loggedDrops.size < 1000 && !loggedDrops.has(key)) {
      loggedDrops.add(key);
      logger.warn({ contract, family, reason, detail }, 'measurement dropped: it does not fit the contract (logged once)');
    }
  };

  const cache = new Map<string, unknown>();
  const recorders = <C extends ContractSpec>(contract: C): Recorders<C> => {
    const known = contracts.find((c) => c.id === contract.id);
    if (!known) throw new Error(`contract "${contract.id}" is not part of this pipeline (built with ${contracts.map((c) => c.id).join(', ')})`);
    let r = cache.get(contract.id) as Recorders<C> | undefined;
    if (!r) {
      const created = createRecorders(contract, meterProvider.getMeter(meterNameOf(contract)), instanceLabels.get(contract.id) ?? {}, onDrop);
      flushers.push(created.flush);
      r = created.recorders;
      cache.set(contract.id, r);
    }
    return r;
  };
  selfRecorders = recorders(selfContract);

  const gatewayTarget = gateway
    ? pushgatewayUrl(gateway, String(resource.attributes['service.name']), groupingKeyOf(contracts, instanceLabels, resource))
    : undefined;

  const render = async (): Promise<string> => {
    if (!scrapeReader) throw new Error('the prometheus reader is off (OTEL_METRICS_EXPORTER); nothing to render');
    return scrapeReader.render();
  };
  const scrapeHandler = createScrapeHandler({
    render,
    rateLimit: config.prometheus.rateLimit,
    onRejected: () => selfRecorders?.otel_contracts_scrapes_rejected_total.add(1),
  });

  let server: Server | undefined;
  let shuttingDown: Promise<ShutdownReport> | undefined;

  return {
    config,
    meterProvider,
    resource,
    logger,
    recorders,
    render,
    scrapeHandler,
    async start(startOpts = {}) {
      const out: { scrapeUrl?: string; pushUrl?: string; pushgatewayUrl?: string } = {};
      // The scrape reader also exists for the Pushgateway; listen only when the prometheus reader was chosen.
      if (scrapeReader && config.exporters.has('prometheus') && startOpts.listen !== false) {
        const started = await startScrapeServer({
          handle: scrapeHandler,
          host: config.prometheus.host,
          port: config.prometheus.port,
          allowNonLoopback: config.prometheus.allowNonLoopback,
          keepAlive: startOpts.keepAlive ?? true,
        });
        server = started.server;
        const host = started.host.includes(':') && !started.host.startsWith('[') ? `[${started.host}]` : started.host;
        out.scrapeUrl = `http://${host}:${started.port}/metrics`;
      }
      if (push) out.pushUrl = otlpMetricsUrl(env);
      if (gatewayTarget) out.pushgatewayUrl = gatewayTarget;
      return out;
    },
    pushStatus: () => push?.exporter.status(),
    shutdown(timeoutMs = config.exitTimeoutMs) {
      shuttingDown ??= (async () => {
        const t0 = performance.now();
        push?.exporter.markFinal();
        // The Pushgateway push renders through the scrape reader, so it runs before the readers shut down.
        let gatewayError: string | undefined;
        if (gatewayTarget) {
          try {
            await pushExposition(gatewayTarget, await render(), Math.max(1, timeoutMs / (push ? 2 : 1)));
          } catch (e) {
            gatewayError = (e as Error).message;
          }
        }
        const remaining = Math.max(1, timeoutMs - (performance.now() - t0));
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), remaining);
          timer.unref();
        });
        const outcome = await Promise.race([meterProvider.shutdown().then(() => 'done' as const, (e: unknown) => e), timedOut]);
        clearTimeout(timer);
        server?.close();
        server?.closeAllConnections();
        const elapsedMs = Math.round(performance.now() - t0);
        if (gatewayError) return { ok: false, pushed: true, reason: gatewayError, elapsedMs };
        if (!push) return { ok: true, pushed: Boolean(gatewayTarget), elapsedMs };
        const final = push.exporter.status().final;
        if (outcome === 'timeout') return { ok: false, pushed: true, reason: `final push did not finish within ${timeoutMs} ms`, elapsedMs };
        if (outcome !== 'done') return { ok: false, pushed: true, reason: `shutdown failed: ${(outcome as Error)?.message ?? String(outcome)}`, elapsedMs };
        if (!final) return { ok: false, pushed: true, reason: 'no final export ran', elapsedMs };
        return final.ok ? { ok: true, pushed: true, elapsedMs } : { ok: false, pushed: true, reason: final.error ?? 'export failed', elapsedMs };
      })();
      return shuttingDown;
    },
  };
}

/** Pushgateway grouping key: the contracts' instance labels (egress `instance_id`), else `instance_id` = service.instance.id. */
function groupingKeyOf(
  contracts: readonly ContractSpec[],
  instanceLabels: ReadonlyMap<string, Record<string, string>>,
  resource: Resource,
): Record<string, string> {
  const key: Record<string, string> = {};
  for (const c of contracts) Object.assign(key, instanceLabels.get(c.id));
  if (Object.keys(key).length === 0) key.instance_id = String(resource.attributes['service.instance.id'] ?? '');
  return key;
}

function dedupe(contracts: ContractSpec[]): ContractSpec[] {
  const seen = new Map<string, ContractSpec>();
  for (const c of contracts) if (!seen.has(c.id)) seen.set(c.id, c);
  return [...seen.values()];
}

function assertUniqueFamilies(contracts: readonly ContractSpec[]): void {
  const owner = new Map<string, string>();
  for (const c of contracts) {
    for (const f of c.families) {
      const prior = owner.get(f.name);
      if (prior) throw new Error(`family "${f.name}" is declared by contracts ${prior} and ${c.id}; one name, one contract`);
      owner.set(f.name, c.id);
    }
  }
}

/**
 * `service.name` from the component (overridden by `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`),
 * `service.instance.id` from the first contract's instance label (egress `instance_id`, ops-proxy `pod`),
 * else a random UUID so that concurrent processes never share a series through the collector.
 */
function buildResource(
  serviceName: string,
  contracts: readonly ContractSpec[],
  instanceLabels: ReadonlyMap<string, Record<string, string>>,
  env: NodeJS.ProcessEnv,
): Resource {
  const instanceId = contracts
    .flatMap((c) => {
      const values = instanceLabels.get(c.id) ?? {};
      const preferred = c.instanceLabels.find((l) => l.name === 'instance_id' || l.name === 'pod');
      return preferred && values[preferred.name] ? [values[preferred.name] as string] : [];
    })
    .at(0);
  const fromEnv = withEnv(env, () => detectResources({ detectors: [envDetector] }));
  return defaultResource()
    .merge(resourceFromAttributes({ 'service.name': serviceName, 'service.instance.id': instanceId ?? randomUUID() }))
    .merge(fromEnv);
}

/** envDetector reads process.env; point it at the pipeline's env for the duration of the call. */
function withEnv<T>(env: NodeJS.ProcessEnv, fn: () => T): T {
  if (env === process.env) return fn();
  const keys = ['OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES'] as const;
  const saved = keys.map((k) => process.env[k]);
  try {
    for (const k of keys) {
      if (env[k] === undefined) delete process.env[k];
      else process.env[k] = env[k];
    }
    return fn();
  } finally {
    keys.forEach((k, i) => {
      if (saved[i] === undefined) delete process.env[k];
      else process.env[k] = saved[i];
    });
  }
}
