/**
 * A projection: a read model built by applying the event stream in order, from a checkpoint. Applying
 * one event runs in the worker's transaction, together with the checkpoint's move, so each event is
 * applied exactly once. An event the projection cannot apply (a poison event) is set aside, not retried
 * for ever: see worker.ts.
 */
import type { StoredEvent } from '../commands/app-events.ts';
import type { Db } from '../db/transaction.ts';

/** An event that this projection can never apply (its payload is not what its type promises, or it contradicts the read model). */
export class PoisonEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoisonEventError';
  }
}

/** One projection. */
export interface Projection {
  /** `[a-z][a-z0-9_]*`: the `projection` label, the checkpoint's key, the rebuild endpoint's `:name`. */
  readonly name: string;
  /**
   * Applies one event (ignoring types it does not project).
   * @throws PoisonEventError for an event it cannot apply; the database's error.
   */
  apply(tx: Db, event: StoredEvent): Promise<void>;
  /** Empties the read model, for a rebuild from the first event. */
  reset(tx: Db): Promise<void>;
}

/** A string field of an event's payload. @throws PoisonEventError when missing or not a non-empty string. */
export function stringField(event: StoredEvent, field: string): string {
  const v = (event.payload as Record<string, unknown> | null)?.[field];
  if (typeof v !== 'string' || v === '') throw new PoisonEventError(`event ${event.id} (${event.type}): payload.${field} is not a non-empty string`);
  return v;
}

/** An integer field of an event's payload. @throws PoisonEventError when missing or not an integer. */
export function integerField(event: StoredEvent, field: string): number {
  const v = (event.payload as Record<string, unknown> | null)?.[field];
  if (!Number.isInteger(v)) throw new PoisonEventError(`event ${event.id} (${event.type}): payload.${field} is not an integer`);
  return v as number;
}
