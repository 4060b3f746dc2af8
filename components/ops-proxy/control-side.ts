import type { Socket } from 'node:net';
import type { Admitted } from '../kit/admission.ts';
import { LIMIT_REFUSAL } from './metrics.ts';
import type { ControlSession } from './registry.ts';
import { endWith, remoteOf } from './sockets.ts';
import type { PublicSideDeps } from './public-side.ts';
import { LineSplitter, MAX_LINE_BYTES, WireError, decodePeerMessage, encode, type DataMessage, type RegisterMessage } from './wire.ts';

/**
 * The listening peer's control port (seed 001, "Peer registry"): every connection opens with one line
 * (wire.ts). A REGISTER with the token makes it a control connection (a session holding routing names,
 * refreshed by more REGISTER lines, carrying FORWARDs); a DATA line with the token hands it to the tunnel
 * matching. Until then it is unauthenticated (kit/admission.ts). A malformed line, a wrong token or a full
 * `--max-connections` closes only this connection, with an `error` line.
 */

/** What the control side works with: what the public side does, and the token check. */
export interface ControlSideDeps extends PublicSideDeps {
  /** The constant-time `OPS_PROXY_TOKEN` check. */
  readonly tokenOk: (given: string) => boolean;
}

/** One connection to the control port, from accept to its first line and, as a session, until it closes. */
interface ControlConnection {
  readonly socket: Socket;
  readonly remote: string;
  readonly handshake: Admitted;
  /** Set by the first accepted REGISTER. */
  session: ControlSession | undefined;
  /** The held names last logged for this connection, so each refresh does not log them again. */
  lastHeld: string;
}

/** The connection handler of the `--control` listener. */
export function controlAcceptor(deps: ControlSideDeps): (socket: Socket) => void {
  return (socket) => {
    const remote = remoteOf(socket);
    const lines = new LineSplitter();
    socket.setNoDelay(true);
    socket.on('error', (e) => deps.logger.debug({ err: e.message, remote }, 'control connection error'));
    const handshake = deps.admission.admit(socket, (reason) => {
      deps.logger.debug({ remote, reason: LIMIT_REFUSAL[reason] }, 'control-port connection closed before it authenticated');
      socket.destroy();
    });
    const conn: ControlConnection = { socket, remote, handshake, session: undefined, lastHeld: '' };
    const reject = (why: string) => {
      deps.metrics.refused('malformed');
      deps.logger.warn({ remote, why }, 'malformed control message: closing this connection');
      socket.off('data', onBytes);
      endWith(socket, encode({ op: 'error', error: `malformed: ${why}`.slice(0, 500) }));
    };
    const onBytes = (chunk: Buffer) => {
      lines.append(chunk);
      for (;;) {
        let msg;
        try {
          const line = lines.next();
          if (line === undefined) return;
          msg = decodePeerMessage(line);
        } catch (e) {
          return reject(e instanceof WireError ? e.message : 'bad message');
        }
        if (msg.op === 'data') {
          if (conn.session) return reject('data on a control connection');
          socket.off('data', onBytes);
          socket.off('end', onEnd);
          socket.pause();
          return onDataLine(deps, conn, msg, lines.rest());
        }
        if (!onRegister(deps, conn, msg)) return socket.off('data', onBytes);
      }
    };
    // The port accepts half-open connections for DATA; a control connection ends with its peer's FIN.
    const onEnd = () => socket.destroy();
    socket.on('end', onEnd);
    socket.on('data', onBytes);
  };
}

/** The first line was DATA: check its token, then hand it to the tunnel matching. */
function onDataLine(deps: ControlSideDeps, conn: ControlConnection, msg: DataMessage, rest: Buffer): void {
  if (!deps.tokenOk(msg.token)) {
    deps.metrics.m.ops_proxy_data_connections_unexpected_total.add(1);
    deps.logger.warn({ remote: conn.remote }, 'DATA connection refused: bad token');
    conn.handshake.refused();
    endWith(conn.socket, encode({ op: 'error', error: 'unauthorized' }));
    return;
  }
  deps.tunnels.match(conn.socket, conn.handshake, msg, rest);
}

