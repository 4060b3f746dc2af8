import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrapeUntil, scrape, total } from '../../test/exposition.ts';
import { stopAllProcesses } from '../../test/processes.ts';
import { startEchoBackend, startMuteBackend, type Backend } from './testing/backends.ts';
import { startPeer } from './testing/child.ts';

// Tunnels to a backend that never answers: it completes the TCP handshake (the kernel does) and then
// never reads, writes or closes. Clients send a few bytes and close, half of them with a half-close
// (end, still reading), half at once. Both peers must release both sockets of every tunnel within the
// bound, and `ops_proxy_connections_active` must return to 0; before, they stayed in FIN-WAIT-2 and
// CLOSE-WAIT until the idle timeout on the listening peer, and for ever on the connecting peer.

const N = 20;
let mute: Backend;

beforeAll(async () => {
  mute = await startMuteBackend();
});

afterAll(async () => {
  await stopAllProcesses();
  await mute?.close();
});

/** Opens `N` clients through `port`, each sending `hello`; resolves once all connected. */
async function clients(port: number): Promise<{ socket: Socket; closed: Promise<void> }[]> {
  return Promise.all(
    Array.from({ length: N }, async () => {
      const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      socket.on('error', () => undefined);
      socket.resume();
      const closed = new Promise<void>((r) => socket.once('close', () => r()));
      await new Promise((r) => socket.once('connect', r));
      socket.write('hello');
      return { socket, closed };
    }),
  );
}

describe('ops proxy: a tunnel whose backend never answers, closed by the client', () => {
  it.each([
    ['--half-close-timeout-ms 500', ['--half-close-timeout-ms', '500']],
    ['--idle-timeout-ms 1000 (the half-close bound left at its default)', ['--idle-timeout-ms', '1000']],
  ])('releases both sockets on both peers within the bound: %s', async (_what, bound) => {
    const listener = await startPeer('listener', ['--control', '127.0.0.1:0', '--tcp', 'mute.tcp=127.0.0.1:0', '--metrics', '127.0.0.1:0', ...bound]);
    const connector = await startPeer('connector', ['--connect', `127.0.0.1:${listener.port('control')}`, '--register', `mute.tcp=127.0.0.1:${mute.port}`, '--metrics', '127.0.0.1:0', ...bound]);
    await scrapeUntil(listener.metricsUrl, 'mute.tcp up', (s) => total(s, 'ops_proxy_client_up', { client_name: 'mute.tcp' }) === 1);
    const fds = async (url: string) => total((await scrape(url)).samples, 'process_open_fds');
    const baseline = { listener: await fds(listener.metricsUrl), connector: await fds(connector.metricsUrl) };

    const open = await clients(listener.tcpPort('mute.tcp'));
    await scrapeUntil(listener.metricsUrl, `${N} tunnels up`, (s) => total(s, 'ops_proxy_data_connections_matched_total', { client_name: 'mute.tcp' }) === N);
    // Each tunnel holds a DATA and a backend socket on the connecting peer.
    expect(await fds(connector.metricsUrl)).toBeGreaterThanOrEqual(baseline.connector + 2 * N);
    open.forEach((c, i) => (i % 2 === 0 ? c.socket.end() : c.socket.destroy()));

    const s = await scrapeUntil(listener.metricsUrl, 'no tunnel active', (x) => total(x, 'ops_proxy_connections_active', { client_name: 'mute.tcp' }) === 0, { timeoutMs: 15_000 });
    expect(total(s, 'ops_proxy_requests_total', { client_name: 'mute.tcp', protocol: 'tcp' })).toBe(N);
    expect(total(s, 'ops_proxy_requests_success_total', { client_name: 'mute.tcp', protocol: 'tcp' }) + total(s, 'ops_proxy_requests_failed_total', { client_name: 'mute.tcp', protocol: 'tcp' })).toBe(N);
    // The half-closed clients were closed by the listener too.
    await Promise.all(open.map((c) => c.closed));
    // Both peers are back to their file descriptors before the tunnels (the scrape's own connection aside).
    await scrapeUntil(listener.metricsUrl, 'listening peer fds released', (x) => total(x, 'process_open_fds') <= baseline.listener + 1, { timeoutMs: 15_000 });
    await scrapeUntil(connector.metricsUrl, 'connecting peer fds released', (x) => total(x, 'process_open_fds') <= baseline.connector + 1, { timeoutMs: 15_000 });
    expect(await connector.stop()).toBe(0);
    expect(await listener.stop()).toBe(0);
  }, 45_000);
});

