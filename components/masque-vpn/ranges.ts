import { numberToIpv4 } from './pool.ts';

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