/**
 * A REGISTER (first or refresh). The first one with the token takes an authenticated slot and opens the
 * session; then the names are routed, except those another live connection holds.
 * @returns false when the connection was refused and is closing (read nothing more from it).
 */
function onRegister(deps: ControlSideDeps, conn: ControlConnection, msg: RegisterMessage): boolean {
  const { socket, remote } = conn;
  if (!deps.tokenOk(msg.token)) {
    deps.metrics.refused('unauthorized');
    deps.logger.warn({ remote, names: msg.names.slice(0, 10) }, 'REGISTER refused: bad token; these names are not routed');
    conn.handshake.refused();
    endWith(socket, encode({ op: 'error', error: 'unauthorized' }));
    return false;
  }
  if (conn.session === undefined) {
    if (!conn.handshake.establish()) {
      deps.logger.debug({ remote, names: msg.names.slice(0, 10), max: deps.cfg.maxConnections }, 'connection limit reached: REGISTER refused');
      conn.handshake.refused();
      endWith(socket, encode({ op: 'error', error: 'connection limit reached' }));
      return false;
    }
    conn.session = openSession(deps, conn);
    deps.logger.info({ remote, names: msg.names }, 'peer registered');
  }
  routeNames(deps, conn, conn.session, msg.names);
  return true;
}

/** Makes an authenticated connection a session: FORWARDs go out on it; its close takes its names down. */
function openSession(deps: ControlSideDeps, conn: ControlConnection): ControlSession {
  const { socket, remote } = conn;
  const session: ControlSession = {
    remote,
    send(line, onError) {
      if (socket.destroyed || !socket.writable) return false;
      socket.write(line, (e) => {
        if (e) onError(e);
      });
      return true;
    },
  };
  socket.setTimeout(deps.cfg.controlTimeoutMs, () => {
    deps.logger.warn({ remote, timeoutMs: deps.cfg.controlTimeoutMs }, 'control connection without a REGISTER refresh in time: closing it');
    socket.destroy();
  });
  socket.once('close', () => {
    deps.registry.closed(session);
    deps.logger.info({ remote }, 'control connection closed: its names are down');
  });
  return session;
}

/**
 * Routes the names of a REGISTER to `session` and answers: an `error` line listing the names another
 * live connection holds (refused, counted, logged at warn with both addresses when the set changes),
 * then `registered` with the names now routed here. Takeovers (`--allow-takeover`) are counted and
 * logged at warn with both addresses every time.
 */
function routeNames(deps: ControlSideDeps, conn: ControlConnection, session: ControlSession, names: readonly string[]): void {
  const outcome = deps.registry.register(session, names, deps.cfg.allowTakeover);
  for (const t of outcome.takenOver) {
    deps.metrics.takeover('allowed');
    deps.logger.warn({ client_name: t.name, from: t.holder.remote, to: conn.remote }, 'routing name taken over from another live peer (--allow-takeover)');
  }
  const held = outcome.held.map((h) => h.name);
  for (let i = 0; i < held.length; i++) deps.metrics.takeover('refused');
  const heldKey = held.join(',');
  if (held.length > 0 && heldKey !== conn.lastHeld) {
    const holders = [...new Set(outcome.held.map((h) => h.holder.remote))];
    deps.logger.warn({ names: held.slice(0, 10), holders, peer: conn.remote }, 'REGISTER refused for names another live peer holds (--allow-takeover allows it)');
  }
  conn.lastHeld = heldKey;
  if (held.length > 0) conn.socket.write(heldLine(held));
  conn.socket.write(encode({ op: 'registered', names: outcome.routed }));
}

/** The `error` line naming held names, cut to fit one protocol line. */
function heldLine(held: readonly string[]): string {
  const shown = held.slice(0, 5).join(', ');
  const error = `names held by another live peer: ${shown}${held.length > 5 ? `, … (${held.length})` : ''}`.slice(0, 500);
  const fitting = [...held];
  let line = encode({ op: 'error', error, held: fitting });
  while (Buffer.byteLength(line) > MAX_LINE_BYTES && fitting.length > 1) {
    fitting.length = Math.floor(fitting.length / 2);
    line = encode({ op: 'error', error, held: fitting });
  }
  return line;
}
