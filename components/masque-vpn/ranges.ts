import type { AddressRange } from './connect-ip-capsules.ts';
import { numberToBytes, numberToIpv4, parseIpv4Cidr, type AddressPool } from './pool.ts';

/**
 * IPv4 address ranges of ROUTE_ADVERTISEMENT (RFC 9484 §4.7.3: start and end, inclusive) as the CIDR
 * routes a client installs, and back. Addresses are unsigned 32-bit numbers.
 */

/** The first and last address of `network/prefix`. */
export function cidrRange(network: number, prefix: number): { start: number; end: number } {
  const size = 2 ** (32 - prefix);
  return { start: network, end: network + size - 1 };
}

/** The fewest CIDR blocks (`A.B.C.D/N`) that cover exactly `start..end` (inclusive); empty when start > end. */
export function rangeToCidrs(start: number, end: number): string[] {
  const out: string[] = [];
  let a = start;
  while (a <= end) {
    // Largest block aligned at `a` that stays within the range.
    let size = 1;
    while (size < 2 ** 32 && a % (size * 2) === 0) size *= 2;
    while (a + size - 1 > end) size /= 2;
    out.push(`${numberToIpv4(a)}/${32 - Math.log2(size)}`);
    a += size;
  }
  return out;
}

/**
 * What the server advertises in ROUTE_ADVERTISEMENT: the pool's range and each extra route, merged where
 * they overlap or touch and sorted by start address (RFC 9484 §4.7.3 requires ascending, non-overlapping
 * ranges), every IP protocol (0).
 * @param routes IPv4 CIDRs (`--route`), already validated.
 * @throws PoolError for a route that is not an IPv4 CIDR.
 */
export function advertisedRanges(pool: AddressPool, routes: readonly string[]): AddressRange[] {
  const ranges = [cidrRange(pool.cidr.network, pool.cidr.prefix), ...routes.map((r) => {
    const c = parseIpv4Cidr(r, '--route');
    return cidrRange(c.network, c.prefix);
  })].sort((a, b) => a.start - b.start);
  const merged: { start: number; end: number }[] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else merged.push({ ...r });
  }
  return merged.map((r) => ({ version: 4, start: numberToBytes(r.start), end: numberToBytes(r.end), ipProtocol: 0 }));
}
