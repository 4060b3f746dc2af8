import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExposition, scrape, scrapeUntil, total, type SampleLine } from '../../test/exposition.ts';
import { freePort } from '../../test/ports.ts';
import { CLI, NODE_BIN, runProcess, stopAllProcesses } from '../../test/processes.ts';
import { trc } from '../../semconv/generated/trc.ts';
import { selfSignedCert, startEchoBackend, startHttpBackend, type Backend } from '../ops-proxy/testing/backends.ts';
import { httpGet, openEcho, tcpExchange } from '../ops-proxy/testing/clients.ts';
import { startTagBackend, type TagBackend } from './testing/backends.ts';
import { captureClientHello, closedByEdge, openTlsLines, tlsLine, tlsRefused } from './testing/clients.ts';
import { routesDir, startEdge, type EdgeProcess, type RoutesDir } from './testing/edge.ts';

// One edge as a child process with a TLS, an HTTP and a TCP listener in front of real backends. Real
// clients (Node's TLS client with servername, `openssl s_client`, raw sockets) reach the backends their
// SNI or Host names, and every documented series moves by exactly what each connection should add.

const EDGE_FAMILIES = trc.families.filter((f) => f.name.startsWith('trc_edge_')).map((f) => f.name);
const HISTOGRAMS = new Set(EDGE_FAMILIES.filter((n) => n.endsWith('_seconds')));

let edge: EdgeProcess;
let dir: RoutesDir;
let alpha: TagBackend;
let beta: TagBackend;
let web: Backend;
let echo: Backend;
let ca: string;
let caFile: string;
let tls: number;

/** Samples of one scrape, and a reader of deltas against an earlier one. */
async function delta(before: SampleLine[]): Promise<(name: string, labels?: Record<string, string>) => number> {
  const after = (await scrape(edge.metricsUrl)).samples;
  return (name, labels = {}) => total(after, name, labels) - total(before, name, labels);
}

beforeAll(async () => {
  const a = selfSignedCert(['alpha.backend', 'app.test', 'x.wild.test', 'rr.test']);
  const b = selfSignedCert(['beta.backend', 'rr.test']);
  ca = `${a.cert}${b.cert}`;
  [alpha, beta, web, echo] = await Promise.all([startTagBackend('alpha', a), startTagBackend('beta', b), startHttpBackend('web'), startEchoBackend()]);
  const closed = await freePort();
  dir = routesDir({
    routes: [
      { id: 'app', sni: 'app.test', protocol_hint: 'tls', backends: [`127.0.0.1:${alpha.port}`] },
      { id: 'wild', sni: '*.wild.test', protocol_hint: 'tls', backends: [`127.0.0.1:${alpha.port}`] },
      { id: 'rr', sni: 'rr.test', protocol_hint: 'tls', backends: [`127.0.0.1:${alpha.port}`, `127.0.0.1:${beta.port}`] },
      // Nothing listens there; health checks every minute, two failures to go down: it stays in rotation.
      { id: 'refused', sni: 'refused.test', protocol_hint: 'tls', backends: [`127.0.0.1:${closed}`] },
      { id: 'web', sni: 'web.test', protocol_hint: 'http', backends: [`127.0.0.1:${web.port}`] },
      { id: 'db', protocol_hint: 'tcp', backends: [`127.0.0.1:${echo.port}`] },
    ],
    listeners_default: 'db',
    health: { interval_ms: 60_000, timeout_ms: 1000, unhealthy_after: 2, healthy_after: 1 },
  });
  caFile = join(dir.path, '..', 'ca.pem');
  writeFileSync(caFile, a.cert);
  edge = await startEdge('edge', dir.path, ['--listen', '127.0.0.1:0', '--listen', 'http=127.0.0.1:0', '--listen', 'tcp=127.0.0.1:0', '--sniff-timeout-ms', '400'], { TRC_NODE_ID: 'edge-node-1' });
  tls = edge.port('tls');
});

afterAll(async () => {
  await stopAllProcesses();
  await Promise.all([alpha?.close(), beta?.close(), web?.close(), echo?.close()]);
  dir?.remove();
});

