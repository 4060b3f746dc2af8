/**
 * The IP checks of a CONNECT-IP endpoint acting as a router (RFC 9484 §4.3 and §6, RFC 791, RFC 8200):
 * a packet's version and lengths must be consistent, an IPv4 header checksum must verify, a client may
 * only send from the address it was assigned, and forwarding decrements the TTL / hop limit (a packet
 * that would leave with 0 is dropped). Every refusal carries the `reason` label of
 * `masque_vpn_packet_drops_total` (seed 004, "Error Metrics").
 */

/** `reason` values of `masque_vpn_packet_drops_total`. */
export type DropReason = 'invalid' | 'oversized' | 'processing_error';

/** Why a packet was refused: the drop reason and a short human detail for the debug log. */
export interface Refusal {
  readonly ok: false;
  readonly reason: DropReason;
  readonly detail: string;
}

/** A packet that passed the checks: its version and views of its source and destination addresses. */
export interface Accepted {
  readonly ok: true;
  readonly version: 4 | 6;
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
}

const refuse = (reason: DropReason, detail: string): Refusal => ({ ok: false, reason, detail });

/** IPv4 header checksum (RFC 791 §3.1) of the `ihl`-byte header at the start of `p`, with the checksum field taken as 0. */
export function ipv4HeaderChecksum(p: Uint8Array, ihl: number): number {
  let sum = 0;
  for (let i = 0; i < ihl; i += 2) {
    if (i === 10) continue;
    sum += ((p[i] as number) << 8) | (p[i + 1] as number);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Checks the IP header of `p`: version 4 or 6, at most `mtu` bytes, the header's lengths equal to the
 * packet's, and (IPv4) a correct header checksum.
 * @returns the packet's addresses, or a refusal: `oversized` above `mtu`, `invalid` for the rest.
 */
export function inspectPacket(p: Uint8Array, mtu: number): Accepted | Refusal {
  if (p.length === 0) return refuse('invalid', 'empty packet');
  if (p.length > mtu) return refuse('oversized', `${p.length} bytes > MTU ${mtu}`);
  const version = (p[0] as number) >>> 4;
  if (version === 4) {
    if (p.length < 20) return refuse('invalid', `IPv4 packet of ${p.length} bytes`);
    const ihl = ((p[0] as number) & 0x0f) * 4;
    if (ihl < 20 || ihl > p.length) return refuse('invalid', `IPv4 header length ${ihl}`);
    const total = ((p[2] as number) << 8) | (p[3] as number);
    if (total !== p.length) return refuse('invalid', `IPv4 total length ${total} != ${p.length} bytes received`);
    const sum = ((p[10] as number) << 8) | (p[11] as number);
    if (sum !== ipv4HeaderChecksum(p, ihl)) return refuse('invalid', 'IPv4 header checksum');
    return { ok: true, version: 4, src: p.subarray(12, 16), dst: p.subarray(16, 20) };
  }
  if (version === 6) {
    if (p.length < 40) return refuse('invalid', `IPv6 packet of ${p.length} bytes`);
    const payload = ((p[4] as number) << 8) | (p[5] as number);
    if (payload + 40 !== p.length) return refuse('invalid', `IPv6 payload length ${payload} != ${p.length - 40}`);
    return { ok: true, version: 6, src: p.subarray(8, 24), dst: p.subarray(24, 40) };
  }
  return refuse('invalid', `IP version ${version}`);
}

/**
 * Decrements the TTL (IPv4, fixing the header checksum) or the hop limit (IPv6) of a packet that passed
 * {@link inspectPacket}, in place.
 * @returns false, leaving the packet unchanged, when it arrived with 1 or 0 (it must not be forwarded).
 */
export function decrementHopLimit(p: Uint8Array): boolean {
  if ((p[0] as number) >>> 4 === 4) {
    const ttl = p[8] as number;
    if (ttl <= 1) return false;
    p[8] = ttl - 1;
    const sum = ipv4HeaderChecksum(p, ((p[0] as number) & 0x0f) * 4);
    p[10] = sum >>> 8;
    p[11] = sum & 0xff;
    return true;
  }
  const hops = p[7] as number;
  if (hops <= 1) return false;
  p[7] = hops - 1;
  return true;
}

/** Byte-wise equality of two addresses. */
export function sameAddress(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The server's check of a packet received from a client (RFC 9484 §4.3: the proxy only forwards packets
 * whose source is within the client's assigned addresses): {@link inspectPacket}, the source equal to
 * `assigned`, then {@link decrementHopLimit}. On acceptance the packet has been modified in place.
 * @returns the accepted packet's addresses or the refusal (`invalid` for a spoofed source or an expired TTL).
 */
export function acceptFromClient(p: Uint8Array, assigned: Uint8Array, mtu: number): Accepted | Refusal {
  const r = inspectPacket(p, mtu);
  if (!r.ok) return r;
  if (!sameAddress(r.src, assigned)) return refuse('invalid', 'source address not assigned to this client');
  if (!decrementHopLimit(p)) return refuse('invalid', 'TTL / hop limit expired');
  return r;
}
