import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthoritative, type Authoritative } from './testing/authoritative.ts';
import { scrape, total } from '../../test/exposition.ts';
import { addresses, query, udpQuery } from './testing/dns-client.ts';
import { startSidecar, type TestSidecar } from './testing/harness.ts';
import { seededRandom } from '../../test/prng.ts';

// 10k bad packets at the UDP port: every one dropped without an answer and counted in
// otel_contracts_dns_packets_dropped_total, and the proxy still answers afterwards.

const TOTAL = 10_000;
const BATCH = 25;
const TIME_CAP_MS = 60_000;


type Kind = 'random' | 'truncated' | 'oversized' | 'pointer_loop' | 'response' | 'opcode' | 'qdcount' | 'label_type' | 'long_name' | 'trailing' | 'missing_records' | 'label_overrun' | 'two_opts';
const KINDS: readonly Kind[] = ['random', 'truncated', 'oversized', 'pointer_loop', 'response', 'opcode', 'qdcount', 'label_type', 'long_name', 'trailing', 'missing_records', 'label_overrun', 'two_opts'];

function header(rand: () => number, flags: number, qd: number, an = 0, ns = 0, ar = 0): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(Math.floor(rand() * 65536), 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6);
  h.writeUInt16BE(ns, 8);
  h.writeUInt16BE(ar, 10);
  return h;
}

const TAIL = Buffer.from([0, 1, 0, 1]); // qtype A, qclass IN

function badPacket(kind: Kind, rand: () => number): Buffer {
  const valid = query(`f${Math.floor(rand() * 1e6)}.example.test`, 1, 'A', 1232);
  switch (kind) {
    case 'random': {
      const b = Buffer.alloc(Math.floor(rand() * 700));
      for (let i = 0; i < b.length; i++) b[i] = Math.floor(rand() * 256);
      return b;
    }
    case 'truncated':
      return valid.subarray(0, Math.floor(rand() * valid.length));
    case 'oversized': {
      const b = Buffer.alloc(4097 + Math.floor(rand() * 4000));
      valid.copy(b);
      return b;
    }
    case 'pointer_loop': {
      const variants = [
        Buffer.from([0xc0, 12]), // points at itself
        Buffer.from([3, 0x61, 0x62, 0x63, 0xc0, 12]), // label, then back to its own start
        Buffer.from([0xc0, 14, 0xc0, 12]), // forward pointer, then back
        Buffer.from([1, 0x61, 0xc0, 0x3f]), // pointer past the end
      ];
      return Buffer.concat([header(rand, 0x0100, 1), variants[Math.floor(rand() * variants.length)] as Buffer, TAIL]);
    }
    case 'response': {
      const b = Buffer.from(valid);
      b[2] = (b[2] as number) | 0x80;
      return b;
    }
    case 'opcode': {
      const b = Buffer.from(valid);
      b[2] = ((b[2] as number) & 0x87) | ((1 + Math.floor(rand() * 15)) << 3);
      return b;
    }
    case 'qdcount': {
      const b = Buffer.from(valid);
      b.writeUInt16BE(rand() < 0.5 ? 0 : 2 + Math.floor(rand() * 100), 4);
      return b;
    }
    case 'label_type':
      return Buffer.concat([header(rand, 0x0100, 1), Buffer.from([rand() < 0.5 ? 0x41 : 0x81, 0x61, 0]), TAIL]);
    case 'long_name': {
      const label = Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)]);
      return Buffer.concat([header(rand, 0x0100, 1), label, label, label, label, label, Buffer.from([0]), TAIL]);
    }
    case 'trailing':
      return Buffer.concat([valid, Buffer.alloc(1 + Math.floor(rand() * 20), 0xff)]);
    case 'missing_records': {
      const b = Buffer.from(valid);
      b.writeUInt16BE(2 + Math.floor(rand() * 10), 10); // ARCOUNT says more records than there are
      return b;
    }
    case 'label_overrun':
      return Buffer.concat([header(rand, 0x0100, 1), Buffer.from([50, 0x61, 0x62])]);
    case 'two_opts': {
      const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
      const b = Buffer.concat([valid, opt]);
      b.writeUInt16BE(2, 10);
      return b;
    }
  }
}

let up: Authoritative;
let t: TestSidecar;

beforeAll(async () => {
  up = await startAuthoritative();
  t = await startSidecar([`127.0.0.1:${up.port}`]);
});

afterAll(async () => {
  await t?.sidecar.close();
  await up?.close();
});

