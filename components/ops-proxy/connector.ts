import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ConnectConfig, HostPort } from './config.ts';
import { connectDirect } from '../kit/direct-reader.ts';
import { splice } from '../kit/splice.ts';
import { LineSplitter, decodeListenerMessage, encode, type ForwardMessage, type ListenerMessage } from './wire.ts';
import { formatHostPort } from '../kit/host-port.ts';

/**
 * The connecting peer (seed 001, "Present when peer is connecting to other peers"): one control
 * connection to each listening peer, REGISTER on connect and every refresh interval, reconnect with
 * exponential backoff (jittered, 100 ms up to 10 s). On FORWARD it dials the name's local backend and
 * opens a DATA connection carrying the proxy_id, then pipes bytes both ways. The dial of the DATA
 * connection overlaps the backend's; the DATA header is sent once the backend answered (or with an
 * `error` when it could not be reached). Both tunnel sockets read into reused buffers (direct-reader.ts).
 * A tunnel is bounded like the listening peer's (`--idle-timeout-ms`, `--half-close-timeout-ms`), so a
 * backend that never answers a FIN cannot hold its two sockets; a DATA connection closed before the
 * backend answered abandons the dial.
 */

/** A running connecting peer. */
export interface Connector {
  /** Targets whose control connection is registered right now. */
  registeredTargets(): number;
  /** Stops reconnecting and closes every connection. Idempotent. */
  close(): Promise<void>;
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 10_000;

/** The state one connecting peer's control loops and tunnels share. */
interface ConnectorContext {
  readonly cfg: ConnectConfig;
  readonly token: string;
  readonly logger: Logger;
  /** Routing name → its local backend. */
  readonly backends: ReadonlyMap<string, HostPort>;
  /** The REGISTER line, sent on connect and at each refresh. */
  readonly register: string;
  /** Keeps `socket` until it closes, so that `close()` can destroy it. */
  track(socket: Socket): Socket;
  /** Runs `fn` after `ms` unless the connector stopped first. */
  later(fn: () => void, ms: number): void;
  stopped(): boolean;
  /** Targets registered right now: +1 on the first `registered`, -1 when that connection closes. */
  registered: number;
}

/**
 * Starts one control loop per target; never throws (an unreachable listener is retried with backoff).
 * @param token `OPS_PROXY_TOKEN`, sent in REGISTER and DATA.
 */
export function startConnector(cfg: ConnectConfig, token: string, logger: Logger): Connector {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const ctx: ConnectorContext = {
    cfg,
    token,
    logger,
    backends: new Map(cfg.registrations.map((r) => [r.name, r.backend])),
    register: encode({ op: 'register', token, names: cfg.registrations.map((r) => r.name) }),
    track(s) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      return s;
    },
    later(fn, ms) {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    },
    stopped: () => stopped,
    registered: 0,
  };
  for (const t of cfg.targets) runControlConnection(ctx, t, 0);

  let closing: Promise<void> | undefined;
  return {
    registeredTargets: () => ctx.registered,
    close: () =>
      (closing ??= (async () => {
        stopped = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const s of sockets) s.destroy();
      })()),
  };
}

/**
 * One control connection to `target`: REGISTER on connect and every `--register-interval-ms`, FORWARDs
 * opened as tunnels; when it closes, the next attempt after a jittered exponential backoff.
 */
