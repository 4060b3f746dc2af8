/**
 * The event store on PostgreSQL: read a stream, append to it with an expected version, inside the
 * command's transaction. Appends are serialised by a transaction-level advisory lock taken before the
 * ids are drawn, so ids commit in order: a projection reading `id > checkpoint` never skips an event that
 * a slower transaction commits later with a smaller id. `(stream_id, version)` is unique, so two commands
 * deciding on the same stream version cannot both append.
 */
import { statement } from '../db/statement.ts';
import type { Db } from '../db/transaction.ts';
import { ApiError } from '../http/api-error.ts';
import type { AppEvent, StoredEvent } from './app-events.ts';

const APPEND_LOCK = 7_414_002;

const readStream = statement('stream_read', 'SELECT id, stream_id, version, type, payload, recorded_at FROM events WHERE stream_id = $1 ORDER BY version');
const lockAppends = statement('event_append_lock', 'SELECT pg_advisory_xact_lock($1)');
const insertEvents = statement(
  'event_append',
  'INSERT INTO events (stream_id, version, type, payload) SELECT $1, $2 + ord, type, payload FROM unnest($3::text[], $4::jsonb[]) WITH ORDINALITY AS e(type, payload, ord) RETURNING id',
);

/** A stored row of `events`. */
export interface EventRow {
  id: string;
  stream_id: string;
  version: number;
  type: string;
  payload: unknown;
  recorded_at: Date;
}

/** A row as a {@link StoredEvent} (bigint ids arrive as strings; they stay below 2^53 here). */
export function storedEvent(r: EventRow): StoredEvent {
  return { id: Number(r.id), streamId: r.stream_id, version: r.version, type: r.type, payload: r.payload, recordedAt: r.recorded_at };
}

/** A stream's events in order, and its version (0 when empty). */
export async function loadStream(db: Db, streamId: string): Promise<{ version: number; events: StoredEvent[] }> {
  const { rows } = await db.run<EventRow>(readStream, [streamId]);
  const events = rows.map(storedEvent);
  return { version: events.at(-1)?.version ?? 0, events };
}

/**
 * Appends `events` to `streamId`, which must still be at `expectedVersion`.
 * @returns the ids of the new events.
 * @throws ApiError 409 `concurrent_modification` when another command appended to the stream first; the database's error.
 */
export async function appendEvents(db: Db, streamId: string, expectedVersion: number, events: readonly AppEvent[]): Promise<number[]> {
  await db.run(lockAppends, [APPEND_LOCK]);
  try {
    const { rows } = await db.run<{ id: string }>(insertEvents, [streamId, expectedVersion, events.map((e) => e.type), events.map((e) => JSON.stringify(e.payload))]);
    return rows.map((r) => Number(r.id));
  } catch (e) {
    if ((e as { code?: string }).code === '23505') throw new ApiError(409, 'concurrent_modification', 'the app changed while this command ran; retry');
    throw e;
  }
}