describe('egress sidecar: fuzzed UDP input', () => {
  it(`drops and counts ${TOTAL} random, truncated, oversized and pointer-loop packets, and keeps answering`, async () => {
    const rand = seededRandom(0x0e9e55);
    const before = (await scrape(t.metricsUrl)).samples;
    const dropped = (s: typeof before, reason?: string) => total(s, 'otel_contracts_dns_packets_dropped_total', reason ? { reason } : {});
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const unexpected: Buffer[] = [];
    let waiting: ((msg: Buffer) => void) | undefined;
    socket.on('message', (msg) => {
      if (waiting && msg.readUInt16BE(0) === 0xbeef) waiting(msg);
      else unexpected.push(msg);
    });
    const probe = query('probe.example.test', 0xbeef);
    const sendProbe = () =>
      new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the proxy stopped answering during the fuzz run')), 5000);
        waiting = (msg) => {
          clearTimeout(timer);
          waiting = undefined;
          resolve(msg);
        };
        socket.send(probe, t.dnsPort, '127.0.0.1');
      });

    const started = Date.now();
    const byKind = new Map<Kind, number>();
    let sent = 0;
    let probes = 0;
    while (sent < TOTAL && Date.now() - started < TIME_CAP_MS) {
      const batch = Math.min(BATCH, TOTAL - sent);
      for (let i = 0; i < batch; i++) {
        const kind = KINDS[(sent + i) % KINDS.length] as Kind;
        byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
        await new Promise<void>((resolve) => socket.send(badPacket(kind, rand), t.dnsPort, '127.0.0.1', () => resolve()));
      }
      sent += batch;
      // The probe answer comes after everything sent before it was read off the socket.
      const answer = dnsPacket.decode(await sendProbe());
      probes++;
      expect(addresses(answer)).toEqual(['192.0.2.1']);
    }
    socket.close();
    expect(sent).toBe(TOTAL);
    expect(unexpected).toHaveLength(0);

    const after = (await scrape(t.metricsUrl)).samples;
    expect(dropped(after) - dropped(before)).toBe(TOTAL);
    expect(dropped(after, 'oversized') - dropped(before, 'oversized')).toBe(byKind.get('oversized'));
    expect(dropped(after, 'not_a_query') - dropped(before, 'not_a_query')).toBeGreaterThanOrEqual((byKind.get('response') ?? 0) + (byKind.get('opcode') ?? 0));
    expect(dropped(after, 'malformed') - dropped(before, 'malformed')).toBeGreaterThanOrEqual(
      (['truncated', 'pointer_loop', 'qdcount', 'label_type', 'long_name', 'trailing', 'missing_records', 'label_overrun', 'two_opts'] as const).reduce((n, k) => n + (byKind.get(k) ?? 0), 0),
    );
    const q = (s: typeof before, result: string) => total(s, 'opensandbox_egress_dns_queries_total', { result });
    expect(q(after, 'allowed') - q(before, 'allowed')).toBe(probes);
    expect(q(after, 'denied') - q(before, 'denied')).toBe(0);
    expect(q(after, 'forward_error') - q(before, 'forward_error')).toBe(0);

    // Still answering, over UDP and after the run.
    expect(addresses(await udpQuery(t.dnsPort, query('after.example.test')))).toEqual(['192.0.2.1']);
    expect(t.sidecar.pendingQueries()).toBe(0);
  }, 2 * TIME_CAP_MS); // its own timeout, above the time cap of the loop (the unit default, 30 s, is below it)

  it('drops oversized and short TCP frames and closes a connection that announces an oversized query', async () => {
    const { connect } = await import('node:net');
    const before = (await scrape(t.metricsUrl)).samples;
    await new Promise<void>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: t.dnsPort });
      s.on('error', reject);
      s.on('connect', () => {
        s.write(Buffer.from([0, 3, 1, 2, 3])); // 3-byte message: malformed, connection stays
        s.write(Buffer.from([0xff, 0xff])); // 65535-byte frame: oversized, connection closed
      });
      s.on('close', () => resolve());
    });
    const after = (await scrape(t.metricsUrl)).samples;
    const d = (s: typeof before, reason: string) => total(s, 'otel_contracts_dns_packets_dropped_total', { reason });
    expect(d(after, 'malformed') - d(before, 'malformed')).toBe(1);
    expect(d(after, 'oversized') - d(before, 'oversized')).toBe(1);
  });
});
