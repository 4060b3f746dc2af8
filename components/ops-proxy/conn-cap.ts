import type { Socket } from 'node:net';

/**
 * A cap on open connections (issue 10, "Bad input": "a connection cap that evicts the oldest idle
 * connection first"). Each admitted socket carries its last-activity time; admitting one past the cap
 * destroys the socket idle for longest.
 */

/** An admitted connection; call {@link touch} when bytes move. */
export interface Tracked {
  readonly socket: Socket;
  lastActive: number;
}

/** Marks a connection active now. */
export function touch(t: Tracked): void {
  t.lastActive = performance.now();
}

/** Open connections, at most `max`. */
export class ConnectionCap {
  private readonly open = new Set<Tracked>();

  /** @param onEvict told of every eviction (for a log line). */
  private readonly max: number;
  private readonly onEvict: (evicted: Socket) => void;

  constructor(max: number, onEvict: (evicted: Socket) => void = () => undefined) {
    this.max = max;
    this.onEvict = onEvict;
  }

  /** Tracks `socket` until it closes, first evicting the connection idle for longest when at the cap. */
  admit(socket: Socket): Tracked {
    if (this.open.size >= this.max) {
      let oldest: Tracked | undefined;
      for (const t of this.open) if (oldest === undefined || t.lastActive < oldest.lastActive) oldest = t;
      if (oldest) {
        this.open.delete(oldest);
        this.onEvict(oldest.socket);
        oldest.socket.destroy();
      }
    }
    const t: Tracked = { socket, lastActive: performance.now() };
    this.open.add(t);
    socket.once('close', () => this.open.delete(t));
    return t;
  }

  /** Open connections. */
  size(): number {
    return this.open.size;
  }

  /** Destroys every open connection. */
  destroyAll(): void {
    for (const t of this.open) t.socket.destroy();
    this.open.clear();
  }
}
