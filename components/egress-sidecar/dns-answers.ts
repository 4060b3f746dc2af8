import { isIP } from 'node:net';
import dnsPacket from 'dns-packet';

/**
 * Full DNS decoding and encoding with `dns-packet`, kept off the hot path: reading the A/AAAA records of
 * an allowed answer in dns+nft mode, and building the sidecar's own queries for its pinned hosts.
 */

/** An address learned from an answer; `ttl` in seconds. */
export interface ResolvedAddress {
  readonly ip: string;
  readonly family: 4 | 6;
  readonly ttl: number;
}

/**
 * The A and AAAA records of an answer section (CNAME chains included, whatever their owner name).
 * @returns an empty list for an undecodable answer; never throws.
 */
export function answerAddresses(response: Buffer): ResolvedAddress[] {
  // Cheap pre-check by hand: no answers, nothing to decode.
  if (response.length < 12 || response.readUInt16BE(6) === 0) return [];
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(response);
  } catch {
    return [];
  }
  const out: ResolvedAddress[] = [];
  for (const a of packet.answers ?? []) {
    if ((a.type === 'A' || a.type === 'AAAA') && typeof a.data === 'string') {
      const family = isIP(a.data);
      if (family === 4 || family === 6) out.push({ ip: a.data, family, ttl: a.ttl ?? 0 });
    }
  }
  return out;
}

/** Encodes a recursive query for `name` (type A or AAAA) with message id `id`. */
export function buildQuery(name: string, type: 'A' | 'AAAA', id: number): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
}
