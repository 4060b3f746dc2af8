import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check } from '../check/check-exposition.ts';
import { masqueVpn } from '../../semconv/generated/masque-vpn.ts';
import { scrape, scrapeUntil, total, type SampleLine } from '../../test/exposition.ts';
import { pollUntil } from '../../test/poll.ts';
import { CapsuleType, encodeCapsule } from './capsule.ts';
import { decodeAddressAssign, encodeIpDatagram } from './connect-ip-capsules.ts';
import { runMasqueClient, runMasqueServer, type MasqueClient, type MasqueServer } from './main.ts';
import { makeTestPki, type TestPki } from './testing/certs.ts';
import { MemoryDevice } from './testing/memory-device.ts';
import { icmpEcho4, udp4 } from './testing/packets.ts';
import { openRawTunnel, type RawTunnel } from './testing/raw-tunnel.ts';

// Server and client in this process, over real HTTP/2 + mTLS on loopback, with in-process packet
// devices instead of TUNs (no root): the server's device answers pings and UDP like a host would.

const logger = pino({ level: 'silent' });
const ENV = { OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '1000:1000' };
let pki: TestPki;
let server: MasqueServer;
let alice: MasqueClient;
let aliceDev: MemoryDevice;
let serverDev: MemoryDevice;
let url: string;
const raws: RawTunnel[] = [];

beforeAll(async () => {
  pki = makeTestPki([], ['alice', 'bob']);
  server = await runMasqueServer(
    ['--listen', '127.0.0.1:0', '--pool', '10.99.0.0/29', '--tun', 'mem0', '--cert', pki.serverCert, '--key', pki.serverKey, '--ca', pki.ca, '--metrics', '127.0.0.1:0', '--route', '192.0.2.0/24'],
    ENV,
    { logger, openDevice: async (name, mtu) => (serverDev = new MemoryDevice(name, mtu, { echo: true })) },
  );
  url = `https://127.0.0.1:${server.address.port}`;
  const a = pki.client('alice');
  alice = await runMasqueClient(['--server', url, '--tun', 'memc0', '--cert', a.cert, '--key', a.key, '--ca', pki.ca], ENV, {
    logger,
    openDevice: async (name, mtu) => (aliceDev = new MemoryDevice(name, mtu)),
  });
  if (!alice.client.current()) await alice.client.nextTunnel();
});

afterAll(async () => {
  for (const r of raws) r.close();
  await alice?.close();
  await server?.close();
  pki?.remove();
});

const metrics = async (): Promise<SampleLine[]> => (await scrape(server.metricsUrl)).samples;
const bob = () => pki.client('bob');
async function raw(cert = bob()): Promise<RawTunnel> {
  const t = await openRawTunnel(url, pki.ca, cert);
  raws.push(t);
  return t;
}
async function assigned(t: RawTunnel): Promise<string> {
  const c = await pollUntil('ADDRESS_ASSIGN', async () => t.capsules.find((x) => x.type === CapsuleType.ADDRESS_ASSIGN), (x) => x !== undefined, { timeoutMs: 5000, intervalMs: 20 });
  return Array.from(decodeAddressAssign(c!.value)[0]!.address).join('.');
}

