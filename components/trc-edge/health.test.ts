import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape, scrapeUntil, total } from '../../test/exposition.ts';
import { stopAllProcesses } from '../../test/processes.ts';
import { selfSignedCert } from '../ops-proxy/testing/backends.ts';
import { startTagBackend, type TagBackend } from './testing/backends.ts';
import { tlsLine, tlsRefused } from './testing/clients.ts';
import { routesDir, startEdge, type EdgeProcess, type RoutesDir } from './testing/edge.ts';

// Backend health gating on real sockets: a killed backend leaves rotation within the health settings
// (`unhealthy_after` checks `interval_ms` apart, each bounded by `timeout_ms`), its routes then refuse
// with `no_backend`, and it comes back once it accepts again. A backend listed by three routes counts
// three (route, backend) pairs, split by the routes' protocol hints.

const HEALTH = { interval_ms: 100, timeout_ms: 200, unhealthy_after: 2, healthy_after: 1 };
/** What the settings allow, plus room for a loaded 2-core machine. */
const DOWN_BOUND_MS = HEALTH.unhealthy_after * HEALTH.interval_ms + HEALTH.timeout_ms + 3000;
const UP_BOUND_MS = HEALTH.healthy_after * HEALTH.interval_ms + HEALTH.timeout_ms + 3000;

let edge: EdgeProcess;
let x: TagBackend;
let dir: RoutesDir;
let ca: string;

beforeAll(async () => {
  const pem = selfSignedCert(['x.backend', 'h1.test', 'h2.test']);
  ca = pem.cert;
  x = await startTagBackend('x', pem);
  const b = [`127.0.0.1:${x.port}`];
  dir = routesDir({
    routes: [
      { id: 'h1', sni: 'h1.test', protocol_hint: 'tls', backends: b },
      { id: 'h2', sni: 'h2.test', protocol_hint: 'tls', backends: b },
      { id: 'web', sni: 'web.test', protocol_hint: 'http', backends: b },
    ],
    health: HEALTH,
  });
  edge = await startEdge('edge', dir.path);
});

afterAll(async () => {
  await stopAllProcesses();
  await x?.close();
  dir?.remove();
});

const active = (s: Awaited<ReturnType<typeof scrape>>['samples']) => [
  total(s, 'trc_edge_backends_active_total'),
  total(s, 'trc_edge_backends_active_by_protocol', { protocol_hint: 'tls' }),
  total(s, 'trc_edge_backends_active_by_protocol', { protocol_hint: 'http' }),
  total(s, 'trc_edge_backends_active_by_protocol', { protocol_hint: 'tcp' }),
];

describe('trc edge: backend health', () => {
  it('a killed backend goes inactive within the health settings, refuses with no_backend, and comes back', async () => {
    expect(active((await scrape(edge.metricsUrl)).samples)).toEqual([3, 2, 1, 0]);
    expect(await tlsLine(edge.port(), 'h1.test', ca)).toBe('x sni=h1.test proxy=- got=hello');

    const killedAt = performance.now();
    await x.kill();
    await scrapeUntil(edge.metricsUrl, 'the killed backend inactive', (s) => total(s, 'trc_edge_backends_active_total') === 0, { timeoutMs: DOWN_BOUND_MS + 2000, intervalMs: 50 });
    expect(performance.now() - killedAt).toBeLessThan(DOWN_BOUND_MS);
    const before = (await scrape(edge.metricsUrl)).samples;
    expect(active(before)).toEqual([0, 0, 0, 0]);

    await tlsRefused(edge.port(), 'h1.test');
    const after = (await scrape(edge.metricsUrl)).samples;
    const d = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);
    expect(d('trc_edge_upstream_connect_failures_total', { reason: 'no_backend' })).toBe(1);
    expect(d('trc_edge_upstream_connect_failures_total')).toBe(1);
    expect([d('trc_edge_connections_total', { result: 'failure' }), d('trc_edge_connections_total', { result: 'success' })]).toEqual([1, 0]);
    // Health checks are not client connections: the failed checks counted nothing.
    expect(total(after, 'trc_edge_upstream_connect_failures_total', { reason: 'refused' })).toBe(0);

    const restartedAt = performance.now();
    await x.restart();
    await scrapeUntil(edge.metricsUrl, 'the backend active again', (s) => total(s, 'trc_edge_backends_active_total') === 3, { timeoutMs: UP_BOUND_MS + 2000, intervalMs: 50 });
    expect(performance.now() - restartedAt).toBeLessThan(UP_BOUND_MS);
    expect(await tlsLine(edge.port(), 'h2.test', ca)).toBe('x sni=h2.test proxy=- got=hello');
    const lines = edge.lines().filter((l) => typeof l.healthy === 'boolean');
    expect(lines.map((l) => l.healthy)).toEqual([false, true]);
  });
});
