/**
 * Operator endpoints (bearer token required): `GET /admin/projections` (each projection's checkpoint,
 * lag and dead letters) and `POST /admin/projections/:name/rebuild` (202: the worker re-applies the stream).
 */
import type { Express, RequestHandler } from 'express';
import type pg from 'pg';
import { poolDb } from '../db/transaction.ts';
import type { TrcRecorders } from '../metrics.ts';
import { checkpointOverview } from '../projections/checkpoints.ts';
import type { Projection } from '../projections/projection.ts';
import { rebuildProjection } from '../projections/rebuild.ts';
import { ApiError, sendApiError, withDatabase } from './api-error.ts';

/** What the admin routes need. */
export interface AdminDeps {
  readonly pool: pg.Pool;
  readonly m: TrcRecorders;
  readonly projections: readonly Projection[];
  /** The bearer check. */
  readonly auth: RequestHandler;
}

/** Mounts the admin routes on `app`. */
export function mountAdminRoutes(app: Express, deps: AdminDeps): void {
  const db = poolDb(deps.pool);
  app.get(
    '/admin/projections',
    deps.auth,
    withDatabase(async (_req, res) => {
      res.json({ projections: await checkpointOverview(db) });
    }),
  );
  app.post(
    '/admin/projections/:name/rebuild',
    deps.auth,
    withDatabase(async (req, res) => {
      const p = deps.projections.find((x) => x.name === req.params.name);
      if (!p) return sendApiError(res, new ApiError(404, 'projection_not_found', `no projection ${String(req.params.name).slice(0, 64)}: expected one of ${deps.projections.map((x) => x.name).join(', ')}`));
      const was = await rebuildProjection(deps.pool, deps.m, p);
      res.status(202).json({ projection: p.name, status: 'rebuilding', previous_event_id: was });
    }),
  );
}