function runControlConnection(ctx: ConnectorContext, target: HostPort, attempt: number): void {
  if (ctx.stopped()) return;
  const { logger } = ctx;
  const where = formatHostPort(target);
  const socket = ctx.track(connect({ host: target.host, port: target.port, noDelay: true }));
  const lines = new LineSplitter();
  let refresh: NodeJS.Timeout | undefined;
  let isRegistered = false;
  // Held names are logged when they change, not at every refresh; an answer without them clears them.
  let lastHeld = '';
  let heldInAnswer = false;
  let next = attempt;
  socket.on('connect', () => {
    socket.write(ctx.register);
    refresh = setInterval(() => socket.write(ctx.register), ctx.cfg.registerIntervalMs);
  });
  const onMessage = (msg: ListenerMessage) => {
    if (msg.op === 'forward') openTunnel(ctx, target, msg);
    else if (msg.op === 'registered') {
      if (!heldInAnswer) lastHeld = '';
      heldInAnswer = false;
      if (isRegistered) return;
      isRegistered = true;
      ctx.registered++;
      next = 0;
      logger.info({ listener: where, names: msg.names }, 'registered with the listening peer');
    } else if (msg.held !== undefined) {
      // Names another live peer holds; the others are routed, and the next refresh asks again.
      heldInAnswer = true;
      if (msg.held.join(',') !== lastHeld) logger.warn({ listener: where, held: msg.held, error: msg.error }, 'names held by another live peer: not routed here for now');
      lastHeld = msg.held.join(',');
    } else {
      logger.error({ listener: where, error: msg.error }, 'the listening peer refused this peer');
    }
  };
  socket.on('data', (chunk: Buffer) => {
    try {
      for (const line of lines.push(chunk)) onMessage(decodeListenerMessage(line));
    } catch (e) {
      logger.warn({ listener: where, err: (e as Error).message }, 'malformed message from the listening peer: reconnecting');
      socket.destroy();
    }
  });
  socket.on('error', (e) => logger.debug({ listener: where, err: e.message }, 'control connection error'));
  socket.on('close', () => {
    if (refresh) clearInterval(refresh);
    if (isRegistered) ctx.registered--;
    if (ctx.stopped()) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** next) * (0.5 + Math.random() / 2);
    logger.info({ listener: where, retryInMs: Math.round(delay) }, 'control connection closed: reconnecting');
    ctx.later(() => runControlConnection(ctx, target, Math.min(next + 1, 16)), delay);
  });
}

/**
 * A FORWARD: dials the name's backend and a DATA connection to `target` at once; sends the DATA line
 * (or one with `error` when the backend cannot be reached) once the backend answered, then splices.
 */
function openTunnel(ctx: ConnectorContext, target: HostPort, msg: ForwardMessage): void {
  const { logger, token } = ctx;
  const backendAt = ctx.backends.get(msg.name);
  // Both sockets are dialled here, so both read into reused buffers (direct-reader.ts); each stays
  // paused until splice starts the tunnel.
  const data = ctx.track(connectDirect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true }));
  data.on('error', (e) => logger.debug({ err: e.message }, 'DATA connection error'));
  if (!backendAt) {
    data.end(encode({ op: 'data', token, proxy_id: msg.proxy_id, error: `name "${msg.name}" is not registered here` }));
    return;
  }
  const backend = ctx.track(connectDirect({ host: backendAt.host, port: backendAt.port, allowHalfOpen: true, noDelay: true }));
  // The listening peer gave up on this DATA connection (its handshake deadline) before the backend answered.
  const abandonDial = () => backend.destroy();
  const onDialError = (e: Error) => {
    data.off('close', abandonDial);
    logger.warn({ client_name: msg.name, backend: formatHostPort(backendAt), err: e.message }, 'backend unreachable');
    if (!data.destroyed) data.end(encode({ op: 'data', token, proxy_id: msg.proxy_id, error: 'backend unreachable' }));
  };
  data.once('close', abandonDial);
  backend.once('error', onDialError);
  backend.once('connect', () => {
    backend.off('error', onDialError);
    data.off('close', abandonDial);
    if (data.destroyed) return void backend.destroy();
    data.write(encode({ op: 'data', token, proxy_id: msg.proxy_id }));
    splice(data, backend, {
      idleTimeoutMs: ctx.cfg.idleTimeoutMs,
      halfCloseTimeoutMs: ctx.cfg.halfCloseTimeoutMs,
      done: (e) => e && logger.debug({ client_name: msg.name, err: e.message }, 'tunnel ended with an error'),
    });
  });
}
