import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masqueVpn } from '../../semconv/generated/masque-vpn.ts';
import { total, type SampleLine } from '../../test/exposition.ts';
import { pollUntil } from '../../test/poll.ts';
import { CLI, findProgram, NODE_BIN, stopAllProcesses, startProcess, type TestProcess } from '../../test/processes.ts';
import { check } from '../check/check-exposition.ts';
import { makeTestPki, type TestPki } from './testing/certs.ts';
import { inNs, Namespaces, removeStaleNamespaces, scrapeInNs } from './testing/netns.ts';

// The real thing, as root: the server with its TUN in one network namespace, clients with theirs in
// others, joined by veth pairs; ping and UDP echo cross CONNECT-IP over HTTP/2 + mTLS, and the
// server's /metrics (on its namespace's loopback) is read with curl inside that namespace.

const PREFIX = 'mq';
const POOL = '10.77.0.0/24';
const SERVER_NET = '10.78.0.0/24';
const TESTING = (f: string) => new URL(`./testing/${f}`, import.meta.url).pathname;
const nss = new Namespaces(PREFIX);
let S = '';
let C = '';
let D = '';
let pki: TestPki;
let server: TestProcess;
const METRICS = 'http://127.0.0.1:8080/metrics';

const masque = (ns: string, name: string, ...args: string[]) => startProcess(name, 'ip', ['netns', 'exec', ns, NODE_BIN, CLI, 'masque-vpn', ...args], { PATH: process.env.PATH, OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '1000:1000' });
const client = (ns: string, name: string, cn: { cert: string; key: string }, tun: string, host: string) =>
  masque(ns, name, 'client', '--server', `https://${host}:8443`, '--tun', tun, '--cert', cn.cert, '--key', cn.key, '--ca', pki.ca);
const metrics = async (): Promise<SampleLine[]> => (await scrapeInNs(S, METRICS)).samples;
const metricsUntil = (what: string, ok: (s: SampleLine[]) => boolean) => pollUntil(what, metrics, ok, { timeoutMs: 15_000, intervalMs: 200, describe: (s) => s.filter((x) => !x.name.includes('bucket')).map((x) => `${x.name}${JSON.stringify(x.labels)} ${x.value}`).join('\n').slice(0, 3000) });

beforeAll(async () => {
  const missing = ['ip', 'ping', 'curl', 'openssl'].filter((c) => !findProgram(c));
  if (missing.length) throw new Error(`the masque netns test needs ${missing.join(', ')}: apt-get install -y iproute2 iputils-ping curl openssl`);
  if (process.getuid?.() !== 0) throw new Error('the masque netns test creates network namespaces and TUN devices and needs root');
  await removeStaleNamespaces(PREFIX);
  S = await nss.add('s');
  C = await nss.add('c');
  D = await nss.add('d');
  await nss.link(S, 'vs0', '10.201.0.1/24', C, 'vc0', '10.201.0.2/24');
  await nss.link(S, 'vs1', '10.201.1.1/24', D, 'vd0', '10.201.1.2/24');
  // The server's own network, reached only through the tunnel.
  await inNs(S, 'ip', 'addr', 'add', '10.78.0.1/32', 'dev', 'lo');
  pki = makeTestPki(['10.201.0.1', '10.201.1.1'], ['client-a', 'client-b']);
  server = masque(S, 'masque server', 'server', '--listen', '0.0.0.0:8443', '--pool', POOL, '--tun', 'mqs0', '--cert', pki.serverCert, '--key', pki.serverKey, '--ca', pki.ca, '--route', SERVER_NET);
  await server.waitForLine(/masque-vpn server listening/, { stream: 'stderr', timeoutMs: 20_000 });
  // UDP echo on the server's TUN address.
  startProcess('udp echo', 'ip', ['netns', 'exec', S, NODE_BIN, TESTING('udp-echo.ts'), '10.77.0.1', '7007']).waitForLine(/listening/);
}, 60_000);

afterAll(async () => {
  await stopAllProcesses(5000);
  await nss.removeAll();
  pki?.remove();
});

