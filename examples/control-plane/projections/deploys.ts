/**
 * The `deploys` projection: the deploy history of each live app (`read_deploys`), newest first in
 * `GET /v1/orgs/:org/apps/:app`.
 */
import { statement } from '../db/statement.ts';
import { stringField, type Projection } from './projection.ts';

const created = statement(
  'deploys_created',
  'INSERT INTO read_deploys (id, org, app, image, event_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING',
);
const appDeleted = statement('deploys_app_deleted', 'DELETE FROM read_deploys WHERE org = $1 AND app = $2');
const reset = statement('deploys_reset', 'DELETE FROM read_deploys');

/** The projection. */
export const deploysProjection: Projection = {
  name: 'deploys',
  async apply(tx, e) {
    if (e.type === 'deploy.created') await tx.run(created, [stringField(e, 'deploy_id'), stringField(e, 'org'), stringField(e, 'app'), stringField(e, 'image'), e.id, e.recordedAt]);
    else if (e.type === 'app.deleted') await tx.run(appDeleted, [stringField(e, 'org'), stringField(e, 'app')]);
  },
  async reset(tx) {
    await tx.run(reset);
  },
};
