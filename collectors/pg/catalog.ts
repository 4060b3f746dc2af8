/**
 * Catalog gauges of a trc event store (seed 002 sections B and C), read through the application's own
 * pool: the events table's approximate rows (`pg_class.reltuples`) and size (`pg_total_relation_size`),
 * and each projection's checkpoint from a query the caller supplies. Reads are driven by collections but
 * never delay one: a collection records the last values read and, when no read is in flight and the
 * last one started at least `minIntervalMs` ago, starts the next in the background, bounded by `timeoutMs`.
 */

/** A pool (or client) that can run a parameterised query and resolve its rows. */
export interface RowQuerier {
  query(config: { text: string; values?: unknown[]; query_timeout?: number }): Promise<{ rows: Record<string, unknown>[] }>;
}

/** Options of the catalog reads. */
export interface CatalogOptions {
  /** The events table (`events`, `public.events`): feeds `trc_events_table_rows` and `trc_events_table_size_bytes`. */
  readonly eventsTable?: string;
  /**
   * A query returning one row per projection with the columns `projection` (its name),
   * `last_applied_event_id` and optionally `lag_events` (numbers or numeric strings): feeds
   * `trc_projection_last_applied_event_id{projection}` and `trc_projection_lag_events{projection}`.
   */
  readonly checkpointsQuery?: string;
  /** Bound on one read, ms (default 2000): a slower read is abandoned and counted as `timeout`. */
  readonly timeoutMs?: number;
  /** Least time between the starts of two reads, ms (default 5000). */
  readonly minIntervalMs?: number;
}

/** What one successful read found; a part not configured (or not known yet, `reltuples` -1) is absent. */
export interface CatalogReading {
  readonly eventsRows?: number;
  readonly eventsBytes?: number;
  readonly checkpoints?: readonly { projection: string; lastApplied: number; lag?: number }[];
}

/** Why a read gave nothing: it took longer than `timeoutMs`, or the database answered with an error. */
export type CatalogFailure = 'timeout' | 'error';

const TABLE_SQL = 'SELECT c.reltuples::float8 AS rows, pg_total_relation_size(c.oid)::float8 AS bytes FROM pg_class c WHERE c.oid = $1::regclass';

function num(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Reads everything configured once. @throws the query error (unknown table, bad checkpoint query). */
async function readCatalog(db: RowQuerier, opts: CatalogOptions, timeoutMs: number): Promise<CatalogReading> {
  let eventsRows: number | undefined;
  let eventsBytes: number | undefined;
  if (opts.eventsTable) {
    const { rows } = await db.query({ text: TABLE_SQL, values: [opts.eventsTable], query_timeout: timeoutMs });
    const r = rows[0];
    const tuples = num(r?.rows);
    eventsRows = tuples !== undefined && tuples >= 0 ? tuples : undefined; // -1: never analysed, unknown
    eventsBytes = num(r?.bytes);
  }
  let checkpoints: { projection: string; lastApplied: number; lag?: number }[] | undefined;
  if (opts.checkpointsQuery) {
    const { rows } = await db.query({ text: opts.checkpointsQuery, query_timeout: timeoutMs });
    checkpoints = [];
    for (const r of rows) {
      const lastApplied = num(r.last_applied_event_id);
      const lag = num(r.lag_events);
      if (typeof r.projection === 'string' && lastApplied !== undefined) checkpoints.push({ projection: r.projection, lastApplied, ...(lag !== undefined ? { lag } : {}) });
    }
  }
  return { ...(eventsRows !== undefined ? { eventsRows } : {}), ...(eventsBytes !== undefined ? { eventsBytes } : {}), ...(checkpoints ? { checkpoints } : {}) };
}

/** The catalog reader of one pool. */
export interface CatalogReader {
  /** The last successful reading (empty before the first); starts the next read when one is due. Never throws, never waits. */
  poll(): CatalogReading;
  /** Resolves when no read is in flight (tests, final push). */
  idle(): Promise<void>;
}

/**
 * Creates the reader.
 * @param onFailure told of each failed read (for the self-metric and a log line).
 */
export function catalogReader(db: RowQuerier, opts: CatalogOptions, onFailure: (why: CatalogFailure, err: Error) => void): CatalogReader {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const minIntervalMs = opts.minIntervalMs ?? 5000;
  let last: CatalogReading = {};
  let inFlight: Promise<void> | undefined;
  let startedAt = -Infinity;
  const start = () => {
    startedAt = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
      timer.unref();
    });
    inFlight = Promise.race([readCatalog(db, opts, timeoutMs), timedOut])
      .then(
        (r) => {
          if (r === 'timeout') onFailure('timeout', new Error(`catalog read took longer than ${timeoutMs} ms`));
          else last = r;
        },
        (e: unknown) => onFailure('error', e as Error),
      )
      .finally(() => {
        clearTimeout(timer);
        inFlight = undefined;
      });
  };
  return {
    poll() {
      if (!inFlight && performance.now() - startedAt >= minIntervalMs) start();
      return last;
    },
    idle: () => inFlight ?? Promise.resolve(),
  };
}
