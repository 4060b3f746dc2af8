import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { PipelineConfig } from '../config.ts';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { CollectedTransform, ScrapeReader } from '../scrape/reader.ts';
import { createScrapeHandler, startScrapeServer } from '../scrape/server.ts';

/** What a scraper (or the Pushgateway push) reads: the exposition, its `/metrics` handler and the standalone server. */
export interface ScrapeEndpoint {
  /**
   * Renders the Prometheus text exposition of every family the pipeline holds.
   * @throws Error when there is no scrape reader (the `prometheus` reader is off and no Pushgateway is configured).
   */
  render(): Promise<string>;
  /**
   * Collects the data {@link render} serializes, before the transform given to {@link createScrapeEndpoint}:
   * this process's own series (the cumulative copy).
   * @throws Error when there is no scrape reader (as {@link render}); AggregateError when the collection
   *   reports errors.
   */
  collect(): Promise<ResourceMetrics>;
  /** `GET /metrics` handler (rate-limited); returns false for other paths. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => boolean;
  /**
   * Starts the standalone scrape server on `OTEL_EXPORTER_PROMETHEUS_HOST`/`PORT` when the `prometheus` reader
   * was chosen; does nothing otherwise (the scrape reader may exist for the Pushgateway only).
   * @returns the scrape URL (`http://host:port/metrics`), or `undefined` when nothing listens.
   * @throws NonLoopbackBindError, or the listen error (EADDRINUSE).
   */
  listen(keepAlive: boolean): Promise<string | undefined>;
  /** Closes the standalone server and its connections, if one was started. */
  close(): void;
}

/**
 * Creates the scrape endpoint over `reader`.
 * @param onRejected told of every request the rate limit refuses.
 * @param transform when given, every render (scrape, Pushgateway PUT) serializes `transform(collected)`
 *   instead of the collected data (the preloaded cluster primary merges its workers' data points there);
 *   see `ScrapeReader.setTransform`.
 */
export function createScrapeEndpoint(
  config: PipelineConfig,
  reader: ScrapeReader | undefined,
  onRejected: () => void,
  transform?: CollectedTransform,
): ScrapeEndpoint {
  const off = () => new Error('the prometheus reader is off (OTEL_METRICS_EXPORTER); nothing to render');
  reader?.setTransform(transform);
  const render = async (): Promise<string> => {
    if (!reader) throw off();
    return reader.render();
  };
  const collect = async (): Promise<ResourceMetrics> => {
    if (!reader) throw off();
    return reader.collectOwn();
  };
  const stream = reader ? () => reader.stream() : undefined;
  const handler = createScrapeHandler({ render, ...(stream ? { stream } : {}), rateLimit: config.prometheus.rateLimit, onRejected });
  let server: Server | undefined;
  return {
    render,
    collect,
    handler,
    async listen(keepAlive) {
      if (!reader || !config.exporters.has('prometheus')) return undefined;
      const started = await startScrapeServer({
        handle: handler,
        host: config.prometheus.host,
        port: config.prometheus.port,
        allowNonLoopback: config.prometheus.allowNonLoopback,
        keepAlive,
      });
      server = started.server;
      const host = started.host.includes(':') && !started.host.startsWith('[') ? `[${started.host}]` : started.host;
      return `http://${host}:${started.port}/metrics`;
    },
    close() {
      server?.close();
      server?.closeAllConnections();
    },
  };
}
