import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape, scrapeUntil, total, type SampleLine } from '../../test/exposition.ts';
import { pollUntil } from '../../test/poll.ts';
import { runNode, stopAllProcesses } from '../../test/processes.ts';
import { startEchoBackend, startHttpBackend, type Backend } from './testing/backends.ts';
import { MAIN, PEER_ENV, TOKEN, startPeer, type Peer } from './testing/child.ts';
import { httpGet, openEcho, openKeepAlive, rawPeer, type EchoConnection, type KeepAliveHttp } from './testing/clients.ts';
import { flood } from './testing/flood.ts';

// Real peers as child processes under unauthenticated load. The listening peer runs with the default
// limits (512 unauthenticated connections, a 5 s handshake deadline): floods of idle control-port
// connections and of slow request heads are closed and counted, and neither a registered peer nor an
// open tunnel notices. Then the authenticated cap, name takeover and the /metrics bind opt-in.

let web: Backend;
let echo: Backend;

beforeAll(async () => {
  // The keep-alive tunnel must outlive the floods: the backend keeps idle connections open for a minute.
  [web, echo] = await Promise.all([startHttpBackend('web', 60_000), startEchoBackend()]);
});

afterAll(async () => {
  await stopAllProcesses();
  await Promise.all([web?.close(), echo?.close()]);
});

const refused = (s: SampleLine[], reason: string) => total(s, 'otel_contracts_connections_refused_total', { reason });
const linesWith = (peer: Peer, msg: string) => peer.lines().filter((l) => l.msg === msg);

describe('ops proxy: unauthenticated floods never cut the authenticated', () => {
  let listener: Peer;
  let connector: Peer;
  let tunnel: EchoConnection;
  let page: KeepAliveHttp;

  beforeAll(async () => {
    listener = await startPeer('listener', ['--control', '127.0.0.1:0', '--http', '127.0.0.1:0', '--tcp', 'echo.tcp=127.0.0.1:0', '--metrics', '127.0.0.1:0']);
    connector = await startPeer('connector', ['--connect', `127.0.0.1:${listener.port('control')}`, '--register', `echo.tcp=127.0.0.1:${echo.port}`, '--register', `app.test=127.0.0.1:${web.port}`, '--metrics', '127.0.0.1:0']);
    await scrapeUntil(listener.metricsUrl, 'both names up', (s) => total(s, 'ops_proxy_clients_connected') === 2);
    // Two open tunnels: a raw TCP one and a keep-alive HTTP one.
    tunnel = await openEcho(listener.tcpPort('echo.tcp'));
    await tunnel.roundTrip(randomBytes(1000));
    page = await openKeepAlive(listener.port('http'), 'app.test');
    expect(await page.get('/first')).toEqual({ status: 200, body: 'web GET /first host=app.test' });
  });

  /** The registered peer and both tunnels are as they were: no reconnect, no re-registration, bytes both ways. */
  const expectAuthenticatedUntouched = async (s: SampleLine[]) => {
    expect(total(s, 'ops_proxy_client_up', { client_name: 'echo.tcp' })).toBe(1);
    expect(total(s, 'ops_proxy_client_up', { client_name: 'app.test' })).toBe(1);
    expect(total(s, 'ops_proxy_client_disconnects_total')).toBe(0);
    expect(linesWith(connector, 'registered with the listening peer')).toHaveLength(1);
    expect(linesWith(connector, 'control connection closed: reconnecting')).toHaveLength(0);
    await tunnel.roundTrip(randomBytes(64 * 1024));
    expect((await page.get('/again')).body).toBe('web GET /again host=app.test');
    expect(total(s, 'ops_proxy_connections_active', { client_name: 'echo.tcp' })).toBe(1);
    expect(total(s, 'ops_proxy_connections_active', { client_name: 'app.test' })).toBe(1);
  };

  it('1100 idle connections to the control port are closed (oldest first, then at the deadline) and counted', async () => {
    const before = (await scrape(listener.metricsUrl)).samples;
    const f = await flood(listener.port('control'), 1100);
    expect(f.opened).toBe(1100);
    // While the flood is held open, the tunnel still carries bytes both ways.
    await tunnel.roundTrip(randomBytes(4096));
    await pollUntil('every flood connection closed by the listener', async () => f.closed(), (n) => n === 1100, { timeoutMs: 20_000, intervalMs: 200 });
    const s = await scrapeUntil(listener.metricsUrl, '1100 counted', (x) => refused(x, 'unauthenticated_evicted') + refused(x, 'handshake_timeout') - refused(before, 'unauthenticated_evicted') - refused(before, 'handshake_timeout') === 1100);
    // Past 512 open at once, the oldest went first; the rest at the 5 s deadline.
    expect(refused(s, 'unauthenticated_evicted') - refused(before, 'unauthenticated_evicted')).toBeGreaterThanOrEqual(1100 - 512);
    expect(refused(s, 'connection_limit')).toBe(0);
    await expectAuthenticatedUntouched(s);
    f.destroy();
  }, 45_000);

  it('1500 slow request heads on the http port are closed, counted, and each is one failed <unknown> request', async () => {
    const before = (await scrape(listener.metricsUrl)).samples;
    const f = await flood(listener.port('http'), 1500, 'GET / HTTP/1.1\r\nHost: app.test\r\nX-Slow: ');
    expect(f.opened).toBe(1500);
    await tunnel.roundTrip(randomBytes(4096));
    expect((await page.get('/during')).status).toBe(200);
    await pollUntil('every slow connection closed by the listener', async () => f.closed(), (n) => n === 1500, { timeoutMs: 20_000, intervalMs: 200 });
    const limited = (x: SampleLine[]) => refused(x, 'unauthenticated_evicted') + refused(x, 'handshake_timeout');
    const s = await scrapeUntil(listener.metricsUrl, '1500 counted', (x) => limited(x) - limited(before) === 1500);
    expect(refused(s, 'unauthenticated_evicted') - refused(before, 'unauthenticated_evicted')).toBeGreaterThanOrEqual(1500 - 512);
    const failed = (x: SampleLine[]) => total(x, 'ops_proxy_requests_failed_total', { client_name: '<unknown>', protocol: 'http' });
    expect(failed(s) - failed(before)).toBe(1500);
    await expectAuthenticatedUntouched(s);
    // A new request still gets through.
    expect((await httpGet(listener.port('http'), 'app.test', '/after')).body).toBe('web GET /after host=app.test');
    f.destroy();
  }, 45_000);

  afterAll(() => {
    tunnel?.socket.destroy();
    page?.socket.destroy();
  });
});

