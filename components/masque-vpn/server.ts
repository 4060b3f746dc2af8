import { createSecureServer, type ServerHttp2Session } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { HostPort, TlsFiles } from './config.ts';
import type { PacketDevice } from './device.ts';
import { PacketForwarding } from './forwarding.ts';
import { reportError, type MasqueMetrics } from './metrics.ts';
import type { AddressPool } from './pool.ts';
import { advertisedRanges } from './ranges.ts';
import { acceptSession, tlsErrorType } from './server-session.ts';
import { listen } from '../kit/listen.ts';

/**
 * The CONNECT-IP proxy (RFC 9484) over HTTP/2 (RFC 8441 extended CONNECT, RFC 9297 capsules): the TLS
 * listener with client certificates, put together from its parts, one file each:
 *
 * - server-session.ts: a session's client identity (the certificate's CN), its streams, its VPN connection;
 * - connect-ip-request.ts: which requests are CONNECT-IP, and the refusals (404, 501, 400);
 * - server-tunnel.ts: one accepted tunnel (its address from the pool or a 503, its capsules in and out);
 * - capsule-stream.ts: capsules read from a stream, a malformed stream reset with PROTOCOL_ERROR;
 * - forwarding.ts: packets between the device (the TUN) and the tunnels.
 */

/** Options of {@link startConnectIpServer}. */
export interface ConnectIpServerOptions {
  /** Where to listen. Not limited to loopback: this is the VPN's public endpoint. */
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
  /** Where it listens (the kernel's port when asked for 0). */
  readonly address: HostPort;
  /** Open CONNECT-IP tunnels. */
  tunnels(): number;
  /** Closes the listener and every session (destroyed after 2 s if they do not close). Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts listening (TLS >= 1.2, ALPN `h2`, client certificates signed by `tls.ca` required,
 * SETTINGS_ENABLE_CONNECT_PROTOCOL sent) and forwarding between the tunnels and `device`.
 * @throws the listen error (EADDRINUSE, EACCES) or a TLS material error (bad PEM, key not matching).
 */
export async function startConnectIpServer(opts: ConnectIpServerOptions): Promise<ConnectIpServer> {
  const { pool, metrics, logger } = opts;
  const forwarding = new PacketForwarding(opts.device, metrics, logger);
  const deps = { pool, ranges: advertisedRanges(pool, opts.routes), forwarding, metrics, logger };
  const sessions = new Set<ServerHttp2Session>();
  metrics.pool(pool.total, pool.usedCount);

  const server = createSecureServer({
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
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket & { authorizationError?: string | Error }) => {
    const type = tlsErrorType(err, socket);
    const detail = { err: err.message, code: err.code, authorizationError: socket.authorizationError === undefined ? undefined : String(socket.authorizationError), remote: socket.remoteAddress };
    reportError(metrics, logger, type, detail, type === 'auth' ? 'client refused: certificate not trusted or missing' : 'TLS handshake failed');
  });
  // Sessions serve their own streams: no server-level 'stream' listener, so nothing answers twice.
  server.on('session', (session: ServerHttp2Session) => acceptSession(session, sessions, deps));
  const address = await listen(server, opts.listen);
  server.on('error', (e) => logger.error({ err: e.message }, 'server error'));

  let closing: Promise<void> | undefined;
  return {
    address,
    tunnels: () => forwarding.tunnels,
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
