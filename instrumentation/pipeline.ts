import type { IncomingMessage, ServerResponse } from 'node:http';
import { MeterProvider, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Resource } from '@opentelemetry/resources';
import { self as selfContract } from '../semconv/generated/self.ts';
import type { ContractSpec } from '../semconv/types.ts';
import { readConfig, type ConfigDefaults, type PipelineConfig } from './config.ts';
import { resolveInstanceLabels } from './instance-labels.ts';
import { createLogger, type Logger } from './logger.ts';
import { otlpMetricsUrl } from './push/otlp.ts';
import type { PushStatus } from './push/recording-exporter.ts';
import type { Recorders } from './recorders.ts';
import type { CollectedTransform } from './scrape/reader.ts';
import { buildViews } from './views.ts';
import { contractSetOf } from './pipeline/contract-set.ts';
import { createReaders, pushgatewayTargetOf } from './pipeline/readers.ts';
import { createRecorderCache } from './pipeline/recorder-cache.ts';
import { buildResource, groupingKeyOf } from './pipeline/resource.ts';
import { createScrapeEndpoint } from './pipeline/scrape-endpoint.ts';
import { createSelfMetrics } from './pipeline/self-metrics.ts';
import { createShutdown, type ShutdownReport } from './pipeline/shutdown.ts';
import type { SeriesMatcher } from './views.ts';

export type { ShutdownReport };

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
  /**
   * What `/metrics`, {@link Pipeline.render} and the Pushgateway push serialize, given the pipeline's own
   * collected data: for a process that serves more than its own series (a cluster primary merging its
   * workers' data points), still written by the one exact-name serializer. Default: the collected data
   * unchanged. The OTLP push never goes through it.
   */
  readonly transformCollected?: CollectedTransform;
}

/**
 * A running pipeline: MeterProvider, Views, one cumulative copy of every series, and the scrape reader
 * and/or the push reader reading it.
 */
export interface Pipeline {
  readonly config: PipelineConfig;
  readonly meterProvider: MeterProvider;
  readonly resource: Resource;
  readonly logger: Logger;
  /** Typed recorders of one of the pipeline's contracts (created once, then reused). @throws Error for a contract the pipeline was not built with. */
  recorders<C extends ContractSpec>(contract: C): Recorders<C>;
  /** Renders the exposition of every family the pipeline holds. @throws Error without a scrape reader. */
  render(): Promise<string>;
  /**
   * Collects this process's own series as {@link render} serializes them, before `transformCollected`
   * (a cluster worker sends these data points to its primary).
   * @throws Error without a scrape reader; AggregateError when the collection reports errors.
   */
  collect(): Promise<ResourceMetrics>;
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
   * Registers `hook` to run before every collection of either reader (each scrape, each periodic push, the
   * final push at shutdown), ahead of the recorders' own flush: collectors that batch (network bytes, the
   * process families read from `/proc/self`) record there, so a collection shows everything recorded
   * before it. Hooks run synchronously, in registration order; one that throws is skipped (the others and
   * the collection carry on).
   * @returns a function that unregisters the hook.
   */
  onCollect(hook: () => void): () => void;
  /**
   * Removes series from the pipeline: every series of `families` (default: every family) whose labels
   * include all of `labels` (instance labels count) leaves the exposition and the OTLP push, its memory
   * is freed and its place in the family's series budget is given back. A later measurement with the same
   * labels starts the series again from zero, as a Prometheus counter reset. For series that are gone:
   * churning label values (ops-proxy `client_name`, podtrace `process_name`) would otherwise grow a family
   * up to its budget and keep stale values there. A histogram measurement made since the last collection
   * of a removed series brings it back with that measurement alone.
   *
   * @param labels label name → value; `{}` matches every series of `families`.
   * @param families exact family names.
   * @returns how many series left the exported state.
   */
  removeSeries(labels: Readonly<Record<string, string>>, families?: readonly string[]): number;
  /**
   * Final push and shutdown, bounded: resolves within `timeoutMs` (default the exit bound) even when
   * the collector is down. Idempotent: later calls return the first call's report.
   */
  shutdown(timeoutMs?: number): Promise<ShutdownReport>;
}

