/**
 * The API's last handlers: 404 for an unknown route, and the error handler, which answers a body the
 * parsers refused (malformed JSON, too large, unsupported encoding) with its 4xx and a clear message,
 * in the OAuth format on `/oauth/*`, and anything else with 500 (logged). The body parsers run inside
 * each route, so even a refused body is counted under its route template in `trc_http_requests_total`.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../../../instrumentation/logger.ts';
import { OAuthError, sendOAuthError } from '../auth/oauth-error.ts';
import { ApiError, sendApiError } from './api-error.ts';

/** body-parser's error shape. */
interface BodyError {
  status?: number;
  type?: string;
  message?: string;
}

/** The answer to a refused body: status, code and message. */
function refusal(err: BodyError): ApiError | undefined {
  if (err.type === 'entity.parse.failed') return new ApiError(400, 'invalid_json', `the request body is not valid JSON: ${err.message ?? 'parse error'}`);
  if (err.type === 'entity.too.large') return new ApiError(413, 'body_too_large', 'the request body is too large');
  if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) return new ApiError(err.status, 'invalid_body', err.message ?? 'the request body was refused');
  return undefined;
}

/** 404 for every route the API does not have. */
export const notFound: RequestHandler = (req, res) => {
  sendApiError(res, new ApiError(404, 'not_found', `no route ${req.method} ${req.path.slice(0, 200)}`));
};

/** The error handler (last middleware). */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const refused = refusal(err as BodyError);
    if (res.headersSent) return void res.end();
    if (refused) {
      if (req.path.startsWith('/oauth/')) return sendOAuthError(res, new OAuthError('invalid_request', refused.message, refused.status));
      return sendApiError(res, refused);
    }
    logger.error({ err, method: req.method, route: req.route?.path }, 'request failed');
    sendApiError(res, new ApiError(500, 'internal', 'internal error'));
  };
}