describe('CONNECT-IP over HTTP/2 with mTLS (in-process devices)', () => {
  it('assigns the client an address and advertises the pool and the extra route', () => {
    expect(server.serverAddress).toBe('10.99.0.1');
    expect(aliceDev.addresses).toEqual(['10.99.0.2/32']);
    expect(aliceDev.routes).toEqual(['10.99.0.0/29', '192.0.2.0/24']);
    expect(serverDev.addresses).toEqual(['10.99.0.1/29']);
  });

  it('forwards pings and UDP both ways; the counters equal the packets and bytes sent', async () => {
    const sent: Buffer[] = [];
    for (let i = 0; i < 5; i++) sent.push(icmpEcho4('10.99.0.2', '10.99.0.1', 7, i, Buffer.alloc(56, i)));
    for (let i = 0; i < 3; i++) sent.push(udp4('10.99.0.2', '10.99.0.1', 40000 + i, 7, Buffer.alloc(100 + i, 0x61)));
    for (const p of sent) aliceDev.inject(p);
    await pollUntil('8 replies at the client', async () => aliceDev.written.length, (n) => n >= 8, { timeoutMs: 10_000, intervalMs: 20 });
    expect(aliceDev.written.length).toBe(8);
    // The server forwarded with the TTL decremented; the replies are the echo of each request.
    expect(serverDev.written.map((p) => p[8])).toEqual(new Array(8).fill(63));
    expect(aliceDev.written.map((p) => p.length)).toEqual(sent.map((p) => p.length));
    const bytes = sent.reduce((a, p) => a + p.length, 0);
    const s = await scrapeUntil(server.metricsUrl, 'alice counters', (x) => total(x, 'masque_vpn_packets_sent_total', { client_id: 'alice' }) >= 8);
    expect(total(s, 'masque_vpn_packets_received_total', { client_id: 'alice' })).toBe(8);
    expect(total(s, 'masque_vpn_bytes_received_total', { client_id: 'alice' })).toBe(bytes);
    expect(total(s, 'masque_vpn_packets_sent_total', { client_id: 'alice' })).toBe(8);
    expect(total(s, 'masque_vpn_bytes_sent_total', { client_id: 'alice' })).toBe(bytes);
    expect(total(s, 'masque_vpn_packet_processing_duration_seconds_count', { direction: 'inbound' })).toBe(8);
    expect(total(s, 'masque_vpn_packet_processing_duration_seconds_count', { direction: 'outbound' })).toBe(8);
    expect(total(s, 'masque_vpn_masque_requests_total', { method: 'CONNECT', status: 'success' })).toBe(1);
    expect(total(s, 'masque_vpn_active_connections')).toBe(1);
    expect(total(s, 'masque_vpn_tun_interface_status')).toBe(1);
  });

  it('drops a spoofed source, TTL 1 and an oversized packet by reason; a malformed capsule ends only that stream', async () => {
    const before = await metrics();
    const t = await raw();
    const mine = await assigned(t);
    const spoofed = mine === '10.99.0.5' ? '10.99.0.6' : '10.99.0.5';
    t.stream.write(encodeIpDatagram(udp4(spoofed, '10.99.0.1', 1, 7, Buffer.alloc(8))));
    t.stream.write(encodeIpDatagram(icmpEcho4(mine, '10.99.0.1', 1, 1, Buffer.alloc(8), 1)));
    t.stream.write(encodeIpDatagram(udp4(mine, '10.99.0.1', 1, 7, Buffer.alloc(1500))));
    const d = (s: SampleLine[], reason: string) => total(s, 'masque_vpn_packet_drops_total', { reason }) - total(before, 'masque_vpn_packet_drops_total', { reason });
    const s = await scrapeUntil(server.metricsUrl, 'three drops', (x) => d(x, 'invalid') + d(x, 'oversized') >= 3);
    expect([d(s, 'invalid'), d(s, 'oversized'), d(s, 'processing_error')]).toEqual([2, 1, 0]);
    expect(total(s, 'masque_vpn_packets_received_total', { client_id: 'bob' })).toBe(3);

    // A capsule declaring 2^20 bytes: the stream is reset with PROTOCOL_ERROR (0x1), errors{masque} + 1.
    const huge = Buffer.from([0x00, 0x80, 0x10, 0x00, 0x00]);
    t.stream.write(huge);
    expect(await t.closed).toBe(1);
    const after = await scrapeUntil(server.metricsUrl, 'masque error', (x) => total(x, 'masque_vpn_errors_total', { error_type: 'masque' }) > total(before, 'masque_vpn_errors_total', { error_type: 'masque' }));
    expect(total(after, 'masque_vpn_ip_pool_used')).toBe(1);
    // Alice is still served.
    const n = aliceDev.written.length;
    aliceDev.inject(icmpEcho4('10.99.0.2', '10.99.0.1', 7, 99, Buffer.alloc(56)));
    await pollUntil('alice still gets replies', async () => aliceDev.written.length, (x) => x === n + 1, { timeoutMs: 5000, intervalMs: 20 });
  });

  it('refuses a client when the pool is exhausted, with a clear 503, and reuses returned addresses', async () => {
    const held: RawTunnel[] = [];
    for (let i = 0; i < 4; i++) held.push(await raw());
    const addrs = await Promise.all(held.map(assigned));
    expect(new Set([...addrs, '10.99.0.2']).size).toBe(5);
    const refused = await raw();
    expect(refused.status).toBe(503);
    expect(await refused.body()).toMatch(/IP address pool exhausted: all 5 client addresses are in use/);
    let s = await metrics();
    expect([total(s, 'masque_vpn_ip_pool_total'), total(s, 'masque_vpn_ip_pool_used'), total(s, 'masque_vpn_ip_pool_available')]).toEqual([5, 5, 0]);
    expect(total(s, 'masque_vpn_masque_requests_total', { status: 'failed' })).toBeGreaterThanOrEqual(1);
    // Existing clients keep their addresses; one leaves, its address returns and serves the next one.
    held[0]!.stream.close();
    await held[0]!.closed;
    s = await scrapeUntil(server.metricsUrl, 'address returned', (x) => total(x, 'masque_vpn_ip_pool_available') === 1);
    const again = await raw();
    expect(again.status).toBe(200);
    expect(await assigned(again)).toBe(addrs[0]);
    for (const t of held.slice(1)) t.close();
    again.close();
    await scrapeUntil(server.metricsUrl, 'pool back to alice only', (x) => total(x, 'masque_vpn_ip_pool_used') === 1);
  });

  it('refuses a certificate from another CA and counts errors_total{error_type="auth"}', async () => {
    await expect(openRawTunnel(url, pki.ca, pki.other)).rejects.toThrow();
    await scrapeUntil(server.metricsUrl, 'auth error', (x) => total(x, 'masque_vpn_errors_total', { error_type: 'auth' }) >= 1);
  });

  it('serves all 19 families and passes the compliance check', async () => {
    const { text, samples } = await scrape(server.metricsUrl);
    const families = new Set(samples.map((s) => s.family));
    expect(masqueVpn.families.filter((f) => !families.has(f.name)).map((f) => f.name)).toEqual([]);
    const result = await check(text, { contracts: [masqueVpn] });
    expect(result.violations).toEqual([]);
    expect(result.ok).toBe(true);
  });
});

describe('capsule bytes seen on the wire', () => {
  it('an unknown capsule type is skipped and the tunnel keeps working', async () => {
    const t = await raw();
    const mine = await assigned(t);
    t.stream.write(Buffer.concat([encodeCapsule(0x1f2e, Buffer.from('grease')), encodeIpDatagram(icmpEcho4(mine, '10.99.0.1', 3, 1, Buffer.alloc(16)))]));
    const reply = await pollUntil('echo reply capsule', async () => t.capsules.filter((c) => c.type === CapsuleType.DATAGRAM).length, (n) => n >= 1, { timeoutMs: 5000, intervalMs: 20 });
    expect(reply).toBe(1);
    t.close();
  });
});