describe('ops proxy: past --max-connections a new authenticated connection is refused, an open one kept', () => {
  it('refuses a third control connection and a tunnel, counts both, and serves again once a slot frees', async () => {
    const listener = await startPeer('capped listener', ['--control', '127.0.0.1:0', '--http', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--max-connections', '2', '--data-timeout-ms', '300']);
    const register = (names: string[]) => ({ op: 'register', v: 1, token: TOKEN, names });
    const a = await rawPeer(listener.port('control'));
    a.send(register(['a.test']));
    await a.next('registered');
    const b = await rawPeer(listener.port('control'));
    b.send(register(['b.test']));
    await b.next('registered');
    const c = await rawPeer(listener.port('control'));
    c.send(register(['c.test']));
    expect((await c.next('error')).error).toBe('connection limit reached');
    await c.closed;
    const r = await httpGet(listener.port('http'), 'a.test', '/');
    expect(r.status).toBe(503);
    let s = await scrapeUntil(listener.metricsUrl, 'two refusals', (x) => refused(x, 'connection_limit') === 2);
    expect(total(s, 'ops_proxy_requests_failed_total', { client_name: 'a.test', protocol: 'http' })).toBe(1);
    expect(total(s, 'ops_proxy_client_up', { client_name: 'a.test' })).toBe(1);
    expect(total(s, 'ops_proxy_client_up', { client_name: 'b.test' })).toBe(1);
    expect(total(s, 'ops_proxy_clients_total')).toBe(2); // c.test was never routed
    // b leaves: its slot goes to the next tunnel.
    b.socket.destroy();
    await scrapeUntil(listener.metricsUrl, 'b.test down', (x) => total(x, 'ops_proxy_client_up', { client_name: 'b.test' }) === 0);
    const answer = httpGet(listener.port('http'), 'a.test', '/');
    expect((await a.next('forward')).name).toBe('a.test');
    a.socket.destroy();
    await answer;
    s = (await scrape(listener.metricsUrl)).samples;
    expect(total(s, 'ops_proxy_forward_commands_total', { client_name: 'a.test' })).toBe(1);
    expect(await listener.stop()).toBe(0);
  });
});

describe('ops proxy: a name held by a live peer', () => {
  /** Two connecting peers registering `shared.test` to different backends; `a` first. */
  const twoPeers = async (listenerArgs: string[]) => {
    const [backendA, backendB] = await Promise.all([startHttpBackend('A'), startHttpBackend('B')]);
    const listener = await startPeer('listener', ['--control', '127.0.0.1:0', '--http', '127.0.0.1:0', '--metrics', '127.0.0.1:0', ...listenerArgs]);
    const control = `127.0.0.1:${listener.port('control')}`;
    const a = await startPeer('peer a', ['--connect', control, '--register', `shared.test=127.0.0.1:${backendA.port}`, '--register', `a-only.test=127.0.0.1:${backendA.port}`, '--metrics', '127.0.0.1:0']);
    await scrapeUntil(listener.metricsUrl, 'a registered', (s) => total(s, 'ops_proxy_client_up', { client_name: 'a-only.test' }) === 1);
    const b = await startPeer('peer b', ['--connect', control, '--register', `shared.test=127.0.0.1:${backendB.port}`, '--register', `b-only.test=127.0.0.1:${backendB.port}`, '--register-interval-ms', '200', '--metrics', '127.0.0.1:0']);
    await scrapeUntil(listener.metricsUrl, 'b registered', (s) => total(s, 'ops_proxy_client_up', { client_name: 'b-only.test' }) === 1);
    const remotes = linesWith(listener, 'peer registered').map((l) => String(l.remote));
    expect(remotes).toHaveLength(2);
    const [remoteA, remoteB] = remotes as [string, string];
    const close = async () => {
      for (const p of [b, a, listener]) expect(await p.stop()).toBe(0);
      await Promise.all([backendA.close(), backendB.close()]);
    };
    return { listener, a, b, remoteA, remoteB, close };
  };
  const takeovers = (s: SampleLine[], outcome: string) => total(s, 'otel_contracts_name_takeovers_total', { outcome });

  it('is refused by default (counted, logged with both addresses), the other names routed; free again once its holder leaves', async () => {
    const { listener, a, b, remoteA, remoteB, close } = await twoPeers([]);
    expect((await httpGet(listener.port('http'), 'shared.test', '/x')).body).toBe('A GET /x host=shared.test');
    expect((await httpGet(listener.port('http'), 'b-only.test', '/y')).body).toBe('B GET /y host=b-only.test');
    const s = await scrapeUntil(listener.metricsUrl, 'a refused takeover', (x) => takeovers(x, 'refused') >= 1);
    expect(takeovers(s, 'allowed')).toBe(0);
    const warn = linesWith(listener, 'REGISTER refused for names another live peer holds (--allow-takeover allows it)');
    expect(warn[0]).toMatchObject({ level: 40, names: ['shared.test'], holders: [remoteA], peer: remoteB });
    // Logged once for the held set, not at every refresh; b heard which names were held.
    expect(warn).toHaveLength(1);
    expect(linesWith(b, 'names held by another live peer: not routed here for now')[0]).toMatchObject({ held: ['shared.test'] });
    // a leaves: b's next refresh gets the name.
    expect(await a.stop()).toBe(0);
    await scrapeUntil(listener.metricsUrl, 'shared.test up again, with b', (x) => total(x, 'ops_proxy_client_up', { client_name: 'shared.test' }) === 1 && total(x, 'ops_proxy_client_up', { client_name: 'a-only.test' }) === 0);
    expect((await httpGet(listener.port('http'), 'shared.test', '/z')).body).toBe('B GET /z host=shared.test');
    await close();
  }, 45_000);

  it('is taken over with --allow-takeover (counted, logged with both addresses); the old peer keeps its other names', async () => {
    const { listener, remoteA, remoteB, close } = await twoPeers(['--allow-takeover']);
    expect((await httpGet(listener.port('http'), 'shared.test', '/x')).body).toBe('B GET /x host=shared.test');
    expect((await httpGet(listener.port('http'), 'a-only.test', '/y')).body).toBe('A GET /y host=a-only.test');
    const s = await scrapeUntil(listener.metricsUrl, 'a takeover', (x) => takeovers(x, 'allowed') >= 1);
    expect(takeovers(s, 'refused')).toBe(0);
    expect(total(s, 'ops_proxy_client_up', { client_name: 'a-only.test' })).toBe(1);
    expect(total(s, 'ops_proxy_client_disconnects_total', { client_name: 'shared.test' })).toBe(0);
    expect(linesWith(listener, 'routing name taken over from another live peer (--allow-takeover)')[0]).toMatchObject({ level: 40, client_name: 'shared.test', from: remoteA, to: remoteB });
    await close();
  }, 45_000);
});

describe('ops proxy: the /metrics bind', () => {
  it('refuses --metrics beyond loopback without the opt-in, with a message naming it, and exits 1', async () => {
    const r = await runNode('ops-proxy on 0.0.0.0', [MAIN, '--control', '127.0.0.1:0', '--http', '127.0.0.1:0', '--metrics', '0.0.0.0:0'], PEER_ENV, 20_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ops proxy did not start: refusing to serve metrics on non-loopback address 0.0.0.0');
    expect(r.stderr).toContain('OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true');
  });

  it.each([
    ['OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true', [], { OTEL_CONTRACTS_ALLOW_NON_LOOPBACK: 'true' }],
    ['--allow-non-loopback', ['--allow-non-loopback'], {}],
  ])('serves on 0.0.0.0 with %s', async (_what, args, env) => {
    const peer = await startPeer('ops-proxy on 0.0.0.0', ['--control', '127.0.0.1:0', '--http', '127.0.0.1:0', '--metrics', '0.0.0.0:0', ...args], env);
    expect(peer.metricsUrl).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/metrics$/);
    const s = (await scrape(peer.metricsUrl.replace('0.0.0.0', '127.0.0.1'))).samples;
    expect(total(s, 'ops_proxy_server_info')).toBe(1);
    expect(await peer.stop()).toBe(0);
  });
});
