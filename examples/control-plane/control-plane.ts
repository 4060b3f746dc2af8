/**
 * The composition root: the pool (instrumented), the schema, the token key, the series known in
 * advance, the projection worker and the API, as `CONTROL_PLANE_ROLE` says; and their orderly stop.
 */
import { createServer, type Server } from 'node:http';
import type pg from 'pg';
import { formatHostPort, type HostPort } from '../../components/kit/host-port.ts';
import { listen } from '../../components/kit/listen.ts';
import type { Logger } from '../../instrumentation/logger.ts';
import { accessTokens } from './auth/access-tokens.ts';
import { clientRegistry } from './auth/clients.ts';
import { COMMANDS } from './commands/definitions.ts';
import type { ControlPlaneConfig } from './config.ts';
import { openPool } from './db/pool.ts';
import { migrate } from './db/schema.ts';
import { queryClasses } from './db/statement.ts';
import { poolDb } from './db/transaction.ts';
import { isDatabaseUnavailable } from './db/unavailable.ts';
import { createApi } from './http/api.ts';
import { beginKnownSeries, controlPlaneMetrics } from './metrics.ts';
import { appsProjection } from './projections/apps.ts';
import { deploysProjection } from './projections/deploys.ts';
import { startProjectionWorker, type ProjectionWorker } from './projections/worker.ts';

/** The projections this control plane maintains. */
export const PROJECTIONS = [appsProjection, deploysProjection] as const;

/** A started control plane. */
export interface ControlPlane {
  /** Where the API listens (undefined for `CONTROL_PLANE_ROLE=worker`). */
  readonly api?: HostPort;
  /** Stops accepting requests, lets those in flight finish, stops the worker, closes the pool. */
  stop(): Promise<void>;
}

/** Creates the schema, waiting up to 30 s for a database that is still starting. */
async function migrateWhenReachable(pool: pg.Pool, logger: Logger): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await migrate(pool, PROJECTIONS.map((p) => p.name));
    } catch (e) {
      if (!isDatabaseUnavailable(e) || Date.now() > deadline) throw e;
      if (attempt === 1) logger.warn({ err: (e as Error).message }, 'database not reachable yet; retrying for up to 30 s');
      await new Promise((r) => setTimeout(r, Math.min(250 * attempt, 2000)));
    }
  }
}

/** Closes `server`: no new connections, idle keep-alive ones closed, resolves when the last request ended. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/**
 * Starts what `config.role` asks for.
 * @throws ConfigError without the preload (see metrics.ts); the database's error when it stays unreachable
 *   for 30 s; the listen error (EADDRINUSE).
 */
export async function startControlPlane(config: ControlPlaneConfig, logger: Logger): Promise<ControlPlane> {
  const { pipeline, m } = controlPlaneMetrics();
  const api = config.role !== 'worker';
  const worker = config.role !== 'api';
  const names = PROJECTIONS.map((p) => p.name);
  const { pool } = openPool(pipeline, {
    url: config.databaseUrl,
    max: config.poolMax,
    eventsTable: api,
    projections: worker ? names : [],
    catalogIntervalMs: config.catalogIntervalMs,
    logger,
  });
  try {
    await migrateWhenReachable(pool, logger);
    beginKnownSeries(m, {
      api,
      commands: api ? COMMANDS.map((c) => c.name) : [],
      endpoints: api ? COMMANDS.map((c) => c.route) : [],
      projections: worker ? names : [],
      rebuilds: api ? names : [],
      queryClasses: queryClasses(),
    });
    const running: ProjectionWorker | undefined = worker ? startProjectionWorker({ pool, m, logger, projections: PROJECTIONS, pollMs: config.projectionPollMs }) : undefined;
    let server: Server | undefined;
    let at: HostPort | undefined;
    if (api) {
      const app = createApi({ config, pool, m, logger, clients: clientRegistry(config.clients), tokens: await accessTokens(poolDb(pool), config.accessTokenTtlS), projections: PROJECTIONS });
      server = createServer(app);
      at = await listen(server, config.listen);
      logger.info({ api: `http://${formatHostPort(at)}`, role: config.role, clients: config.clients.map((c) => c.id) }, 'control plane listening');
    } else logger.info({ role: config.role, projections: names }, 'projection worker running');
    return {
      ...(at ? { api: at } : {}),
      async stop() {
        await Promise.all([server ? closeServer(server) : undefined, running?.stop()]);
        await pool.end();
      },
    };
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
}
