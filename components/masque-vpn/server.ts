import { constants, createSecureServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { CapsuleError, CapsuleParser, CapsuleType } from './capsule.ts';
import type { HostPort, TlsFiles } from './config.ts';
import { decodeAddressAssign, decodeDatagram, decodeRouteAdvertisement, encodeAddressAssign, encodeIpDatagram, encodeRouteAdvertisement, type AddressRange } from './connect-ip-capsules.ts';
import type { PacketDevice } from './device.ts';
import { acceptFromClient, inspectPacket } from './ip-packet.ts';
import type { ErrorType, MasqueMetrics } from './metrics.ts';
import { AddressPool, bytesToNumber, numberToBytes, numberToIpv4, parseIpv4Cidr } from './pool.ts';
import { cidrRange } from './ranges.ts';

/**
 * The CONNECT-IP proxy (RFC 9484) over HTTP/2 (RFC 8441 extended CONNECT, RFC 9297 capsules):
 *
 * - TLS with ALPN `h2` and client certificates (mTLS); `client_id` is the certificate's subject CN.
 * - `CONNECT` with `:protocol connect-ip`, `capsule-protocol: ?1` on the default URI template's
 *   `/.well-known/masque/ip/*\/*\/` (RFC 9484 §3; `*` also percent-encoded). Success: 200, then
 *   ADDRESS_ASSIGN (one /32 from the pool, request ID 0) and ROUTE_ADVERTISEMENT (the pool and
 *   `routes`, every protocol). Pool exhausted: 503 with a text body saying so.
 * - DATAGRAM capsules with context ID 0 carry one IP packet each way (RFC 9484 §6). From a client:
 *   checked (version, lengths, checksum, MTU, source = its address), TTL / hop limit decremented, written
 *   to the TUN. From the TUN: checked and sent to the client that holds the destination address.
 * - A malformed capsule aborts that stream only (RST_STREAM PROTOCOL_ERROR, RFC 9297 §3.3).
 */

/** Options of {@link startConnectIpServer}. */
export interface ConnectIpServerOptions {
  readonly listen: HostPort;
  readonly tls: TlsFiles;
  readonly pool: AddressPool;
  /** Extra IPv4 CIDRs to advertise besides the pool. */
  readonly routes: readonly string[];
  readonly device: PacketDevice;
  readonly metrics: MasqueMetrics;
  readonly logger: Logger;
}

/** A running server. */
export interface ConnectIpServer {
  readonly address: HostPort;
  /** Open CONNECT-IP tunnels. */
  tunnels(): number;
  /** Closes every session and the listener. Idempotent. */
  close(): Promise<void>;
}

/** Bytes queued on one client's stream beyond which a packet for it is dropped (`processing_error`). */
const MAX_QUEUED = 4 * 1024 * 1024;
const PATH_RE = /^\/\.well-known\/masque\/ip\/(?:\*|%2[aA])\/(?:\*|%2[aA])\/$/;

interface Tunnel {
  readonly clientId: string;
  readonly address: number;
  readonly addressBytes: Uint8Array;
  readonly stream: ServerHttp2Stream;
}

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** Sorted, non-overlapping ranges for ROUTE_ADVERTISEMENT (RFC 9484 §4.7.3 requires the order). */
function advertisedRanges(pool: AddressPool, routes: readonly string[]): AddressRange[] {
  const rs = [cidrRange(pool.cidr.network, pool.cidr.prefix), ...routes.map((r) => {
    const c = parseIpv4Cidr(r, '--route');
    return cidrRange(c.network, c.prefix);
  })].sort((a, b) => a.start - b.start);
  const merged: { start: number; end: number }[] = [];
  for (const r of rs) {
    const last = merged[merged.length - 1];
    if (last && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else merged.push({ ...r });
  }
  return merged.map((r) => ({ version: 4, start: numberToBytes(r.start), end: numberToBytes(r.end), ipProtocol: 0 }));
}

/** The subject CN of a TLS peer certificate, or undefined. */
function clientIdOf(session: ServerHttp2Session): string | undefined {
  const cn = (session.socket as TLSSocket).getPeerCertificate?.()?.subject?.CN as string | string[] | undefined;
  const id = Array.isArray(cn) ? cn[0] : cn;
  return id && id.length > 0 ? id : undefined;
}

/** TLS errors that mean a bad, missing or untrusted client certificate. */
function isAuthError(err: Error & { code?: string }): boolean {
  return /CERT|CERTIFICATE|PEER_DID_NOT_RETURN|UNKNOWN_CA|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/i.test(`${err.code ?? ''} ${err.message}`);
}

/**
 * Starts listening and forwarding between the tunnels and `device`.
 * @throws the listen error (EADDRINUSE, EACCES) or a TLS material error (bad PEM, key not matching).
 */
export async function startConnectIpServer(opts: ConnectIpServerOptions): Promise<ConnectIpServer> {
  const { pool, device, metrics, logger } = opts;
  const ranges = advertisedRanges(pool, opts.routes);
  const byAddress = new Map<number, Tunnel>();
  const sessions = new Set<ServerHttp2Session>();
  const error = (type: ErrorType, detail: Record<string, unknown>, msg: string) => {
    metrics.error(type);
    logger.warn({ error_type: type, ...detail }, msg);
  };
  metrics.pool(pool.total, pool.usedCount);

  // TUN → client (outbound).
  device.onPacket((p) => {
    const t0 = process.hrtime.bigint();
    const r = inspectPacket(p, device.mtu);
    if (!r.ok) {
      metrics.drop(r.reason);
      metrics.error('packet');
      logger.debug({ reason: r.reason, detail: r.detail }, 'packet from the TUN dropped');
    } else {
      const t = r.version === 4 ? byAddress.get(bytesToNumber(r.dst)) : undefined;
      if (!t) {
        metrics.drop('invalid');
        metrics.error('packet');
        logger.debug({ version: r.version }, 'packet from the TUN to no client address dropped');
      } else if (t.stream.destroyed || t.stream.writableLength > MAX_QUEUED) {
        metrics.drop('processing_error');
        metrics.error('connection');
      } else {
        t.stream.write(encodeIpDatagram(p));
        metrics.sent(t.clientId, p.length);
      }
    }
    metrics.processed('outbound', seconds(t0));
  });
  device.onError((e) => error('tun', { err: e.message, tun: device.name }, 'TUN read failed: forwarding to clients stopped'));

  const openTunnel = (stream: ServerHttp2Stream, clientId: string, t0: bigint) => {
    const address = pool.allocate();
    metrics.pool(pool.total, pool.usedCount);
    if (address === undefined) {
      metrics.request('failed', seconds(t0));
      logger.warn({ client_id: clientId, pool: `${numberToIpv4(pool.cidr.network)}/${pool.cidr.prefix}`, in_use: pool.usedCount }, 'CONNECT-IP refused: IP address pool exhausted');
      stream.respond({ ':status': 503, 'content-type': 'text/plain; charset=utf-8' });
      stream.end(`IP address pool exhausted: all ${pool.total} client addresses are in use\n`);
      return;
    }
    const addressBytes = numberToBytes(address);
    const tunnel: Tunnel = { clientId, address, addressBytes, stream };
    byAddress.set(address, tunnel);
    stream.respond({ ':status': 200, 'capsule-protocol': '?1' });
    stream.write(encodeAddressAssign([{ requestId: 0, version: 4, address: addressBytes, prefixLength: 32 }]));
    stream.write(encodeRouteAdvertisement(ranges));
    metrics.request('success', seconds(t0));
    logger.info({ client_id: clientId, address: numberToIpv4(address) }, 'CONNECT-IP tunnel open');

    const parser = new CapsuleParser();
    stream.on('data', (chunk: Buffer) => {
      let capsules;
      try {
        capsules = parser.push(chunk);
      } catch (e) {
        error('masque', { client_id: clientId, err: (e as Error).message }, 'malformed capsule stream: tunnel aborted');
        stream.close(constants.NGHTTP2_PROTOCOL_ERROR);
        return;
      }
      for (const c of capsules) {
        try {
          if (c.type === CapsuleType.DATAGRAM) {
            const d = decodeDatagram(c.value);
            if (d.contextId !== 0) continue; // RFC 9484 §6: unknown context IDs are dropped.
            const t1 = process.hrtime.bigint();
            const p = Buffer.from(d.payload); // own copy: modified in place (TTL)
            metrics.received(clientId, p.length);
            const r = acceptFromClient(p, addressBytes, device.mtu);
            if (!r.ok) {
              metrics.drop(r.reason);
              metrics.error('packet');
              logger.debug({ client_id: clientId, reason: r.reason, detail: r.detail }, 'packet from a client dropped');
            } else {
              try {
                device.write(p);
              } catch (e) {
                metrics.drop('processing_error');
                error('tun', { err: (e as Error).message }, 'TUN write failed');
              }
            }
            metrics.processed('inbound', seconds(t1));
          } else if (c.type === CapsuleType.ADDRESS_REQUEST) {
            // Answer every request with the one address this tunnel has (RFC 9484 §4.7.2).
            const reqs = decodeAddressAssign(c.value);
            stream.write(encodeAddressAssign(reqs.map((q) => ({ requestId: q.requestId, version: 4, address: addressBytes, prefixLength: 32 }))));
          } else if (c.type === CapsuleType.ADDRESS_ASSIGN) {
            decodeAddressAssign(c.value);
          } else if (c.type === CapsuleType.ROUTE_ADVERTISEMENT) {
            decodeRouteAdvertisement(c.value);
          }
          // Other types: silently skipped (RFC 9297 §3.2).
        } catch (e) {
          if (!(e instanceof CapsuleError)) throw e;
          error('masque', { client_id: clientId, err: e.message }, 'malformed capsule: tunnel aborted');
          stream.close(constants.NGHTTP2_PROTOCOL_ERROR);
          return;
        }
      }
    });
    stream.on('close', () => {
      byAddress.delete(address);
      pool.release(address);
      metrics.pool(pool.total, pool.usedCount);
      logger.info({ client_id: clientId, address: numberToIpv4(address) }, 'CONNECT-IP tunnel closed: address returned to the pool');
    });
  };

  const onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, clientId: string) => {
    const t0 = process.hrtime.bigint();
    const opened = process.hrtime.bigint();
    metrics.streamOpened(clientId);
    stream.on('close', () => metrics.streamClosed(clientId, seconds(opened)));
    stream.on('error', (e) => logger.debug({ client_id: clientId, err: e.message }, 'stream error'));
    if (headers[':method'] !== 'CONNECT') {
      stream.respond({ ':status': 404, 'content-type': 'text/plain; charset=utf-8' });
      stream.end('masque-vpn serves CONNECT-IP (RFC 9484): extended CONNECT, :protocol connect-ip, /.well-known/masque/ip/*/*/\n');
      return;
    }
    const refuse = (status: number, why: string) => {
      metrics.request('failed', seconds(t0));
      error('masque', { client_id: clientId, status, why }, 'CONNECT-IP request refused');
      stream.respond({ ':status': status, 'content-type': 'text/plain; charset=utf-8' });
      stream.end(`${why}\n`);
    };
    if (headers[':protocol'] !== 'connect-ip') return refuse(501, `:protocol ${JSON.stringify(headers[':protocol'] ?? null)} not supported: connect-ip only`);
    if (!PATH_RE.test(String(headers[':path'] ?? ''))) return refuse(404, `:path ${JSON.stringify(headers[':path'])}: this proxy serves /.well-known/masque/ip/*/*/ (any target, any protocol)`);
    if (String(headers['capsule-protocol'] ?? '').trim() !== '?1') return refuse(400, 'capsule-protocol: ?1 is required (RFC 9484 §3)');
    openTunnel(stream, clientId, t0);
  };

  const server: Http2Server = createSecureServer({
    cert: opts.tls.cert,
    key: opts.tls.key,
    ca: opts.tls.ca,
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: ['h2'],
    minVersion: 'TLSv1.2',
    settings: { enableConnectProtocol: true },
  });
  // One packet per capsule: send each at once (no Nagle delay behind an unacknowledged segment).
  server.on('secureConnection', (socket: TLSSocket) => socket.setNoDelay(true));
  server.on('tlsClientError', (err: Error & { code?: string }, socket) => {
    // Node destroys a socket whose client certificate failed verification after the handshake; the
    // reason is then on the socket (authorizationError), the error itself is a bare hang-up.
    const why = (socket as TLSSocket & { authorizationError?: string | Error }).authorizationError;
    const type: ErrorType = why !== undefined || isAuthError(err) ? 'auth' : 'connection';
    error(type, { err: err.message, code: err.code, authorizationError: why === undefined ? undefined : String(why), remote: socket.remoteAddress }, type === 'auth' ? 'client refused: certificate not trusted or missing' : 'TLS handshake failed');
  });
  server.on('session', (session: ServerHttp2Session) => {
    const clientId = clientIdOf(session);
    if (!clientId) {
      error('auth', { remote: session.socket.remoteAddress }, 'client refused: certificate without a subject CN');
      session.destroy();
      return;
    }
    sessions.add(session);
    const t0 = process.hrtime.bigint();
    metrics.connectionOpened();
    session.on('stream', (stream, headers) => onStream(stream, headers, clientId));
    session.on('error', (e) => error('connection', { client_id: clientId, err: e.message }, 'connection error'));
    session.on('close', () => {
      sessions.delete(session);
      metrics.connectionClosed(clientId, seconds(t0));
    });
  });
  // Sessions handle their streams; the server-level 'stream' event must not answer twice.
  server.on('error', (e) => logger.error({ err: e.message }, 'server error'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    address: { host: a.address, port: a.port },
    tunnels: () => byAddress.size,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.close();
        const t = setTimeout(() => {
          for (const s of sessions) s.destroy();
        }, 2000);
        t.unref();
      })),
  };
}
