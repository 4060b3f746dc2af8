import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { flattenAttributes } from '../views.ts';
import type { AggregationOption, AggregationTemporality, InstrumentType, PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';

/** What the push path has done so far. */
export interface PushStatus {
  readonly succeeded: number;
  readonly failed: number;
  /** Reason of the most recent failure. */
  readonly lastError?: string;
  /** Result of the most recent export that finished after {@link RecordingExporter.markFinal}. */
  readonly final?: { readonly ok: boolean; readonly error?: string };
}

/**
 * The collection with each data point's attributes flattened (see `flattenAttributes`): the recorders keep a
 * family's constant instance labels out of the keys the SDK hashes per record, and the OTLP transformer
 * reads own keys only, so they are written into each point here.
 */
function withConstantLabels(rm: ResourceMetrics): ResourceMetrics {
  return {
    ...rm,
    scopeMetrics: rm.scopeMetrics.map((sm) => ({
      ...sm,
      // The point's fields by name: a recorder's point also holds what its recorder buffers (symbol keys).
      metrics: sm.metrics.map((m) => ({ ...m, dataPoints: m.dataPoints.map((p) => ({ attributes: flattenAttributes(p.attributes), startTime: p.startTime, endTime: p.endTime, value: p.value })) }) as typeof m),
    })),
  };
}

/**
 * Wraps a PushMetricExporter and records each export's result. The SDK's `forceFlush()` and
 * `shutdown()` resolve even when the export failed (404, connection refused), so this is the only
 * place the outcome of the final push can be known.
 */
export class RecordingExporter implements PushMetricExporter {
  private succeeded = 0;
  private failed = 0;
  private lastError: string | undefined;
  private finalStarted = false;
  private final: { ok: boolean; error?: string } | undefined;

  /** @param onResult told of every export's outcome (the pipeline counts it and logs failures). */
  private readonly inner: PushMetricExporter;
  private readonly onResult: (ok: boolean, error?: string) => void;

  constructor(inner: PushMetricExporter, onResult: (ok: boolean, error?: string) => void = () => {}) {
    this.inner = inner;
    this.onResult = onResult;
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    this.inner.export(withConstantLabels(metrics), (result) => {
      const ok = result.code === ExportResultCode.SUCCESS;
      const error = ok ? undefined : (result.error?.message ?? 'export failed');
      if (ok) this.succeeded++;
      else {
        this.failed++;
        this.lastError = error;
      }
      if (this.finalStarted) this.final = ok ? { ok } : { ok, error: error as string };
      this.onResult(ok, error);
      resultCallback(result);
    });
  }

  /** From now on, export results count as the final push's. */
  markFinal(): void {
    this.finalStarted = true;
  }

  status(): PushStatus {
    return {
      succeeded: this.succeeded,
      failed: this.failed,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(this.final ? { final: this.final } : {}),
    };
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  selectAggregationTemporality(instrumentType: InstrumentType): AggregationTemporality {
    return this.inner.selectAggregationTemporality!(instrumentType);
  }
  selectAggregation(instrumentType: InstrumentType): AggregationOption {
    return this.inner.selectAggregation!(instrumentType);
  }
}