describe('trc edge: the first scrape', () => {
  it('holds all 12 edge families, every series known in advance at 0, node_id on each and route_id on none', async () => {
    const { text } = await scrape(edge.metricsUrl);
    const exp = readExposition(text, HISTOGRAMS);
    expect(EDGE_FAMILIES).toHaveLength(12);
    for (const f of EDGE_FAMILIES) expect(exp.type.has(f), f).toBe(true);
    // The edge's part of the trc contract only: no control-plane, scheduler or agent family.
    expect([...exp.type.keys()].filter((n) => n.startsWith('trc_') && !n.startsWith('trc_edge_'))).toEqual([]);
    const s = exp.samples.filter((x) => x.family.startsWith('trc_edge_'));
    for (const x of s) {
      expect(x.labels.node_id, x.name).toBe('edge-node-1');
      expect(Object.keys(x.labels)).not.toContain('route_id');
    }
    const one = (name: string, labels: Record<string, string> = {}) => {
      const m = s.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
      expect(m, `${name}${JSON.stringify(labels)}`).toHaveLength(1);
      return m[0]?.value;
    };
    for (const port of [tls, edge.port('http'), edge.port('tcp')].map(String)) {
      for (const result of ['success', 'failure']) expect(one('trc_edge_connections_total', { listener_port: port, result })).toBe(0);
      expect(one('trc_edge_concurrent_connections', { listener_port: port })).toBe(0);
    }
    for (const result of ['ok', 'timeout', 'not_tls', 'no_sni']) {
      expect(one('trc_edge_sni_sniffs_total', { result })).toBe(0);
      expect(one('trc_edge_sni_sniff_seconds_count', { result })).toBe(0);
    }
    for (const reason of ['no_backend', 'refused', 'timeout', 'unreachable', 'reset']) expect(one('trc_edge_upstream_connect_failures_total', { reason })).toBe(0);
    expect(one('trc_edge_config_apply_total', { result: 'success' })).toBe(1);
    expect(one('trc_edge_config_apply_total', { result: 'error' })).toBe(0);
    expect(one('trc_edge_config_apply_seconds_count', { result: 'success' })).toBe(1);
    expect(one('trc_edge_routes_loaded')).toBe(6);
    expect(one('trc_edge_proxy_v2_enabled_routes')).toBe(0);
    for (const result of ['success', 'failure']) expect(one('trc_edge_proxy_v2_injections_total', { result })).toBe(0);
    // (route, backend) pairs: alpha in app, wild and rr; beta in rr; the closed port; web; db.
    expect(one('trc_edge_backends_active_total')).toBe(7);
    expect([one('trc_edge_backends_active_by_protocol', { protocol_hint: 'tls' }), one('trc_edge_backends_active_by_protocol', { protocol_hint: 'http' }), one('trc_edge_backends_active_by_protocol', { protocol_hint: 'tcp' })]).toEqual([5, 1, 1]);
  });
});

describe('trc edge: compliance', () => {
  it('`otel-contracts check --contract trc --component edge` against its /metrics is clean', async () => {
    const r = await runProcess('check', NODE_BIN, [CLI, 'check', '--contract', 'trc', '--component', 'edge', edge.metricsUrl], {}, { timeoutMs: 30_000 });
    expect(r.code, r.describe).toBe(0);
    expect(r.stdout).toMatch(/12 required/);
    expect(r.stdout).toMatch(/OK: no violations/);
  });
});