// A client that writes its bytes and its FIN at once (`printf … | nc -N`, `curl --upload-file` to a
// TCP route, a request then shutdown(SHUT_WR)). The listening peer reads the FIN while the public
// connection waits, paused, for its DATA connection: a paused socket whose buffer is empty still
// emits 'end' then, before the tunnel is spliced. A splice that only listens for 'end' never passes
// that FIN on, so the backend (an echo that answers the FIN with its own) never closes, and the tunnel
// hangs until the idle timeout (300 s by default); the half-close bound never starts, as no side was
// seen to end. The FIN must reach the backend and the client must get the echo and the close at once.

/** Writes `payload` (nothing when empty) and the FIN at once; everything received, and whether the close came within `withinMs`. */
function exchange(port: number, payload: string, withinMs: number): Promise<{ received: string; closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    const settle = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: Buffer.concat(chunks).toString('latin1'), closed, ms: Math.round(performance.now() - t0) });
    };
    const timer = setTimeout(() => settle(false), withinMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('end', () => settle(true));
    socket.on('connect', () => socket.end(payload));
  });
}

describe('ops proxy: a client that half-closes before its tunnel is up', () => {
  let echo: Backend;
  let listener: Awaited<ReturnType<typeof startPeer>>;
  let connector: Awaited<ReturnType<typeof startPeer>>;
  const head = 'GET / HTTP/1.1\r\nHost: echo.http\r\n\r\n';

  beforeAll(async () => {
    echo = await startEchoBackend();
    // The bounds at their defaults (idle 300 s, half-close 10 s): the exchange must not wait for either.
    listener = await startPeer('listener', ['--control', '127.0.0.1:0', '--http', '127.0.0.1:0', '--tcp', 'echo.tcp=127.0.0.1:0', '--metrics', '127.0.0.1:0']);
    connector = await startPeer('connector', ['--connect', `127.0.0.1:${listener.port('control')}`, '--register', `echo.http=127.0.0.1:${echo.port}`, '--register', `echo.tcp=127.0.0.1:${echo.port}`, '--metrics', '127.0.0.1:0']);
    await scrapeUntil(listener.metricsUrl, 'echo names up', (s) => total(s, 'ops_proxy_client_up', { client_name: 'echo.http' }) === 1 && total(s, 'ops_proxy_client_up', { client_name: 'echo.tcp' }) === 1);
  }, 30_000);

  afterAll(async () => {
    await connector?.stop();
    await listener?.stop();
    await echo?.close();
  });

  it.each([
    ['http: a request head and the FIN in one go', 'http', head],
    ['tcp: the FIN before any byte', 'tcp', ''],
    ['tcp: bytes and the FIN in one go', 'tcp', 'hello'],
  ])('%s: the backend gets the FIN, the client the echo and the close', async (_what, route, payload) => {
    const port = route === 'http' ? listener.port('http') : listener.tcpPort('echo.tcp');
    // Several times: the FIN must be passed on however it falls against the DATA connection's arrival.
    for (let i = 0; i < 5; i++) {
      const r = await exchange(port, payload, 3000);
      expect(r, `exchange ${i}`).toMatchObject({ received: payload, closed: true });
    }
    await scrapeUntil(listener.metricsUrl, 'no tunnel active', (s) => total(s, 'ops_proxy_connections_active', { client_name: `echo.${route}` }) === 0);
  }, 30_000);
});
