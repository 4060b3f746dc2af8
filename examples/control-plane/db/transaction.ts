/**
 * One database transaction on a client of the pool: `BEGIN`, the caller's statements, `COMMIT` (or
 * `ROLLBACK` when the caller throws). A client whose connection broke is destroyed, not returned to
 * the pool, so the pool recovers from a database restart with fresh connections.
 */
import type pg from 'pg';
import { TX, type Statement } from './statement.ts';

/** Anything that runs a statement: the pool (one statement, its own transaction) or a transaction. */
export interface Db {
  run<R extends pg.QueryResultRow = pg.QueryResultRow>(stmt: Statement, values?: readonly unknown[]): Promise<pg.QueryResult<R>>;
}

/** A savepoint inside a transaction: keep what ran since, or undo it and carry on. */
export interface Savepoint {
  release(): Promise<void>;
  rollback(): Promise<void>;
}

/** A transaction in progress. */
export interface Tx extends Db {
  /** Commits now (the caller times it, e.g. as part of an event append); later statements fail. */
  commit(): Promise<void>;
  /** Sets a savepoint (one at a time). */
  savepoint(): Promise<Savepoint>;
}

/** Runs one named statement on the pool or a client. */
export function runOn<R extends pg.QueryResultRow>(q: pg.Pool | pg.PoolClient, stmt: Statement, values: readonly unknown[] = []): Promise<pg.QueryResult<R>> {
  return q.query<R>({ name: stmt.name, text: stmt.text, values: values as unknown[] });
}

/** The pool as a {@link Db}. */
export function poolDb(pool: pg.Pool): Db {
  return { run: (stmt, values) => runOn(pool, stmt, values) };
}

/**
 * Runs `fn` in a transaction and commits it unless `fn` already did (`tx.commit()`).
 * @returns what `fn` returns.
 * @throws what `fn` throws (after a rollback), or the database's error (connection refused, lost, commit failed).
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out client has no error listener of the pool's: a connection cut between two statements
  // (the database restarted) would otherwise be an uncaught 'error' event.
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  // `committed`: a COMMIT was sent and has not answered (if it failed, the connection's state is unknown).
  const at: { state: 'open' | 'committed' | 'done' } = { state: 'open' };
  const savepoint: Savepoint = {
    release: async () => void (await client.query('RELEASE SAVEPOINT step')),
    rollback: async () => void (await client.query('ROLLBACK TO SAVEPOINT step')),
  };
  const tx: Tx = {
    run: (stmt, values) => runOn(client, stmt, values),
    savepoint: async () => {
      await client.query('SAVEPOINT step');
      return savepoint;
    },
    async commit() {
      if (at.state !== 'open') throw new Error('transaction already ended');
      at.state = 'committed';
      await client.query(TX.commit);
      at.state = 'done';
    },
  };
  try {
    await client.query(TX.begin);
    const out = await fn(tx);
    if (at.state === 'open') await tx.commit();
    return out;
  } catch (e) {
    broken ??= at.state === 'open' ? await client.query(TX.rollback).then(() => undefined, (err: Error) => err) : undefined;
    throw e;
  } finally {
    client.off('error', onError);
    client.release(broken ?? (at.state === 'committed' ? new Error('commit failed') : undefined));
  }
}
