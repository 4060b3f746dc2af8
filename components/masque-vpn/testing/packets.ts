import { ipv4HeaderChecksum } from '../ip-packet.ts';
import { ipv4ToNumber, numberToBytes } from '../pool.ts';

/**
 * IPv4 packets for the tests: UDP and ICMP echo, with correct header and ICMP checksums (UDP checksum
 * 0, which IPv4 allows), and the swap an echo responder does.
 */

function internetChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += ((b[i] as number) << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipv4(src: string, dst: string, proto: number, body: Uint8Array, ttl: number): Buffer {
  const p = Buffer.alloc(20 + body.length);
  p[0] = 0x45;
  p.writeUInt16BE(p.length, 2);
  p[8] = ttl;
  p[9] = proto;
  p.set(numberToBytes(ipv4ToNumber(src)), 12);
  p.set(numberToBytes(ipv4ToNumber(dst)), 16);
  p.writeUInt16BE(ipv4HeaderChecksum(p, 20), 10);
  p.set(body, 20);
  return p;
}

/** An IPv4 UDP packet (header 28 bytes + payload). */
export function udp4(src: string, dst: string, sport: number, dport: number, payload: Uint8Array, ttl = 64): Buffer {
  const u = Buffer.alloc(8 + payload.length);
  u.writeUInt16BE(sport, 0);
  u.writeUInt16BE(dport, 2);
  u.writeUInt16BE(u.length, 4);
  u.set(payload, 8);
  return ipv4(src, dst, 17, u, ttl);
}

/** An IPv4 ICMP echo request (type 8) with `payload`. */
export function icmpEcho4(src: string, dst: string, id: number, seq: number, payload: Uint8Array, ttl = 64): Buffer {
  const icmp = Buffer.alloc(8 + payload.length);
  icmp[0] = 8;
  icmp.writeUInt16BE(id, 4);
  icmp.writeUInt16BE(seq, 6);
  icmp.set(payload, 8);
  icmp.writeUInt16BE(internetChecksum(icmp), 2);
  return ipv4(src, dst, 1, icmp, ttl);
}

/**
 * The reply an echo responder sends to `p`: an ICMP echo request becomes an echo reply, a UDP datagram
 * comes back with addresses and ports swapped; TTL 64. Undefined for anything else.
 */
export function echoReply(p: Uint8Array): Buffer | undefined {
  if ((p[0] as number) >>> 4 !== 4) return undefined;
  const ihl = ((p[0] as number) & 0x0f) * 4;
  const body = Buffer.from(p.subarray(ihl));
  const src = p.subarray(12, 16);
  const dst = p.subarray(16, 20);
  const name = (b: Uint8Array) => Array.from(b).join('.');
  if (p[9] === 1 && body[0] === 8) {
    body[0] = 0;
    body.writeUInt16BE(0, 2);
    body.writeUInt16BE(internetChecksum(body), 2);
    return ipv4(name(dst), name(src), 1, body, 64);
  }
  if (p[9] === 17) {
    const sport = body.readUInt16BE(0);
    body.writeUInt16BE(body.readUInt16BE(2), 0);
    body.writeUInt16BE(sport, 2);
    return ipv4(name(dst), name(src), 17, body, 64);
  }
  return undefined;
}
