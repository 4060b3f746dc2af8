import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape, scrapeUntil, total, type SampleLine } from '../../test/exposition.ts';
import { pollUntil } from '../../test/poll.ts';
import { stopAllProcesses } from '../../test/processes.ts';
import { selfSignedCert } from '../ops-proxy/testing/backends.ts';
import { startTagBackend, type TagBackend } from './testing/backends.ts';
import { openTlsLines, tlsLine, tlsRefused } from './testing/clients.ts';
import { routesDir, startEdge, type EdgeProcess, type RoutesDir } from './testing/edge.ts';

// Live route reloads on a real process: every load counts once in config_apply_{total,seconds} (SIGHUP,
// even with the file unchanged; an atomic rename; a burst of writes), a rejected file changes nothing and
// is logged with its field, and an established connection outlives a reload that removes its route.

let edge: EdgeProcess;
let alpha: TagBackend;
let dir: RoutesDir;
let ca: string;

const route = (id: string, sni: string, extra: Record<string, unknown> = {}) => ({ id, sni, protocol_hint: 'tls', backends: [`127.0.0.1:${alpha.port}`], ...extra });
const doc = (...routes: Record<string, unknown>[]) => ({ routes, health: { interval_ms: 60_000 } });

/** Log lines of applied loads so far, by why. */
function applied(why: string): number {
  return edge.lines().filter((l) => l.msg === `routes applied (${why}): ${String(l.count)} routes`).length;
}

/** Waits until config_apply_total{result} has grown by `n` over `before`, and returns that scrape. */
function applies(before: SampleLine[], result: 'success' | 'error', n: number): Promise<SampleLine[]> {
  const want = total(before, 'trc_edge_config_apply_total', { result }) + n;
  return scrapeUntil(edge.metricsUrl, `${n} more ${result} applies`, (s) => total(s, 'trc_edge_config_apply_total', { result }) >= want);
}

beforeAll(async () => {
  const pem = selfSignedCert(['alpha.backend', 'one.test', 'two.test', 'three.test']);
  ca = pem.cert;
  alpha = await startTagBackend('alpha', pem);
  dir = routesDir(doc(route('one', 'one.test')));
  edge = await startEdge('edge', dir.path, [], process.env.EDGE_DEBUG ? { OTEL_CONTRACTS_LOG_LEVEL: 'debug' } : {});
});

afterAll(async () => {
  if (process.env.EDGE_DEBUG) console.log(edge.process.stderr());
  await stopAllProcesses();
  await alpha?.close();
  dir?.remove();
});

describe('trc edge: route reloads', () => {
  it('an atomic rename is one apply; the new route routes at once', async () => {
    const before = (await scrape(edge.metricsUrl)).samples;
    dir.replace(doc(route('one', 'one.test'), route('two', 'two.test', { proxy_v2: false })));
    const after = await applies(before, 'success', 1);
    expect(total(after, 'trc_edge_routes_loaded')).toBe(2);
    expect(await tlsLine(edge.port(), 'two.test', ca)).toBe('alpha sni=two.test proxy=- got=hello');
    // SIGHUP as a barrier: loads run in order, so once its apply shows, no other load is pending.
    edge.hup();
    const last = await applies(before, 'success', 2);
    expect(total(last, 'trc_edge_config_apply_total', { result: 'success' }) - total(before, 'trc_edge_config_apply_total', { result: 'success' })).toBe(2);
    expect(total(last, 'trc_edge_config_apply_seconds_count', { result: 'success' }) - total(before, 'trc_edge_config_apply_seconds_count', { result: 'success' })).toBe(2);
    expect([applied('file changed'), applied('SIGHUP')]).toEqual([1, 1]);
  });

  it('SIGHUP with the file unchanged counts one apply', async () => {
    const before = (await scrape(edge.metricsUrl)).samples;
    edge.hup();
    const after = await applies(before, 'success', 1);
    expect(total(after, 'trc_edge_config_apply_total') - total(before, 'trc_edge_config_apply_total')).toBe(1);
    expect(total(after, 'trc_edge_routes_loaded')).toBe(2);
  });

  it('a burst of in-place writes within 200 ms is one apply', async () => {
    const before = (await scrape(edge.metricsUrl)).samples;
    const changedBefore = applied('file changed');
    for (let i = 0; i < 5; i++) dir.write(doc(route('one', 'one.test'), route('two', 'two.test', { proxy_v2: i === 4 }), route('three', 'three.test')));
    await applies(before, 'success', 1);
    edge.hup();
    const after = await applies(before, 'success', 2);
    expect(total(after, 'trc_edge_config_apply_total') - total(before, 'trc_edge_config_apply_total')).toBe(2);
    expect(applied('file changed') - changedBefore).toBe(1);
    expect([total(after, 'trc_edge_routes_loaded'), total(after, 'trc_edge_proxy_v2_enabled_routes')]).toEqual([3, 1]);
  });

  it('a rejected file is counted, logged with its field, and the old routes stay', async () => {
    const before = (await scrape(edge.metricsUrl)).samples;
    dir.replace({ routes: [{ ...route('one', 'one.test'), colour: 'red' }] });
    const after = await applies(before, 'error', 1);
    expect(total(after, 'trc_edge_config_apply_total', { result: 'success' }) - total(before, 'trc_edge_config_apply_total', { result: 'success' })).toBe(0);
    expect(total(after, 'trc_edge_config_apply_seconds_count', { result: 'error' }) - total(before, 'trc_edge_config_apply_seconds_count', { result: 'error' })).toBe(1);
    expect(total(after, 'trc_edge_routes_loaded')).toBe(3);
    const log = await pollUntil('the rejection logged', async () => edge.lines().filter((l) => l.msg === 'routes file rejected: the previous routes stay'), (l) => l.length === 1, { timeoutMs: 5000, intervalMs: 50 });
    expect(log[0]?.field).toBe('routes[0]');
    expect(String(log[0]?.err)).toMatch(/routes\[0\]: unknown field "colour"/);
    expect(await tlsLine(edge.port(), 'three.test', ca)).toBe('alpha sni=three.test proxy=- got=hello');
    // The same bad file on SIGHUP: rejected again, counted again.
    edge.hup();
    await applies(before, 'error', 2);
  });

  it('an established connection outlives a reload that removes its route; new ones to it are refused', async () => {
    const c = await openTlsLines(edge.port(), 'one.test', ca);
    expect(await c.ask('before')).toBe('alpha sni=one.test proxy=- got=before');
    const before = (await scrape(edge.metricsUrl)).samples;
    dir.replace(doc(route('two', 'two.test')));
    const after = await applies(before, 'success', 1);
    expect(total(after, 'trc_edge_routes_loaded')).toBe(1);
    expect(await c.ask('after')).toBe('alpha sni=one.test proxy=- got=after');
    await tlsRefused(edge.port(), 'one.test');
    expect(await c.ask('still')).toBe('alpha sni=one.test proxy=- got=still');
    c.close();
  });
});
