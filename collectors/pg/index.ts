import type { Pipeline } from '../../instrumentation/pipeline.ts';
import { self } from '../../semconv/generated/self.ts';
import { trc } from '../../semconv/generated/trc.ts';
import { stopOnce } from '../safe.ts';
import type { Collector, CollectorLogger } from '../types.ts';
import { catalogReader, type CatalogFailure, type CatalogOptions, type RowQuerier } from './catalog.ts';
import { boundedClassifier, OTHER_QUERY_CLASS, type QueryClassifier } from './query-class.ts';
import { queryShapeOf, timeQueries, type QueryingClient } from './timed-query.ts';

export { OTHER_QUERY_CLASS, type QueryClassifier, type QueryShape } from './query-class.ts';
export type { CatalogOptions } from './catalog.ts';

/**
 * What the collector needs of a `pg` Pool (pg-pool 3): its size counters, its `max` option, the `connect`
 * event of each new client, and `query` for the catalog reads. A `pg.Pool` is one.
 */
export interface PgPoolLike extends RowQuerier {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly options: { readonly max?: number };
  on(event: 'connect', listener: (client: QueryingClient) => void): unknown;
  off(event: 'connect', listener: (client: QueryingClient) => void): unknown;
}

/** Options of {@link instrumentPgPool}. */
export interface PgPoolOptions {
  /** How each query gets its `query_class` (default: every query is `other`). Never raw SQL. */
  readonly classify?: QueryClassifier;
  /** Catalog gauges of the event store, read through the same pool (off unless configured). */
  readonly catalog?: CatalogOptions;
  /** Told of each failed catalog read, besides `otel_contracts_catalog_reads_failed_total{reason}` (default: a warn line on the pipeline's logger). */
  readonly onCatalogFailure?: (why: CatalogFailure, err: Error) => void;
  readonly logger?: CollectorLogger;
}

/** The running collector; `idle()` resolves when no catalog read is in flight. */
export interface PgPoolCollector extends Collector {
  idle(): Promise<void>;
}

/**
 * The trc database families of seed 002 section A ("DB and pool") for one `pg` Pool, and optionally the
 * event-store catalog gauges of sections B and C, recorded into `pipeline` (built with the `trc` contract):
 * - `trc_db_connections_in_use` (clients checked out: `totalCount - idleCount`) and `trc_db_connections_max`
 *   (the pool's `max`, pg's default 10), exact at every collection;
 * - `otel_contracts_catalog_reads_failed_total{reason}` (self-metric): catalog reads that timed out or failed;
 * - `trc_db_query_duration_seconds{query_class}`: every query of every client the pool creates from now on,
 *   timed from the call to its result (failed queries too), its class from `classify`, bounded to the
 *   registry's budget (see {@link boundedClassifier});
 * - with `catalog`: `trc_events_table_rows`, `trc_events_table_size_bytes`,
 *   `trc_projection_last_applied_event_id{projection}` and `trc_projection_lag_events{projection}` (see catalog.ts).
 * Instrument the pool before its first query: clients it created earlier are not timed.
 * @throws Error when the pipeline was not built with the trc contract.
 */
export function instrumentPgPool(pool: PgPoolLike, pipeline: Pipeline, opts: PgPoolOptions = {}): PgPoolCollector {
  const m = pipeline.recorders(trc);
  const logger = opts.logger ?? pipeline.logger;
  const budget = trc.families.find((f) => f.name === 'trc_db_query_duration_seconds')?.labels.find((l) => l.name === 'query_class')?.cardinalityLimit ?? 50;
  const classOf = boundedClassifier(opts.classify ?? {}, budget);
  const restores: (() => void)[] = [];
  // One label set per class, made once: a query allocates nothing for its labels.
  const labelSets = new Map<string, { query_class: string }>();
  const labelsOf = (queryClass: string) => {
    let labels = labelSets.get(queryClass);
    if (!labels) labelSets.set(queryClass, (labels = { query_class: queryClass }));
    return labels;
  };
  const onClient = (client: QueryingClient) => {
    restores.push(timeQueries(client, (first, _failed, seconds) => m.trc_db_query_duration_seconds.record(seconds, labelsOf(classOf(queryShapeOf(first))))));
  };
  pool.on('connect', onClient);
  // The class every query falls back to exists from the start, with zero counts.
  m.trc_db_query_duration_seconds.begin({ query_class: OTHER_QUERY_CLASS });
  const failed = pipeline.recorders(self).otel_contracts_catalog_reads_failed_total;
  for (const reason of ['timeout', 'error'] as const) failed.add(0, { reason });
  const onFailure = (why: CatalogFailure, err: Error) => {
    failed.add(1, { reason: why });
    if (opts.onCatalogFailure) opts.onCatalogFailure(why, err);
    else logger.warn({ collector: 'pg', why, err: err.message }, 'catalog read failed: the catalog gauges keep their last values');
  };
  const catalog = opts.catalog ? catalogReader(pool, opts.catalog, onFailure) : undefined;
  let inUse = 0;
  const flush = () => {
    const now = Math.max(0, pool.totalCount - pool.idleCount);
    if (now !== inUse) m.trc_db_connections_in_use.add(now - inUse);
    inUse = now;
    m.trc_db_connections_max.record(pool.options.max ?? 10);
    if (!catalog) return;
    const r = catalog.poll();
    if (r.eventsRows !== undefined) m.trc_events_table_rows.record(r.eventsRows);
    if (r.eventsBytes !== undefined) m.trc_events_table_size_bytes.record(r.eventsBytes);
    for (const c of r.checkpoints ?? []) {
      m.trc_projection_last_applied_event_id.record(c.lastApplied, { projection: c.projection });
      if (c.lag !== undefined) m.trc_projection_lag_events.record(c.lag, { projection: c.projection });
    }
  };
  m.trc_db_connections_in_use.add(0);
  const offCollect = pipeline.onCollect(flush);
  return {
    name: 'pg',
    source: 'pg Pool (wrapped Client#query)',
    flush,
    idle: () => catalog?.idle() ?? Promise.resolve(),
    stop: stopOnce(() => {
      offCollect();
      pool.off('connect', onClient);
      for (const restore of restores.splice(0)) restore();
    }),
  };
}
