/**
 * The write-side state of one app, folded from its stream: what commands decide against (the read
 * models are eventually consistent and never consulted by a command).
 */
import type { StoredEvent } from './app-events.ts';

/** An app as its commands see it. */
export interface AppState {
  /** Created and not deleted since. */
  readonly live: boolean;
  /** Deploys since the app was (last) created. */
  readonly deploys: number;
}

/** Folds a stream's events, oldest first. Unknown event types are ignored (a newer writer's). */
export function appState(events: readonly StoredEvent[]): AppState {
  let live = false;
  let deploys = 0;
  for (const e of events) {
    if (e.type === 'app.created') {
      live = true;
      deploys = 0;
    } else if (e.type === 'app.deleted') live = false;
    else if (e.type === 'deploy.created') deploys++;
  }
  return { live, deploys };
}