describe('masque-vpn between network namespaces (root)', () => {
  let a: TestProcess;

  it('a client gets the first client address, pings and UDP-echoes through the tunnel, and the counters equal what was sent', async () => {
    a = client(C, 'client a', pki.client('client-a'), 'mqc0', '10.201.0.1');
    const up = await a.waitForLine(/tunnel up: (\S+) on mqc0/, { stream: 'stderr', timeoutMs: 20_000 });
    expect(up[1]).toBe('10.77.0.2/32');
    const routes = await inNs(C, 'ip', 'route', 'show', 'dev', 'mqc0');
    expect(routes).toContain('10.77.0.0/24');
    expect(routes).toContain('10.78.0.0/24');

    const ping1 = await inNs(C, 'ping', '-c', '5', '-i', '0.2', '-W', '2', '10.77.0.1');
    expect(ping1).toMatch(/5 packets transmitted, 5 received/);
    // The server's network (an address on its loopback), reached through the tunnel.
    const ping2 = await inNs(C, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '10.78.0.1');
    expect(ping2).toMatch(/3 packets transmitted, 3 received/);
    const udp = JSON.parse(await inNs(C, NODE_BIN, TESTING('udp-probe.ts'), 'echo', '10.77.0.1', '7007', '20', '200')) as { sent: number; received: number };
    expect(udp).toMatchObject({ sent: 20, received: 20 });

    // ping: 20 IP + 8 ICMP + 56 data = 84 bytes; UDP: 20 + 8 + 200 = 228 bytes. Every packet one way has its answer.
    const packets = 5 + 3 + 20;
    const bytes = 8 * 84 + 20 * 228;
    const s = await metricsUntil('the client counters', (x) => total(x, 'masque_vpn_packets_sent_total', { client_id: 'client-a' }) >= packets);
    expect(total(s, 'masque_vpn_packets_received_total', { client_id: 'client-a' })).toBe(packets);
    expect(total(s, 'masque_vpn_bytes_received_total', { client_id: 'client-a' })).toBe(bytes);
    expect(total(s, 'masque_vpn_packets_sent_total', { client_id: 'client-a' })).toBe(packets);
    expect(total(s, 'masque_vpn_bytes_sent_total', { client_id: 'client-a' })).toBe(bytes);
    expect(total(s, 'masque_vpn_packet_drops_total')).toBe(0);
    expect(total(s, 'masque_vpn_tun_interface_status')).toBe(1);
    expect(total(s, 'masque_vpn_active_connections')).toBe(1);
  });

  it('a second client gets a different address, and returns it when it leaves', async () => {
    const b = client(D, 'client b', pki.client('client-b'), 'mqd0', '10.201.1.1');
    const up = await b.waitForLine(/tunnel up: (\S+) on mqd0/, { stream: 'stderr', timeoutMs: 20_000 });
    expect(up[1]).toBe('10.77.0.3/32');
    expect(await inNs(D, 'ping', '-c', '2', '-i', '0.2', '-W', '2', '10.77.0.1')).toMatch(/2 received/);
    let s = await metricsUntil('two addresses in use', (x) => total(x, 'masque_vpn_ip_pool_used') === 2);
    expect([total(s, 'masque_vpn_ip_pool_total'), total(s, 'masque_vpn_ip_pool_available')]).toEqual([253, 251]);
    expect((await b.stop()).code).toBe(0);
    s = await metricsUntil('the address back in the pool', (x) => total(x, 'masque_vpn_ip_pool_used') === 1 && total(x, 'masque_vpn_connection_duration_seconds_count', { client_id: 'client-b' }) === 1);
    expect(total(s, 'masque_vpn_quic_stream_duration_seconds_count', { client_id: 'client-b' })).toBe(1);
  });

  it('refuses a client whose certificate comes from another CA: errors_total{error_type="auth"}', async () => {
    const x = client(D, 'intruder', pki.other, 'mqd1', '10.201.1.1');
    await metricsUntil('an auth error', (s) => total(s, 'masque_vpn_errors_total', { error_type: 'auth' }) >= 1);
    await x.stop();
    expect(x.stderr()).not.toMatch(/tunnel up/);
  });

  it('serves all 19 families from this traffic and passes otel-contracts check; SIGTERM exits cleanly', async () => {
    const { text, samples } = await scrapeInNs(S, METRICS);
    const families = new Set(samples.map((s) => s.family));
    expect(masqueVpn.families.filter((f) => !families.has(f.name)).map((f) => f.name)).toEqual([]);
    const result = await check(text, { contracts: [masqueVpn] });
    expect(result.violations).toEqual([]);
    await a.stop();
    expect((await server.stop()).code).toBe(0);
  });
});
