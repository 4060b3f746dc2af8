import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality,
  AggregationType,
  PeriodicExportingMetricReader,
  type AggregationOption,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { PipelineConfig } from '../config.ts';
import { RecordingExporter } from './recording-exporter.ts';

/**
 * The push reader: OTLP/HTTP (protobuf by default, JSON on request) with cumulative temporality, on
 * the period of `OTEL_METRIC_EXPORT_INTERVAL`. Endpoint, headers and per-request timeout come from the
 * standard `OTEL_EXPORTER_OTLP_*` variables, read by the exporter; the request timeout is capped at
 * the exit bound so the final push can never outlive it.
 */
export function createPushReader(
  config: PipelineConfig,
  env: NodeJS.ProcessEnv,
  onResult: (ok: boolean, error?: string) => void,
): { reader: PeriodicExportingMetricReader; exporter: RecordingExporter } {
  const envTimeout = Number(env.OTEL_EXPORTER_OTLP_METRICS_TIMEOUT ?? env.OTEL_EXPORTER_OTLP_TIMEOUT ?? 10_000);
  const timeoutMillis = Math.max(1, Math.min(Number.isFinite(envTimeout) ? envTimeout : 10_000, config.exitTimeoutMs, config.otlp.exportTimeoutMs));
  const inner = new DeferredExporter(loadOtlpExporter(config.otlp.protocol, otlpMetricsUrl(env), timeoutMillis));
  const exporter = new RecordingExporter(inner, onResult);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: config.otlp.exportIntervalMs, exportTimeoutMillis: config.otlp.exportTimeoutMs });
  return { reader, exporter };
}

/** The URL pushes go to, for startup logs: the metrics endpoint as given, or the base endpoint plus `/v1/metrics`. */
export function otlpMetricsUrl(env: NodeJS.ProcessEnv): string {
  const specific = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?.trim();
  if (specific) return specific;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || 'http://localhost:4318';
  return `${base.replace(/\/+$/, '')}/v1/metrics`;
}

/**
 * Loads the OTLP/HTTP exporter (protobuf from `@opentelemetry/exporter-metrics-otlp-proto`, which builds on
 * `-otlp-http`; JSON from `-otlp-http`). The exporters pull in about sixty modules, so they are loaded only
 * when push is on, and asynchronously, off the start-up path.
 */
async function loadOtlpExporter(protocol: 'http/protobuf' | 'http/json', url: string, timeoutMillis: number): Promise<PushMetricExporter> {
  const http = await import('@opentelemetry/exporter-metrics-otlp-http');
  const options = { url, temporalityPreference: http.AggregationTemporalityPreference.CUMULATIVE, timeoutMillis };
  if (protocol === 'http/json') return new http.OTLPMetricExporter(options);
  const proto = await import('@opentelemetry/exporter-metrics-otlp-proto');
  return new proto.OTLPMetricExporter(options);
}

/** A PushMetricExporter whose implementation is still loading: exports wait for it. Cumulative, default aggregation. */
class DeferredExporter implements PushMetricExporter {
  private readonly ready: Promise<PushMetricExporter>;

  constructor(ready: Promise<PushMetricExporter>) {
    this.ready = ready;
    ready.catch(() => {});
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    this.ready.then(
      (e) => e.export(metrics, resultCallback),
      (error: Error) => resultCallback({ code: ExportResultCode.FAILED, error }),
    );
  }
  forceFlush(): Promise<void> {
    return this.ready.then((e) => e.forceFlush(), () => undefined);
  }
  shutdown(): Promise<void> {
    return this.ready.then((e) => e.shutdown(), () => undefined);
  }
  selectAggregationTemporality(): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }
  selectAggregation(): AggregationOption {
    return { type: AggregationType.DEFAULT };
  }
}
