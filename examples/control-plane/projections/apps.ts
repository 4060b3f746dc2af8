/**
 * The `apps` projection: one row per live app (`read_apps`) with its current image, deploy count and
 * process scale, for `GET /v1/orgs/:org/apps[/:app]`.
 */
import type { StoredEvent } from '../commands/app-events.ts';
import { statement } from '../db/statement.ts';
import type { Db } from '../db/transaction.ts';
import { integerField, PoisonEventError, stringField, type Projection } from './projection.ts';

const created = statement(
  'apps_created',
  "INSERT INTO read_apps (org, name, event_id) VALUES ($1, $2, $3) ON CONFLICT (org, name) DO UPDATE SET image = NULL, deploys = 0, processes = '{}'::jsonb, event_id = EXCLUDED.event_id",
);
const deployed = statement('apps_deployed', 'UPDATE read_apps SET image = $3, deploys = deploys + 1, event_id = $4 WHERE org = $1 AND name = $2');
const scaled = statement('apps_scaled', 'UPDATE read_apps SET processes = processes || jsonb_build_object($3::text, $4::int), event_id = $5 WHERE org = $1 AND name = $2');
const deleted = statement('apps_deleted', 'DELETE FROM read_apps WHERE org = $1 AND name = $2');
const reset = statement('apps_reset', 'DELETE FROM read_apps');

/** An update that must find the app. @throws PoisonEventError when the read model has no such app. */
async function mustUpdate(tx: Db, event: StoredEvent, run: Promise<{ rowCount: number | null }>): Promise<void> {
  if ((await run).rowCount !== 1) throw new PoisonEventError(`event ${event.id} (${event.type}): no app ${stringField(event, 'app')} in the read model`);
}

/** The projection. */
export const appsProjection: Projection = {
  name: 'apps',
  async apply(tx, e) {
    if (e.type === 'app.created') await tx.run(created, [stringField(e, 'org'), stringField(e, 'app'), e.id]);
    else if (e.type === 'deploy.created') await mustUpdate(tx, e, tx.run(deployed, [stringField(e, 'org'), stringField(e, 'app'), stringField(e, 'image'), e.id]));
    else if (e.type === 'app.scaled') await mustUpdate(tx, e, tx.run(scaled, [stringField(e, 'org'), stringField(e, 'app'), stringField(e, 'process_type'), integerField(e, 'count'), e.id]));
    else if (e.type === 'app.deleted') await tx.run(deleted, [stringField(e, 'org'), stringField(e, 'app')]);
  },
  async reset(tx) {
    await tx.run(reset);
  },
};
