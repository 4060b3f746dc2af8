/**
 * The device authorization grant's state (RFC 8628): a device code (kept as its SHA-256) and a short
 * user code per request, approved or denied by a signed-in user, then polled by the device until it
 * gets its token, is told to slow down, or the code expires, is denied or was already used.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { statement } from '../db/statement.ts';
import type { Db } from '../db/transaction.ts';
import { OAuthError } from './oauth-error.ts';

/** RFC 8628 §6.1: consonants only (no vowels, so no words), case-insensitive, 8 characters shown as XXXX-XXXX. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
/** RFC 8628 §3.5: each `slow_down` raises the interval by 5 seconds, for this and all later polls. */
const SLOW_DOWN_STEP_S = 5;

const insertCode = statement(
  'device_code_create',
  'INSERT INTO oauth_device_codes (device_code_hash, user_code, client_id, interval_s, expires_at) VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) ON CONFLICT DO NOTHING',
);
const decideCode = statement(
  'device_code_decide',
  "UPDATE oauth_device_codes SET status = $2, subject = $3 WHERE user_code = $1 AND status = 'pending' AND expires_at > now() RETURNING client_id",
);
const lockCode = statement(
  'device_code_lock',
  'SELECT client_id, status, subject, interval_s, expires_at <= now() AS expired, (last_polled_at IS NOT NULL AND last_polled_at > now() - make_interval(secs => interval_s)) AS too_soon FROM oauth_device_codes WHERE device_code_hash = $1 FOR UPDATE',
);
const markPolled = statement('device_code_polled', 'UPDATE oauth_device_codes SET last_polled_at = now(), interval_s = $2 WHERE device_code_hash = $1');
const consumeCode = statement('device_code_consume', "UPDATE oauth_device_codes SET status = 'consumed', last_polled_at = now() WHERE device_code_hash = $1");

const hashOf = (code: string) => createHash('sha256').update(code).digest('base64url');

/** A device authorization request's answer (RFC 8628 §3.2), without the verification URIs. */
export interface DeviceAuthorization {
  readonly deviceCode: string;
  readonly userCode: string;
  readonly expiresIn: number;
  readonly interval: number;
}

/** `BCDF-GHJK` from any case, with or without the dash; undefined for anything that cannot be a user code. */
export function normalizeUserCode(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const s = raw.replace(/[-\s]/g, '').toUpperCase();
  return s.length === 8 && [...s].every((c) => USER_CODE_ALPHABET.includes(c)) ? `${s.slice(0, 4)}-${s.slice(4)}` : undefined;
}

/**
 * Starts a device authorization for `clientId`.
 * @throws the database's error; Error when three user codes in a row collide (never in practice).
 */
export async function createDeviceCode(db: Db, clientId: string, ttlS: number, intervalS: number): Promise<DeviceAuthorization> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const deviceCode = randomBytes(32).toString('base64url');
    const raw = Array.from({ length: 8 }, () => USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]).join('');
    const userCode = `${raw.slice(0, 4)}-${raw.slice(4)}`;
    const { rowCount } = await db.run(insertCode, [hashOf(deviceCode), userCode, clientId, intervalS, ttlS]);
    if (rowCount === 1) return { deviceCode, userCode, expiresIn: ttlS, interval: intervalS };
  }
  throw new Error('could not allocate a unique user code');
}

/**
 * Records the user's decision on a pending, unexpired user code.
 * @returns false when the code is unknown, expired or already decided.
 */
export async function decideDeviceCode(db: Db, userCode: string, subject: string, approve: boolean): Promise<boolean> {
  const { rowCount } = await db.run(decideCode, [userCode, approve ? 'approved' : 'denied', subject]);
  return rowCount === 1;
}

/** What a poll that lets the flow proceed gives: the approving user (then mint a token), or a wait. */
export type PollOutcome = { readonly kind: 'approved'; readonly subject: string } | { readonly kind: 'authorization_pending' | 'slow_down'; readonly interval: number };

/**
 * One poll of the token endpoint with the device code (RFC 8628 §3.4, §3.5), inside the caller's
 * transaction (which mints the token in the same transaction, so a code is never spent without its
 * token). An approved code is spent by the poll that receives its token, however soon that poll comes.
 * @throws OAuthError `invalid_grant` (unknown, already used, or another client's code), `expired_token`,
 *   `access_denied`; the database's error.
 */
export async function pollDeviceCode(tx: Db, clientId: string, deviceCode: string): Promise<PollOutcome> {
  const hash = hashOf(deviceCode);
  const { rows } = await tx.run<{ client_id: string; status: string; subject: string | null; interval_s: number; expired: boolean; too_soon: boolean }>(lockCode, [hash]);
  const row = rows[0];
  if (!row || row.client_id !== clientId || row.status === 'consumed') throw new OAuthError('invalid_grant', 'unknown device code, already used, or issued to another client');
  if (row.expired) throw new OAuthError('expired_token', 'the device code expired: start again at /oauth/device/code');
  if (row.status === 'denied') throw new OAuthError('access_denied', 'the user denied the request');
  if (row.status === 'approved') {
    await tx.run(consumeCode, [hash]);
    return { kind: 'approved', subject: row.subject ?? clientId };
  }
  const interval = row.too_soon ? row.interval_s + SLOW_DOWN_STEP_S : row.interval_s;
  await tx.run(markPolled, [hash, interval]);
  return { kind: row.too_soon ? 'slow_down' : 'authorization_pending', interval };
}
