import type { Attributes, HrTime } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { isTrustedAttributeSet, seriesLabelsOf, type SeriesMatcher } from '../views.ts';
import { ValueType } from '@opentelemetry/api';
import type { BegunSeries } from '../recorders.ts';
import {
  AggregationTemporality,
  DataPointType,
  type DataPoint,
  type Histogram,
  type MetricData,
  type MetricDescriptor,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';

/** A series' point as the readers see it: its attribute set and cumulative value (a number, or a histogram). */
type Point = DataPoint<number> | DataPoint<Histogram>;

/** One metric stream of the store: its descriptor and its series, in first-seen order. */
interface Stream {
  readonly descriptor: MetricDescriptor;
  readonly dataPointType: DataPointType.SUM | DataPointType.GAUGE | DataPointType.HISTOGRAM;
  readonly isMonotonic: boolean;
  /** Series by their identity (see {@link seriesKey}). */
  readonly series: Map<unknown, Point>;
}

/** One instrumentation scope (meter) of the store and its streams by metric name. */
interface Scope {
  readonly scope: InstrumentationScope;
  readonly streams: Map<string, Stream>;
}

/**
 * The one cumulative copy of every series the pipeline exports. The SDK's single reader collects with
 * delta temporality, so the SDK keeps nothing across collections; each collection's deltas are folded in
 * here ({@link merge}), and the scrape and the OTLP push both read this state ({@link snapshot}).
 *
 * Keeping the cumulative state ourselves is what lets a series be removed ({@link remove}): the SDK's
 * cumulative storage merges every collection into the last and can never forget a series, so a family
 * keyed by a churning label (ops-proxy `client_name`, podtrace `process_name`) would otherwise grow
 * without bound.
 *
 * Folding: a delta sum adds, a cumulative sum (observable counters) replaces, a gauge replaces, a delta
 * histogram adds bucket by bucket with its sum and count. A new series' start time is the end of the
 * collection before the one that brought it (the store's creation for the first), as the SDK calibrates
 * delta start times; one shared time per collection, not one per series. Points are updated in place,
 * and a snapshot hands out the same point objects: a render under way when the next collection folds in
 * may write later values for the series it has not yet written, never a torn series (one series is
 * always written in one synchronous step).
 */
export class SeriesStore {
  private readonly scopes = new Map<string, Scope>();
  /** The start time of series first seen in the next merge. */
  private start: HrTime;

  /** @param start the start time of the series of the first collection (the pipeline's start). */
  constructor(start: HrTime) {
    this.start = start;
  }

  /**
   * Folds one collection's metrics into the cumulative state.
   * @param scopeMetrics what the SDK reader collected (delta for sums and histograms, last values for gauges).
   * @param collectionTime when it was collected: the start time of the series the next merge brings.
   */
  merge(scopeMetrics: readonly ScopeMetrics[], collectionTime: HrTime): void {
    const start = this.start;
    this.start = collectionTime;
    for (const sm of scopeMetrics) {
      const scope = this.scopeOf(sm.scope);
      for (const m of sm.metrics) {
        if (m.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) continue; // the contracts never use them
        const stream = streamOf(scope, m);
        if (m.dataPointType === DataPointType.HISTOGRAM) foldHistograms(stream, m.dataPoints, start);
        else foldNumbers(stream, m.dataPoints, m.dataPointType === DataPointType.SUM && m.aggregationTemporality === AggregationTemporality.DELTA, start);
      }
    }
  }

  /**
   * The cumulative state as the SDK's reader output: every stream with at least one series, its points
   * stamped with `endTime`.
   */
  snapshot(endTime: HrTime): ScopeMetrics[] {
    const out: ScopeMetrics[] = [];
    for (const { scope, streams } of this.scopes.values()) {
      const metrics: MetricData[] = [];
      for (const s of streams.values()) {
        if (s.series.size === 0) continue;
        const dataPoints = Array.from(s.series.values());
        for (const p of dataPoints) (p as { endTime: HrTime }).endTime = endTime;
        metrics.push({
          descriptor: s.descriptor,
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: s.dataPointType,
          isMonotonic: s.isMonotonic,
          dataPoints,
        } as MetricData);
      }
      if (metrics.length) out.push({ scope, metrics });
    }
    return out;
  }

  /**
   * Adds each begun histogram series that does not exist yet with zero counts and no observation, under
   * the scope of its contract's meter (`scopeName`), so it is exported from now on. The stream's
   * descriptor and boundaries are the family's, as its View sets them.
   */
  begin(scopeName: string, series: readonly BegunSeries[], now: HrTime): void {
    const scope = this.scopeOf({ name: scopeName, version: '' });
    for (const { family, attributes } of series) {
      let stream = scope.streams.get(family.name);
      if (!stream) {
        const descriptor: MetricDescriptor = { name: family.name, description: family.help, unit: family.unit, valueType: ValueType.DOUBLE };
        scope.streams.set(family.name, (stream = { descriptor, dataPointType: DataPointType.HISTOGRAM, isMonotonic: false, series: new Map() }));
      }
      const key = seriesKey(attributes);
      if (stream.series.has(key)) continue;
      const boundaries = [...(family.buckets ?? [])];
      const value: Histogram = { buckets: { boundaries, counts: new Array<number>(boundaries.length + 1).fill(0) }, count: 0, sum: 0 };
      stream.series.set(key, { attributes, startTime: now, endTime: now, value });
    }
  }

  /**
   * Deletes every series `match` selects, in every scope.
   * @returns how many series were deleted.
   */
  remove(match: SeriesMatcher): number {
    let removed = 0;
    for (const { streams } of this.scopes.values()) {
      for (const [name, s] of streams) {
        for (const [key, p] of s.series) {
          if (match(name, seriesLabelsOf(p.attributes) ?? p.attributes)) {
            s.series.delete(key);
            removed++;
          }
        }
      }
    }
    return removed;
  }

  private scopeOf(scope: InstrumentationScope): Scope {
    const key = `${scope.name}\u0000${scope.version ?? ''}\u0000${scope.schemaUrl ?? ''}`;
    let s = this.scopes.get(key);
    if (!s) this.scopes.set(key, (s = { scope, streams: new Map() }));
    return s;
  }
}

function streamOf(scope: Scope, m: MetricData): Stream {
  let s = scope.streams.get(m.descriptor.name);
  if (!s) {
    const dataPointType = m.dataPointType as Stream['dataPointType'];
    scope.streams.set(m.descriptor.name, (s = { descriptor: m.descriptor, dataPointType, isMonotonic: m.dataPointType === DataPointType.SUM && m.isMonotonic, series: new Map() }));
  }
  return s;
}

function foldNumbers(stream: Stream, points: readonly DataPoint<number>[], add: boolean, start: HrTime): void {
  for (const d of points) {
    const key = seriesKey(d.attributes);
    const p = stream.series.get(key) as { value: number } | undefined;
    if (p === undefined) stream.series.set(key, { attributes: d.attributes, startTime: start, endTime: start, value: d.value });
    else p.value = add ? p.value + d.value : d.value;
  }
}

function foldHistograms(stream: Stream, points: readonly DataPoint<Histogram>[], start: HrTime): void {
  for (const d of points) {
    const key = seriesKey(d.attributes);
    const p = stream.series.get(key) as DataPoint<Histogram> | undefined;
    const v = d.value;
    if (p === undefined) {
      const value: Histogram = { buckets: { boundaries: v.buckets.boundaries, counts: v.buckets.counts.slice() }, count: v.count };
      if (v.sum !== undefined) value.sum = v.sum;
      if (v.min !== undefined) value.min = v.min;
      if (v.max !== undefined) value.max = v.max;
      stream.series.set(key, { attributes: d.attributes, startTime: start, endTime: start, value });
      continue;
    }
    const acc = p.value;
    const counts = acc.buckets.counts;
    const add = v.buckets.counts;
    for (let i = 0; i < counts.length; i++) counts[i] = (counts[i] as number) + (add[i] as number);
    acc.count += v.count;
    if (v.sum !== undefined) acc.sum = (acc.sum ?? 0) + v.sum;
    if (v.min !== undefined) acc.min = acc.min === undefined ? v.min : Math.min(acc.min, v.min);
    if (v.max !== undefined) acc.max = acc.max === undefined ? v.max : Math.max(acc.max, v.max);
  }
}

/**
 * The identity of a series. A recorder's attribute set or series handle (see `trustedAttributeSets`,
 * `seriesHandles`) is made once per series and handed to the SDK every time, so it is itself the key: no
 * string per series. Any other set is keyed by its own keys and values, sorted by key, as the SDK hashes it.
 */
function seriesKey(attrs: Attributes): unknown {
  if (isTrustedAttributeSet(attrs)) return attrs;
  return JSON.stringify(
    Object.keys(attrs)
      .sort()
      .map((n) => [n, attrs[n]]),
  );
}
