import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masqueVpn } from '../../semconv/generated/masque-vpn.ts';
import { readExposition, scrape, scrapeUntil, total, type SampleLine } from '../../test/exposition.ts';
import { runMasqueClient, runMasqueServer, type MasqueClient, type MasqueServer } from './main.ts';
import { makeTestPki, type TestPki } from './testing/certs.ts';
import { MemoryDevice } from './testing/memory-device.ts';

// Every documented family from the first scrape: a real server and client over HTTP/2 + mTLS on
// loopback (in-process packet devices). The first scrape after the client's tunnel is up must hold all
// 19 masque_vpn_* families with their documented label keys, and every series whose labels are known by
// then (enum members, the connected client) at 0 or with zero counts, before any packet or any end.

const logger = pino({ level: 'silent' });
const ENV = { OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '1000:1000' };
const A = { client_id: 'alice' };
let pki: TestPki;
let server: MasqueServer;
let alice: MasqueClient;

beforeAll(async () => {
  pki = makeTestPki([], ['alice']);
  server = await runMasqueServer(
    ['--listen', '127.0.0.1:0', '--pool', '10.97.0.0/29', '--tun', 'mem3', '--cert', pki.serverCert, '--key', pki.serverKey, '--ca', pki.ca, '--metrics', '127.0.0.1:0'],
    ENV,
    { logger, openDevice: async (name, mtu) => new MemoryDevice(name, mtu, { echo: true }) },
  );
  const a = pki.client('alice');
  alice = await runMasqueClient(['--server', `https://127.0.0.1:${server.address.port}`, '--tun', 'memc3', '--cert', a.cert, '--key', a.key, '--ca', pki.ca], ENV, {
    logger,
    openDevice: async (name, mtu) => new MemoryDevice(name, mtu),
  });
  if (!alice.client.current()) await alice.client.nextTunnel();
});

afterAll(async () => {
  await alice?.close();
  await server?.close();
  pki?.remove();
});

/** `name{labels}` of a sample, labels sorted: one string per series. */
const seriesKey = (s: Pick<SampleLine, 'name' | 'labels'>) => `${s.name}${JSON.stringify(Object.fromEntries(Object.entries(s.labels).sort()))}`;

describe('every documented family from the first scrape', () => {
  it('with one client connected: all 19 families, their documented label keys, and every known series at 0', async () => {
    const { text } = await scrape(server.metricsUrl);
    const histograms = new Set(masqueVpn.families.filter((f) => f.type === 'histogram').map((f) => f.name));
    const exposition = readExposition(text, histograms);
    const samples = exposition.samples.filter((s) => s.family.startsWith('masque_vpn_'));

    // Every family, with its documented TYPE.
    expect(masqueVpn.families.filter((f) => exposition.type.get(f.name) !== f.type).map((f) => f.name)).toEqual([]);
    // Every sample carries exactly its family's documented label keys (plus `le` on a bucket).
    const documented = new Map<string, string>(masqueVpn.families.map((f) => [f.name, f.labels.map((l) => l.name).sort().join(',')]));
    const keysOf = (s: SampleLine) => Object.keys(s.labels).filter((k) => !(k === 'le' && s.name.endsWith('_bucket'))).sort().join(',');
    expect(samples.filter((s) => keysOf(s) !== documented.get(s.family)).map(seriesKey)).toEqual([]);

    // Every series whose labels are known now, and nothing else: the client's and the enum members'.
    const expected: [string, Record<string, string>, number][] = [
      ['masque_vpn_active_connections', {}, 1],
      ['masque_vpn_total_connections', {}, 1],
      ['masque_vpn_connection_duration_seconds_count', A, 0],
      ['masque_vpn_bytes_sent_total', A, 0],
      ['masque_vpn_bytes_received_total', A, 0],
      ['masque_vpn_packets_sent_total', A, 0],
      ['masque_vpn_packets_received_total', A, 0],
      ['masque_vpn_packet_processing_duration_seconds_count', { direction: 'inbound' }, 0],
      ['masque_vpn_packet_processing_duration_seconds_count', { direction: 'outbound' }, 0],
      ['masque_vpn_quic_stream_duration_seconds_count', A, 0],
      ['masque_vpn_masque_request_duration_seconds_count', { method: 'CONNECT' }, 1],
      ['masque_vpn_ip_pool_total', {}, 5],
      ['masque_vpn_ip_pool_used', {}, 1],
      ['masque_vpn_ip_pool_available', {}, 4],
      ['masque_vpn_tun_interface_status', {}, 1],
      ...(['connection', 'packet', 'auth', 'tun', 'masque'] as const).map((t): [string, Record<string, string>, number] => ['masque_vpn_errors_total', { error_type: t }, 0]),
      ...(['invalid', 'oversized', 'processing_error'] as const).map((r): [string, Record<string, string>, number] => ['masque_vpn_packet_drops_total', { reason: r }, 0]),
      ['masque_vpn_masque_requests_total', { method: 'CONNECT', status: 'success' }, 1],
      ['masque_vpn_masque_requests_total', { method: 'CONNECT', status: 'failed' }, 0],
      ['masque_vpn_quic_streams_total', { ...A, stream_type: 'bidirectional' }, 1],
      ['masque_vpn_quic_streams_total', { ...A, stream_type: 'unidirectional' }, 0],
    ];
    const got = new Map(samples.filter((s) => !/_(bucket|sum)$/.test(s.name) && s.name !== 'masque_vpn_server_uptime_seconds').map((s) => [seriesKey(s), s.value]));
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected.map(([name, labels, v]) => [seriesKey({ name, labels }), v])));
    // A histogram started with zero counts has every bucket at 0.
    expect(samples.filter((s) => s.name === 'masque_vpn_connection_duration_seconds_bucket').map((s) => s.value)).toEqual(new Array(12).fill(0));
    expect(samples.filter((s) => s.name === 'masque_vpn_server_uptime_seconds').length).toBe(1);
  });

  it('when the client leaves, its connection and stream durations are observed and it is no longer active', async () => {
    await alice.close();
    const s = await scrapeUntil(server.metricsUrl, 'the connection ended', (x) => total(x, 'masque_vpn_active_connections') === 0 && total(x, 'masque_vpn_connection_duration_seconds_count', A) === 1);
    expect(total(s, 'masque_vpn_quic_stream_duration_seconds_count', A)).toBe(1);
    expect(total(s, 'masque_vpn_total_connections')).toBe(1);
    expect(total(s, 'masque_vpn_ip_pool_used')).toBe(0);
  });
});
