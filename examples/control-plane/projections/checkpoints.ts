/**
 * Projection checkpoints (`projection_checkpoints`): the id of the last event each projection applied,
 * read under a row lock so that one batch at a time moves it (two workers, or a worker and a rebuild,
 * never apply the same events twice), and the events set aside (`projection_dead_letters`).
 */
import { statement } from '../db/statement.ts';
import type { Db } from '../db/transaction.ts';
import { storedEvent, type EventRow } from '../commands/event-store.ts';
import type { StoredEvent } from '../commands/app-events.ts';

const lock = statement('checkpoint_lock', 'SELECT last_event_id FROM projection_checkpoints WHERE projection = $1 FOR UPDATE');
const create = statement('checkpoint_create', 'INSERT INTO projection_checkpoints (projection) VALUES ($1) ON CONFLICT DO NOTHING');
const move = statement('checkpoint_move', 'UPDATE projection_checkpoints SET last_event_id = $2, updated_at = now() WHERE projection = $1');
const fetchAfter = statement('events_fetch', 'SELECT id, stream_id, version, type, payload, recorded_at FROM events WHERE id > $1 ORDER BY id LIMIT $2');
const setAside = statement(
  'dead_letter_put',
  'INSERT INTO projection_dead_letters (projection, event_id, reason) VALUES ($1, $2, $3) ON CONFLICT (projection, event_id) DO UPDATE SET reason = EXCLUDED.reason, failed_at = now()',
);
const clearAside = statement('dead_letter_clear', 'DELETE FROM projection_dead_letters WHERE projection = $1');
const overview = statement(
  'checkpoint_overview',
  'SELECT c.projection, c.last_event_id, (SELECT count(*) FROM events e WHERE e.id > c.last_event_id) AS lag_events, ' +
    '(SELECT count(*) FROM projection_dead_letters d WHERE d.projection = c.projection) AS dead_letters FROM projection_checkpoints c ORDER BY c.projection',
);

/** Locks the projection's checkpoint (creating it at 0 if missing) and returns it. */
export async function lockCheckpoint(tx: Db, projection: string): Promise<number> {
  let { rows } = await tx.run<{ last_event_id: string }>(lock, [projection]);
  if (!rows[0]) {
    await tx.run(create, [projection]);
    ({ rows } = await tx.run<{ last_event_id: string }>(lock, [projection]));
  }
  return Number(rows[0]?.last_event_id ?? 0);
}

/** Moves the locked checkpoint to `eventId` (0 for a rebuild). */
export async function moveCheckpoint(tx: Db, projection: string, eventId: number): Promise<void> {
  await tx.run(move, [projection, eventId]);
}

/** Up to `limit` events after `afterId`, in order. */
export async function eventsAfter(tx: Db, afterId: number, limit: number): Promise<StoredEvent[]> {
  const { rows } = await tx.run<EventRow>(fetchAfter, [afterId, limit]);
  return rows.map(storedEvent);
}

/** Records an event the projection set aside, and why. */
export async function putDeadLetter(tx: Db, projection: string, eventId: number, reason: string): Promise<void> {
  await tx.run(setAside, [projection, eventId, reason.slice(0, 1000)]);
}

/** Forgets the projection's dead letters (a rebuild meets them again). */
export async function clearDeadLetters(tx: Db, projection: string): Promise<void> {
  await tx.run(clearAside, [projection]);
}

/** One projection's position, for `GET /admin/projections`. */
export interface CheckpointView {
  readonly projection: string;
  readonly last_applied_event_id: number;
  readonly lag_events: number;
  readonly dead_letters: number;
}

/** Every projection's position. */
export async function checkpointOverview(db: Db): Promise<CheckpointView[]> {
  const { rows } = await db.run<{ projection: string; last_event_id: string; lag_events: string; dead_letters: string }>(overview);
  return rows.map((r) => ({ projection: r.projection, last_applied_event_id: Number(r.last_event_id), lag_events: Number(r.lag_events), dead_letters: Number(r.dead_letters) }));
}
