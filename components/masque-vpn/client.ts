import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import { CapsuleError, CapsuleParser, CapsuleType } from './capsule.ts';
import type { TlsFiles } from './config.ts';
import { decodeAddressAssign, decodeDatagram, decodeRouteAdvertisement, encodeIpDatagram } from './connect-ip-capsules.ts';
import type { PacketDevice } from './device.ts';
import { inspectPacket } from './ip-packet.ts';
import { bytesToNumber, numberToIpv4 } from './pool.ts';
import { rangeToCidrs } from './ranges.ts';

/**
 * The CONNECT-IP client (RFC 9484 over HTTP/2): one TLS session with a client certificate, one extended
 * CONNECT stream (`:protocol connect-ip`, `capsule-protocol: ?1`, `/.well-known/masque/ip/*\/*\/`). The
 * ADDRESS_ASSIGN it receives becomes the TUN's address, each ROUTE_ADVERTISEMENT range becomes routes
 * through the TUN, and IP packets go both ways in DATAGRAM capsules with context ID 0. When the tunnel
 * ends or cannot be opened it reconnects with exponential backoff (reset once a tunnel is up).
 */

/** Options of {@link startConnectIpClient}. */
export interface ConnectIpClientOptions {
  readonly server: URL;
  readonly tls: TlsFiles;
  readonly device: PacketDevice;
  readonly logger: Logger;
  /** First reconnect delay in ms, doubled per failure up to `maxBackoffMs`. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

/** What a tunnel was given. */
export interface TunnelInfo {
  /** `A.B.C.D/N` as assigned. */
  readonly address: string;
  /** Routes installed (CIDRs). */
  readonly routes: readonly string[];
}

/** A running client. */
export interface ConnectIpClient {
  /** The current tunnel, or undefined while (re)connecting. */
  current(): TunnelInfo | undefined;
  /** Resolves at the next tunnel that has its address and routes installed. */
  nextTunnel(): Promise<TunnelInfo>;
  /** Tunnels opened so far. */
  readonly stats: { tunnels: number; refused: number; sent: number; received: number; dropped: number };
  /** Ends the tunnel and stops reconnecting. Idempotent. */
  close(): Promise<void>;
}

/** Why a tunnel attempt ended: the server's status and text, or the transport's error. */
export class TunnelRefused extends Error {
  override readonly name = 'TunnelRefused';
  readonly status: number;
  constructor(status: number, body: string) {
    super(`server answered ${status}: ${body.trim().slice(0, 300)}`);
    this.status = status;
  }
}

/**
 * Starts connecting (in the background); packets from `device` are sent while a tunnel is up and
 * dropped otherwise.
 */
export function startConnectIpClient(opts: ConnectIpClientOptions): ConnectIpClient {
  const { device, logger } = opts;
  let closed = false;
  let session: ClientHttp2Session | undefined;
  let stream: ClientHttp2Stream | undefined;
  let tunnel: TunnelInfo | undefined;
  let retry: NodeJS.Timeout | undefined;
  let backoff = opts.backoffMs;
  let waiters: ((t: TunnelInfo) => void)[] = [];
  const stats = { tunnels: 0, refused: 0, sent: 0, received: 0, dropped: 0 };

  device.onPacket((p) => {
    if (stream && tunnel && !stream.destroyed) {
      stream.write(encodeIpDatagram(p));
      stats.sent++;
    } else stats.dropped++;
  });
  device.onError((e) => logger.error({ err: e.message, tun: device.name }, 'TUN read failed'));

  const scheduleRetry = (why: string) => {
    tunnel = undefined;
    stream = undefined;
    if (closed || retry) return;
    logger.warn({ why, retryInMs: backoff }, 'tunnel down: reconnecting');
    retry = setTimeout(() => {
      retry = undefined;
      attempt();
    }, backoff);
    backoff = Math.min(backoff * 2, opts.maxBackoffMs);
  };

  const installTunnel = async (address: string, routes: string[]): Promise<void> => {
    await device.flushAddresses();
    await device.addAddress(address);
    for (const r of routes) await device.addRoute(r);
    tunnel = { address, routes };
    stats.tunnels++;
    backoff = opts.backoffMs;
    logger.info({ address, routes, server: opts.server.host, tun: device.name }, `masque-vpn client tunnel up: ${address} on ${device.name}`);
    const w = waiters;
    waiters = [];
    for (const f of w) f(tunnel);
  };

  const attempt = () => {
    if (closed) return;
    const host = opts.server.hostname.replace(/^\[|\]$/g, '');
    // SNI only for a name (RFC 6066); an IP literal is checked against the certificate's IP SANs.
    const tlsOptions = { host, port: Number(opts.server.port), cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca, ALPNProtocols: ['h2'], ...(isIP(host) ? {} : { servername: host }) };
    // Our own TLS socket, with Nagle off: one packet per capsule, each sent at once.
    const s = connect(opts.server, { createConnection: () => tlsConnect(tlsOptions).setNoDelay(true) });
    session = s;
    let done = false;
    let pendingAddress: string | undefined;
    const fail = (why: string) => {
      if (done) return;
      done = true;
      if (!s.destroyed) s.destroy();
      scheduleRetry(why);
    };
    s.on('error', (e) => fail(e.message));
    s.on('close', () => fail('connection closed'));
    s.once('remoteSettings', (settings) => {
      if (!settings.enableConnectProtocol) {
        fail('the server does not allow extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL)');
        return;
      }
      const req = s.request(
        { ':method': 'CONNECT', ':protocol': 'connect-ip', ':scheme': 'https', ':authority': opts.server.host, ':path': '/.well-known/masque/ip/*/*/', 'capsule-protocol': '?1' },
        { endStream: false },
      );
      req.on('error', (e) => fail(e.message));
      req.on('close', () => fail(`tunnel stream closed (code ${req.rstCode ?? 0})`));
      req.once('response', (headers) => {
        const status = Number(headers[':status']);
        if (status !== 200) {
          stats.refused++;
          let body = '';
          req.setEncoding('utf8');
          req.on('data', (d: string) => (body = (body + d).slice(0, 1000)));
          req.on('end', () => {
            const e = new TunnelRefused(status, body);
            logger.error({ status, body: body.trim() }, `CONNECT-IP refused: ${e.message}`);
            fail(e.message);
          });
          return;
        }
        stream = req;
        const parser = new CapsuleParser();
        req.on('data', (chunk: Buffer) => {
          let capsules;
          try {
            capsules = parser.push(chunk);
          } catch (e) {
            logger.error({ err: (e as Error).message }, 'malformed capsule stream from the server');
            req.close(constants.NGHTTP2_PROTOCOL_ERROR);
            return;
          }
          for (const c of capsules) {
            try {
              if (c.type === CapsuleType.DATAGRAM) {
                const d = decodeDatagram(c.value);
                if (d.contextId !== 0) continue;
                const r = inspectPacket(d.payload, device.mtu);
                if (!r.ok) {
                  stats.dropped++;
                  continue;
                }
                stats.received++;
                device.write(d.payload);
              } else if (c.type === CapsuleType.ADDRESS_ASSIGN) {
                const a = decodeAddressAssign(c.value).find((x) => x.version === 4);
                if (a) pendingAddress = `${numberToIpv4(bytesToNumber(a.address))}/${a.prefixLength}`;
              } else if (c.type === CapsuleType.ROUTE_ADVERTISEMENT) {
                const routes = decodeRouteAdvertisement(c.value)
                  .filter((r) => r.version === 4)
                  .flatMap((r) => rangeToCidrs(bytesToNumber(r.start), bytesToNumber(r.end)));
                if (pendingAddress) {
                  const address = pendingAddress;
                  installTunnel(address, routes).catch((e: unknown) => {
                    logger.error({ err: (e as Error).message }, 'configuring the TUN failed');
                    fail((e as Error).message);
                  });
                }
              }
            } catch (e) {
              if (!(e instanceof CapsuleError)) throw e;
              logger.error({ err: e.message }, 'malformed capsule from the server');
              req.close(constants.NGHTTP2_PROTOCOL_ERROR);
              return;
            }
          }
        });
      });
    });
  };

  attempt();

  return {
    current: () => tunnel,
    nextTunnel: () => new Promise((resolve) => waiters.push(resolve)),
    stats,
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      retry = undefined;
      const s = session;
      if (s && !s.destroyed) {
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          setTimeout(() => {
            s.destroy();
            resolve();
          }, 2000).unref();
        });
      }
    },
  };
}
