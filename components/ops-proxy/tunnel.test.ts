import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check } from '../check/check-exposition.ts';
import { find, scrape, scrapeUntil, total } from '../../test/exposition.ts';
import { stopAllProcesses } from '../../test/processes.ts';
import { opsProxy } from '../../semconv/generated/ops-proxy.ts';
import { selfSignedCert, startEchoBackend, startHttpBackend, startHttpsBackend, type Backend } from './testing/backends.ts';
import { startPeer, type Peer } from './testing/child.ts';
import { httpGet, httpsGet, tcpExchange } from './testing/clients.ts';

// Two real peers on loopback (listening and connecting, each its own process) carrying HTTP (Host),
// HTTPS (SNI, TLS passed through to the backend) and raw TCP; the expositions counted from that traffic.

const N = 7;
const pem = selfSignedCert(['secure.test']);
let web: Backend;
let tls: Backend;
let echo: Backend;
let listener: Peer;
let connector: Peer;
let http: number;

beforeAll(async () => {
  [web, tls, echo] = await Promise.all([startHttpBackend('web'), startHttpsBackend('tls', pem), startEchoBackend()]);
  listener = await startPeer('listener', ['--control', '127.0.0.1:0', '--http', '127.0.0.1:0', '--https', '127.0.0.1:0', '--tcp', 'echo.tcp=127.0.0.1:0', '--metrics', '127.0.0.1:0']);
  connector = await startPeer('connector', [
    '--connect', `127.0.0.1:${listener.port('control')}`,
    '--register', `app.test=127.0.0.1:${web.port}`,
    '--register', `svc:8443=127.0.0.1:${web.port}`,
    '--register', `secure.test=127.0.0.1:${tls.port}`,
    '--register', `echo.tcp=127.0.0.1:${echo.port}`,
    '--metrics', '127.0.0.1:0',
  ], { POD_NAME: 'pod-b' });
  http = listener.port('http');
  await scrapeUntil(listener.metricsUrl, 'four names connected', (s) => total(s, 'ops_proxy_clients_connected') === 4);
});

afterAll(async () => {
  await stopAllProcesses();
  await Promise.all([web?.close(), tls?.close(), echo?.close()]);
});

