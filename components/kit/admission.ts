import type { Socket } from 'node:net';

/**
 * Connection admission: the two pools that keep a listening component's established connections safe
 * from floods and slowloris clients (the ops proxy's listening peer and the trc edge).
 *
 * - Every accepted connection starts **unauthenticated**: its first bytes (a request head, a ClientHello,
 *   a REGISTER or DATA line) are not yet read and accepted. It has an absolute deadline from accept
 *   (`sniffTimeoutMs`; not an idle timer, so a client trickling bytes cannot stretch it) and a cap of its
 *   own (`maxUnauthenticated`): past the cap the oldest unauthenticated connection is closed to admit the
 *   new one. Only these are ever closed under pressure.
 * - An accepted connection becomes **established** and holds a slot under `maxEstablished`. Past that cap
 *   a new one is refused; an open one is never closed to make room, so no amount of unauthenticated load
 *   can cut it. A slot may hold several sockets (a tunnel's public and DATA connections): it is held
 *   until all of them have closed.
 *
 * A connection refused after its first bytes stays in the unauthenticated pool, quietly, until it has
 * closed: load may still evict it and its deadline still closes it, so a client that never answers our
 * FIN cannot pile up connections outside both caps. Each component counts and logs through callbacks.
 */

/** Why the limits closed a connection: it was the oldest past the cap, or its deadline passed. */
export type LimitReason = 'evicted' | 'sniff_timeout';

/** The caps and the deadline. */
export interface AdmissionLimits {
  /** Most unauthenticated connections open at once; a new one past it closes the oldest. */
  readonly maxUnauthenticated: number;
  /** Milliseconds from accept within which a connection must be established. */
  readonly sniffTimeoutMs: number;
  /** Most established slots; a new one past it is refused. */
  readonly maxEstablished: number;
}

/** What the limits tell the component about every connection, whichever listener admitted it (to count and log). */
export interface AdmissionHooks {
  /** A connection is being closed by a limit; called before its own `onLimit`. */
  readonly limited?: (reason: LimitReason, socket: Socket) => void;
  /** A connection was refused a slot: `maxEstablished` slots are held. */
  readonly full?: (socket: Socket) => void;
}

/** An admitted connection, unauthenticated until {@link establish} or {@link join}. */
export interface Admitted {
  /**
   * Takes an established slot for this connection (held until it closes) and stops its deadline.
   * @returns false when `maxEstablished` slots are held: the caller refuses the connection, which stays
   *   unauthenticated (evictable, under its deadline) until closed.
   */
  establish(): boolean;
  /** Joins the slot `established` holds (a DATA connection joining its tunnel) and stops this connection's deadline. */
  join(established: Admitted): void;
  /**
   * The connection was refused and is closing, already counted: it stays unauthenticated until closed,
   * but its deadline or an eviction now closes it without `limited` or `onLimit`.
   */
  refused(): void;
}

interface Waiting {
  readonly socket: Socket;
  readonly timer: NodeJS.Timeout;
  readonly onLimit: (reason: LimitReason) => void;
  /** Refused already (and counted where it belongs): a limit closes it without counting it again. */
  quiet: boolean;
}

/** An established slot: the sockets in it that are still open. */
interface Slot {
  open: number;
}

/** The two pools of one component (shared by all its listeners). */
export class Admission {
  /** Unauthenticated connections in accept order: the first is the oldest. */
  private readonly waiting = new Map<Socket, Waiting>();
  private readonly all = new Set<Socket>();
  private readonly slotOf = new WeakMap<Admitted, Slot>();
  private slots = 0;
  private readonly limits: AdmissionLimits;
  private readonly hooks: AdmissionHooks;

  constructor(limits: AdmissionLimits, hooks: AdmissionHooks = {}) {
    this.limits = limits;
    this.hooks = hooks;
  }

  /**
   * Admits a just-accepted connection as unauthenticated, first closing the oldest unauthenticated one
   * when `maxUnauthenticated` are open.
   * @param onLimit called at most once, when the deadline passes or the connection is evicted (never after
   *   `establish`, `join` or `refused`), to count and close it the component's way; the socket is destroyed right after.
   */
  admit(socket: Socket, onLimit: (reason: LimitReason) => void): Admitted {
    if (this.waiting.size >= this.limits.maxUnauthenticated) {
      const oldest = this.waiting.values().next().value;
      if (oldest) this.expire(oldest, 'evicted');
    }
    this.all.add(socket);
    socket.once('close', () => {
      this.all.delete(socket);
      this.leave(socket);
    });
    const timer = setTimeout(() => {
      const w = this.waiting.get(socket);
      if (w) this.expire(w, 'sniff_timeout');
    }, this.limits.sniffTimeoutMs);
    this.waiting.set(socket, { socket, timer, onLimit, quiet: false });
    const admitted: Admitted = {
      establish: () => {
        if (this.slots >= this.limits.maxEstablished) {
          this.hooks.full?.(socket);
          return false;
        }
        this.leave(socket);
        const slot: Slot = { open: 0 };
        this.slotOf.set(admitted, slot);
        this.hold(slot, socket);
        return true;
      },
      join: (established) => {
        this.leave(socket);
        const slot = this.slotOf.get(established);
        if (slot) this.hold(slot, socket);
      },
      refused: () => {
        const w = this.waiting.get(socket);
        if (w) w.quiet = true;
      },
    };
    return admitted;
  }

  /** Unauthenticated connections open now. */
  unauthenticated(): number {
    return this.waiting.size;
  }

  /** Established slots held now. */
  establishedCount(): number {
    return this.slots;
  }

  /** Destroys every admitted connection still open (the component is stopping). */
  destroyAll(): void {
    for (const s of [...this.all]) s.destroy();
  }

  private leave(socket: Socket): void {
    const w = this.waiting.get(socket);
    if (!w) return;
    clearTimeout(w.timer);
    this.waiting.delete(socket);
  }

  private expire(w: Waiting, reason: LimitReason): void {
    this.leave(w.socket);
    if (!w.quiet) {
      this.hooks.limited?.(reason, w.socket);
      w.onLimit(reason);
    }
    w.socket.destroy(); // in case onLimit left it open
  }

  /** Adds `socket` to `slot`: the slot counts while any of its sockets is open. */
  private hold(slot: Slot, socket: Socket): void {
    if (socket.closed) return; // its 'close' has been emitted already: nothing to wait for
    if (slot.open++ === 0) this.slots++;
    socket.once('close', () => {
      if (--slot.open === 0) this.slots--;
    });
  }
}
