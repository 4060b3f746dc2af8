import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrapeUntil, scrape, total } from '../../test/exposition.ts';
import { stopAllProcesses } from '../../test/processes.ts';
import { startMuteBackend, type Backend } from './testing/backends.ts';
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