/**
 * Builds the pipeline from contracts and the environment (see {@link readConfig}): one View per
 * documented family, the exact-name scrape reader when `prometheus` is on, and the OTLP push reader
 * when `otlp` is on. The MeterProvider has one reader, which collects deltas into one cumulative copy of
 * every series; scrape and push both read that copy, so they carry the same data.
 *
 * The parts, one file each under `pipeline/`: `contract-set` (which contracts), `readers` (the cumulative
 * reader, scrape, OTLP push, Pushgateway target), `cumulative-reader` and `series-store` (the one
 * cumulative copy, removable series), `resource` (service.name, service.instance.id, grouping key), `recorder-cache`
 * (typed recorders per contract), `self-metrics` (drops, exports, rejected scrapes), `scrape-endpoint`
 * (render, /metrics handler, standalone server) and `shutdown` (bounded final push).
 *
 * @throws ConfigError for a bad `OTEL_*` value; Error when two contracts declare one family name.
 */
export function createPipeline(opts: PipelineOptions): Pipeline {
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? createLogger(opts.serviceName, env);
  const config = readConfig(env, opts.defaults);
  const contracts = contractSetOf(opts.contracts);
  const selfMetrics = createSelfMetrics(logger, env);

  // Every collection (scrape or push) first asks the collectors to record what they batched (onCollect
  // hooks), then flushes what the counter and gauge recorders buffered into the SDK.
  const collectHooks = new Set<() => void>();
  const flushers: (() => void)[] = [];
  const flushAll = () => {
    for (const hook of [...collectHooks]) {
      try {
        hook();
      } catch {
        // a collector's failure never fails a collection
      }
    }
    for (const f of flushers) f();
  };
  const readers = createReaders(config, env, contracts.flatMap((c) => c.families), flushAll, selfMetrics.onExport);

  const instanceLabels = new Map(contracts.map((c) => [c.id, resolveInstanceLabels(c, env)]));
  const resource = buildResource(opts.serviceName, contracts, instanceLabels, env);
  // With every reader off (OTEL_METRICS_EXPORTER=none) nothing would ever collect the SDK's deltas: no reader at all.
  const meterProvider = new MeterProvider({ resource, views: buildViews(contracts), readers: readers.scrape || readers.push ? [readers.cumulative] : [] });

  const forgetters: ((match: SeriesMatcher) => void)[] = [];
  const recorders = createRecorderCache({
    contracts,
    meterProvider,
    instanceLabels,
    onDrop: selfMetrics.onDrop,
    onCreated: (created, meterName) => {
      flushers.push(created.flush);
      // Histogram series started with zero counts reach the cumulative copy at the same collection.
      flushers.push(() => readers.cumulative.begin(meterName, created.begun()));
      forgetters.push(created.forget);
    },
  });
  selfMetrics.attach(recorders(selfContract));

  const gatewayTarget = pushgatewayTargetOf(config, resource, () => groupingKeyOf(contracts, instanceLabels, resource));
  const scrape = createScrapeEndpoint(config, readers.scrape, selfMetrics.onScrapeRejected, opts.transformCollected);
  const push = readers.push;

  return {
    config,
    meterProvider,
    resource,
    logger,
    recorders,
    render: scrape.render,
    collect: scrape.collect,
    scrapeHandler: scrape.handler,
    async start(startOpts = {}) {
      const out: { scrapeUrl?: string; pushUrl?: string; pushgatewayUrl?: string } = {};
      if (startOpts.listen !== false) {
        const scrapeUrl = await scrape.listen(startOpts.keepAlive ?? true);
        if (scrapeUrl) out.scrapeUrl = scrapeUrl;
      }
      if (push) out.pushUrl = otlpMetricsUrl(env);
      if (gatewayTarget) out.pushgatewayUrl = gatewayTarget;
      return out;
    },
    pushStatus: () => push?.status(),
    onCollect(hook) {
      const own = () => hook();
      collectHooks.add(own);
      return () => void collectHooks.delete(own);
    },
    removeSeries(labels, families) {
      const names = families ? new Set(families) : undefined;
      const entries = Object.entries(labels);
      const match: SeriesMatcher = (family, attrs) => (names === undefined || names.has(family)) && entries.every(([k, v]) => attrs[k] === v);
      for (const forget of forgetters) forget(match);
      return readers.cumulative.removeSeries(match);
    },
    shutdown: createShutdown({ meterProvider, push, pushgatewayTarget: gatewayTarget, render: scrape.render, closeServer: scrape.close }, config.exitTimeoutMs),
  };
}
