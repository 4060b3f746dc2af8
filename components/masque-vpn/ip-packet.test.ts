import { describe, expect, it } from 'vitest';
import { acceptFromClient, inspectPacket, ipv4HeaderChecksum } from './ip-packet.ts';
import { AddressPool, numberToIpv4, PoolError } from './pool.ts';
import { rangeToCidrs } from './ranges.ts';
import { icmpEcho4, udp4 } from './testing/packets.ts';

const ME = Uint8Array.of(10, 99, 0, 2);

describe('IP checks of packets from a client (RFC 9484 §4.3)', () => {
  it('accepts a packet from the assigned address and decrements the TTL with a valid checksum', () => {
    const p = udp4('10.99.0.2', '10.99.0.1', 5000, 7, Buffer.from('hi'), 64);
    const r = acceptFromClient(p, ME, 1400);
    expect(r.ok).toBe(true);
    expect(p[8]).toBe(63);
    expect(p.readUInt16BE(10)).toBe(ipv4HeaderChecksum(p, 20));
  });

  it('drops by reason: spoofed source, TTL 1, bad version, bad length, bad checksum, oversized', () => {
    const cases: [Uint8Array, string, RegExp][] = [
      [udp4('10.99.0.3', '10.99.0.1', 1, 2, Buffer.alloc(4)), 'invalid', /source address/],
      [icmpEcho4('10.99.0.2', '10.99.0.1', 1, 1, Buffer.alloc(8), 1), 'invalid', /TTL/],
      [Uint8Array.of(0x50, ...new Array(30).fill(0)), 'invalid', /version 5/],
      [udp4('10.99.0.2', '10.99.0.1', 1, 2, Buffer.alloc(4)).subarray(0, 30), 'invalid', /total length/],
      [(() => { const p = udp4('10.99.0.2', '10.99.0.1', 1, 2, Buffer.alloc(4)); p.writeUInt16BE(p.readUInt16BE(10) ^ 0xffff, 10); return p; })(), 'invalid', /checksum/],
      [udp4('10.99.0.2', '10.99.0.1', 1, 2, Buffer.alloc(1500)), 'oversized', /MTU/],
      [new Uint8Array(0), 'invalid', /empty/],
    ];
    for (const [p, reason, detail] of cases) {
      const r = acceptFromClient(p, ME, 1400);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.reason).toBe(reason);
        expect(r.detail).toMatch(detail);
      }
    }
  });

  it('reads IPv6 addresses and checks the payload length', () => {
    const p = new Uint8Array(48);
    p[0] = 0x60;
    p[5] = 8;
    p[7] = 64;
    p[23] = 1;
    const r = inspectPacket(p, 1400);
    expect(r.ok && r.version === 6 && r.src[15]).toBe(1);
    p[5] = 9;
    expect(inspectPacket(p, 1400).ok).toBe(false);
  });
});

describe('address pool', () => {
  it('gives the server the first address, clients the others, refuses when exhausted, reuses returned ones', () => {
    const pool = new AddressPool('10.99.0.0/29');
    expect(numberToIpv4(pool.serverAddress)).toBe('10.99.0.1');
    expect(pool.total).toBe(5);
    const got = Array.from({ length: 5 }, () => numberToIpv4(pool.allocate()!));
    expect(got).toEqual(['10.99.0.2', '10.99.0.3', '10.99.0.4', '10.99.0.5', '10.99.0.6']);
    expect(pool.allocate()).toBeUndefined();
    pool.release(pool.serverAddress + 2);
    expect(pool.available).toBe(1);
    expect(numberToIpv4(pool.allocate()!)).toBe('10.99.0.3');
  });

  it('refuses bad pools with the flag named', () => {
    expect(() => new AddressPool('10.99.0.1/24')).toThrow(/host bits set .* 10\.99\.0\.0\/24/);
    expect(() => new AddressPool('10.99.0.0/31')).toThrow(PoolError);
    expect(() => new AddressPool('banana')).toThrow(/--pool/);
  });

  it('turns advertised ranges into the fewest CIDRs', () => {
    expect(rangeToCidrs(0x0a000003, 0x0a000011)).toEqual(['10.0.0.3/32', '10.0.0.4/30', '10.0.0.8/29', '10.0.0.16/31']);
    expect(rangeToCidrs(0, 2 ** 32 - 1)).toEqual(['0.0.0.0/0']);
  });
});
