/**
 * One push of one simulated sidecar as the OTLP/HTTP protobuf request body the SDK's exporter sends: the
 * sidecar's ResourceMetrics (its own resource: `service.name`, `service.instance.id`, the SDK's
 * `telemetry.sdk.*`; cumulative temporality; the contract's meter as scope) serialized by
 * `ProtobufMetricsSerializer` from @opentelemetry/otlp-transformer, the encoder
 * @opentelemetry/exporter-metrics-otlp-proto uses. No encoding of ours.
 */
import { ValueType, type HrTime } from '@opentelemetry/api';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { meterNameOf } from '../../instrumentation/views.ts';
import { FLEET_CONTRACT, INSTANCE_LABEL, histogramValue, scalarValue, type SeriesTemplate } from './fleet-series.ts';

/** Who a simulated sidecar is. */
export interface SidecarIdentity {
  /** Its index in the fleet (the `i` of the value model). */
  readonly index: number;
  /** `service.name`: Prometheus `job`. */
  readonly job: string;
  /** `service.instance.id` and the contract's `instance_id`: Prometheus `instance`. */
  readonly instanceId: string;
  /** When the sidecar started (its series' start time), ms since the epoch. */
  readonly startMs: number;
}

/** The resource of one sidecar (a distinct resource per sidecar, as the load-balancing exporter routes by). */
export function sidecarResource(id: SidecarIdentity): Resource {
  return defaultResource().merge(resourceFromAttributes({ 'service.name': id.job, 'service.instance.id': id.instanceId }));
}

function hrTime(ms: number): HrTime {
  return [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
}

function metricOf(t: SeriesTemplate, id: SidecarIdentity, k: number, timeMs: number): MetricData {
  const descriptor = { name: t.family.name, description: t.family.help, unit: t.family.unit, valueType: ValueType.DOUBLE };
  const point = { startTime: hrTime(id.startMs), endTime: hrTime(timeMs), attributes: { ...t.labels, [INSTANCE_LABEL]: id.instanceId } };
  const temporality = AggregationTemporality.CUMULATIVE;
  switch (t.family.type) {
    case 'counter':
      return { descriptor, aggregationTemporality: temporality, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints: [{ ...point, value: scalarValue(t, id.index, k) }] };
    case 'gauge':
      return { descriptor, aggregationTemporality: temporality, dataPointType: DataPointType.GAUGE, dataPoints: [{ ...point, value: scalarValue(t, id.index, k) }] };
    case 'histogram': {
      const h = histogramValue(t, id.index, k);
      const value = { buckets: { boundaries: [...h.boundaries], counts: [...h.counts] }, count: h.count, sum: h.sum };
      return { descriptor, aggregationTemporality: temporality, dataPointType: DataPointType.HISTOGRAM, dataPoints: [{ ...point, value }] };
    }
  }
}

/**
 * The ResourceMetrics of push `k` (from 1) of sidecar `id`, stamped `timeMs`. Metrics of one family share
 * one MetricData, as the SDK exports them.
 */
export function sidecarMetrics(templates: readonly SeriesTemplate[], resource: Resource, id: SidecarIdentity, k: number, timeMs: number): ResourceMetrics {
  const byFamily = new Map<string, MetricData>();
  for (const t of templates) {
    const m = metricOf(t, id, k, timeMs);
    const seen = byFamily.get(t.family.name);
    if (seen) (seen.dataPoints as unknown[]).push(...m.dataPoints);
    else byFamily.set(t.family.name, m);
  }
  return { resource, scopeMetrics: [{ scope: { name: meterNameOf(FLEET_CONTRACT) }, metrics: [...byFamily.values()] }] };
}

/**
 * The OTLP/HTTP protobuf request body of push `k` of sidecar `id`.
 * @throws Error when the serializer returns nothing (it logs and returns undefined on bad input).
 */
export function sidecarRequest(templates: readonly SeriesTemplate[], resource: Resource, id: SidecarIdentity, k: number, timeMs: number): Uint8Array {
  const body = ProtobufMetricsSerializer.serializeRequest(sidecarMetrics(templates, resource, id, k, timeMs));
  if (!body) throw new Error(`could not serialize push ${k} of ${id.instanceId}`);
  return body;
}

/** Data points the OTLP response says were rejected (partial success), 0 for an empty or full-success body. */
export function rejectedDataPoints(responseBody: Uint8Array): number {
  if (responseBody.length === 0) return 0;
  const r = ProtobufMetricsSerializer.deserializeResponse(responseBody);
  return Number(r.partialSuccess?.rejectedDataPoints ?? 0);
}
