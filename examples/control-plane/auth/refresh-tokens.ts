/**
 * Refresh tokens (RFC 6749 §1.5, §6): opaque random strings, stored only as their SHA-256, bound to the
 * client they were issued to, and rotated: each use returns a new one and spends the old, so a stolen
 * token that was already used is refused.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/transaction.ts';
import { statement } from '../db/statement.ts';
import { OAuthError } from './oauth-error.ts';

const insertToken = statement(
  'refresh_token_create',
  "INSERT INTO oauth_refresh_tokens (token_hash, client_id, subject, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
);
// Spends the token in one statement: two concurrent uses cannot both succeed.
const spendToken = statement(
  'refresh_token_spend',
  'UPDATE oauth_refresh_tokens SET used_at = now() WHERE token_hash = $1 AND client_id = $2 AND used_at IS NULL AND expires_at > now() RETURNING subject',
);

const hashOf = (token: string) => createHash('sha256').update(token).digest('base64url');

/**
 * Issues a refresh token for `subject` to `clientId`.
 * @throws the database's error.
 */
export async function issueRefreshToken(db: Db, clientId: string, subject: string, ttlS: number): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await db.run(insertToken, [hashOf(token), clientId, subject, ttlS]);
  return token;
}

/**
 * Spends `token` (it must be unused, unexpired and issued to `clientId`) and returns its subject.
 * @throws OAuthError `invalid_grant` otherwise; the database's error.
 */
export async function spendRefreshToken(db: Db, clientId: string, token: string): Promise<string> {
  const { rows } = await db.run<{ subject: string }>(spendToken, [hashOf(token), clientId]);
  if (!rows[0]) throw new OAuthError('invalid_grant', 'refresh token unknown, expired, already used, or issued to another client');
  return rows[0].subject;
}
