import { ValueType, type Attributes } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { prometheusTypeOf } from '../../instrumentation/scrape/serializer.ts';
import { flattenAttributes } from '../../instrumentation/views.ts';

/**
 * The data points of one family of one process, in a plain form that crosses the cluster IPC channel
 * (structured clone and JSON alike): what the scrape reader serializes. `N` is how a sample value is held:
 * a `number` in memory, a {@link WireNumber} on the channel. A `counter` or `gauge` family's series hold a
 * value, a `histogram` family's buckets.
 */
export type CollectedFamily<N = number> = FamilyMeta &
  ({ readonly type: 'counter' | 'gauge'; readonly series: readonly CollectedValue<N>[] } | { readonly type: 'histogram'; readonly series: readonly CollectedHistogram<N>[] });

/** What a {@link CollectedFamily} is besides its series. */
export interface FamilyMeta {
  /** The exact Prometheus family name (`trc_http_requests_total`). */
  readonly name: string;
  /** The family's HELP text (the instrument's description). */
  readonly help: string;
  /** The instrument's unit (UCUM: `s`, `By`, `1`); informational, never written into the exposition. */
  readonly unit: string;
}

/**
 * One series: its labels as `[name, value]` pairs in written order (constant instance labels first, then
 * the series' own in documented order), and either a value (counter, gauge) or a histogram.
 */
export type CollectedSeries<N = number> = CollectedValue<N> | CollectedHistogram<N>;

/** A counter or gauge series. */
export interface CollectedValue<N = number> {
  readonly labels: readonly (readonly [string, string])[];
  /** The counter's cumulative value since the process started, or the gauge's last value. */
  readonly value: N;
}

/** A histogram series, cumulative since the process started. */
export interface CollectedHistogram<N = number> {
  readonly labels: readonly (readonly [string, string])[];
  /** Upper bounds of the finite buckets, strictly increasing, in the family's unit. */
  readonly boundaries: readonly number[];
  /** Observations per bucket, not cumulative: `boundaries.length + 1` entries, the last one above every bound. */
  readonly counts: readonly number[];
  /** Sum of the observations, in the family's unit. */
  readonly sum: N;
  /** Number of observations (the sum of `counts`). */
  readonly count: number;
}

/**
 * A sample value on the cluster channel: a finite number as itself; NaN and the infinities as the strings
 * Prometheus writes (`NaN`, `+Inf`, `-Inf`), since Node's default channel serialization is JSON, which
 * would turn them into `null`.
 */
export type WireNumber = number | 'NaN' | '+Inf' | '-Inf';

/** `v` as a {@link WireNumber}. */
export function toWireNumber(v: number): WireNumber {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}

/** The number a {@link WireNumber} stands for, or undefined for anything that is not one. */
export function fromWireNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  return v === 'NaN' ? NaN : v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : undefined;
}

/**
 * The families of a collection in the plain form, in collection order, with each value passed through
 * `num` (`toWireNumber` for the channel, the identity in memory). A metric the serializer would not write
 * (an exponential histogram) is left out; of two metrics of one name, the later one is kept, as the
 * serializer does. Labels come out as the serializer writes them (see `labelString`), unsanitized.
 */
export function collectedOf<N>(rm: ResourceMetrics, num: (v: number) => N): CollectedFamily<N>[] {
  const byName = new Map<string, CollectedFamily<N>>();
  for (const sm of rm.scopeMetrics) {
    for (const m of sm.metrics) {
      const type = prometheusTypeOf(m);
      if (!type) continue;
      const meta = { name: m.descriptor.name, help: m.descriptor.description, unit: m.descriptor.unit };
      byName.set(meta.name, type === 'histogram' ? { ...meta, type, series: histogramsOf(m, num) } : { ...meta, type, series: valuesOf(m, num) });
    }
  }
  return [...byName.values()];
}

function valuesOf<N>(m: MetricData, num: (v: number) => N): CollectedValue<N>[] {
  if (m.dataPointType !== DataPointType.SUM && m.dataPointType !== DataPointType.GAUGE) return [];
  return m.dataPoints.map((p) => ({ labels: labelPairs(p.attributes), value: num(p.value) }));
}

function histogramsOf<N>(m: MetricData, num: (v: number) => N): CollectedHistogram<N>[] {
  if (m.dataPointType !== DataPointType.HISTOGRAM) return [];
  return m.dataPoints.map((p) => ({
    labels: labelPairs(p.attributes),
    boundaries: [...p.value.buckets.boundaries],
    counts: [...p.value.buckets.counts],
    sum: num(p.value.sum ?? 0),
    count: p.value.count,
  }));
}

function labelPairs(attrs: Attributes): [string, string][] {
  const flat = flattenAttributes(attrs);
  const out: [string, string][] = [];
  for (const k of Object.keys(flat)) {
    const v = flat[k];
    if (v !== undefined) out.push([k, typeof v === 'string' ? v : String(v)]);
  }
  return out;
}

/**
 * Families in the plain form as SDK data the exact-name serializer writes: one scope holding a cumulative
 * metric per family (a counter as a monotonic sum, a gauge as a gauge, a histogram with explicit buckets),
 * under `resource` (its attributes make `target_info` when that is on).
 */
export function resourceMetricsOf(families: readonly CollectedFamily[], resource: ResourceMetrics['resource']): ResourceMetrics {
  const now = millisToHrTime(Date.now());
  const metrics = families.map((f): MetricData => {
    const descriptor = { name: f.name, description: f.help, unit: f.unit, valueType: ValueType.DOUBLE };
    const common = { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE };
    const point = (s: CollectedSeries) => ({ startTime: now, endTime: now, attributes: Object.fromEntries(s.labels) });
    if (f.type === 'histogram') {
      const dataPoints = f.series.map((s) => ({
        ...point(s),
        value: { buckets: { boundaries: [...s.boundaries], counts: [...s.counts] }, sum: s.sum, count: s.count },
      }));
      return { ...common, dataPointType: DataPointType.HISTOGRAM, dataPoints };
    }
    const dataPoints = f.series.map((s) => ({ ...point(s), value: s.value }));
    return f.type === 'counter' ? { ...common, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints } : { ...common, dataPointType: DataPointType.GAUGE, dataPoints };
  });
  return { resource, scopeMetrics: [{ scope: { name: 'otel-contracts/cluster' }, metrics }] };
}
