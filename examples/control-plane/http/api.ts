/**
 * The control plane's HTTP API on express 5 (whose route templates the preload's http collector reads
 * for `trc_http_requests_total{path_template}`): OAuth endpoints, commands, read-model queries, admin
 * endpoints, `/healthz`, then 404 and the error handler.
 */
import express, { type Express } from 'express';
import type pg from 'pg';
import type { Logger } from '../../../instrumentation/logger.ts';
import type { AccessTokens } from '../auth/access-tokens.ts';
import type { ClientRegistry } from '../auth/clients.ts';
import { deviceApproveEndpoint, deviceCodeEndpoint } from '../auth/device-endpoints.ts';
import { tokenEndpoint } from '../auth/token-endpoint.ts';
import type { ControlPlaneConfig } from '../config.ts';
import { COMMANDS } from '../commands/definitions.ts';
import { commandHandler } from '../commands/handler.ts';
import type { TrcRecorders } from '../metrics.ts';
import type { Projection } from '../projections/projection.ts';
import { mountAdminRoutes } from './admin-routes.ts';
import { requireBearer } from './bearer.ts';
import { errorHandler, notFound } from './body-errors.ts';
import { mountReadRoutes } from './read-routes.ts';

/** What the API needs. */
export interface ApiDeps {
  readonly config: ControlPlaneConfig;
  readonly pool: pg.Pool;
  readonly m: TrcRecorders;
  readonly logger: Logger;
  readonly clients: ClientRegistry;
  readonly tokens: AccessTokens;
  readonly projections: readonly Projection[];
}

/** Builds the express app (not listening). */
export function createApi(deps: ApiDeps): Express {
  const { config, pool, m, logger, clients, tokens } = deps;
  const app = express();
  app.disable('x-powered-by');
  const json = express.json({ limit: '64kb' });
  // RFC 6749 §3.2: the token endpoint takes a form; JSON is accepted as well.
  const form = [express.urlencoded({ extended: false, limit: '16kb' }), express.json({ limit: '16kb' })];
  const auth = requireBearer(tokens);
  const device = { pool, clients, deviceCodeTtlS: config.deviceCodeTtlS, pollIntervalS: config.devicePollIntervalS, logger };

  app.post('/oauth/token', form, tokenEndpoint({ pool, clients, tokens, m, refreshTokenTtlS: config.refreshTokenTtlS, logger }));
  app.post('/oauth/device/code', form, deviceCodeEndpoint(device));
  app.post('/oauth/device/approve', auth, form, deviceApproveEndpoint(device));
  for (const def of COMMANDS) app[def.method](def.route, auth, json, commandHandler(def, { pool, m, logger }));
  mountReadRoutes(app, pool, auth);
  mountAdminRoutes(app, { pool, m, projections: deps.projections, auth });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', pool: { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } });
  });
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}
