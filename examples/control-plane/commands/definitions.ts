/**
 * The control plane's commands: each a route (its template is the `endpoint` of the idempotency
 * families), a name (the `command` label), how its input is read and checked, which stream it writes,
 * and what it decides against that stream's state: the events to append and the answer to give.
 */
import { randomUUID } from 'node:crypto';
import { ApiError } from '../http/api-error.ts';
import { appStream, type AppEvent } from './app-events.ts';
import type { AppState } from './app-state.ts';

/** One command. */
export interface CommandDef<I = unknown> {
  /** The `command` label: `create_app`. */
  readonly name: string;
  readonly method: 'post' | 'delete';
  /** Express route template, also the `endpoint` label: `/v1/orgs/:org/apps`. */
  readonly route: string;
  /** Status of a successful answer. */
  readonly status: number;
  /** Reads the input. @throws ApiError 400 or 422 naming the field. */
  parse(params: Readonly<Record<string, string>>, body: Readonly<Record<string, unknown>>): I;
  streamOf(input: I): string;
  /** Decides. @throws ApiError 404 or 409 when the app's state refuses the command. */
  decide(state: AppState, input: I): { events: AppEvent[]; body: unknown };
}

const SLUG = /^[a-z][a-z0-9-]{0,38}$/;
const IMAGE = /^[a-z0-9][a-z0-9._/-]{0,200}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

/** A slug-like name. @throws ApiError 422 naming `field`. */
function slug(v: unknown, field: string): string {
  if (typeof v !== 'string' || !SLUG.test(v)) throw new ApiError(422, 'invalid_field', `${field} must be a lowercase name: a letter, then letters, digits or dashes (at most 39)`);
  return v;
}

const notFound = (org: string, app: string) => new ApiError(404, 'app_not_found', `no app ${app} in org ${org}`);

interface AppRef {
  org: string;
  app: string;
}

const createApp: CommandDef<AppRef> = {
  name: 'create_app',
  method: 'post',
  route: '/v1/orgs/:org/apps',
  status: 201,
  parse: (p, b) => ({ org: slug(p.org, 'org'), app: slug(b.name, 'name') }),
  streamOf: (i) => appStream(i.org, i.app),
  decide(state, { org, app }) {
    if (state.live) throw new ApiError(409, 'app_exists', `app ${app} already exists in org ${org}`);
    return { events: [{ type: 'app.created', payload: { org, app } }], body: { org, name: app } };
  },
};

const createDeploy: CommandDef<AppRef & { image: string }> = {
  name: 'create_deploy',
  method: 'post',
  route: '/v1/orgs/:org/apps/:app/deploys',
  status: 201,
  parse(p, b) {
    if (typeof b.image !== 'string' || !IMAGE.test(b.image)) throw new ApiError(422, 'invalid_field', 'image must be an image reference such as registry.example/team/web:1.4.2');
    return { org: slug(p.org, 'org'), app: slug(p.app, 'app'), image: b.image };
  },
  streamOf: (i) => appStream(i.org, i.app),
  decide(state, { org, app, image }) {
    if (!state.live) throw notFound(org, app);
    const id = randomUUID();
    return { events: [{ type: 'deploy.created', payload: { org, app, deploy_id: id, image } }], body: { id, org, app, image, number: state.deploys + 1 } };
  },
};

const scaleApp: CommandDef<AppRef & { processType: string; count: number }> = {
  name: 'scale_app',
  method: 'post',
  route: '/v1/orgs/:org/apps/:app/scale',
  status: 200,
  parse(p, b) {
    if (!Number.isInteger(b.count) || (b.count as number) < 0 || (b.count as number) > 100) throw new ApiError(422, 'invalid_field', 'count must be an integer from 0 to 100');
    return { org: slug(p.org, 'org'), app: slug(p.app, 'app'), processType: slug(b.process_type, 'process_type'), count: b.count as number };
  },
  streamOf: (i) => appStream(i.org, i.app),
  decide(state, { org, app, processType, count }) {
    if (!state.live) throw notFound(org, app);
    return { events: [{ type: 'app.scaled', payload: { org, app, process_type: processType, count } }], body: { org, app, process_type: processType, count } };
  },
};

const deleteApp: CommandDef<AppRef> = {
  name: 'delete_app',
  method: 'delete',
  route: '/v1/orgs/:org/apps/:app',
  status: 200,
  parse: (p) => ({ org: slug(p.org, 'org'), app: slug(p.app, 'app') }),
  streamOf: (i) => appStream(i.org, i.app),
  decide(state, { org, app }) {
    if (!state.live) throw notFound(org, app);
    return { events: [{ type: 'app.deleted', payload: { org, app } }], body: { org, name: app, deleted: true } };
  },
};

/** Every command the API serves. */
export const COMMANDS: readonly CommandDef[] = [createApp, createDeploy, scaleApp, deleteApp];
