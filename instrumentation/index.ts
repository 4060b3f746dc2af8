/**
 * otel-contracts: documented Prometheus metric contracts kept exactly, with OpenTelemetry.
 *
 *   const pipeline = createPipeline({ contracts: [egress], serviceName: 'egress-sidecar' });
 *   const m = pipeline.recorders(egress);
 *   m.opensandbox_egress_dns_queries_total.add(1, { result: 'allowed' });
 *   await pipeline.start();            // GET /metrics on 127.0.0.1:9464 unless OTEL_* say otherwise
 *   installExitHandlers(pipeline);     // final push on SIGTERM, SIGINT and exit
 */
export { createPipeline, type Pipeline, type PipelineOptions, type ShutdownReport } from './pipeline.ts';
export { installExitHandlers, type ExitOptions } from './exit.ts';
export { readConfig, ConfigError, type PipelineConfig, type ExporterName } from './config.ts';
export type { Recorders, LabelsOf, AddRecorder, RecordRecorder, DropReason } from './recorders.ts';
export { buildViews, viewOfFamily, assertOneViewPerInstrument, ViewConflictError, meterNameOf } from './views.ts';
export { serializeExposition, PROMETHEUS_TEXT_CONTENT_TYPE } from './scrape/serializer.ts';
export { ScrapeReader } from './scrape/reader.ts';
export { createScrapeHandler, startScrapeServer, NonLoopbackBindError, SECURITY_HEADERS, isLoopback } from './scrape/server.ts';
export { createLogger, type Logger } from './logger.ts';
export * from '../semconv/index.ts';
