/**
 * The event catalog of the `app` streams (one stream per app, `app:<org>/<app>`): what commands append
 * and projections apply. Payloads carry the org and app, so a projection needs nothing but the event.
 */

/** An app was created. */
export interface AppCreated {
  readonly type: 'app.created';
  readonly payload: { readonly org: string; readonly app: string };
}
/** A deploy of an image was requested. */
export interface DeployCreated {
  readonly type: 'deploy.created';
  readonly payload: { readonly org: string; readonly app: string; readonly deploy_id: string; readonly image: string };
}
/** A process type's instance count was set. */
export interface AppScaled {
  readonly type: 'app.scaled';
  readonly payload: { readonly org: string; readonly app: string; readonly process_type: string; readonly count: number };
}
/** An app was deleted (its name can be used again). */
export interface AppDeleted {
  readonly type: 'app.deleted';
  readonly payload: { readonly org: string; readonly app: string };
}

/** An event a command appends to an app stream. */
export type AppEvent = AppCreated | DeployCreated | AppScaled | AppDeleted;

/** An event as stored: its global position (`id`, the projection checkpoint unit), stream, version and time. */
export interface StoredEvent {
  readonly id: number;
  readonly streamId: string;
  readonly version: number;
  readonly type: string;
  /** As stored: a projection validates it before use (an old writer, a bug or a hand edit may have put anything there). */
  readonly payload: unknown;
  readonly recordedAt: Date;
}

/** The stream of an app. */
export function appStream(org: string, app: string): string {
  return `app:${org}/${app}`;
}
