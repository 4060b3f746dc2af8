/**
 * Idempotency keys (`Idempotency-Key` request header): the first request with a key runs and its answer
 * is stored in the same transaction as its events; a later request with the same key and the same request
 * gets that answer again (a hit), and one with the same key and another request is refused with 409 (a
 * conflict). Keys are scoped to the client. A request that failed stores nothing, so its retry runs again.
 * Two concurrent first requests with one key are serialised by the key's row: the second waits for the
 * first's transaction, then replays its answer (or runs, if the first rolled back).
 */
import type { Request } from 'express';
import { statement } from '../db/statement.ts';
import type { Db } from '../db/transaction.ts';
import { ApiError } from '../http/api-error.ts';

const claimKey = statement(
  'idempotency_claim',
  'INSERT INTO idempotency_keys (client_id, key, endpoint, request_hash) VALUES ($1, $2, $3, $4) ON CONFLICT (client_id, key) DO NOTHING',
);
const readKey = statement('idempotency_read', 'SELECT request_hash, status, response FROM idempotency_keys WHERE client_id = $1 AND key = $2');
const storeAnswer = statement('idempotency_store', 'UPDATE idempotency_keys SET status = $3, response = $4 WHERE client_id = $1 AND key = $2');

/** The request header. */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/**
 * The request's key, or undefined without the header.
 * @throws ApiError 400 for a key that is empty, longer than 255 characters or not printable ASCII.
 */
export function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get(IDEMPOTENCY_HEADER);
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) throw new ApiError(400, 'invalid_idempotency_key', `${IDEMPOTENCY_HEADER} must be 1 to 255 printable ASCII characters (a UUID is a good choice)`);
  return key;
}

/** Who presents which key for which request. */
export interface KeyUse {
  readonly clientId: string;
  readonly key: string;
  readonly endpoint: string;
  readonly hash: string;
}

/** What claiming a key found: the key is ours to use, or an earlier request's answer, or a different request. */
export type Claim = { readonly kind: 'claimed' } | { readonly kind: 'replay'; readonly status: number; readonly body: unknown } | { readonly kind: 'conflict' };

/** Claims the key inside the command's transaction (waits while another transaction holds it). */
export async function claimIdempotencyKey(tx: Db, use: KeyUse): Promise<Claim> {
  const { rowCount } = await tx.run(claimKey, [use.clientId, use.key, use.endpoint, use.hash]);
  if (rowCount === 1) return { kind: 'claimed' };
  const { rows } = await tx.run<{ request_hash: string; status: number | null; response: unknown }>(readKey, [use.clientId, use.key]);
  const row = rows[0];
  if (!row || row.request_hash !== use.hash || row.status === null) return { kind: 'conflict' };
  return { kind: 'replay', status: row.status, body: row.response };
}

/** Stores the answer of the request that claimed the key, in its transaction. */
export async function storeIdempotentAnswer(tx: Db, use: KeyUse, status: number, body: unknown): Promise<void> {
  await tx.run(storeAnswer, [use.clientId, use.key, status, JSON.stringify(body)]);
}
