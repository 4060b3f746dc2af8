import { constants } from 'node:http2';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape, scrapeUntil, total } from '../../test/exposition.ts';
import { pollUntil } from '../../test/poll.ts';
import { CapsuleError, CapsuleParser, CapsuleType, encodeCapsule } from './capsule.ts';
import { decodeAddressAssign, decodeDatagram, decodeRouteAdvertisement, encodeIpDatagram } from './connect-ip-capsules.ts';
import { runMasqueServer, type MasqueServer } from './main.ts';
import { makeTestPki, type TestPki } from './testing/certs.ts';
import { MemoryDevice } from './testing/memory-device.ts';
import { icmpEcho4, udp4 } from './testing/packets.ts';
import { openRawTunnel, type RawTunnel } from './testing/raw-tunnel.ts';
import { seededRandom } from '../../test/prng.ts';

// Fuzz of the capsule stream: seeded (reproducible) random bytes and mutated valid streams, first into
// the parser and decoders, then into a live server over HTTP/2, which must keep serving a good tunnel.
// Then the malformed endings of RFC 9297 §3.3 (END_STREAM inside a varint or a capsule, a length over
// the limit): each reset with PROTOCOL_ERROR as a real HTTP/2 client sees it, and counted.


/** A valid capsule stream with packets, address and route capsules and an unknown type. */
function validStream(r: () => number): Buffer {
  const parts: Buffer[] = [];
  const n = 1 + Math.floor(r() * 6);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(r() * 4);
    if (k === 0) parts.push(encodeIpDatagram(udp4('10.98.0.2', '10.98.0.1', 1000, 7, Buffer.alloc(Math.floor(r() * 300)))));
    else if (k === 1) parts.push(encodeCapsule(CapsuleType.ADDRESS_ASSIGN, Uint8Array.of(0, 4, 10, 98, 0, 2, 32)));
    else if (k === 2) parts.push(encodeCapsule(CapsuleType.ROUTE_ADVERTISEMENT, Uint8Array.of(4, 10, 98, 0, 0, 10, 98, 0, 255, 0)));
    else parts.push(encodeCapsule(0x40 + Math.floor(r() * 1000), Buffer.alloc(Math.floor(r() * 40), 9)));
  }
  return Buffer.concat(parts);
}

function mutate(b: Buffer, r: () => number): Buffer {
  const out = Buffer.from(b);
  const flips = 1 + Math.floor(r() * 4);
  for (let i = 0; i < flips && out.length > 0; i++) out[Math.floor(r() * out.length)] = Math.floor(r() * 256);
  return r() < 0.3 ? out.subarray(0, Math.floor(r() * out.length)) : out;
}

/** Parses and decodes like an endpoint does; returns the error class, if any. */
function consume(bytes: Buffer, chunking: () => number): string {
  const p = new CapsuleParser();
  try {
    let o = 0;
    while (o < bytes.length) {
      const n = 1 + Math.floor(chunking() * 64);
      for (const c of p.push(bytes.subarray(o, o + n))) {
        if (c.type === CapsuleType.DATAGRAM) decodeDatagram(c.value);
        else if (c.type === CapsuleType.ADDRESS_ASSIGN) decodeAddressAssign(c.value);
        else if (c.type === CapsuleType.ROUTE_ADVERTISEMENT) decodeRouteAdvertisement(c.value);
      }
      o += n;
    }
    return 'ok';
  } catch (e) {
    return e instanceof CapsuleError ? 'CapsuleError' : `${(e as Error).name}: ${(e as Error).message}`;
  }
}

