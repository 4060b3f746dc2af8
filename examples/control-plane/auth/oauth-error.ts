/**
 * OAuth 2.0 error responses (RFC 6749 §5.2, RFC 8628 §3.5): a JSON body `{ error, error_description }`,
 * `Cache-Control: no-store`, and `WWW-Authenticate` on a 401 for client authentication.
 */
import type { Response } from 'express';
import type { Logger } from '../../../instrumentation/logger.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';

/** The error codes this server answers with. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'authorization_pending'
  | 'slow_down'
  | 'access_denied'
  | 'expired_token'
  | 'temporarily_unavailable'
  | 'server_error';

/** An OAuth error to answer with; `status` defaults to 400 (401 for `invalid_client`). */
export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly status: number;
  constructor(code: OAuthErrorCode, description: string, status?: number) {
    super(description);
    this.name = 'OAuthError';
    this.code = code;
    this.status = status ?? (code === 'invalid_client' ? 401 : 400);
  }
}

/** Headers every token-endpoint answer carries (RFC 6749 §5.1). */
export function noStore(res: Response): Response {
  return res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
}

/** Answers with `err`. */
export function sendOAuthError(res: Response, err: OAuthError): void {
  noStore(res);
  if (err.status === 401) res.set('WWW-Authenticate', 'Basic realm="trc-control-plane"');
  res.status(err.status).json({ error: err.code, error_description: err.message });
}

/**
 * Answers a request of an OAuth endpoint that failed with `err`: an OAuthError as itself, an unavailable
 * database as 503 `temporarily_unavailable`, anything else as 500 `server_error` (logged with `what`).
 */
export function sendOAuthFailure(res: Response, logger: Logger, err: unknown, what: string): void {
  if (err instanceof OAuthError) return sendOAuthError(res, err);
  if (isDatabaseUnavailable(err)) {
    res.set('Retry-After', '1');
    return sendOAuthError(res, new OAuthError('temporarily_unavailable', 'the database is unavailable; retry shortly', 503));
  }
  logger.error({ err }, `${what} failed`);
  sendOAuthError(res, new OAuthError('server_error', 'internal error', 500));
}
