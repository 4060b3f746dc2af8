/**
 * The projection worker: for each projection, a loop that polls the events table after its checkpoint,
 * applies a batch in one transaction (each event under a savepoint) and moves the checkpoint with it.
 * Recorded per projection: `trc_projection_apply_duration_seconds` (one observation per event applied,
 * after the batch committed) and `trc_projection_errors_total`: one per poison event (set aside in
 * `projection_dead_letters`, and passed, so one bad event never stops the projection) and one per batch
 * that failed for another reason (the database unreachable: the batch is retried, with a growing pause).
 */
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { Logger } from '../../../instrumentation/logger.ts';
import { withTransaction } from '../db/transaction.ts';
import type { TrcRecorders } from '../metrics.ts';
import { eventsAfter, lockCheckpoint, moveCheckpoint, putDeadLetter } from './checkpoints.ts';
import { PoisonEventError, type Projection } from './projection.ts';

/** Options of {@link startProjectionWorker}. */
export interface WorkerOptions {
  readonly pool: pg.Pool;
  readonly m: TrcRecorders;
  readonly logger: Logger;
  readonly projections: readonly Projection[];
  /** Pause when caught up, ms. */
  readonly pollMs: number;
  /** Events per batch (default 100). */
  readonly batchSize?: number;
}

/** A running worker. */
export interface ProjectionWorker {
  /** Stops polling and resolves when every loop's current batch has ended. */
  stop(): Promise<void>;
}

/** SQLSTATE classes of errors an event causes by its content: data exceptions (22) and integrity violations (23). */
const isPoison = (err: unknown) => err instanceof PoisonEventError || /^2[23]/.test(String((err as { code?: unknown })?.code ?? ''));

/** What one batch did. */
interface BatchResult {
  readonly fetched: number;
  readonly durations: number[];
  readonly poisoned: { id: number; reason: string }[];
}

/** Applies the next batch of `p` and moves its checkpoint, in one transaction. */
function runBatch(pool: pg.Pool, p: Projection, batchSize: number): Promise<BatchResult> {
  return withTransaction(pool, async (tx): Promise<BatchResult> => {
    const from = await lockCheckpoint(tx, p.name);
    const events = await eventsAfter(tx, from, batchSize);
    const durations: number[] = [];
    const poisoned: { id: number; reason: string }[] = [];
    for (const e of events) {
      const sp = await tx.savepoint();
      const t0 = performance.now();
      try {
        await p.apply(tx, e);
        durations.push((performance.now() - t0) / 1000);
        await sp.release();
      } catch (err) {
        if (!isPoison(err)) throw err;
        await sp.rollback();
        const reason = (err as Error).message;
        await putDeadLetter(tx, p.name, e.id, reason);
        poisoned.push({ id: e.id, reason });
      }
    }
    if (events.length) await moveCheckpoint(tx, p.name, events.at(-1)!.id);
    return { fetched: events.length, durations, poisoned };
  });
}

/** Starts one loop per projection. */
export function startProjectionWorker(opts: WorkerOptions): ProjectionWorker {
  const { pool, m, logger, pollMs } = opts;
  const batchSize = opts.batchSize ?? 100;
  let stopped = false;
  const wakers = new Set<() => void>();
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakers.add(done);
    });
  const loop = async (p: Projection) => {
    let failures = 0;
    while (!stopped) {
      let fetched = 0;
      try {
        const r = await runBatch(pool, p, batchSize);
        fetched = r.fetched;
        if (failures) logger.info({ projection: p.name, failedBatches: failures }, 'projection batches succeed again');
        failures = 0;
        for (const s of r.durations) m.trc_projection_apply_duration_seconds.record(s, { projection: p.name });
        for (const bad of r.poisoned) {
          m.trc_projection_errors_total.add(1, { projection: p.name });
          logger.error({ projection: p.name, eventId: bad.id, reason: bad.reason }, 'poison event set aside in projection_dead_letters');
        }
      } catch (err) {
        m.trc_projection_errors_total.add(1, { projection: p.name });
        if (failures++ === 0) logger.warn({ projection: p.name, err: (err as Error).message }, 'projection batch failed; retrying');
      }
      // Caught up (or failing): wait; a full batch: go on at once.
      if (!stopped && fetched < batchSize) await pause(failures ? Math.min(pollMs * 2 ** failures, 5000) : pollMs);
    }
  };
  const loops = opts.projections.map(loop);
  return {
    async stop() {
      stopped = true;
      for (const wake of [...wakers]) wake();
      await Promise.all(loops);
    },
  };
}