describe('ops proxy: two peers on loopback', () => {
  it('routes HTTP by Host and counts exactly N requests, FORWARDs and matched DATA connections', async () => {
    for (let i = 0; i < N; i++) {
      expect(await httpGet(http, 'app.test', `/r${i}`)).toEqual({ status: 200, body: `web GET /r${i} host=app.test` });
    }
    const s = await scrapeUntil(listener.metricsUrl, 'N finished requests', (x) => total(x, 'ops_proxy_requests_success_total', { client_name: 'app.test' }) === N);
    const name = { client_name: 'app.test' };
    expect(total(s, 'ops_proxy_requests_total', { ...name, protocol: 'http' })).toBe(N);
    expect(total(s, 'ops_proxy_requests_success_total', { ...name, protocol: 'http' })).toBe(N);
    expect(total(s, 'ops_proxy_forward_commands_total', name)).toBe(N);
    expect(total(s, 'ops_proxy_data_connections_matched_total', name)).toBe(N);
    expect(total(s, 'ops_proxy_connections_total', name)).toBe(N);
    expect(total(s, 'ops_proxy_connections_active', name)).toBe(0);
    expect(total(s, 'ops_proxy_pending_data_connections')).toBe(0);
    expect(total(s, 'ops_proxy_connections_bytes_tx_total', name)).toBeGreaterThan(N * 40);
    expect(total(s, 'ops_proxy_connections_bytes_rx_total', name)).toBeGreaterThan(N * 40);
    const latency = find(s, 'ops_proxy_latency_seconds', { ...name, protocol: 'http' });
    expect(latency).toHaveLength(1);
    expect(latency[0]?.value).toBeGreaterThan(0);
    // node and pod from NODE_NAME and POD_NAME.
    expect(find(s, 'ops_proxy_requests_total', name)[0]?.labels).toMatchObject({ node: 'node-a', pod: 'pod-a' });
  });

  it('routes a name containing ":" (Host with a port) under its own series', async () => {
    expect((await httpGet(http, 'svc:8443', '/colon')).body).toBe('web GET /colon host=svc:8443');
    // Host "app.test:80" is not registered as such: it falls back to "app.test".
    expect((await httpGet(http, 'APP.test:80', '/port')).body).toBe('web GET /port host=APP.test:80');
    const s = await scrapeUntil(listener.metricsUrl, 'the colon name counted', (x) => total(x, 'ops_proxy_requests_success_total', { client_name: 'svc:8443' }) === 1);
    expect(total(s, 'ops_proxy_forward_commands_total', { client_name: 'svc:8443' })).toBe(1);
  });

  it('routes HTTPS by SNI without terminating TLS (the backend sees the SNI and serves its certificate)', async () => {
    expect(await httpsGet(listener.port('https'), 'secure.test', pem.cert, '/tls')).toBe('tls sni=secure.test /tls');
    const s = await scrapeUntil(listener.metricsUrl, 'the https request', (x) => total(x, 'ops_proxy_requests_success_total', { client_name: 'secure.test', protocol: 'https' }) === 1);
    expect(total(s, 'ops_proxy_requests_total', { client_name: 'secure.test', protocol: 'https' })).toBe(1);
  });

  it('routes HTTPS by SNI when the ClientHello is split over several TLS records and TCP segments', async () => {
    expect(await httpsGet(listener.port('https'), 'secure.test', pem.cert, '/split', { recordBytes: 100, segmentBytes: 37 })).toBe('tls sni=secure.test /split');
    const s = await scrapeUntil(listener.metricsUrl, 'the split https request', (x) => total(x, 'ops_proxy_requests_success_total', { client_name: 'secure.test', protocol: 'https' }) === 2);
    expect(total(s, 'ops_proxy_requests_failed_total', { client_name: '<unknown>' })).toBe(0);
  });

  it('routes raw TCP by port, both ways, with the bytes counted', async () => {
    const payload = randomBytes(4 * 1024 * 1024); // random: a reused read buffer overwritten too early would show
    const back = await tcpExchange(listener.tcpPort('echo.tcp'), payload);
    expect(back.equals(payload)).toBe(true);
    const s = await scrapeUntil(listener.metricsUrl, 'the tcp exchange', (x) => total(x, 'ops_proxy_requests_success_total', { client_name: 'echo.tcp', protocol: 'tcp' }) === 1);
    expect(total(s, 'ops_proxy_connections_bytes_tx_total', { client_name: 'echo.tcp' })).toBe(payload.length);
    expect(total(s, 'ops_proxy_connections_bytes_rx_total', { client_name: 'echo.tcp' })).toBe(payload.length);
  });

  it('both expositions pass `otel-contracts check --contract ops-proxy`, each info family exactly for its role', async () => {
    for (const peer of [listener, connector]) {
      const { text } = await scrape(peer.metricsUrl);
      const result = await check(text, { contracts: [opsProxy] });
      expect(result.violations, peer.metricsUrl).toEqual([]);
    }
    const l = (await scrape(listener.metricsUrl)).samples;
    const c = (await scrape(connector.metricsUrl)).samples;
    expect(total(l, 'ops_proxy_server_info')).toBe(1);
    expect(find(l, 'ops_proxy_client_info')).toHaveLength(0);
    expect(total(c, 'ops_proxy_client_info')).toBe(1);
    expect(find(c, 'ops_proxy_server_info')).toHaveLength(0);
    expect(find(c, 'ops_proxy_client_info')[0]?.labels).toMatchObject({ node: 'node-a', pod: 'pod-b' });
    expect(total(l, 'ops_proxy_clients_total')).toBe(4);
    expect(total(l, 'ops_proxy_client_up', { client_name: 'app.test' })).toBe(1);
    expect(total(l, 'ops_proxy_client_registrations_total', { client_name: 'app.test' })).toBeGreaterThanOrEqual(1);
  });

  it('when the connecting peer dies: client_up goes 0, disconnects are counted, requests count no_client', async () => {
    expect(await connector.stop()).toBe(0);
    const s = await scrapeUntil(listener.metricsUrl, 'app.test down', (x) => total(x, 'ops_proxy_client_up', { client_name: 'app.test' }) === 0);
    expect(total(s, 'ops_proxy_client_disconnects_total', { client_name: 'app.test' })).toBe(1);
    expect(total(s, 'ops_proxy_clients_connected')).toBe(0);
    expect(total(s, 'ops_proxy_clients_total')).toBe(4);
    const r = await httpGet(http, 'app.test', '/after');
    expect(r.status).toBe(502);
    const after = await scrapeUntil(listener.metricsUrl, 'no_client counted', (x) => total(x, 'ops_proxy_proxy_errors_total', { client_name: 'app.test', reason: 'no_client' }) === 1);
    expect(total(after, 'ops_proxy_requests_failed_total', { client_name: 'app.test', protocol: 'http' })).toBe(1);
    // N requests, plus the one for Host "APP.test:80" above.
    expect(total(after, 'ops_proxy_forward_commands_total', { client_name: 'app.test' })).toBe(N + 1);
  });

  it('exits 0 on SIGTERM', async () => {
    expect(await listener.stop()).toBe(0);
  });
});

