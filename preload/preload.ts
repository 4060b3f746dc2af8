import { isMainThread } from 'node:worker_threads';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { startCgroupCollector } from '../collectors/cgroup/collector.ts';
import { startHttpServerCollector } from '../collectors/http-server/collector.ts';
import { processMetrics } from '../collectors/process/index.ts';
import { self } from '../semconv/generated/self.ts';
import { answerPrimary, cluster, clusterRoleOf, PRIMARY_ENV, standaloneWorkerEnv, startClusterPrimary, type ClusterPrimary } from './cluster/index.ts';
import { startRuntimeCollectors } from '../collectors/runtime/index.ts';
import { tryStart } from '../collectors/safe.ts';
import type { Collector } from '../collectors/types.ts';
import { podtrace } from '../semconv/generated/podtrace.ts';
import { installExitHandlers } from '../instrumentation/exit.ts';
import type { Logger } from '../instrumentation/logger.ts';
import { createPipeline, type Pipeline } from '../instrumentation/pipeline.ts';
import { preloadContractsWith, trcHttp } from './contracts.ts';
import { PRELOAD_HANDLE } from './handle.ts';
import { createPreloadLogger } from './logger.ts';
import { readPreloadOptions, runtimeSubset } from './options.ts';

/** What the start-up line reports, once the scrape endpoint listens (or failed to). */
export interface StartupInfo {
  /** `http://HOST:PORT/metrics`, or undefined when the prometheus reader is off or could not listen. */
  readonly scrapeUrl?: string;
  /** The OTLP metrics URL pushed to, when the otlp reader is on. */
  readonly pushUrl?: string;
  readonly collectors: readonly string[];
  /** `schedstat` or `event-loop-delay` (or `off`). */
  readonly cpuBlockSource: string;
  /** Where the standard process families are read (`/proc/self`), or `off` (`OTEL_CONTRACTS_PROCESS_METRICS=false`, or no procfs). */
  readonly processMetrics: string;
  /** `primary` (also every process outside a cluster), `worker` (its primary serves /metrics) or `standalone-worker` (pm2). */
  readonly clusterRole: string;
}

/** A started preload. */
export interface PreloadHandle {
  readonly pipeline: Pipeline;
  readonly collectors: readonly Collector[];
  readonly logger: Logger;
  /** Resolves after the start-up line is logged. Never rejects. */
  readonly ready: Promise<StartupInfo>;
  /** Records what collectors accumulated (run before every collection: each scrape and push, the final one included). Never throws. */
  flush(): void;
}

const STARTED = PRELOAD_HANDLE;
type Global = typeof globalThis & { [STARTED]?: PreloadHandle | null };

/**
 * The body of `node --import otel-contracts/register app.js` (and `--require`): builds the pipeline from
 * the environment with the podtrace contract, trc's HTTP families and the standard process families
 * (`process_*`, off with `OTEL_CONTRACTS_PROCESS_METRICS=false`), starts the collectors chosen by
 * `OTEL_CONTRACTS_COLLECTORS` (synchronously, so `fs`/`dns` are wrapped before the app's first line),
 * starts the scrape endpoint without keeping the process alive, installs the final push on
 * SIGTERM/SIGINT/exit (`unless-app-handles`: an app with its own SIGTERM handler keeps control of its exit),
 * and logs one start-up line on stderr.
 *
 * Never throws and never rejects into the app: a bad configuration logs one error line and disables the
 * preload; a collector that cannot start logs one line and the others carry on; a scrape port in use
 * logs one line and the push (if any) still runs. Runs once per process, and not in worker threads.
 *
 * @returns the handle, or undefined when the preload is disabled, already running, or in a worker.
 */
export function startPreload(env: NodeJS.ProcessEnv = process.env): PreloadHandle | undefined {
  const g = globalThis as Global;
  if (g[STARTED] !== undefined || !isMainThread) return undefined;
  g[STARTED] = null;
  let logger: Logger;
  try {
    logger = createPreloadLogger(env);
  } catch {
    return undefined;
  }
  try {
    const handle = start(env, logger);
    g[STARTED] = handle;
    return handle;
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'otel-contracts preload disabled: the app runs without it');
    return undefined;
  }
}