describe('trc edge: routing by SNI', () => {
  it('TLS clients reach the backend their SNI names: exact, wildcard, round robin; each counts ok and success once', async () => {
    const before = (await scrape(edge.metricsUrl)).samples;
    expect(await tlsLine(tls, 'app.test', ca)).toBe('alpha sni=app.test proxy=- got=hello');
    expect(await tlsLine(tls, 'x.wild.test', ca)).toBe('alpha sni=x.wild.test proxy=- got=hello');
    const rr = [];
    for (let i = 0; i < 4; i++) rr.push((await tlsLine(tls, 'rr.test', ca)).split(' ')[0]);
    expect(rr).toEqual(['alpha', 'beta', 'alpha', 'beta']);
    const d = await delta(before);
    expect(d('trc_edge_connections_total', { listener_port: String(tls), result: 'success' })).toBe(6);
    expect(d('trc_edge_connections_total', { result: 'failure' })).toBe(0);
    expect(d('trc_edge_sni_sniffs_total', { result: 'ok' })).toBe(6);
    expect(d('trc_edge_sni_sniff_seconds_count', { result: 'ok' })).toBe(6);
    expect(d('trc_edge_sni_sniffs_total')).toBe(6);
    expect(d('trc_edge_upstream_connect_failures_total')).toBe(0);
  });

  it('openssl s_client reaches the backend its -servername names, and verifies its certificate', async () => {
    const before = (await scrape(edge.metricsUrl)).samples;
    const r = await runProcess('openssl', 'openssl', ['s_client', '-connect', `127.0.0.1:${tls}`, '-servername', 'app.test', '-CAfile', caFile, '-verify_return_error', '-brief'], {}, { timeoutMs: 15_000 });
    expect(r.code, r.describe).toBe(0);
    expect(r.stderr).toMatch(/Peer certificate: CN = alpha\.backend/);
    expect(r.stderr).toMatch(/Verification: OK/);
    const d = await delta(before);
    expect(d('trc_edge_connections_total', { listener_port: String(tls), result: 'success' })).toBe(1);
    expect(d('trc_edge_sni_sniffs_total', { result: 'ok' })).toBe(1);
  });

  it('a ClientHello split over many TLS records and TCP segments is read whole and routed', async () => {
    const before = (await scrape(edge.metricsUrl)).samples;
    expect(await tlsLine(tls, 'app.test', ca, { split: { recordBytes: 100, segmentBytes: 50 } })).toBe('alpha sni=app.test proxy=- got=hello');
    const d = await delta(before);
    expect([d('trc_edge_sni_sniffs_total', { result: 'ok' }), d('trc_edge_connections_total', { result: 'success' })]).toEqual([1, 1]);
  });

  it('concurrent_connections counts an open connection on its listener until it closes', async () => {
    const c = await openTlsLines(tls, 'app.test', ca);
    await c.ask('one');
    const open = await scrapeUntil(edge.metricsUrl, 'one open connection', (s) => total(s, 'trc_edge_concurrent_connections', { listener_port: String(tls) }) === 1);
    expect(total(open, 'trc_edge_concurrent_connections')).toBe(1);
    c.close();
    await scrapeUntil(edge.metricsUrl, 'no open connection', (s) => total(s, 'trc_edge_concurrent_connections') === 0);
  });
});

