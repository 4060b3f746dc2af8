import type { ServerHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import { CapsuleType, type Capsule } from './capsule.ts';
import { CAPSULE_STREAM_OPTIONS, openCapsuleStream } from './capsule-stream.ts';
import { decodeAddressAssign, decodeDatagram, decodeRouteAdvertisement, encodeAddressAssign, encodeRouteAdvertisement, type AddressRange } from './connect-ip-capsules.ts';
import { answerAndClose } from './connect-ip-request.ts';
import type { ForwardedTunnel, PacketForwarding } from './forwarding.ts';
import { reportError, secondsSince, type MasqueMetrics } from './metrics.ts';
import { numberToBytes, numberToIpv4, type AddressPool } from './pool.ts';

/**
 * One CONNECT-IP tunnel on the server: the stream of an accepted request, from the address it is given
 * to the address's return. The capsules out are ADDRESS_ASSIGN and ROUTE_ADVERTISEMENT once, then a
 * DATAGRAM per packet (written by forwarding.ts); the capsules in are read by capsule-stream.ts, and a
 * malformed stream is reset (this stream only) with PROTOCOL_ERROR (RFC 9297 §3.3).
 */

/** What a tunnel needs from its server. */
export interface TunnelDeps {
  readonly pool: AddressPool;
  /** The ROUTE_ADVERTISEMENT ranges every client gets (see `advertisedRanges`). */
  readonly ranges: readonly AddressRange[];
  readonly forwarding: PacketForwarding;
  readonly metrics: MasqueMetrics;
  readonly logger: Logger;
}

/** Told when the tunnel opens (after the 200) and when its stream closes: the session's VPN connection counts them. */
export interface TunnelLifetime {
  opened(): void;
  closed(): void;
}

/**
 * Serves a request that passed `checkConnectIpRequest` on `stream`. With the pool exhausted: `503` with
 * `IP address pool exhausted: all N client addresses are in use`, the stream then reset with NO_ERROR,
 * `masque_requests_total{status="failed"}`; the tunnel never opens. Otherwise: `200` with
 * `capsule-protocol: ?1`, ADDRESS_ASSIGN (one pool address, prefix 32, request ID 0) and
 * ROUTE_ADVERTISEMENT, `masque_requests_total{status="success"}`; packets flow until the stream closes
 * (either side ends it, a reset, the session's end), and then the address returns to the pool.
 * @param requestStart `process.hrtime.bigint()` when the request's headers arrived: `masque_request_duration_seconds` runs from there to the response.
 */
export function serveTunnel(stream: ServerHttp2Stream, clientId: string, requestStart: bigint, deps: TunnelDeps, lifetime: TunnelLifetime): void {
  const { pool, metrics, logger } = deps;
  const address = pool.allocate();
  metrics.pool(pool.total, pool.usedCount);
  if (address === undefined) {
    metrics.request('failed', secondsSince(requestStart));
    logger.warn({ client_id: clientId, pool: `${numberToIpv4(pool.cidr.network)}/${pool.cidr.prefix}`, in_use: pool.usedCount }, 'CONNECT-IP refused: IP address pool exhausted');
    answerAndClose(stream, 503, `IP address pool exhausted: all ${pool.total} client addresses are in use`);
    return;
  }
  const tunnel: ForwardedTunnel = { clientId, address, addressBytes: numberToBytes(address), stream };
  deps.forwarding.attach(tunnel);
  lifetime.opened();
  stream.on('close', () => {
    deps.forwarding.detach(address);
    pool.release(address);
    metrics.pool(pool.total, pool.usedCount);
    lifetime.closed();
    logger.info({ client_id: clientId, address: numberToIpv4(address), rst_code: stream.rstCode }, 'CONNECT-IP tunnel closed: address returned to the pool');
  });
  stream.respond({ ':status': 200, 'capsule-protocol': '?1' }, CAPSULE_STREAM_OPTIONS);
  stream.write(encodeAddressAssign([{ requestId: 0, version: 4, address: tunnel.addressBytes, prefixLength: 32 }]));
  stream.write(encodeRouteAdvertisement(deps.ranges));
  metrics.request('success', secondsSince(requestStart));
  logger.info({ client_id: clientId, address: numberToIpv4(address) }, 'CONNECT-IP tunnel open');
  const capsules = openCapsuleStream(stream, {
    capsule: (c) => receiveCapsule(c, tunnel, deps),
    // The client ended the tunnel: nothing more is sent to it; ending our side closes the stream, and the address returns.
    end: () => {
      deps.forwarding.detach(address);
      capsules.end();
    },
    malformed: (e) => reportError(metrics, logger, 'masque', { client_id: clientId, err: e.message }, 'malformed capsule stream: tunnel reset with PROTOCOL_ERROR'),
  });
}

/**
 * One capsule from the client. A DATAGRAM with context ID 0 is an IP packet (other context IDs are
 * dropped, RFC 9484 §6); an ADDRESS_REQUEST is answered with the tunnel's one address under each request ID
 * (RFC 9484 §4.7.2); an ADDRESS_ASSIGN or ROUTE_ADVERTISEMENT from a client changes nothing here but must
 * still decode; other types are skipped (RFC 9297 §3.2).
 * @throws CapsuleError for a value that does not decode.
 */
function receiveCapsule(c: Capsule, tunnel: ForwardedTunnel, deps: TunnelDeps): void {
  if (c.type === CapsuleType.DATAGRAM) {
    const d = decodeDatagram(c.value);
    if (d.contextId === 0) deps.forwarding.fromClient(tunnel, d.payload);
  } else if (c.type === CapsuleType.ADDRESS_REQUEST) {
    const requests = decodeAddressAssign(c.value);
    tunnel.stream.write(encodeAddressAssign(requests.map((q) => ({ requestId: q.requestId, version: 4, address: tunnel.addressBytes, prefixLength: 32 }))));
  } else if (c.type === CapsuleType.ADDRESS_ASSIGN) {
    decodeAddressAssign(c.value);
  } else if (c.type === CapsuleType.ROUTE_ADVERTISEMENT) {
    decodeRouteAdvertisement(c.value);
  }
}
