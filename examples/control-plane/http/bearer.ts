/**
 * Bearer access tokens on the API (RFC 6750): `Authorization: Bearer <token>` with a token from
 * `/oauth/token`; without one, or with an invalid or expired one, 401 with `WWW-Authenticate`. The
 * token's claims are left in `res.locals.auth` for the handlers.
 */
import type { RequestHandler, Response } from 'express';
import type { AccessTokens, TokenClaims } from '../auth/access-tokens.ts';

/** The claims of the request's token, set by {@link requireBearer}. */
export function authOf(res: Response): TokenClaims {
  return res.locals.auth as TokenClaims;
}

/** Middleware admitting requests with a valid access token. */
export function requireBearer(tokens: AccessTokens): RequestHandler {
  return async (req, res, next) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    if (!m) {
      res.status(401).set('WWW-Authenticate', 'Bearer realm="trc-api"').json({ error: 'unauthorized', message: 'an access token is required: Authorization: Bearer <token> (POST /oauth/token)' });
      return;
    }
    try {
      res.locals.auth = await tokens.verify(m[1] as string);
    } catch {
      res.status(401).set('WWW-Authenticate', 'Bearer realm="trc-api", error="invalid_token"').json({ error: 'invalid_token', message: 'the access token is malformed, expired or not ours' });
      return;
    }
    next();
  };
}
