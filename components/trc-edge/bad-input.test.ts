import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape, scrapeUntil, total, type SampleLine } from '../../test/exposition.ts';
import { delay } from '../../test/poll.ts';
import { seededRandom } from '../../test/prng.ts';
import { stopAllProcesses } from '../../test/processes.ts';
import { selfSignedCert } from '../ops-proxy/testing/backends.ts';
import { startTagBackend, type TagBackend } from './testing/backends.ts';
import { captureClientHello, closedByEdge, openTlsLines, tlsLine, tlsRefused, type TlsLines } from './testing/clients.ts';
import { routesDir, startEdge, type EdgeProcess, type RoutesDir } from './testing/edge.ts';

// Bad input on a real edge process with small limits (20 unauthenticated, 1 s sniff deadline, 3
// established): slowloris, a flood of silent connections, established connections past their cap, and a
// seeded fuzz of random bytes and mutated ClientHellos. Each connection is closed and counted exactly
// once, established connections are never cut, and the edge keeps serving.

const SNIFF_MS = 1000;
let edge: EdgeProcess;
let alpha: TagBackend;
let dir: RoutesDir;
let ca: string;
let port: number;

beforeAll(async () => {
  const pem = selfSignedCert(['alpha.backend', 'app.test']);
  ca = pem.cert;
  alpha = await startTagBackend('alpha', pem);
  dir = routesDir({ routes: [{ id: 'app', sni: 'app.test', protocol_hint: 'tls', backends: [`127.0.0.1:${alpha.port}`] }], health: { interval_ms: 60_000 } });
  edge = await startEdge('edge', dir.path, ['--max-unauthenticated', '20', '--sniff-timeout-ms', String(SNIFF_MS), '--max-connections', '3']);
  port = edge.port();
});

afterAll(async () => {
  await stopAllProcesses();
  await alpha?.close();
  dir?.remove();
});

const d = (after: SampleLine[], before: SampleLine[], name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);

describe('trc edge: bad input', () => {
  it('slowloris: a ClientHello trickled a byte at a time is cut at the deadline from accept, not kept alive by each byte', async () => {
    const hello = await captureClientHello('app.test');
    const before = (await scrape(edge.metricsUrl)).samples;
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    const closed = new Promise<number>((r) => s.once('close', () => r(performance.now())));
    await new Promise((r) => s.once('connect', r));
    const t0 = performance.now();
    // One byte every 50 ms: the whole ClientHello would take tens of seconds. Bounded by its length.
    for (let i = 0; i < hello.length && !s.destroyed; i++) {
      s.write(hello.subarray(i, i + 1));
      await delay(50);
    }
    const took = (await closed) - t0;
    expect(took).toBeGreaterThanOrEqual(SNIFF_MS - 50);
    expect(took).toBeLessThan(SNIFF_MS + 2000);
    const after = (await scrape(edge.metricsUrl)).samples;
    expect(d(after, before, 'trc_edge_sni_sniffs_total', { result: 'timeout' })).toBe(1);
    expect(d(after, before, 'trc_edge_sni_sniffs_total')).toBe(1);
    expect(d(after, before, 'trc_edge_connections_total', { result: 'failure' })).toBe(1);
  });

  it('a flood of silent connections evicts the oldest unauthenticated ones; established connections are never cut, and past their cap a new one is refused', async () => {
    const established: TlsLines[] = [];
    for (let i = 0; i < 3; i++) established.push(await openTlsLines(port, 'app.test', ca));
    const before = (await scrape(edge.metricsUrl)).samples;
    // A fourth routed connection: over --max-connections, refused (its sniff was fine).
    await tlsRefused(port, 'app.test');
    // 60 silent connections against a cap of 20: the first 40 are evicted, the last 20 time out.
    await Promise.all(Array.from({ length: 60 }, () => closedByEdge(port, Buffer.alloc(0), { boundMs: SNIFF_MS + 4000 })));
    for (const [i, c] of established.entries()) expect(await c.ask(`still ${i}`)).toBe(`alpha sni=app.test proxy=- got=still ${i}`);
    const after = (await scrape(edge.metricsUrl)).samples;
    expect(d(after, before, 'trc_edge_connections_total', { result: 'failure' })).toBe(61);
    expect(d(after, before, 'trc_edge_connections_total', { result: 'success' })).toBe(0);
    expect(d(after, before, 'trc_edge_sni_sniffs_total', { result: 'timeout' })).toBe(20);
    expect(d(after, before, 'trc_edge_sni_sniffs_total', { result: 'ok' })).toBe(1);
    expect(total(after, 'trc_edge_concurrent_connections')).toBe(3);
    for (const c of established) c.close();
    await scrapeUntil(edge.metricsUrl, 'no open connection', (s) => total(s, 'trc_edge_concurrent_connections') === 0);
  });

  it('fuzz: random bytes and mutated ClientHellos are each closed and counted once, and the edge keeps serving', async () => {
    const seed = 24_2026;
    const rnd = seededRandom(seed);
    const hello = await captureClientHello('app.test');
    const inputs = Array.from({ length: 200 }, (_, i) => {
      if (i % 2 === 0) return Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 600) }, () => Math.floor(rnd() * 256)));
      const m = Buffer.from(hello);
      for (let k = 0, n = 1 + Math.floor(rnd() * 8); k < n; k++) m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
      return rnd() < 0.3 ? m.subarray(0, Math.floor(rnd() * m.length)) : m;
    });
    const before = (await scrape(edge.metricsUrl)).samples;
    // Ten at a time, each written and half-closed; all are closed by the edge or its backend.
    for (let i = 0; i < inputs.length; i += 10) await Promise.all(inputs.slice(i, i + 10).map((b) => closedByEdge(port, b, { end: true, boundMs: SNIFF_MS + 4000 })));
    expect(await tlsLine(port, 'app.test', ca)).toBe('alpha sni=app.test proxy=- got=hello');
    const after = await scrapeUntil(edge.metricsUrl, 'every fuzz connection closed', (s) => total(s, 'trc_edge_concurrent_connections') === 0);
    expect(d(after, before, 'trc_edge_connections_total'), `seed ${seed}`).toBe(201);
    expect(d(after, before, 'trc_edge_sni_sniffs_total'), `seed ${seed}`).toBe(201);
    expect(d(after, before, 'trc_edge_sni_sniffs_total', { result: 'not_tls' })).toBeGreaterThan(100);
    expect(edge.process.exitInfo()).toBeNull();
  });
});
