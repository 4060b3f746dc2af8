import { asIpv6, parseIp } from './ip-address.ts';

/**
 * The PROXY protocol version 2 header the edge writes to a backend before the client's first bytes
 * (seed 002, section F, "PROXY v2"), written from HAProxy's specification (`doc/proxy-protocol.txt`,
 * section 2.2) and checked against HAProxy's own parser (`accept-proxy`) in the tests:
 *
 *   12 bytes   signature            0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A
 *    1 byte    version and command  0x21: version 2, PROXY (the connection is relayed for a client)
 *    1 byte    family and transport 0x11: TCP over IPv4, 0x21: TCP over IPv6
 *    2 bytes   length of what follows, big-endian
 *   12 or 36   source address, destination address, source port, destination port (network byte order)
 *   TLVs       type (1 byte), length (2 bytes, big-endian), value; here PP2_TYPE_AUTHORITY (0x02): the
 *              SNI (or HTTP Host) the client asked for, UTF-8
 *
 * Both addresses share one family: when one is IPv6 and the other IPv4, both go as IPv6 (the IPv4 one
 * as `::ffff:a.b.c.d`). The whole header is one buffer, so it goes out in one write (the specification
 * asks the sender to send it at once).
 */

/** The 12-byte signature that opens every version 2 header. */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** Version 2 (high nibble), command PROXY (low nibble 1). */
const VERSION_2_PROXY = 0x21;
const TCP_OVER_IPV4 = 0x11;
const TCP_OVER_IPV6 = 0x21;
/** PP2_TYPE_AUTHORITY: the host name the client asked for (TLS server_name or HTTP Host). */
export const PP2_TYPE_AUTHORITY = 0x02;
/** Longest authority written: a DNS name is at most 253 characters, an SNI host_name at most 2^16 - 1 bytes. */
export const MAX_AUTHORITY_BYTES = 255;

/** What the header says about one relayed TCP connection. */
export interface ProxiedConnection {
  /** The client's address and port, as Node reports them (`socket.remoteAddress`, `remotePort`). */
  readonly sourceAddress: string;
  readonly sourcePort: number;
  /** The address and port the client connected to: the edge's listener (`socket.localAddress`, `localPort`). */
  readonly destinationAddress: string;
  readonly destinationPort: number;
  /** The name the client asked for (SNI or Host); no TLV when absent or empty. */
  readonly authority?: string | undefined;
}

/** A connection whose header cannot be written (addresses unknown, a port out of range, a name too long). */
export class ProxyV2Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxyV2Error';
  }
}

function port(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new ProxyV2Error(`${what} port ${value} is not 0..65535`);
  return value;
}

/**
 * Encodes the header for one connection.
 * @returns the whole header: 28 bytes for IPv4 and 52 for IPv6, plus 3 + the authority's length with one.
 * @throws ProxyV2Error when an address is not an IP literal (a socket that already closed reports
 *   `undefined`), a port is out of range, or the authority is longer than {@link MAX_AUTHORITY_BYTES} bytes.
 */
export function encodeProxyV2(c: ProxiedConnection): Buffer {
  let src;
  let dst;
  try {
    src = parseIp(String(c.sourceAddress));
    dst = parseIp(String(c.destinationAddress));
  } catch (e) {
    throw new ProxyV2Error(`no PROXY v2 header: ${(e as Error).message}`);
  }
  const authority = c.authority ? Buffer.from(c.authority, 'utf8') : undefined;
  if (authority && authority.length > MAX_AUTHORITY_BYTES) throw new ProxyV2Error(`authority of ${authority.length} bytes is longer than ${MAX_AUTHORITY_BYTES}`);
  const v4 = src.family === 4 && dst.family === 4;
  const addressBytes = v4 ? 12 : 36;
  const tlvBytes = authority ? 3 + authority.length : 0;
  const out = Buffer.alloc(16 + addressBytes + tlvBytes);
  PROXY_V2_SIGNATURE.copy(out, 0);
  out[12] = VERSION_2_PROXY;
  out[13] = v4 ? TCP_OVER_IPV4 : TCP_OVER_IPV6;
  out.writeUInt16BE(addressBytes + tlvBytes, 14);
  let at = 16;
  for (const ip of [src, dst]) at += (v4 ? ip.bytes : asIpv6(ip)).copy(out, at);
  out.writeUInt16BE(port(c.sourcePort, 'source'), at);
  out.writeUInt16BE(port(c.destinationPort, 'destination'), at + 2);
  at += 4;
  if (authority) {
    out[at] = PP2_TYPE_AUTHORITY;
    out.writeUInt16BE(authority.length, at + 1);
    authority.copy(out, at + 3);
  }
  return out;
}