describe('capsule stream fuzz (codec)', () => {
  it('random and mutated streams only ever fail with CapsuleError; valid streams parse the same in any chunking', () => {
    const r = seededRandom(0x9484);
    for (let i = 0; i < 3000; i++) {
      const valid = validStream(r);
      expect(consume(valid, r)).toBe('ok');
      const whole = new CapsuleParser().push(valid).map((c) => [c.type, c.value.length]);
      const p = new CapsuleParser();
      const cut = Math.floor(r() * valid.length);
      expect([...p.push(valid.subarray(0, cut)), ...p.push(valid.subarray(cut))].map((c) => [c.type, c.value.length])).toEqual(whole);
      const bad = i % 2 === 0 ? mutate(valid, r) : Buffer.from(Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256)));
      expect(['ok', 'CapsuleError']).toContain(consume(bad, r));
    }
  });
});

describe('capsule stream fuzz (live server)', () => {
  const logger = pino({ level: 'silent' });
  let pki: TestPki;
  let server: MasqueServer;
  let url: string;
  const tunnels: RawTunnel[] = [];

  beforeAll(async () => {
    pki = makeTestPki([], ['good', 'fuzzer']);
    server = await runMasqueServer(
      ['--listen', '127.0.0.1:0', '--pool', '10.98.0.0/24', '--tun', 'mem1', '--cert', pki.serverCert, '--key', pki.serverKey, '--ca', pki.ca, '--metrics', '127.0.0.1:0'],
      { OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '1000:1000' },
      { logger, openDevice: async (name, mtu) => new MemoryDevice(name, mtu, { echo: true }) },
    );
    url = `https://127.0.0.1:${server.address.port}`;
  });
  afterAll(async () => {
    for (const t of tunnels) t.close();
    await server?.close();
    pki?.remove();
  });

  it('40 tunnels fed mutated capsule streams; the good tunnel is served throughout and the pool is whole again', async () => {
    const good = await openRawTunnel(url, pki.ca, pki.client('good'));
    tunnels.push(good);
    await pollUntil('good address', async () => good.capsules.length, (n) => n >= 2, { timeoutMs: 5000, intervalMs: 20 });
    const goodAddr = Array.from(decodeAddressAssign(good.capsules[0]!.value)[0]!.address).join('.');
    const r = seededRandom(0x9297);
    for (let i = 0; i < 40; i++) {
      const t = await openRawTunnel(url, pki.ca, pki.client('fuzzer'));
      tunnels.push(t);
      if (i % 2 === 0) {
        // A valid stream, then a capsule declaring more than the limit: the server resets the stream (PROTOCOL_ERROR).
        t.stream.write(Buffer.concat([validStream(r), Buffer.from([0x00, 0xbf, 0xff, 0xff, 0xff])]));
        expect(await t.closed).toBe(1);
      } else {
        // A mutated stream (malformed or merely odd), then the client leaves.
        t.stream.write(mutate(validStream(r), r));
      }
      t.close();
      const replies = good.capsules.filter((c) => c.type === CapsuleType.DATAGRAM).length;
      good.stream.write(encodeIpDatagram(icmpEcho4(goodAddr, '10.98.0.1', 5, i, Buffer.alloc(32))));
      await pollUntil(`good tunnel answered after fuzz tunnel ${i}`, async () => good.capsules.filter((c) => c.type === CapsuleType.DATAGRAM).length, (n) => n === replies + 1, { timeoutMs: 5000, intervalMs: 10 });
    }
    const s = await scrapeUntil(server.metricsUrl, 'only the good tunnel holds an address', (x) => total(x, 'masque_vpn_ip_pool_used') === 1, { timeoutMs: 10_000 });
    expect(total(s, 'masque_vpn_errors_total', { error_type: 'masque' })).toBeGreaterThanOrEqual(20);
    expect(total(s, 'masque_vpn_packets_sent_total', { client_id: 'good' })).toBe(40);
  });

  it('a stream ending inside a varint or a capsule, or declaring a capsule over the limit, is reset with PROTOCOL_ERROR and counted; clean endings are not; the server serves a new client afterwards', async () => {
    const before = total((await scrape(server.metricsUrl)).samples, 'masque_vpn_errors_total', { error_type: 'masque' });
    const datagram = encodeIpDatagram(udp4('10.98.0.9', '10.98.0.1', 1000, 7, Buffer.alloc(40)));
    const malformed: [string, Buffer, boolean][] = [
      // [what, bytes sent, whether END_STREAM follows them]
      ['END_STREAM inside a Type varint', Buffer.concat([datagram, Buffer.from([0x40])]), true],
      ['END_STREAM inside a Length varint', Buffer.concat([datagram, Buffer.from([0x00, 0x80, 0x00])]), true],
      ['END_STREAM inside a value', datagram.subarray(0, datagram.length - 1), true],
      ['END_STREAM after a Length, before the value', datagram.subarray(0, 2), true],
      ['a declared length over the limit, stream left open', Buffer.from([0x00, 0x80, 0x01, 0x11, 0x71]), false],
      ['a declared length over the limit in an 8-byte varint', Buffer.from([0x00, 0xc0, 0, 0, 0, 0, 0x01, 0x11, 0x71]), false],
    ];
    for (const [what, bytes, end] of malformed) {
      const t = await openRawTunnel(url, pki.ca, pki.client('fuzzer'));
      tunnels.push(t);
      if (end) t.stream.end(bytes);
      else t.stream.write(bytes);
      expect({ what, code: await t.closed }).toEqual({ what, code: constants.NGHTTP2_PROTOCOL_ERROR });
      t.close();
    }
    // A client that accepts no DATA (flow-control window 0), so the server's capsules stay queued: the reset does not wait for it.
    const stalled = await openRawTunnel(url, pki.ca, pki.client('fuzzer'), {}, { initialWindowSize: 0 });
    tunnels.push(stalled);
    stalled.stream.end(Buffer.from([0x40]));
    expect(await stalled.closed).toBe(constants.NGHTTP2_PROTOCOL_ERROR);
    stalled.close();
    // Valid streams cut at seeded random points and ended there: a reset exactly when the cut is inside a capsule.
    const r = seededRandom(0x3303);
    let inside = 0;
    for (let i = 0; i < 12; i++) {
      const parts = [validStream(r), validStream(r)];
      const whole = Buffer.concat(parts);
      const cut = i % 3 === 0 ? parts[0]!.length : 1 + Math.floor(r() * (whole.length - 1));
      const parser = new CapsuleParser();
      parser.push(whole.subarray(0, cut));
      const cutInside = parser.buffered > 0;
      if (cutInside) inside++;
      const t = await openRawTunnel(url, pki.ca, pki.client('fuzzer'));
      tunnels.push(t);
      t.stream.end(whole.subarray(0, cut));
      expect({ cut, code: await t.closed }).toEqual({ cut, code: cutInside ? constants.NGHTTP2_PROTOCOL_ERROR : constants.NGHTTP2_NO_ERROR });
      t.close();
    }
    expect(inside).toBeGreaterThan(0);
    const s = await scrapeUntil(server.metricsUrl, 'every malformed stream counted and every address returned', (x) => total(x, 'masque_vpn_ip_pool_used') === 1, { timeoutMs: 10_000 });
    expect(total(s, 'masque_vpn_errors_total', { error_type: 'masque' }) - before).toBe(malformed.length + 1 + inside);
    // A client arriving now is served: address, routes, and an echo through its tunnel.
    const next = await openRawTunnel(url, pki.ca, pki.client('good'));
    tunnels.push(next);
    expect(next.status).toBe(200);
    await pollUntil('an address for the new client', async () => next.capsules.length, (n) => n >= 2, { timeoutMs: 5000, intervalMs: 20 });
    const addr = Array.from(decodeAddressAssign(next.capsules[0]!.value)[0]!.address).join('.');
    next.stream.write(encodeIpDatagram(icmpEcho4(addr, '10.98.0.1', 9, 1, Buffer.alloc(16))));
    await pollUntil('an echo reply to the new client', async () => next.capsules.filter((c) => c.type === CapsuleType.DATAGRAM).length, (n) => n === 1, { timeoutMs: 5000, intervalMs: 10 });
  });
});
