import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { scrape, total } from '../test/exposition.ts';
import { stopAllProcesses } from '../test/processes.ts';
import { FIXTURES, runApp } from './testing/harness.ts';

// Every collection is fresh. The network-bytes collector batches socket byte counts and
// records them on its own timer; here the timer is 10 minutes and the client's connection stays open (so
// no close records them either): only the scrape's own flush can make them appear.

afterEach(() => stopAllProcesses());

/** One GET over `agent` with a padded header; resolves when the whole response has been read. */
function get(agent: Agent, port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { 'x-pad': 'p'.repeat(4000) } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a scrape shows what happened immediately before it', () => {
  it('network bytes of a still-open connection appear in the very next scrape, long before the collector timer', async () => {
    const app = runApp(`${FIXTURES}/http-app.cjs`, { OTEL_CONTRACTS_BYTES_INTERVAL_MS: '600000', OTEL_CONTRACTS_COLLECTORS: 'bytes,http' });
    const [{ port }, startup] = await Promise.all([app.ready, app.startup]);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let socket: Socket | undefined;
    agent.on('free', (s: Socket) => (socket = s));
    try {
      for (let i = 0; i < 20; i++) await get(agent, port as number, `/users/${i}`);
      expect(socket, 'one kept-alive client socket').toBeDefined();
      const written = socket!.bytesWritten;
      const read = socket!.bytesRead;
      expect(written).toBeGreaterThan(20 * 4000);

      // Immediately: no wait, no second scrape. The client socket is still open.
      const { samples } = await scrape(startup.scrapeUrl as string);
      // The app received at least every byte the client wrote (plus this scrape's request) and sent at
      // least every byte the client read.
      expect(total(samples, 'podtrace_network_bytes_total', { direction: 'recv' })).toBeGreaterThanOrEqual(written);
      expect(total(samples, 'podtrace_network_bytes_total', { direction: 'send' })).toBeGreaterThanOrEqual(read);
      expect(socket!.destroyed, 'the connection was never closed before the scrape').toBe(false);
    } finally {
      agent.destroy();
    }
  });
});
