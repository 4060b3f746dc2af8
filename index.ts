/**
 * otel-contracts: documented Prometheus metric contracts kept exactly, with OpenTelemetry.
 *
 *   import { createPipeline, installExitHandlers, egress } from 'otel-contracts';
 *   const pipeline = createPipeline({ contracts: [egress], serviceName: 'egress-sidecar' });
 *   const m = pipeline.recorders(egress);
 *   m.opensandbox_egress_dns_queries_total.add(1, { result: 'allowed' });
 *   await pipeline.start();            // GET /metrics on 127.0.0.1:9464 unless OTEL_* say otherwise
 *   installExitHandlers(pipeline);     // final push on SIGTERM, SIGINT and exit
 *
 * The registry loader is `otel-contracts/semconv/load`, the preload `otel-contracts/register`.
 */
export { createPipeline, type Pipeline, type PipelineOptions, type ShutdownReport } from './instrumentation/pipeline.ts';
export { installExitHandlers } from './instrumentation/exit.ts';
export { ConfigError } from './instrumentation/config.ts';
export { NonLoopbackBindError } from './instrumentation/scrape/server.ts';
export { ViewConflictError } from './instrumentation/views.ts';
export type { Recorders, CounterRecorder, UpDownCounterRecorder, GaugeRecorder, HistogramRecorder } from './instrumentation/recorders.ts';
export { egress, opsProxy, trc, podtrace, masqueVpn } from './semconv/index.ts';
export { check } from './components/check/check-exposition.ts';
export type { CheckResult } from './components/check/check.ts';
export { TargetError } from './components/check/exposition/target-error.ts';
export { instrumentPgPool, OTHER_QUERY_CLASS, type PgPoolOptions, type PgPoolCollector, type PgPoolLike, type QueryClassifier, type QueryShape, type CatalogOptions } from './collectors/pg/index.ts';
export { preloadPipeline } from './preload/handle.ts';
