/**
 * Client authentication at the token and device endpoints (RFC 6749 §2.3.1): HTTP Basic with the
 * form-encoded id and secret, or `client_id` and `client_secret` in the body. Secrets are compared in
 * constant time (of their SHA-256 digests, so lengths leak nothing either).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { ClientCredentials } from '../config.ts';
import { OAuthError } from './oauth-error.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The registered clients. */
export interface ClientRegistry {
  /**
   * The id of the client `req` authenticates as.
   * @throws OAuthError `invalid_client` (401) when no credentials are given or they do not match;
   *   `invalid_request` when both methods are used at once.
   */
  authenticate(req: Request): string;
}

/** The credentials a request presents, or undefined without any. */
function presented(req: Request): { id: string; secret: string } | undefined {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const header = req.get('authorization');
  const basic = header && /^Basic\s+/i.test(header) ? Buffer.from(header.replace(/^Basic\s+/i, ''), 'base64').toString('utf8') : undefined;
  if (basic !== undefined) {
    if (typeof body.client_secret === 'string') throw new OAuthError('invalid_request', 'use one client authentication method: HTTP Basic or client_secret in the body, not both');
    const at = basic.indexOf(':');
    if (at < 0) throw new OAuthError('invalid_client', 'malformed HTTP Basic credentials');
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s.replace(/\+/g, ' '));
      } catch {
        throw new OAuthError('invalid_client', 'malformed HTTP Basic credentials');
      }
    };
    return { id: decode(basic.slice(0, at)), secret: decode(basic.slice(at + 1)) };
  }
  if (typeof body.client_id === 'string' && typeof body.client_secret === 'string') return { id: body.client_id, secret: body.client_secret };
  return undefined;
}

/** A registry of `clients`. */
export function clientRegistry(clients: readonly ClientCredentials[]): ClientRegistry {
  const byId = new Map(clients.map((c) => [c.id, digest(c.secret)]));
  const nobody = digest('\u0000no such client\u0000');
  return {
    authenticate(req) {
      const creds = presented(req);
      if (!creds) throw new OAuthError('invalid_client', 'client authentication required: HTTP Basic, or client_id and client_secret');
      const expected = byId.get(creds.id);
      // Compare even for an unknown id, so the time taken does not tell which ids exist.
      const ok = timingSafeEqual(expected ?? nobody, digest(creds.secret)) && expected !== undefined;
      if (!ok) throw new OAuthError('invalid_client', 'unknown client or wrong secret');
      return creds.id;
    },
  };
}
