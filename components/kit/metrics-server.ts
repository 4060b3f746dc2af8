import { createServer } from 'node:http';
import type { Logger } from 'pino';
import type { Pipeline } from '../../instrumentation/pipeline.ts';
import { assertBindAllowed } from '../../instrumentation/scrape/server.ts';
import type { HostPort } from './host-port.ts';
import { listen } from './listen.ts';

/**
 * A component's HTTP endpoint on its `--metrics` address (ops proxy, masque-vpn server): `GET /metrics`
 * through the pipeline's scrape handler (exact documented names, the security headers, a rate limit per
 * client address) and `GET /healthz` (200 `ok`). The component chooses the address itself, so unlike
 * {@link Pipeline.start} it is not read from `OTEL_EXPORTER_PROMETHEUS_HOST/PORT`.
 */

/** A running metrics endpoint. */
export interface MetricsServer {
  /** Where it listens (the port the kernel chose when asked for 0). */
  readonly address: HostPort;
  /** `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Listens on `at`; `component` names the program in the 404 answer.
 * @throws NonLoopbackBindError for an address beyond loopback without `OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true`;
 *   the listen error (EADDRINUSE, EACCES).
 */
export async function startMetricsServer(at: HostPort, pipeline: Pipeline, logger: Logger, component: string): Promise<MetricsServer> {
  assertBindAllowed(at.host, pipeline.config.prometheus.allowNonLoopback);
  const server = createServer((req, res) => {
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
  const address = await listen(server, at);
  server.on('error', (e) => logger.error({ err: e.message }, 'metrics server error'));
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return {
    address,
    url: `http://${host}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
