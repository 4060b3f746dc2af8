/**
 * Access tokens: JWTs signed with HS256 (jose) under a key kept in the database, created at the first
 * start, so tokens stay valid across restarts and between the replicas of one database.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { Db } from '../db/transaction.ts';
import { statement } from '../db/statement.ts';

const ISSUER = 'trc-control-plane';
const AUDIENCE = 'trc-api';

const insertKey = statement('signing_key_create', 'INSERT INTO oauth_signing_keys (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING');
const selectKey = statement('signing_key_read', 'SELECT secret FROM oauth_signing_keys WHERE id = 1');

/** Who a token was issued to. */
export interface TokenClaims {
  /** The end user (device flow) or the client itself (client credentials). */
  readonly subject: string;
  readonly clientId: string;
}

/** Signs and verifies access tokens. */
export interface AccessTokens {
  /** A new token and its lifetime in seconds. */
  issue(claims: TokenClaims): Promise<{ token: string; expiresIn: number }>;
  /**
   * The claims of a valid token.
   * @throws jose's error for a token that is malformed, expired, or signed with another key.
   */
  verify(token: string): Promise<TokenClaims>;
}

/**
 * Loads the signing key, creating it when the database has none.
 * @throws the database's error.
 */
export async function accessTokens(db: Db, ttlS: number): Promise<AccessTokens> {
  await db.run(insertKey, [randomBytes(32)]);
  const { rows } = await db.run<{ secret: Buffer }>(selectKey);
  const key = new Uint8Array(rows[0]!.secret);
  return {
    async issue({ subject, clientId }) {
      const token = await new SignJWT({ client_id: clientId })
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject(subject)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(`${ttlS}s`)
        .sign(key);
      return { token, expiresIn: ttlS };
    },
    async verify(token) {
      const { payload } = await jwtVerify(token, key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'], typ: 'at+jwt' });
      return { subject: String(payload.sub), clientId: String(payload.client_id) };
    },
  };
}
