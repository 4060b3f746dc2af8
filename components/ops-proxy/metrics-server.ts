import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Pipeline } from '../../instrumentation/pipeline.ts';
import type { HostPort } from './config.ts';

/**
 * The ops proxy's HTTP endpoint on `--metrics`: `GET /metrics` through the pipeline's scrape handler
 * (exact documented names, rate-limited as every component's) and `GET /healthz` (200 `ok`).
 */

/** A running metrics endpoint. */
export interface MetricsServer {
  readonly address: HostPort;
  close(): Promise<void>;
}

/**
 * Listens on `at`.
 * @throws the listen error (EADDRINUSE, EACCES).
 */
export function startMetricsServer(at: HostPort, pipeline: Pipeline, logger: Logger): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (pipeline.scrapeHandler(req, res)) return;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok\n');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found: the ops proxy serves /metrics and /healthz\n');
  });
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.on('clientError', (_e, socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      server.on('error', (e) => logger.error({ err: e.message }, 'metrics server error'));
      const a = server.address() as AddressInfo;
      resolve({
        address: { host: a.address, port: a.port },
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