describe('trc edge: each sniff result and each refusal moves exactly its series', () => {
  it('not_tls: plain bytes on the TLS listener', async () => {
    const before = (await scrape(edge.metricsUrl)).samples;
    await closedByEdge(tls, Buffer.from('GET / HTTP/1.1\r\nHost: app.test\r\n\r\n'));
    const d = await delta(before);
    expect([d('trc_edge_sni_sniffs_total', { result: 'not_tls' }), d('trc_edge_sni_sniffs_total')]).toEqual([1, 1]);
    expect(d('trc_edge_sni_sniff_seconds_count', { result: 'not_tls' })).toBe(1);
    expect([d('trc_edge_connections_total', { listener_port: String(tls), result: 'failure' }), d('trc_edge_connections_total', { result: 'success' })]).toEqual([1, 0]);
  });

  it('no_sni: a ClientHello without server_name', async () => {
    const before = (await scrape(edge.metricsUrl)).samples;
    await tlsRefused(tls);
    const d = await delta(before);
    expect([d('trc_edge_sni_sniffs_total', { result: 'no_sni' }), d('trc_edge_sni_sniffs_total')]).toEqual([1, 1]);
    expect(d('trc_edge_connections_total', { result: 'failure' })).toBe(1);
  });

  it('timeout: a connection that sends nothing is closed at --sniff-timeout-ms and counted once', async () => {
    const before = (await scrape(edge.metricsUrl)).samples;
    await closedByEdge(tls, Buffer.alloc(0), { boundMs: 5000 });
    // The count lands as the edge closes; on a busy machine the scrape can come first.
    await scrapeUntil(edge.metricsUrl, 'the timeout counted', (s) => total(s, 'trc_edge_sni_sniffs_total', { result: 'timeout' }) > total(before, 'trc_edge_sni_sniffs_total', { result: 'timeout' }));
    const d = await delta(before);
    expect([d('trc_edge_sni_sniffs_total', { result: 'timeout' }), d('trc_edge_sni_sniffs_total')]).toEqual([1, 1]);
    // The deadline is 0.4 s; Node's timers may fire up to a millisecond before it.
    expect(d('trc_edge_sni_sniff_seconds_sum', { result: 'timeout' })).toBeGreaterThanOrEqual(0.39);
    expect(d('trc_edge_connections_total', { result: 'failure' })).toBe(1);
  });

  it('a truncated, an oversized and an over-split ClientHello are not_tls; an unknown SNI is ok but fails', async () => {
    const hello = await captureClientHello('app.test');
    const before = (await scrape(edge.metricsUrl)).samples;
    await closedByEdge(tls, hello.subarray(0, 40), { end: true });
    // One full-size record whose ClientHello says it is 64 KiB long: more than one record can hold.
    const oversized = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x01, 0x00, 0x00]), Buffer.alloc(16380)]);
    await closedByEdge(tls, oversized);
    // 65 records of one byte each: more than the reader takes.
    const body = hello.subarray(5);
    await closedByEdge(tls, Buffer.concat(Array.from({ length: 65 }, (_, i) => Buffer.from([0x16, 0x03, 0x01, 0x00, 0x01, body[i] as number]))));
    await tlsRefused(tls, 'nobody.test');
    const d = await delta(before);
    expect(d('trc_edge_sni_sniffs_total', { result: 'not_tls' })).toBe(3);
    expect(d('trc_edge_sni_sniffs_total', { result: 'ok' })).toBe(1);
    expect(d('trc_edge_connections_total', { result: 'failure' })).toBe(4);
    expect(d('trc_edge_upstream_connect_failures_total')).toBe(0);
  });

  it('a refused backend counts reason="refused" and a failed connection, nothing else', async () => {
    const before = (await scrape(edge.metricsUrl)).samples;
    await tlsRefused(tls, 'refused.test');
    const d = await delta(before);
    expect(d('trc_edge_upstream_connect_failures_total', { reason: 'refused' })).toBe(1);
    expect(d('trc_edge_upstream_connect_failures_total')).toBe(1);
    expect([d('trc_edge_connections_total', { result: 'failure' }), d('trc_edge_connections_total', { result: 'success' })]).toEqual([1, 0]);
    expect(d('trc_edge_sni_sniffs_total', { result: 'ok' })).toBe(1);
    expect(d('trc_edge_backends_active_total')).toBe(0);
  });
});

describe('trc edge: HTTP and TCP listeners', () => {
  it('an HTTP listener routes by Host; an unknown Host gets a 502; neither is an SNI sniff', async () => {
    const http = String(edge.port('http'));
    const before = (await scrape(edge.metricsUrl)).samples;
    const ok = await httpGet(Number(http), 'web.test:80', '/x');
    expect([ok.status, ok.body]).toEqual([200, 'web GET /x host=web.test:80']);
    const bad = await httpGet(Number(http), 'nope.test');
    expect([bad.status, bad.body]).toEqual([502, 'trc-edge: no route for this host\n']);
    const d = await delta(before);
    expect([d('trc_edge_connections_total', { listener_port: http, result: 'success' }), d('trc_edge_connections_total', { listener_port: http, result: 'failure' })]).toEqual([1, 1]);
    expect(d('trc_edge_sni_sniffs_total')).toBe(0);
  });

  it('a TCP listener sends everything to listeners_default', async () => {
    const tcp = String(edge.port('tcp'));
    const before = (await scrape(edge.metricsUrl)).samples;
    const c = await openEcho(Number(tcp));
    await c.roundTrip(Buffer.from('ping'));
    c.socket.destroy();
    const d = await delta(before);
    expect(d('trc_edge_connections_total', { listener_port: tcp, result: 'success' })).toBe(1);
    expect(d('trc_edge_sni_sniffs_total')).toBe(0);
  });

  it('a client that half-closes while its backend is being connected still gets the answer and the close', async () => {
    // Bytes then FIN at once: the FIN is read while the edge dials the backend, and must reach it.
    expect((await tcpExchange(edge.port('tcp'), 'half-closed')).toString()).toBe('half-closed');
    const hello = await captureClientHello('app.test');
    const before = (await scrape(edge.metricsUrl)).samples;
    await closedByEdge(tls, hello, { end: true });
    const d = await delta(before);
    expect(d('trc_edge_connections_total', { listener_port: String(tls), result: 'success' })).toBe(1);
  });
});
