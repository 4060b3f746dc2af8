/**
 * Errors of the API (everything but the OAuth endpoints, which answer in RFC 6749's format): a status
 * and a JSON body `{ error, message }` whose `error` is a stable code a client can branch on.
 */
import type { RequestHandler, Response } from 'express';
import { isDatabaseUnavailable } from '../db/unavailable.ts';

/** An error answered as `{ error: code, message }` with `status`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** Answers with `err`. */
export function sendApiError(res: Response, err: ApiError): void {
  res.status(err.status).json({ error: err.code, message: err.message });
}

/** 503 for a database that cannot be reached: the client may retry (with the same Idempotency-Key). */
export const DATABASE_UNAVAILABLE = (): ApiError => new ApiError(503, 'database_unavailable', 'the database is unavailable; retry shortly (with the same Idempotency-Key)');

/** Wraps a handler so that an unreachable database answers 503 (anything else goes to the error handler). */
export function withDatabase(handler: RequestHandler): RequestHandler {
  return async (req, res, next) => {
    try {
      await handler(req, res, next);
    } catch (err) {
      if (isDatabaseUnavailable(err)) return sendApiError(res, DATABASE_UNAVAILABLE());
      throw err;
    }
  };
}
