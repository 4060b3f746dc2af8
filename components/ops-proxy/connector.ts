import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ConnectConfig, HostPort } from './config.ts';
import { connectDirect } from './direct-reader.ts';
import { splice } from './splice.ts';
import { LineSplitter, decodeListenerMessage, encode, type ForwardMessage } from './wire.ts';
import { formatHostPort } from '../kit/host-port.ts';

/**
 * The connecting peer (seed 001, "Present when peer is connecting to other peers"): one control
 * connection to each listening peer, REGISTER on connect and every refresh interval, reconnect with
 * exponential backoff (jittered, 100 ms up to 10 s). On FORWARD it dials the name's local backend and
 * opens a DATA connection carrying the proxy_id, then pipes bytes both ways. The dial of the DATA
 * connection overlaps the backend's; the DATA header is sent once the backend answered (or with an
 * `error` when it could not be reached). Both tunnel sockets read into reused buffers (direct-reader.ts).
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


/**
 * Starts one control loop per target; never throws (an unreachable listener is retried with backoff).
 * @param token `OPS_PROXY_TOKEN`, sent in REGISTER and DATA.
 */
export function startConnector(cfg: ConnectConfig, token: string, logger: Logger): Connector {
  const backends = new Map(cfg.registrations.map((r) => [r.name, r.backend]));
  const names = cfg.registrations.map((r) => r.name);
  const register = encode({ op: 'register', token, names });
  const sockets = new Set<Socket>();
  let stopped = false;
  let registered = 0;
  const timers = new Set<NodeJS.Timeout>();
  const later = (fn: () => void, ms: number) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const track = (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    return s;
  };

  const onForward = (target: HostPort, msg: ForwardMessage) => {
    const backendAt = backends.get(msg.name);
    // Both sockets are dialled here, so both read into reused buffers (direct-reader.ts); each stays
    // paused until splice starts the tunnel.
    const data = track(connectDirect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true }));
    data.on('error', (e) => logger.debug({ err: e.message }, 'DATA connection error'));
    if (!backendAt) {
      data.end(encode({ op: 'data', token, proxy_id: msg.proxy_id, error: `name "${msg.name}" is not registered here` }));
      return;
    }
    const backend = track(connectDirect({ host: backendAt.host, port: backendAt.port, allowHalfOpen: true, noDelay: true }));
    const onDialError = (e: Error) => {
      logger.warn({ client_name: msg.name, backend: formatHostPort(backendAt), err: e.message }, 'backend unreachable');
      if (!data.destroyed) data.end(encode({ op: 'data', token, proxy_id: msg.proxy_id, error: 'backend unreachable' }));
    };
    backend.once('error', onDialError);
    backend.once('connect', () => {
      backend.off('error', onDialError);
      data.write(encode({ op: 'data', token, proxy_id: msg.proxy_id }));
      splice(data, backend, { done: (e) => e && logger.debug({ client_name: msg.name, err: e.message }, 'tunnel ended with an error') });
    });
  };

  const run = (target: HostPort, attempt: number) => {
    if (stopped) return;
    const where = formatHostPort(target);
    const socket = track(connect({ host: target.host, port: target.port, noDelay: true }));
    const lines = new LineSplitter();
    let refresh: NodeJS.Timeout | undefined;
    let isRegistered = false;
    let next = attempt;
    socket.on('connect', () => {
      socket.write(register);
      refresh = setInterval(() => socket.write(register), cfg.registerIntervalMs);
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const line of lines.push(chunk)) {
          const msg = decodeListenerMessage(line);
          if (msg.op === 'forward') onForward(target, msg);
          else if (msg.op === 'registered') {
            if (!isRegistered) {
              isRegistered = true;
              registered++;
              next = 0;
              logger.info({ listener: where, names: msg.names }, 'registered with the listening peer');
            }
          } else {
            logger.error({ listener: where, error: msg.error }, 'the listening peer refused this peer');
          }
        }
      } catch (e) {
        logger.warn({ listener: where, err: (e as Error).message }, 'malformed message from the listening peer: reconnecting');
        socket.destroy();
      }
    });
    socket.on('error', (e) => logger.debug({ listener: where, err: e.message }, 'control connection error'));
    socket.on('close', () => {
      if (refresh) clearInterval(refresh);
      if (isRegistered) registered--;
      if (stopped) return;
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** next) * (0.5 + Math.random() / 2);
      logger.info({ listener: where, retryInMs: Math.round(delay) }, 'control connection closed: reconnecting');
      later(() => run(target, Math.min(next + 1, 16)), delay);
    });
  };

  for (const t of cfg.targets) run(t, 0);

  let closing: Promise<void> | undefined;
  return {
    registeredTargets: () => registered,
    close: () =>
      (closing ??= (async () => {
        stopped = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const s of sockets) s.destroy();
      })()),
  };
}
