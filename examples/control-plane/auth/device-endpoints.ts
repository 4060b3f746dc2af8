/**
 * The device authorization endpoint (RFC 8628 §3.1, `POST /oauth/device/code`) and the demo stand-in
 * for the page where a signed-in user enters the user code (`POST /oauth/device/approve`, with a bearer
 * token, `{ "user_code": "BCDF-GHJK" }` and optionally `"action": "deny"`).
 */
import type { Request, RequestHandler } from 'express';
import type pg from 'pg';
import { poolDb } from '../db/transaction.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { ApiError, DATABASE_UNAVAILABLE, sendApiError } from '../http/api-error.ts';
import { authOf } from '../http/bearer.ts';
import type { Logger } from '../../../instrumentation/logger.ts';
import type { ClientRegistry } from './clients.ts';
import { createDeviceCode, decideDeviceCode, normalizeUserCode } from './device-codes.ts';
import { noStore, sendOAuthFailure } from './oauth-error.ts';

/** What the device endpoints need. */
export interface DeviceEndpointDeps {
  readonly pool: pg.Pool;
  readonly clients: ClientRegistry;
  readonly deviceCodeTtlS: number;
  readonly pollIntervalS: number;
  readonly logger: Logger;
}

/** Where the user goes to enter the code: here, the approve endpoint (a real deployment serves a login page). */
function verificationUri(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}/oauth/device/approve`;
}

/** `POST /oauth/device/code`: a device code and a user code for an authenticated client. */
export function deviceCodeEndpoint(deps: DeviceEndpointDeps): RequestHandler {
  const db = poolDb(deps.pool);
  return async (req, res) => {
    try {
      const clientId = deps.clients.authenticate(req);
      const a = await createDeviceCode(db, clientId, deps.deviceCodeTtlS, deps.pollIntervalS);
      const uri = verificationUri(req);
      noStore(res).json({
        device_code: a.deviceCode,
        user_code: a.userCode,
        verification_uri: uri,
        verification_uri_complete: `${uri}?user_code=${encodeURIComponent(a.userCode)}`,
        expires_in: a.expiresIn,
        interval: a.interval,
      });
    } catch (err) {
      sendOAuthFailure(res, deps.logger, err, 'device authorization');
    }
  };
}

/** `POST /oauth/device/approve` (after the bearer check): records the signed-in user's decision on a user code. */
export function deviceApproveEndpoint(deps: DeviceEndpointDeps): RequestHandler {
  const db = poolDb(deps.pool);
  return async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const userCode = normalizeUserCode(body.user_code ?? req.query.user_code);
    const action = body.action ?? 'approve';
    if (!userCode) return sendApiError(res, new ApiError(400, 'invalid_request', 'user_code is required, as shown to the user (XXXX-XXXX)'));
    if (action !== 'approve' && action !== 'deny') return sendApiError(res, new ApiError(400, 'invalid_request', 'action must be "approve" or "deny"'));
    try {
      const decided = await decideDeviceCode(db, userCode, authOf(res).subject, action === 'approve');
      if (!decided) return sendApiError(res, new ApiError(404, 'invalid_user_code', 'no pending request has this user code: unknown, expired or already decided'));
      res.json({ user_code: userCode, status: action === 'approve' ? 'approved' : 'denied' });
    } catch (err) {
      if (isDatabaseUnavailable(err)) return sendApiError(res, DATABASE_UNAVAILABLE());
      throw err;
    }
  };
}
