/**
 * Queries on the read models (bearer token required): `GET /v1/orgs/:org/apps` and
 * `GET /v1/orgs/:org/apps/:app` (with its latest deploys). Eventually consistent: a command's effect
 * shows once the projection worker has applied its events.
 */
import type { Express, RequestHandler } from 'express';
import type pg from 'pg';
import { statement } from '../db/statement.ts';
import { poolDb } from '../db/transaction.ts';
import { ApiError, sendApiError, withDatabase } from './api-error.ts';

const listApps = statement('read_apps_list', 'SELECT name, image, deploys, processes FROM read_apps WHERE org = $1 ORDER BY name LIMIT 500');
const getApp = statement('read_app_get', 'SELECT name, image, deploys, processes FROM read_apps WHERE org = $1 AND name = $2');
const listDeploys = statement('read_deploys_list', 'SELECT id, image, created_at FROM read_deploys WHERE org = $1 AND app = $2 ORDER BY event_id DESC LIMIT 20');

/** Mounts the read routes on `app`, behind `auth`. */
export function mountReadRoutes(app: Express, pool: pg.Pool, auth: RequestHandler): void {
  const db = poolDb(pool);
  app.get(
    '/v1/orgs/:org/apps',
    auth,
    withDatabase(async (req, res) => {
      const { rows } = await db.run(listApps, [req.params.org]);
      res.json({ apps: rows });
    }),
  );
  app.get(
    '/v1/orgs/:org/apps/:app',
    auth,
    withDatabase(async (req, res) => {
      const { rows } = await db.run(getApp, [req.params.org, req.params.app]);
      if (!rows[0]) return sendApiError(res, new ApiError(404, 'app_not_found', `no app ${String(req.params.app).slice(0, 64)} in org ${String(req.params.org).slice(0, 64)} (yet: the read model follows the events)`));
      const deploys = await db.run(listDeploys, [req.params.org, req.params.app]);
      res.json({ ...rows[0], latest_deploys: deploys.rows });
    }),
  );
}
