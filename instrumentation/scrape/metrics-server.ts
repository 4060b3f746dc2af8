import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { HostPort } from '../host-port.ts';
import type { Pipeline } from '../pipeline.ts';

/**
 * A component's HTTP endpoint on its `--metrics` address (ops proxy, masque-vpn server): `GET /metrics`
 * through the pipeline's scrape handler (exact documented names, hardened and rate-limited as every
 * scrape) and `GET /healthz` (200 `ok`). The component chooses the address itself, so unlike
 * {@link Pipeline.start} it is not read from `OTEL_EXPORTER_PROMETHEUS_HOST/PORT`.
 */

/** A running metrics endpoint. */
export interface MetricsServer {
  /** Where it listens (the port the kernel chose when asked for 0). */
  readonly address: HostPort;
  close(): Promise<void>;
}

/**
 * Listens on `at`; `component` names the program in the 404 answer.
 * @throws the listen error (EADDRINUSE, EACCES).
 */
export function startMetricsServer(at: HostPort, pipeline: Pipeline, logger: Logger, component: string): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (pipeline.scrapeHandler(req, res)) return;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok\n');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`not found: ${component} serves /metrics and /healthz\n`);
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
