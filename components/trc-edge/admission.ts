import type { Socket } from 'node:net';

/**
 * The edge's connection limits, which keep established connections safe from floods and slowloris
 * clients (issue 24, "Bad input"; the same two pools as the ops proxy's listening peer):
 *
 * - Every accepted connection starts **unauthenticated** (not yet sniffed): it has an absolute deadline
 *   from accept (`--sniff-timeout-ms`; not an idle timer, so trickling bytes cannot stretch it) and a
 *   cap of its own (`--max-unauthenticated`). Past the cap the oldest unauthenticated connection is
 *   closed to admit the new one. Only these are ever closed under pressure.
 * - A connection whose sniff found a route becomes **established** and takes a slot under
 *   `--max-connections` (from the upstream connect on). Past that cap a newly routed connection is
 *   refused; an open one is never closed to make room.
 *
 * A connection refused after its sniff (unknown name, no backend, a failed connect) stays in the
 * unauthenticated pool, quietly, until it has closed: load may still evict it and its deadline still
 * closes it, so a client that never answers our FIN cannot pile up connections outside both caps.
 */

/** Why the limits closed a connection. */
export type LimitReason = 'sniff_timeout' | 'evicted';

/** The limits (flags `--max-unauthenticated`, `--sniff-timeout-ms`, `--max-connections`). */
export interface AdmissionLimits {
  /** Most unauthenticated connections open at once; a new one past it closes the oldest. */
  readonly maxUnauthenticated: number;
  /** Milliseconds from accept within which a connection must be sniffed and routed. */
  readonly sniffTimeoutMs: number;
  /** Most established connections; a newly routed one past it is refused. */
  readonly maxEstablished: number;
}

/** An admitted connection. */
export interface Admitted {
  /**
   * The connection was sniffed and routed: takes an established slot (held until the socket closes) and
   * stops its deadline.
   * @returns false when `--max-connections` are established: the caller refuses the connection.
   */
  establish(): boolean;
  /**
   * The connection was refused and is closing, already counted: it stays unauthenticated until closed,
   * but its deadline or an eviction now closes it without calling `onLimit`.
   */
  refused(): void;
}

interface Waiting {
  readonly socket: Socket;
  readonly timer: NodeJS.Timeout;
  readonly onLimit: (reason: LimitReason) => void;
  quiet: boolean;
}

/** The two pools of one edge (shared by all its listeners). */
export class Admission {
  /** Unauthenticated connections in accept order: the first is the oldest. */
  private readonly waiting = new Map<Socket, Waiting>();
  private readonly all = new Set<Socket>();
  private established = 0;
  private readonly limits: AdmissionLimits;

  constructor(limits: AdmissionLimits) {
    this.limits = limits;
  }

  /**
   * Admits a just-accepted connection as unauthenticated, first closing the oldest unauthenticated one
   * when `--max-unauthenticated` are open.
   * @param onLimit called at most once, when the deadline passes or the connection is evicted (never after
   *   `establish` or `refused`), to count it; the socket is destroyed right after.
   */
  admit(socket: Socket, onLimit: (reason: LimitReason) => void): Admitted {
    if (this.waiting.size >= this.limits.maxUnauthenticated) {
      const oldest = this.waiting.values().next().value;
      if (oldest) this.expire(oldest, 'evicted');
    }
    this.all.add(socket);
    const timer = setTimeout(() => {
      const w = this.waiting.get(socket);
      if (w) this.expire(w, 'sniff_timeout');
    }, this.limits.sniffTimeoutMs);
    this.waiting.set(socket, { socket, timer, onLimit, quiet: false });
    let slot = false;
    socket.once('close', () => {
      this.all.delete(socket);
      this.leave(socket);
      if (slot) this.established--;
    });
    return {
      establish: () => {
        if (this.established >= this.limits.maxEstablished || socket.destroyed) return false;
        this.leave(socket);
        slot = true;
        this.established++;
        return true;
      },
      refused: () => {
        const w = this.waiting.get(socket);
        if (w) w.quiet = true;
      },
    };
  }

  /** Unauthenticated connections open now. */
  unauthenticated(): number {
    return this.waiting.size;
  }

  /** Established connections open now. */
  establishedCount(): number {
    return this.established;
  }

  /** Destroys every admitted connection still open (the edge is stopping). */
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
    if (!w.quiet) w.onLimit(reason);
    w.socket.destroy();
  }
}
