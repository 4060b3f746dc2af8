import type { Socket } from 'node:net';

/**
 * Connection limits of the listening peer that protect the authenticated connections from the rest.
 *
 * Every accepted connection starts **unauthenticated**: a control-port connection until its REGISTER is
 * accepted or its DATA line matched, a public connection until its request head or ClientHello is
 * complete and routed (a `--tcp` connection is routed at once). Unauthenticated connections have their
 * own cap and an absolute deadline from accept (not an idle timer, so a client trickling bytes cannot
 * stretch it), and they are the only ones ever closed under pressure: past the cap the oldest one goes.
 *
 * **Authenticated** connections (a registered control connection; a tunnel, which is its public
 * connection and its DATA connection together) hold a slot under a second, larger cap. Past that cap a
 * new one is refused; an open one is never closed to make room, so no amount of unauthenticated load
 * can cut a registered peer or an open tunnel.
 */

/** Why a connection was closed or refused by the limits (the `reason` of `otel_contracts_connections_refused_total`). */
export type LimitReason = 'unauthenticated_evicted' | 'handshake_timeout' | 'connection_limit';

/** The limits (flags `--max-unauthenticated`, `--handshake-timeout-ms`, `--max-connections`). */
export interface LimitsConfig {
  /** Most unauthenticated connections open at once; a new one past it closes the oldest. */
  readonly maxUnauthenticated: number;
  /** Milliseconds from accept within which a connection must authenticate. */
  readonly handshakeTimeoutMs: number;
  /** Most authenticated slots (registered control connections plus tunnels); a new one past it is refused. */
  readonly maxConnections: number;
}

/**
 * An authenticated slot: a registered control connection, or a tunnel. It is held until every socket
 * attached to it has closed (a tunnel's public socket, then its DATA socket too).
 */
export interface AuthSlot {
  /** Adds a socket to the slot (a tunnel's DATA connection); the slot now also waits for its close. */
  attach(socket: Socket): void;
}

/** An admitted connection, unauthenticated until {@link Handshake.authenticate} or {@link Handshake.join}. */
export interface Handshake {
  /**
   * Takes an authenticated slot for this connection and stops its deadline.
   * @returns undefined when `--max-connections` slots are taken: the caller refuses the connection
   *   (counted `connection_limit`); it stays unauthenticated (evictable, under its deadline) until closed.
   */
  authenticate(): AuthSlot | undefined;
  /** Joins an existing slot (a DATA connection joining its tunnel) and stops this connection's deadline. */
  join(slot: AuthSlot): void;
  /**
   * The connection was refused and already counted where it belongs; it is closing. It stays
   * unauthenticated, so load can still evict it and its deadline still closes it, but quietly (not counted again).
   */
  refused(): void;
}

/** What the limits tell the listener. */
export interface LimitsHooks {
  /** A connection was closed or refused for `reason` (to count it). */
  limited(reason: LimitReason, socket: Socket): void;
}

interface Waiting {
  readonly socket: Socket;
  readonly timer: NodeJS.Timeout;
  /** Closes the connection the way its side wants (a public connection is counted `<unknown>` first). */
  readonly onLimit: (reason: LimitReason) => void;
  /** Refused already (and counted where it belongs): its deadline or an eviction closes it without counting it again. */
  quiet: boolean;
}

/** The two pools of one listening peer. */
export class ConnectionLimits {
  /** Unauthenticated connections in accept order: the first is the oldest. */
  private readonly waiting = new Map<Socket, Waiting>();
  private readonly all = new Set<Socket>();
  private slots = 0;
  private readonly cfg: LimitsConfig;
  private readonly hooks: LimitsHooks;

  /** @param hooks told of every connection closed or refused by a limit. */
  constructor(cfg: LimitsConfig, hooks: LimitsHooks) {
    this.cfg = cfg;
    this.hooks = hooks;
  }

  /**
   * Admits a just-accepted connection as unauthenticated, first closing the oldest unauthenticated one
   * when `--max-unauthenticated` are open.
   * @param onLimit closes this connection when its deadline passes or it is evicted (called at most
   *   once, never after it authenticated, joined a slot or was refused); it must destroy the socket.
   */
  admit(socket: Socket, onLimit: (reason: LimitReason) => void): Handshake {
    if (this.waiting.size >= this.cfg.maxUnauthenticated) {
      const oldest = this.waiting.values().next().value;
      if (oldest) this.expire(oldest, 'unauthenticated_evicted');
    }
    this.all.add(socket);
    socket.once('close', () => {
      this.all.delete(socket);
      this.leave(socket);
    });
    const timer = setTimeout(() => {
      const w = this.waiting.get(socket);
      if (w) this.expire(w, 'handshake_timeout');
    }, this.cfg.handshakeTimeoutMs);
    this.waiting.set(socket, { socket, timer, onLimit, quiet: false });
    return {
      authenticate: () => {
        if (this.slots >= this.cfg.maxConnections) {
          this.hooks.limited('connection_limit', socket);
          return undefined;
        }
        this.leave(socket);
        return this.newSlot(socket);
      },
      join: (slot) => {
        this.leave(socket);
        slot.attach(socket);
      },
      refused: () => {
        const w = this.waiting.get(socket);
        if (w) w.quiet = true;
      },
    };
  }

  /** Destroys every connection admitted and still open (the listener is closing). */
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
    if (w.quiet) {
      w.socket.destroy();
      return;
    }
    this.hooks.limited(reason, w.socket);
    w.onLimit(reason);
    w.socket.destroy(); // in case onLimit left it open
  }

  private newSlot(first: Socket): AuthSlot {
    let open = 0;
    const attach = (socket: Socket) => {
      if (socket.closed) return; // its 'close' has been emitted already: nothing to wait for
      if (open++ === 0) this.slots++;
      socket.once('close', () => {
        if (--open === 0) this.slots--;
      });
    };
    attach(first);
    return { attach };
  }
}