describe('ops proxy: names gone longer than --prune-after-ms', () => {
  it("lose every series: churn cannot grow the families; a name that comes back starts from zero", async () => {
    const pruning = await startPeer('pruning listener', ['--control', '127.0.0.1:0', '--http', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--prune-after-ms', '1000']);
    const register = () => startPeer('short-lived connector', ['--connect', `127.0.0.1:${pruning.port('control')}`, '--register', `gone.test=127.0.0.1:${web.port}`]);
    let peer = await register();
    await scrapeUntil(pruning.metricsUrl, 'gone.test up', (s) => total(s, 'ops_proxy_client_up', { client_name: 'gone.test' }) === 1);
    for (let i = 0; i < 2; i++) expect((await httpGet(pruning.port('http'), 'gone.test', '/')).status).toBe(200);
    const before = await scrapeUntil(pruning.metricsUrl, 'two requests', (s) => total(s, 'ops_proxy_requests_total', { client_name: 'gone.test' }) === 2);
    const families = new Set(before.filter((s) => s.labels.client_name === 'gone.test').map((s) => s.name));
    expect(families.size).toBeGreaterThanOrEqual(10);

    expect(await peer.stop()).toBe(0);
    const after = await scrapeUntil(pruning.metricsUrl, 'every gone.test series removed', (s) => !s.some((x) => x.labels.client_name === 'gone.test'), { timeoutMs: 15_000 });
    expect(total(after, 'ops_proxy_clients_total')).toBe(0);

    peer = await register();
    await scrapeUntil(pruning.metricsUrl, 'gone.test up again', (s) => total(s, 'ops_proxy_client_up', { client_name: 'gone.test' }) === 1);
    expect((await httpGet(pruning.port('http'), 'gone.test', '/')).status).toBe(200);
    const back = await scrapeUntil(pruning.metricsUrl, 'gone.test back', (s) => total(s, 'ops_proxy_requests_total', { client_name: 'gone.test' }) === 1);
    expect(total(back, 'ops_proxy_client_registrations_total', { client_name: 'gone.test' })).toBeGreaterThanOrEqual(1);
    expect(await peer.stop()).toBe(0);
    expect(await pruning.stop()).toBe(0);
  }, 60_000);
});
