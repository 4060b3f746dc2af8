import { describe, expect, it } from 'vitest';
import { CapsuleError, CapsuleParser, CapsuleType, encodeCapsule, MAX_CAPSULE_VALUE } from './capsule.ts';
import { decodeAddressAssign, decodeDatagram, decodeRouteAdvertisement, encodeAddressAssign, encodeIpDatagram, encodeRouteAdvertisement } from './connect-ip-capsules.ts';
import { readVarint, writeVarint } from './varint.ts';

describe('varint (RFC 9000 §16)', () => {
  it('round-trips every length class and matches the RFC examples', () => {
    for (const v of [0, 37, 63, 64, 15293, 16383, 16384, 494878333, 2 ** 30, 151288809941952652 > Number.MAX_SAFE_INTEGER ? 2 ** 52 : 0]) {
      const b = new Uint8Array(8);
      const n = writeVarint(b, 0, v);
      expect(readVarint(b.subarray(0, n), 0)).toEqual({ value: v, next: n });
    }
    // RFC 9000 Appendix A.1: 0x7bbd = 15293, 0x9d7f3e7d = 494878333, 0x25 = 37.
    expect(readVarint(Uint8Array.of(0x7b, 0xbd), 0)?.value).toBe(15293);
    expect(readVarint(Uint8Array.of(0x9d, 0x7f, 0x3e, 0x7d), 0)?.value).toBe(494878333);
    expect(readVarint(Uint8Array.of(0x40, 0x25), 0)?.value).toBe(37);
    expect(readVarint(Uint8Array.of(0x9d, 0x7f), 0)).toBeUndefined();
  });
});

describe('capsule stream (RFC 9297 §3.2)', () => {
  it('parses capsules split at every byte boundary, unknown types included', () => {
    const packet = Buffer.alloc(100, 7);
    const stream = Buffer.concat([encodeIpDatagram(packet), encodeCapsule(0x2a2a, Uint8Array.of(1, 2, 3)), encodeIpDatagram(Buffer.alloc(0x50, 1))]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const p = new CapsuleParser();
      const got = [...p.push(stream.subarray(0, cut)), ...p.push(stream.subarray(cut))];
      expect(got.map((c) => c.type)).toEqual([CapsuleType.DATAGRAM, 0x2a2a, CapsuleType.DATAGRAM]);
      const d = decodeDatagram(got[0]!.value);
      expect(d.contextId).toBe(0);
      expect(Buffer.from(d.payload).equals(packet)).toBe(true);
      expect(p.buffered).toBe(0);
    }
  });

  it('refuses a declared length above the limit', () => {
    const b = Buffer.alloc(9);
    const o = writeVarint(b, 0, 0);
    const end = writeVarint(b, o, MAX_CAPSULE_VALUE + 1);
    expect(() => new CapsuleParser().push(b.subarray(0, end))).toThrow(CapsuleError);
  });

  it('a stream that ends inside a capsule is malformed (RFC 9297 §3.3), at every cut; at a boundary it is not', () => {
    const stream = Buffer.concat([encodeCapsule(0x2a2a, Uint8Array.of(1, 2, 3)), encodeIpDatagram(Buffer.alloc(100, 7))]);
    const boundaries = new Set([0, 6, stream.length]); // 0x2a2a: 2-byte type, 1-byte length, 3 value bytes
    for (let cut = 0; cut <= stream.length; cut++) {
      const p = new CapsuleParser();
      p.push(stream.subarray(0, cut));
      if (boundaries.has(cut)) expect(() => p.end()).not.toThrow();
      else expect(() => p.end(), `cut at ${cut}`).toThrow(CapsuleError);
    }
    const at = (bytes: number[]) => () => {
      const p = new CapsuleParser();
      p.push(Uint8Array.from(bytes));
      p.end();
    };
    expect(at([0x6a])).toThrow(/inside a capsule's Type varint/);
    expect(at([0x00, 0x80, 0x00])).toThrow(/inside the Length varint/);
    expect(at([0x00, 0x05, 0x00, 0x01])).toThrow(/2 of 5 value bytes/);
  });

  it('DATAGRAM without a context ID is malformed', () => {
    expect(() => decodeDatagram(new Uint8Array(0))).toThrow(CapsuleError);
  });
});

describe('CONNECT-IP capsules (RFC 9484 §4.7)', () => {
  it('ADDRESS_ASSIGN round-trips (request ID, version, address, prefix)', () => {
    const enc = encodeAddressAssign([{ requestId: 0, version: 4, address: Uint8Array.of(10, 99, 0, 2), prefixLength: 32 }, { requestId: 300, version: 6, address: new Uint8Array(16).fill(0xfd), prefixLength: 128 }]);
    const [c] = new CapsuleParser().push(enc);
    expect(c!.type).toBe(CapsuleType.ADDRESS_ASSIGN);
    // Wire bytes of the first entry: Request ID 0, version 4, 10.99.0.2, prefix 32.
    expect(Array.from(c!.value.subarray(0, 7))).toEqual([0, 4, 10, 99, 0, 2, 32]);
    const d = decodeAddressAssign(c!.value);
    expect(d.map((a) => [a.requestId, a.version, Array.from(a.address).slice(0, 4), a.prefixLength])).toEqual([[0, 4, [10, 99, 0, 2], 32], [300, 6, [0xfd, 0xfd, 0xfd, 0xfd], 128]]);
  });

  it('ROUTE_ADVERTISEMENT round-trips and refuses start > end, bad versions, truncation', () => {
    const enc = encodeRouteAdvertisement([{ version: 4, start: Uint8Array.of(10, 99, 0, 0), end: Uint8Array.of(10, 99, 0, 255), ipProtocol: 0 }]);
    const [c] = new CapsuleParser().push(enc);
    expect(Array.from(c!.value)).toEqual([4, 10, 99, 0, 0, 10, 99, 0, 255, 0]);
    expect(decodeRouteAdvertisement(c!.value)[0]!.ipProtocol).toBe(0);
    expect(() => decodeRouteAdvertisement(Uint8Array.of(4, 10, 0, 0, 9, 10, 0, 0, 1, 0))).toThrow(/start address after end/);
    expect(() => decodeRouteAdvertisement(Uint8Array.of(5, 1, 2))).toThrow(CapsuleError);
    expect(() => decodeRouteAdvertisement(Uint8Array.of(4, 10, 0, 0))).toThrow(/truncated/);
    expect(() => decodeAddressAssign(Uint8Array.of(0, 4, 10, 0, 0, 1, 33))).toThrow(/prefix length/);
  });
});
