import type { Logger } from 'pino';
import type { Pipeline } from '../../instrumentation/pipeline.ts';
import type { Recorders } from '../../instrumentation/recorders.ts';
import { self } from '../../semconv/generated/self.ts';
import { createComponentPipeline } from '../kit/pipeline.ts';
import { PRESSURE_KINDS, trcAgent, type AgentContract, type CacheKind } from './contract.ts';
import type { OverlayWatcher } from './overlay.ts';
import { pressureOf } from './pressure.ts';
import type { WatchedFilesystem } from './watched-fs.ts';

/**
 * The node agent's metrics wiring: the pipeline (service `trc-agent`, the `trc_agent_*` families of seed
 * 002 section E plus the process families) and what records into it. The agent feeds the disk, volume
 * pool, cache and overlay families; the others (heartbeats, instances, image pulls, secrets, snapshots,
 * backups) are the platform's own code to record and stay without series here.
 *
 * At each collection (scrape or push) the hook from {@link collectionHook} reads statfs of every mount and
 * of the volume pool, derives the pressure gauges, and takes the overlay figures of the last `wg` read;
 * the cache walks record when each finishes ({@link recordCacheWalk}), never during a collection.
 */

/** The agent's pipeline and the typed recorders of its families. */
export interface AgentMetrics {
  readonly pipeline: Pipeline;
  readonly m: Recorders<AgentContract>;
  /** `otel_contracts_wg_dump_lines_skipped_total`: malformed `wg show` dump lines skipped (self-metric). */
  readonly skippedDumpLines: Recorders<typeof self>['otel_contracts_wg_dump_lines_skipped_total'];
}

/**
 * The pipeline of a trc-agent process (`prometheus` reader by default; `OTEL_*` override it).
 * @throws ConfigError for a bad `OTEL_*` value.
 */
export function createAgentMetrics(env: NodeJS.ProcessEnv, logger: Logger): AgentMetrics {
  const pipeline = createComponentPipeline({ contracts: [trcAgent], serviceName: 'trc-agent', env, logger });
  return { pipeline, m: pipeline.recorders(trcAgent), skippedDumpLines: pipeline.recorders(self).otel_contracts_wg_dump_lines_skipped_total };
}

/** Series known before any measurement, at 0 so `rate()` and alerts see the first change: each configured cache kind. */
export function recordInitialSeries(m: AgentMetrics['m'], cacheKinds: readonly CacheKind[]): void {
  for (const kind of cacheKinds) {
    m.trc_agent_cache_bytes.record(0, { kind });
    m.trc_agent_cache_evictions_total.add(0, { kind });
  }
}

/** Records one finished cache walk: disk usage in bytes, and the evictions it confirmed (see evictions.ts). */
export function recordCacheWalk(m: AgentMetrics['m'], kind: CacheKind, bytes: number, evicted: number): void {
  m.trc_agent_cache_bytes.record(bytes, { kind });
  m.trc_agent_cache_evictions_total.add(evicted, { kind });
}

/** What the collection hook reads. */
export interface CollectionSources {
  readonly mounts: readonly WatchedFilesystem[];
  readonly volumePool: WatchedFilesystem | undefined;
  readonly overlay: OverlayWatcher;
  /** See `TrcAgentConfig.pressureFreePct`. */
  readonly pressureFreePct: number;
  /** The clock for handshake ages (Unix ms). Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * The hook to register with `pipeline.onCollect`: the malformed `wg` dump lines skipped since the last
 * collection (`otel_contracts_wg_dump_lines_skipped_total`), statfs of each mount (`trc_agent_disk_free_bytes{mount}`)
 * and of the volume pool (`trc_agent_volume_pool_free_bytes` / `_used_bytes`), `trc_agent_disk_pressure`
 * for every kind, and the overlay gauges when `wg` has been read. A few microseconds per filesystem.
 */
export function collectionHook({ m, skippedDumpLines }: Pick<AgentMetrics, 'm' | 'skippedDumpLines'>, src: CollectionSources): () => void {
  const now = src.now ?? Date.now;
  let skipped = 0;
  return () => {
    const malformed = src.overlay.malformedLines();
    if (malformed > skipped) skippedDumpLines.add(malformed - skipped);
    skipped = malformed;
    const mounts = src.mounts.map((fs) => {
      const figures = fs.read();
      m.trc_agent_disk_free_bytes.record(figures.availBytes, { mount: fs.path });
      return figures;
    });
    const pool = src.volumePool?.read();
    if (pool) {
      m.trc_agent_volume_pool_free_bytes.record(pool.availBytes);
      m.trc_agent_volume_pool_used_bytes.record(pool.usedBytes);
    }
    const pressure = pressureOf(mounts, pool, src.pressureFreePct);
    for (const kind of PRESSURE_KINDS) m.trc_agent_disk_pressure.record(pressure[kind], { kind });
    const overlay = src.overlay.reading(now());
    if (overlay) {
      m.trc_agent_overlay_peers.record(overlay.peers);
      m.trc_agent_overlay_handshake_age_seconds_max.record(overlay.handshakeAgeMaxSeconds);
    }
  };
}
