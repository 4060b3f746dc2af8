import type { ClientHttp2Session } from 'node:http2';
import type { Logger } from 'pino';
import { closeSession, openSession, requestTunnel, TunnelRefused } from './client-request.ts';
import { runClientTunnel, type ClientStats, type ClientTunnel, type TunnelInfo } from './client-tunnel.ts';
import type { TlsFiles } from './config.ts';
import type { PacketDevice } from './device.ts';

/**
 * The CONNECT-IP client (RFC 9484 over HTTP/2): keeps one tunnel to the server up. Each attempt is a
 * new TLS session with one CONNECT-IP request (client-request.ts); the tunnel then runs on that stream
 * (client-tunnel.ts). When the tunnel ends or cannot be opened, the client tries again after a delay
 * that doubles per failure up to a bound and starts over once a tunnel is up.
 */

export { TunnelRefused, type ClientStats, type TunnelInfo };

/** Options of {@link startConnectIpClient}. */
export interface ConnectIpClientOptions {
  /** `https://HOST:PORT` of the server. */
  readonly server: URL;
  readonly tls: TlsFiles;
  readonly device: PacketDevice;
  readonly logger: Logger;
  /** First reconnect delay in ms, doubled per failure up to `maxBackoffMs`. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

/** A running client. */
export interface ConnectIpClient {
  /** The current tunnel, or undefined while (re)connecting. */
  current(): TunnelInfo | undefined;
  /** Resolves at the next tunnel that has its address and routes installed. */
  nextTunnel(): Promise<TunnelInfo>;
  /** Counts since the start (see {@link ClientStats}). */
  readonly stats: ClientStats;
  /** Ends the tunnel and stops reconnecting (the session is destroyed after 2 s if it does not close). Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts connecting (in the background). Packets from `device` are sent while a tunnel is up and
 * dropped otherwise (`stats.dropped`). Failures to connect are logged and retried.
 * @throws Error from TLS when the certificate or key cannot be used (first attempt, synchronously).
 */
export function startConnectIpClient(opts: ConnectIpClientOptions): ConnectIpClient {
  const { device, logger } = opts;
  const stats: ClientStats = { tunnels: 0, refused: 0, sent: 0, received: 0, dropped: 0 };
  let closed = false;
  let session: ClientHttp2Session | undefined;
  let live: { info: TunnelInfo; tunnel: ClientTunnel } | undefined;
  let retry: NodeJS.Timeout | undefined;
  let backoff = opts.backoffMs;
  let waiters: ((t: TunnelInfo) => void)[] = [];

  device.onPacket((p) => {
    if (live?.tunnel.send(p)) stats.sent++;
    else stats.dropped++;
  });
  device.onError((e) => logger.error({ err: e.message, tun: device.name }, 'TUN read failed'));

  const attempt = () => {
    const s = (session = openSession(opts.server, opts.tls));
    let done = false;
    // One attempt ends once, whatever ends it first (session error or close, refusal, stream close).
    const down = (why: string) => {
      if (done) return;
      done = true;
      live = undefined;
      if (!s.destroyed) s.destroy();
      scheduleRetry(why);
    };
    s.on('error', (e) => down(e.message));
    s.on('close', () => down('connection closed'));
    requestTunnel(s, opts.server).then(
      (stream) => {
        const tunnel = runClientTunnel(stream, device, logger, stats, {
          up(info) {
            live = { info, tunnel };
            tunnelUp(info);
          },
          down,
        });
      },
      (e: Error) => {
        if (e instanceof TunnelRefused) {
          stats.refused++;
          logger.error({ status: e.status }, `CONNECT-IP refused: ${e.message}`);
        }
        down(e.message);
      },
    );
  };

  const tunnelUp = (info: TunnelInfo) => {
    stats.tunnels++;
    backoff = opts.backoffMs;
    logger.info({ address: info.address, routes: info.routes, server: opts.server.host, tun: device.name }, `masque-vpn client tunnel up: ${info.address} on ${device.name}`);
    const w = waiters;
    waiters = [];
    for (const f of w) f(info);
  };

  const scheduleRetry = (why: string) => {
    if (closed || retry) return;
    logger.warn({ why, retryInMs: backoff }, 'tunnel down: reconnecting');
    retry = setTimeout(() => {
      retry = undefined;
      if (!closed) attempt();
    }, backoff);
    backoff = Math.min(backoff * 2, opts.maxBackoffMs);
  };

  attempt();

  return {
    current: () => live?.info,
    nextTunnel: () => new Promise((resolve) => waiters.push(resolve)),
    stats,
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      retry = undefined;
      // End the tunnel first: the session then closes as soon as its one stream has.
      live?.tunnel.end();
      if (session) await closeSession(session, 2000);
    },
  };
}
