import { constants } from 'node:http2';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { find, scrape, scrapeUntil, total } from '../../test/exposition.ts';
import { pollUntil } from '../../test/poll.ts';
import { runMasqueClient, runMasqueServer, type MasqueClient, type MasqueServer } from './main.ts';
import { makeTestPki, type TestPki } from './testing/certs.ts';
import { MemoryDevice } from './testing/memory-device.ts';
import { openRawTunnel, type RawTunnel } from './testing/raw-tunnel.ts';

// A pool of one client address and two clients, over real HTTP/2 + mTLS on loopback (in-process packet
// devices): the second client's CONNECT-IP is refused with 503, its stream is closed by the server, and
// it never counts as an active (or any) VPN connection; once the first client leaves, the second one
// gets the address.

const logger = pino({ level: 'silent' });
const ENV = { OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '1000:1000' };
let pki: TestPki;
let server: MasqueServer;
let url: string;
const clients: MasqueClient[] = [];
const raws: RawTunnel[] = [];

async function startClient(cn: string): Promise<MasqueClient> {
  const c = pki.client(cn);
  const client = await runMasqueClient(['--server', url, '--tun', `mem-${cn}`, '--cert', c.cert, '--key', c.key, '--ca', pki.ca], ENV, { logger, openDevice: async (name, mtu) => new MemoryDevice(name, mtu) });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  pki = makeTestPki([], ['alice', 'bob']);
  // A /30: the server takes .1, and .2 is the only client address.
  server = await runMasqueServer(
    ['--listen', '127.0.0.1:0', '--pool', '10.96.0.0/30', '--tun', 'mem4', '--cert', pki.serverCert, '--key', pki.serverKey, '--ca', pki.ca, '--metrics', '127.0.0.1:0'],
    ENV,
    { logger, openDevice: async (name, mtu) => new MemoryDevice(name, mtu, { echo: true }) },
  );
  url = `https://127.0.0.1:${server.address.port}`;
  const alice = await startClient('alice');
  if (!alice.client.current()) await alice.client.nextTunnel();
});

afterAll(async () => {
  for (const r of raws) r.close();
  for (const c of clients) await c.close();
  await server?.close();
  pki?.remove();
});

describe('CONNECT-IP with the address pool exhausted', () => {
  it('is answered 503, its stream closed by the server, and it is not counted as a connection', async () => {
    const bob = await openRawTunnel(url, pki.ca, pki.client('bob'));
    raws.push(bob);
    expect(bob.status).toBe(503);
    expect(await bob.body()).toBe('IP address pool exhausted: all 1 client addresses are in use\n');
    // Bob keeps his side open; the server resets the stream with NO_ERROR once its answer is sent.
    expect(await bob.closed).toBe(constants.NGHTTP2_NO_ERROR);
    expect(bob.session.closed).toBe(false);
    const s = await scrapeUntil(server.metricsUrl, "bob's stream ended", (x) => total(x, 'masque_vpn_quic_stream_duration_seconds_count', { client_id: 'bob' }) === 1);
    expect(total(s, 'masque_vpn_active_connections')).toBe(1);
    expect(total(s, 'masque_vpn_total_connections')).toBe(1);
    expect([total(s, 'masque_vpn_ip_pool_used'), total(s, 'masque_vpn_ip_pool_available')]).toEqual([1, 0]);
    expect(total(s, 'masque_vpn_masque_requests_total', { status: 'success' })).toBe(1);
    expect(total(s, 'masque_vpn_masque_requests_total', { status: 'failed' })).toBe(1);
    // Bob never had a VPN connection, so none of its series exist.
    expect(find(s, 'masque_vpn_connection_duration_seconds_count', { client_id: 'bob' })).toEqual([]);
    expect(find(s, 'masque_vpn_packets_received_total', { client_id: 'bob' })).toEqual([]);
    expect(server.tunnels()).toBe(1);
  });

  it('a second real client retries while the pool is full without ever counting as active, and gets the address when the first leaves', async () => {
    const bob = await startClient('bob');
    await pollUntil('bob refused twice', async () => bob.client.stats.refused, (n) => n >= 2, { timeoutMs: 10_000, intervalMs: 20 });
    let s = (await scrape(server.metricsUrl)).samples;
    expect(total(s, 'masque_vpn_active_connections')).toBe(1);
    // total_connections counts every VPN connection ever begun: none was begun for bob's attempts.
    expect(total(s, 'masque_vpn_total_connections')).toBe(1);
    expect(total(s, 'masque_vpn_masque_requests_total', { status: 'failed' })).toBeGreaterThanOrEqual(3);

    await clients[0]!.close();
    const up = await pollUntil("bob's tunnel", async () => bob.client.current(), (t) => t !== undefined, { timeoutMs: 15_000, intervalMs: 20 });
    expect(up!.address).toBe('10.96.0.2/32');
    s = await scrapeUntil(server.metricsUrl, 'bob connected', (x) => total(x, 'masque_vpn_total_connections') === 2);
    expect(total(s, 'masque_vpn_active_connections')).toBe(1);
    expect(total(s, 'masque_vpn_connection_duration_seconds_count', { client_id: 'alice' })).toBe(1);
    expect(total(s, 'masque_vpn_connection_duration_seconds_count', { client_id: 'bob' })).toBe(0);
    expect([total(s, 'masque_vpn_ip_pool_used'), total(s, 'masque_vpn_ip_pool_available')]).toEqual([1, 0]);
  });
});
