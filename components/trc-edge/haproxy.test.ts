import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape, total } from '../../test/exposition.ts';
import { stopAllProcesses } from '../../test/processes.ts';
import { selfSignedCert } from '../ops-proxy/testing/backends.ts';
import { startTagBackend, type TagBackend } from './testing/backends.ts';
import { openTlsLines, tlsLine } from './testing/clients.ts';
import { routesDir, startEdge, type EdgeProcess, type RoutesDir } from './testing/edge.ts';
import { startAcceptProxy, type AcceptProxy } from './testing/haproxy.ts';

// The PROXY v2 header against an independent parser, HAProxy itself: the edge's `proxy_v2` route points
// at a HAProxy frontend with `accept-proxy`, which logs the client address, destination and authority it
// read from the header and passes them on (as a PROXY v1 line) to a TLS backend. The client connects from
// 127.0.0.2 (IPv4) and from ::1 (IPv6), so its address is not the edge's own.

let edge: EdgeProcess;
let haproxy: AcceptProxy;
let backend: TagBackend;
let dir: RoutesDir;
let ca: string;

beforeAll(async () => {
  const pem = selfSignedCert(['gamma.backend', 'pp.test']);
  ca = pem.cert;
  backend = await startTagBackend('gamma', pem, { acceptProxyV1: true });
  haproxy = await startAcceptProxy(backend.port);
  dir = routesDir({ routes: [{ id: 'pp', sni: 'pp.test', protocol_hint: 'tls', backends: [`127.0.0.1:${haproxy.port}`], proxy_v2: true }] });
  edge = await startEdge('edge', dir.path, ['--listen', '127.0.0.1:0', '--listen', '[::1]:0']);
});

afterAll(async () => {
  await stopAllProcesses();
  await backend?.close();
  haproxy?.remove();
  dir?.remove();
});

describe('trc edge: PROXY protocol v2 as HAProxy reads it', () => {
  it('HAProxy sees the IPv4 client address and port, the edge listener as destination and the SNI as authority', async () => {
    const before = (await scrape(edge.metricsUrl)).samples;
    const port = Number(/:(\d+)$/.exec(edge.listen[0] as string)?.[1]);
    const c = await openTlsLines(port, 'pp.test', ca, { localAddress: '127.0.0.2' });
    const answer = await c.ask('hello');
    c.close();
    expect(answer).toBe(`gamma sni=pp.test proxy=PROXY TCP4 127.0.0.2 127.0.0.1 ${c.localPort} ${port} got=hello`);
    expect(await haproxy.logOf(c.localPort)).toEqual({ src: `127.0.0.2:${c.localPort}`, dst: `127.0.0.1:${port}`, authority: 'pp.test' });
    const after = (await scrape(edge.metricsUrl)).samples;
    expect(total(after, 'trc_edge_proxy_v2_injections_total', { result: 'success' }) - total(before, 'trc_edge_proxy_v2_injections_total', { result: 'success' })).toBe(1);
    expect(total(after, 'trc_edge_proxy_v2_injections_total', { result: 'failure' })).toBe(0);
    expect(total(after, 'trc_edge_proxy_v2_enabled_routes')).toBe(1);
  });

  it('and the IPv6 client address through an IPv6 listener', async () => {
    const port = Number(/:(\d+)$/.exec(edge.listen[1] as string)?.[1]);
    const c = await openTlsLines(port, 'pp.test', ca, { host: '::1' });
    const answer = await c.ask('hello');
    c.close();
    expect(answer).toBe(`gamma sni=pp.test proxy=PROXY TCP6 ::1 ::1 ${c.localPort} ${port} got=hello`);
    expect(await haproxy.logOf(c.localPort)).toEqual({ src: `::1:${c.localPort}`, dst: `::1:${port}`, authority: 'pp.test' });
    expect(await tlsLine(port, 'pp.test', ca, { host: '::1' })).toMatch(/^gamma sni=pp\.test proxy=PROXY TCP6 ::1 ::1 \d+ \d+ got=hello$/);
    expect(await edge.value('trc_edge_proxy_v2_injections_total', { result: 'success' })).toBe(3);
  });
});
