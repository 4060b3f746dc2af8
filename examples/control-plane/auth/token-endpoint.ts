/**
 * `POST /oauth/token` (RFC 6749 §3.2): the `client_credentials` grant (§4.4, no refresh token, §4.4.3),
 * the `refresh_token` grant (§6, rotating) and the device-code grant (RFC 8628 §3.4), each for an
 * authenticated client, recorded in `trc_auth_token_mints_total{grant_type,result}`,
 * `trc_auth_token_refresh_total{result}` and `trc_auth_device_flow_polls_total{result}`:
 * - a mint is counted once per token request of a known grant type: `success` when a token is issued,
 *   `failed` when the request is refused (bad client, bad grant, unsupported `authorization_code`, the
 *   database down); a device poll answered `authorization_pending` or `slow_down` is not a mint;
 * - a refresh is counted once per `refresh_token` request;
 * - a device poll is `success` when the flow proceeds (a token, `authorization_pending`, `slow_down`) and
 *   `failure` otherwise (expired, denied, unknown or spent code, bad client, the database down).
 */
import type { Request, RequestHandler } from 'express';
import type pg from 'pg';
import { withTransaction } from '../db/transaction.ts';
import type { Logger } from '../../../instrumentation/logger.ts';
import type { TrcRecorders } from '../metrics.ts';
import type { AccessTokens } from './access-tokens.ts';
import type { ClientRegistry } from './clients.ts';
import { pollDeviceCode } from './device-codes.ts';
import { noStore, OAuthError, sendOAuthError, sendOAuthFailure } from './oauth-error.ts';
import { issueRefreshToken, spendRefreshToken } from './refresh-tokens.ts';

/** RFC 8628 §3.4's grant type URN. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** What the token endpoint needs. */
export interface TokenEndpointDeps {
  readonly pool: pg.Pool;
  readonly clients: ClientRegistry;
  readonly tokens: AccessTokens;
  readonly m: TrcRecorders;
  readonly refreshTokenTtlS: number;
  readonly logger: Logger;
}

/** A successful token response (RFC 6749 §5.1). */
interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
}

type GrantLabel = 'authorization_code' | 'client_credentials' | 'refresh_token' | 'device_code';

/** The `grant_type` label of a request's grant type, or undefined for one outside the contract's enum. */
function grantLabel(grantType: string): GrantLabel | undefined {
  if (grantType === DEVICE_CODE_GRANT) return 'device_code';
  return grantType === 'client_credentials' || grantType === 'refresh_token' || grantType === 'authorization_code' ? grantType : undefined;
}

/** A required string parameter of the body. @throws OAuthError `invalid_request` when missing. */
function param(req: Request, name: string): string {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  if (typeof v !== 'string' || v === '') throw new OAuthError('invalid_request', `${name} is required`);
  return v;
}

/** Runs one grant; resolves with the token response, rejects with an OAuthError or the database's error. */
async function runGrant(deps: TokenEndpointDeps, grant: GrantLabel, req: Request): Promise<TokenResponse> {
  if (grant === 'authorization_code') throw new OAuthError('unsupported_grant_type', 'this server issues tokens by client_credentials, refresh_token and the device code grant');
  const clientId = deps.clients.authenticate(req);
  if (grant === 'client_credentials') {
    const { token, expiresIn } = await deps.tokens.issue({ subject: clientId, clientId });
    return { access_token: token, token_type: 'Bearer', expires_in: expiresIn };
  }
  const presented = param(req, grant === 'refresh_token' ? 'refresh_token' : 'device_code');
  const minted = await withTransaction(deps.pool, async (tx) => {
    let subject: string;
    if (grant === 'refresh_token') subject = await spendRefreshToken(tx, clientId, presented);
    else {
      const outcome = await pollDeviceCode(tx, clientId, presented);
      if (outcome.kind !== 'approved') return outcome; // committed: the poll's time and interval are kept
      subject = outcome.subject;
    }
    return { subject, refresh: await issueRefreshToken(tx, clientId, subject, deps.refreshTokenTtlS) };
  });
  if ('kind' in minted) {
    const wait = minted.kind === 'slow_down' ? `polling too fast: wait ${minted.interval} s between polls` : 'the user has not approved the request yet';
    throw new OAuthError(minted.kind, wait);
  }
  const { token, expiresIn } = await deps.tokens.issue({ subject: minted.subject, clientId });
  return { access_token: token, token_type: 'Bearer', expires_in: expiresIn, refresh_token: minted.refresh };
}

/** Records the outcome of one token request of grant `grant`. */
function recordOutcome(m: TrcRecorders, grant: GrantLabel, ok: boolean, err?: unknown): void {
  const proceeds = ok || (err instanceof OAuthError && (err.code === 'authorization_pending' || err.code === 'slow_down'));
  if (grant === 'device_code') m.trc_auth_device_flow_polls_total.add(1, { result: proceeds ? 'success' : 'failure' });
  if (grant === 'refresh_token') m.trc_auth_token_refresh_total.add(1, { result: ok ? 'success' : 'failure' });
  if (ok || !proceeds) m.trc_auth_token_mints_total.add(1, { grant_type: grant, result: ok ? 'success' : 'failed' });
}

/** The handler of `POST /oauth/token` (after a form or JSON body parser). */
export function tokenEndpoint(deps: TokenEndpointDeps): RequestHandler {
  return async (req, res) => {
    const grantType = (req.body as Record<string, unknown> | undefined)?.grant_type;
    if (typeof grantType !== 'string' || grantType === '') return sendOAuthError(res, new OAuthError('invalid_request', 'grant_type is required'));
    const grant = grantLabel(grantType);
    if (!grant) return sendOAuthError(res, new OAuthError('unsupported_grant_type', `grant_type "${grantType.slice(0, 64)}" is not supported`));
    try {
      const body = await runGrant(deps, grant, req);
      recordOutcome(deps.m, grant, true);
      noStore(res).json(body);
    } catch (err) {
      recordOutcome(deps.m, grant, false, err);
      sendOAuthFailure(res, deps.logger, err, 'token request');
    }
  };
}
