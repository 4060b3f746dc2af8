/**
 * Rebuilding a projection: empty its read model, forget its dead letters and move its checkpoint back to
 * 0, in one transaction that waits for the batch in flight (the checkpoint's row lock); the worker then
 * applies the whole stream again. Counted in `trc_projection_rebuilds_total{projection}` once committed.
 */
import type pg from 'pg';
import { withTransaction } from '../db/transaction.ts';
import type { TrcRecorders } from '../metrics.ts';
import { clearDeadLetters, lockCheckpoint, moveCheckpoint } from './checkpoints.ts';
import type { Projection } from './projection.ts';

/**
 * Resets `p` for a rebuild.
 * @returns the checkpoint it had.
 * @throws the database's error (nothing changed then).
 */
export async function rebuildProjection(pool: pg.Pool, m: TrcRecorders, p: Projection): Promise<number> {
  const was = await withTransaction(pool, async (tx) => {
    const before = await lockCheckpoint(tx, p.name);
    await p.reset(tx);
    await clearDeadLetters(tx, p.name);
    await moveCheckpoint(tx, p.name, 0);
    return before;
  });
  m.trc_projection_rebuilds_total.add(1, { projection: p.name });
  return was;
}