function start(env: NodeJS.ProcessEnv, logger: Logger): PreloadHandle {
  const opts = readPreloadOptions(env);
  if (opts.unknownContracts.length) logger.warn({ unknown: opts.unknownContracts }, 'OTEL_CONTRACTS_APP_CONTRACTS: unknown contracts or components ignored (use trc, egress, ops-proxy, podtrace or masque-vpn, optionally as id:component, e.g. trc:control-plane)');
  if (opts.unknown.length) logger.warn({ unknown: opts.unknown }, 'OTEL_CONTRACTS_COLLECTORS: unknown names ignored (use runtime, dns, tcp, rtt, bytes, fs, cpu, cgroup, http or none)');
  const proc = processMetrics(env);
  // Node cluster / pm2: the primary serves one /metrics for all workers; see cluster/.
  const role = clusterRoleOf(env);
  let primary: ClusterPrimary | undefined;
  const pipeline = createPipeline({
    contracts: [...preloadContractsWith(opts.appContracts), ...proc.contracts],
    serviceName: opts.serviceName,
    env: role === 'standalone-worker' ? standaloneWorkerEnv(env) : env,
    logger,
    // The primary serializes its own data points merged with its workers' (the one serializer writes both).
    ...(role === 'primary' ? { transformCollected: async (own: ResourceMetrics) => (primary ? primary.merge(own) : own) } : {}),
  });
  if (role === 'primary') {
    const dropped = pipeline.recorders(self).otel_contracts_cluster_messages_dropped_total;
    primary = startClusterPrimary({ cluster, logger, onDropped: () => dropped.add(1, { reason: 'malformed' }) });
    // cluster.fork() passes the environment on: workers know their primary aggregates.
    process.env[PRIMARY_ENV] = String(process.pid);
  } else if (role === 'worker') answerPrimary(() => pipeline.collect(), logger);
  const pod = pipeline.recorders(podtrace);
  const collectors: Collector[] = [];
  // Read before every collection through its own onCollect hook, so it stays out of `collectors` (and `flush`).
  const processCollector = proc.start(pipeline);

  collectors.push(
    ...startRuntimeCollectors(pod, {
      enabled: runtimeSubset(opts.collectors),
      logger,
      env,
      cpuIntervalMs: opts.cpuIntervalMs,
      rttIntervalMs: opts.rttIntervalMs,
      bytesIntervalMs: opts.bytesIntervalMs,
    }),
  );
  const attempt = (name: 'cgroup' | 'http', start: () => Collector) => {
    const c = opts.collectors.has(name) ? tryStart(name, start, logger) : undefined;
    if (c) collectors.push(c);
  };
  attempt('cgroup', () => startCgroupCollector(pod, { intervalMs: opts.cgroupIntervalMs, root: opts.cgroupRoot, env }));
  let scrapePort: number | undefined;
  // trcHttp and the whole trc share the id `trc`: the recorders are the pipeline's trc ones either way.
  attempt('http', () => startHttpServerCollector(pipeline.recorders(trcHttp), { routes: opts.httpRoutes, ignoreLocalPort: () => scrapePort }));

  const flush = () => {
    for (const c of collectors) {
      try {
        c.flush?.();
      } catch {
        // next
      }
    }
  };
  // Every collection (scrape, periodic push, the final push on exit) asks the collectors first: a scrape
  // shows what happened just before it, not what their own timers last recorded.
  pipeline.onCollect(flush);
  installExitHandlers(pipeline, logger, { exitOnSignal: 'unless-app-handles' });

  const named = collectors.filter((c) => c.name !== 'process-name');
  const cpu = named.find((c) => c.name === 'cpu');
  const base = { collectors: named.map((c) => (c.source ? `${c.name} (${c.source})` : c.name)), cpuBlockSource: cpu?.source ?? 'off', processMetrics: processCollector?.source ?? 'off', clusterRole: role };
  const ready = pipeline.start({ keepAlive: false, listen: role !== 'worker' }).then(
    (addr): StartupInfo => {
      if (addr.scrapeUrl) scrapePort = Number(new URL(addr.scrapeUrl).port);
      return { ...base, scrapeUrl: addr.scrapeUrl, pushUrl: addr.pushUrl };
    },
    (err: unknown): StartupInfo => {
      logger.warn({ err: (err as Error).message }, 'scrape endpoint not started (the push, if configured, still runs)');
      return { ...base, pushUrl: pipeline.config.exporters.has('otlp') ? 'configured' : undefined };
    },
  ).then((info) => {
    try {
      logger.info(
        { ...info, pushIntervalMs: info.pushUrl ? pipeline.config.otlp.exportIntervalMs : undefined, exitTimeoutMs: pipeline.config.exitTimeoutMs },
        `otel-contracts preload started: scrape ${info.scrapeUrl ?? 'off'}, push ${info.pushUrl ?? 'off'}, cpu block from ${info.cpuBlockSource}, process metrics from ${info.processMetrics}`,
      );
    } catch {
      // logging must not fail the app
    }
    return info;
  });
  return { pipeline, collectors, logger, ready, flush };
}
