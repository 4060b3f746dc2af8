/**
 * The listening peer's routing table (seed 001, "Peer registry"): routing name → the control connection
 * that registered it. A name stays known while disconnected (so requests for it count `no_client` under
 * its own name) until it has been gone for the prune age, then it is forgotten.
 */

/** A control connection as the registry sees it. */
export interface ControlSession {
  /** For logs. */
  readonly remote: string;
  /**
   * Writes one protocol line. @returns false when the connection can no longer be written; `onError`
   * is called later when an accepted write fails.
   */
  send(line: string, onError: (e: Error) => void): boolean;
}

/** What the registry tells the metrics. */
export interface RegistryHooks {
  /** A REGISTER (first or refresh) for `name`: `client_registrations_total` + 1, `client_up` = 1. */
  registered(name: string): void;
  /** `name` lost its control connection: `client_up` = 0, `client_disconnects_total` + 1. */
  down(name: string): void;
  /** Registry sizes changed. */
  counts(total: number, connected: number): void;
  /** `name` was forgotten after being gone for the prune age. */
  forgotten(name: string): void;
}

interface Entry {
  session: ControlSession | undefined;
  /** ms timestamp of the disconnect, while disconnected. */
  goneAt: number;
}

/** Routing name → control connection. */
export class NameRegistry {
  private readonly entries = new Map<string, Entry>();
  private connected = 0;

  private readonly hooks: RegistryHooks;

  constructor(hooks: RegistryHooks) {
    this.hooks = hooks;
  }

  /**
   * Routes `names` to `session` (a later REGISTER for a name takes it over from another connection).
   * Each name counts one registration.
   */
  register(session: ControlSession, names: readonly string[]): void {
    for (const name of names) {
      let e = this.entries.get(name);
      if (!e) this.entries.set(name, (e = { session: undefined, goneAt: 0 }));
      if (e.session === undefined) this.connected++;
      e.session = session;
      this.hooks.registered(name);
    }
    this.hooks.counts(this.entries.size, this.connected);
  }

  /** The control connection closed: its names go down (those taken over by another connection stay up). */
  closed(session: ControlSession, now = Date.now()): void {
    let changed = false;
    for (const [name, e] of this.entries) {
      if (e.session !== session) continue;
      e.session = undefined;
      e.goneAt = now;
      this.connected--;
      changed = true;
      this.hooks.down(name);
    }
    if (changed) this.hooks.counts(this.entries.size, this.connected);
  }

  /** Whether `name` was ever registered (and not yet forgotten), and its live control connection if any. */
  lookup(name: string): { known: boolean; session: ControlSession | undefined } {
    const e = this.entries.get(name);
    return { known: e !== undefined, session: e?.session };
  }

  /** Forgets names disconnected for longer than `maxAgeMs`. */
  prune(maxAgeMs: number, now = Date.now()): void {
    let changed = false;
    for (const [name, e] of this.entries) {
      if (e.session === undefined && now - e.goneAt > maxAgeMs) {
        this.entries.delete(name);
        changed = true;
        this.hooks.forgotten(name);
      }
    }
    if (changed) this.hooks.counts(this.entries.size, this.connected);
  }
}
