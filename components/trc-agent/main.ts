import type { Logger } from 'pino';
import { createLogger } from '../../instrumentation/logger.ts';
import type { Pipeline } from '../../instrumentation/pipeline.ts';
import type { HostPort } from '../kit/host-port.ts';
import { runComponent, startComponent, type ComponentStop } from '../kit/lifecycle.ts';
import { startMetricsServer } from '../kit/metrics-server.ts';
import { startCacheWatcher, type CacheWatcher } from './caches.ts';
import { readTrcAgentConfig, type TrcAgentConfig } from './config.ts';
import { collectionHook, createAgentMetrics, recordCacheWalk, recordInitialSeries } from './metrics.ts';
import { startOverlayWatcher, type OverlayWatcher } from './overlay.ts';
import { createProblemLog } from './report-once.ts';
import { watchFilesystem } from './watched-fs.ts';

/**
 * Entry of the trc node-agent host exporter (`otel-contracts trc-agent …` or `node components/trc-agent/main.ts …`):
 * the disk, volume pool, cache and WireGuard overlay families of seed 002 section E, read from the node
 * itself (statfs, directory walks, `wg show`), on the component kit's lifecycle.
 */

/** A running trc-agent process. */
export interface TrcAgent extends ComponentStop {
  readonly config: TrcAgentConfig;
  /** Where /metrics and /healthz listen, and `http://HOST:PORT/metrics`. */
  readonly metricsAddress: HostPort;
  readonly metricsUrl: string;
  readonly pipeline: Pipeline;
  /** The background cache walks (rounds finished). */
  readonly caches: Pick<CacheWatcher, 'rounds'>;
  /** The background `wg` reads (reads finished, malformed dump lines skipped). */
  readonly overlay: Pick<OverlayWatcher, 'reads' | 'malformedLines'>;
}

/** Options of {@link runTrcAgent}. */
export interface RunOptions {
  /** Logger (default: pino on stderr, level from OTEL_CONTRACTS_LOG_LEVEL). */
  readonly logger?: Logger;
  /** Install SIGTERM/SIGINT/exit handlers with the final push (the CLI does; in-process tests do not). */
  readonly exitHandlers?: boolean;
  /** The wireguard-tools command (default `wg` on PATH). */
  readonly wgCommand?: string;
}

/**
 * Starts the exporter: checks every `--mount` and `--volume-pool` can be read, walks each cache once and
 * reads each WireGuard interface once (so the first scrape has their figures), then serves /metrics on
 * `--metrics` and logs `trc-agent serving …`.
 * @param argv flags without node and script (see config.ts).
 * @param env `TRC_NODE_ID` (the `node_id` label), `OTEL_*`.
 * @throws ConfigError / HostPortError for bad flags or an unreadable mount; CommanderError for unknown
 *   flags or --help; NonLoopbackBindError; the listen error. Nothing stays running after a throw.
 */
export async function runTrcAgent(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, opts: RunOptions = {}): Promise<TrcAgent> {
  const config = readTrcAgentConfig(argv);
  const logger = opts.logger ?? createLogger('trc-agent', env);
  const metrics = createAgentMetrics(env, logger);
  const { pipeline, m } = metrics;
  const problems = createProblemLog(logger);
  const warn = (msg: string) => logger.warn(msg);
  return startComponent(pipeline, logger, opts.exitHandlers, async (cleanups) => {
    const mounts = config.mounts.map((path) => watchFilesystem(path, '--mount', problems, warn));
    const volumePool = config.volumePool === undefined ? undefined : watchFilesystem(config.volumePool, '--volume-pool', problems, warn);
    recordInitialSeries(m, config.caches.map((c) => c.kind));
    const caches = startCacheWatcher({ caches: config.caches, intervalMs: config.cacheIntervalMs, problems, onMeasured: (kind, bytes, evicted) => recordCacheWalk(m, kind, bytes, evicted) });
    cleanups.add(() => caches.stop());
    const overlay = startOverlayWatcher({ interfaces: config.wgInterfaces, intervalMs: config.wgIntervalMs, problems, ...(opts.wgCommand ? { wgCommand: opts.wgCommand } : {}) });
    cleanups.add(() => overlay.stop());
    await Promise.all([caches.firstRound, overlay.firstRead]);
    cleanups.add(pipeline.onCollect(collectionHook(metrics, { mounts, volumePool, overlay, pressureFreePct: config.pressureFreePct })));
    const server = await startMetricsServer(config.metrics, pipeline, logger, 'trc-agent');
    cleanups.add(() => server.close());
    const { pushUrl } = await pipeline.start({ listen: false });
    logger.info(
      {
        metrics: server.url,
        push: pushUrl ?? 'off',
        mounts: config.mounts,
        volumePool: config.volumePool,
        caches: Object.fromEntries(config.caches.map((c) => [c.kind, c.dir])),
        wgInterfaces: config.wgInterfaces,
      },
      `trc-agent serving ${server.url}: ${config.mounts.length} mount(s), ${config.volumePool ? 'a volume pool, ' : ''}${config.caches.length} cache(s), ${config.wgInterfaces.length} WireGuard interface(s)`,
    );
    return { config, metricsAddress: server.address, metricsUrl: server.url, pipeline, caches, overlay };
  });
}

if (import.meta.main) void runComponent('trc-agent', () => runTrcAgent(process.argv.slice(2), process.env, { exitHandlers: true }));
