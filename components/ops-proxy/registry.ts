/**
 * The listening peer's routing table (seed 001, "Peer registry"): routing name → the control connection
 * that registered it. A name stays known while disconnected (so requests for it count `no_client` under
 * its own name) until it has been gone for the prune age, then it is forgotten.
 *
 * A name held by a live control connection is not handed to another one unless takeover is allowed
 * (`--allow-takeover`): anyone with the token could otherwise steal a running service's traffic. A name
 * whose connection has closed is free for the next REGISTER.
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
  /** `name` is new to the table (first REGISTER, or again after it was forgotten): its series start at 0. */
  known(name: string): void;
  /** A REGISTER (first or refresh) for `name`: `client_registrations_total` + 1, `client_up` = 1. */
  registered(name: string): void;
  /** `name` lost its control connection: `client_up` = 0, `client_disconnects_total` + 1. */
  down(name: string): void;
  /** Registry sizes changed. */
  counts(total: number, connected: number): void;
  /** `name` was forgotten after being gone for the prune age. */
  forgotten(name: string): void;
}

/** What {@link NameRegistry.register} did with each name of a REGISTER. */
export interface RegisterOutcome {
  /** Names now routed to the registering session. */
  readonly routed: string[];
  /** Names refused: another live session holds them (and keeps them). */
  readonly held: { readonly name: string; readonly holder: ControlSession }[];
  /** Names moved from another live session (`--allow-takeover`); also in `routed`. */
  readonly takenOver: { readonly name: string; readonly holder: ControlSession }[];
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
   * Routes `names` to `session`. A name another live connection holds stays with it unless
   * `allowTakeover`; a routed name (new, refreshed or taken over) counts one registration.
   * @returns what became of each name: `routed` to this session (in the order given), `held` by another
   *   live session (refused), or routed after being `takenOver` from another live session.
   */
  register(session: ControlSession, names: readonly string[], allowTakeover: boolean): RegisterOutcome {
    const out: RegisterOutcome = { routed: [], held: [], takenOver: [] };
    for (const name of names) {
      let e = this.entries.get(name);
      if (!e) {
        this.entries.set(name, (e = { session: undefined, goneAt: 0 }));
        this.hooks.known(name);
      }
      const holder = e.session;
      if (holder !== undefined && holder !== session) {
        if (!allowTakeover) {
          out.held.push({ name, holder });
          continue;
        }
        out.takenOver.push({ name, holder });
      }
      if (holder === undefined) this.connected++;
      e.session = session;
      out.routed.push(name);
      this.hooks.registered(name);
    }
    this.hooks.counts(this.entries.size, this.connected);
    return out;
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
