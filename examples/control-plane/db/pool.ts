/**
 * The database pool, instrumented before its first query: `trc_db_connections_in_use`,
 * `trc_db_connections_max` and `trc_db_query_duration_seconds{query_class}` (every statement under its
 * name, see statement.ts), and the catalog gauges read through the same pool at collection time:
 * `trc_events_table_rows`, `trc_events_table_size_bytes` (the API's section B), and each projection's
 * `trc_projection_last_applied_event_id` and `trc_projection_lag_events` (section C, where the worker runs).
 */
import pg from 'pg';
import { instrumentPgPool, type CatalogOptions, type PgPoolCollector, type Pipeline } from '../../../index.ts';
import type { Logger } from '../../../instrumentation/logger.ts';
import { MIGRATION_SQL } from './schema.ts';
import { CATALOG_CLASS, classifyQuery, MIGRATION_CLASS } from './statement.ts';

/** Options of {@link openPool}. */
export interface PoolOptions {
  readonly url: string;
  readonly max: number;
  /** Read `events`' size and row estimate (the API process). */
  readonly eventsTable: boolean;
  /** Projections whose checkpoints are read (the worker's); none: no checkpoint gauges. */
  readonly projections: readonly string[];
  /** Least time between two catalog reads, ms. */
  readonly catalogIntervalMs: number;
  readonly logger: Logger;
}

/**
 * Checkpoint and lag of each projection: lag is the number of events after its checkpoint (an index
 * range scan over at most the lag), not a difference of ids, which sequence gaps would inflate.
 */
export function checkpointsSql(projections: readonly string[]): string {
  const names = projections.map((p) => {
    if (!/^[a-z][a-z0-9_]*$/.test(p)) throw new Error(`projection name "${p}": expected [a-z][a-z0-9_]*`);
    return `'${p}'`;
  });
  return (
    'SELECT c.projection, c.last_event_id AS last_applied_event_id, ' +
    '(SELECT count(*) FROM events e WHERE e.id > c.last_event_id) AS lag_events ' +
    `FROM projection_checkpoints c WHERE c.projection IN (${names.join(', ')})`
  );
}

/**
 * Opens the pool and instruments it into `pipeline` (the preload's). Idle clients that the database
 * drops (a restart) are logged and replaced, never an uncaught error.
 */
export function openPool(pipeline: Pipeline, opts: PoolOptions): { pool: pg.Pool; collector: PgPoolCollector } {
  const pool = new pg.Pool({ connectionString: opts.url, max: opts.max, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000, application_name: 'trc-control-plane' });
  let lastLog = 0;
  pool.on('error', (err) => {
    // One line per 10 s at most: a restart drops every idle client at once.
    if (Date.now() - lastLog < 10_000) return;
    lastLog = Date.now();
    opts.logger.warn({ err: err.message }, 'database connection lost; the pool reconnects on the next query');
  });
  const sql = opts.projections.length ? checkpointsSql(opts.projections) : undefined;
  const catalog: CatalogOptions | undefined =
    opts.eventsTable || sql
      ? { ...(opts.eventsTable ? { eventsTable: 'events' } : {}), ...(sql ? { checkpointsQuery: sql } : {}), minIntervalMs: opts.catalogIntervalMs, timeoutMs: 2000 }
      : undefined;
  const texts = new Map<string, string>(MIGRATION_SQL.map((t) => [t, MIGRATION_CLASS]));
  if (sql) texts.set(sql, CATALOG_CLASS);
  const collector = instrumentPgPool(pool, pipeline, { classify: classifyQuery(texts), ...(catalog ? { catalog } : {}), logger: opts.logger });
  return { pool, collector };
}
