import type { Attributes, HrTime } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import {
  HISTOGRAM_LABELS,
  HISTOGRAM_START,
  HISTOGRAM_VALUE,
  histogramPointOf,
  histogramValue,
  newHistogramSeries,
  NumberPoint,
  UNREPORTED,
  type HistogramSeries,
} from '../series-point.ts';
import { seriesLabelsOf, seriesStateOf, type SeriesMatcher } from '../views.ts';
import { ValueType } from '@opentelemetry/api';
import type { BegunSeries } from '../recorders.ts';
import type { FamilySpec } from '../../semconv/types.ts';
import {
  AggregationTemporality,
  DataPointType,
  type DataPoint,
  type Histogram,
  type MetricData,
  type MetricDescriptor,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';

/** The state of one series: a sum's or gauge's point, or a histogram's state. */
type Series = NumberPoint | HistogramSeries;

/** One metric stream of the store: its descriptor and its exported series, in first-reported order. */
interface Stream {
  readonly descriptor: MetricDescriptor;
  readonly dataPointType: DataPointType.SUM | DataPointType.GAUGE | DataPointType.HISTOGRAM;
  readonly isMonotonic: boolean;
  /**
   * Every exported series: points of a sum or gauge, states of a histogram. A recorder's series is found from
   * the attribute set or handle the SDK reports (see `seriesStateOf`), so it costs its place here and no key.
   */
  readonly series: Series[];
  /** The series of attribute sets no recorder made (instruments of other meters, observables), by {@link seriesKey}; created on first need. */
  keyed: Map<string, Series> | undefined;
}

/** One instrumentation scope (meter) of the store and its streams by metric name. */
interface Scope {
  readonly scope: InstrumentationScope;
  readonly streams: Map<string, Stream>;
}

/**
 * The one cumulative copy of every series the pipeline exports. The SDK's single reader collects with
 * delta temporality, so the SDK keeps nothing across collections but its last report; each collection's
 * deltas are folded in here ({@link merge}), and the scrape and the OTLP push both read this state ({@link snapshot}).
 *
 * The state of a recorder's series is the object the recorder made with it (see `NumberPoint` and
 * `HistogramSeries` in series-point.ts): a counter's or gauge's point, which holds what the recorder
 * buffered and what the readers export, or a histogram's
 * handle. The SDK's reports lead to it through the series' attribute set or handle; the store lists it in its
 * stream from the first report on, and folds each report into it.
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
        if (s.series.length === 0) continue;
        let dataPoints: DataPoint<number>[] | DataPoint<Histogram>[];
        if (s.dataPointType === DataPointType.HISTOGRAM) {
          dataPoints = (s.series as HistogramSeries[]).map((h) => histogramPointOf(h, endTime));
        } else {
          // A copy: a render may still read it while the next merge appends or a removal compacts.
          const points = (s.series as NumberPoint[]).slice();
          for (const p of points) p.endTime = endTime;
          dataPoints = points;
        }
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
   * Adds each begun histogram series that is not exported yet with zero counts and no observation, under
   * the scope of its contract's meter (`scopeName`), so it is exported from now on. The stream's
   * descriptor and boundaries are the family's, as its View sets them.
   */
  begin(scopeName: string, series: readonly BegunSeries[], now: HrTime): void {
    const scope = this.scopeOf({ name: scopeName, version: '' });
    for (const { family, attributes } of series) {
      const h = seriesStateOf(attributes) as HistogramSeries | undefined;
      if (h === undefined || h[HISTOGRAM_START] !== UNREPORTED) continue;
      let stream = scope.streams.get(family.name);
      if (!stream) {
        const descriptor: MetricDescriptor = { name: family.name, description: family.help, unit: family.unit, valueType: ValueType.DOUBLE };
        scope.streams.set(family.name, (stream = { descriptor, dataPointType: DataPointType.HISTOGRAM, isMonotonic: false, series: [], keyed: undefined }));
      }
      const boundaries = boundariesOf(family);
      h[HISTOGRAM_VALUE] = histogramValue(boundaries, new Array<number>(boundaries.length + 1).fill(0), 0, 0);
      h[HISTOGRAM_START] = now;
      stream.series.push(h);
    }
  }

  /**
   * Deletes every series `match` selects, in every scope. A removed recorder series is unlisted and marked
   * unreported: a later report of it lists it again with that report alone.
   * @returns how many series were deleted.
   */
  remove(match: SeriesMatcher): number {
    let removed = 0;
    for (const { streams } of this.scopes.values()) {
      for (const [name, s] of streams) {
        const histograms = s.dataPointType === DataPointType.HISTOGRAM;
        const all = s.series;
        let kept = 0;
        for (let i = 0; i < all.length; i++) {
          const one = all[i] as Series;
          const attributes = histograms ? (one as HistogramSeries)[HISTOGRAM_LABELS] : (one as NumberPoint).attributes;
          if (!match(name, seriesLabelsOf(attributes) ?? attributes)) {
            all[kept++] = one;
            continue;
          }
          if (histograms) (one as HistogramSeries)[HISTOGRAM_START] = UNREPORTED;
          else (one as NumberPoint).startTime = UNREPORTED;
          s.keyed?.delete(seriesKey(attributes));
          removed++;
        }
        all.length = kept;
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
    scope.streams.set(m.descriptor.name, (s = { descriptor: m.descriptor, dataPointType, isMonotonic: m.dataPointType === DataPointType.SUM && m.isMonotonic, series: [], keyed: undefined }));
  }
  return s;
}

/**
 * The series a reported data point folds into: the recorder's (through its attribute set or handle), else the
 * store's own for that attribute set, made on first sight.
 */
function seriesFor<S extends Series>(stream: Stream, attributes: Attributes, make: (attributes: Attributes) => S): S {
  const own = seriesStateOf(attributes) as S | undefined;
  if (own !== undefined) return own;
  const key = seriesKey(attributes);
  const keyed = (stream.keyed ??= new Map());
  let s = keyed.get(key) as S | undefined;
  if (s === undefined) keyed.set(key, (s = make(attributes)));
  return s;
}

function newNumberPoint(attributes: Attributes): NumberPoint {
  const p = new NumberPoint();
  p.attributes = attributes;
  return p;
}

function foldNumbers(stream: Stream, points: readonly DataPoint<number>[], add: boolean, start: HrTime): void {
  for (const d of points) {
    const p = seriesFor(stream, d.attributes, newNumberPoint);
    if (p.startTime === UNREPORTED) {
      p.startTime = start;
      p.endTime = start;
      p.value = d.value;
      stream.series.push(p);
    } else p.value = add ? p.value + d.value : d.value;
  }
}

function foldHistograms(stream: Stream, points: readonly DataPoint<Histogram>[], start: HrTime): void {
  for (const d of points) {
    const h = seriesFor(stream, d.attributes, newHistogramSeries);
    const v = d.value;
    if (h[HISTOGRAM_START] === UNREPORTED) {
      // The SDK's counts are copied: its array is sized for growth, a copy holds the buckets alone.
      h[HISTOGRAM_VALUE] = histogramValue(v.buckets.boundaries, v.buckets.counts.slice(), v.count, v.sum, v.min, v.max);
      h[HISTOGRAM_START] = start;
      stream.series.push(h);
      continue;
    }
    const acc = h[HISTOGRAM_VALUE];
    const counts = acc.buckets.counts;
    const add = v.buckets.counts;
    for (let i = 0; i < counts.length; i++) counts[i] = (counts[i] as number) + (add[i] as number);
    acc.count += v.count;
    if (v.sum !== undefined) acc.sum = (acc.sum ?? 0) + v.sum;
    if (v.min !== undefined) acc.min = acc.min === undefined ? v.min : Math.min(acc.min, v.min);
    if (v.max !== undefined) acc.max = acc.max === undefined ? v.max : Math.max(acc.max, v.max);
  }
}

/** The boundaries of a family's begun series: one array per family, shared by its series. */
const familyBoundaries = new WeakMap<FamilySpec, number[]>();
function boundariesOf(family: FamilySpec): number[] {
  let b = familyBoundaries.get(family);
  if (b === undefined) familyBoundaries.set(family, (b = [...(family.buckets ?? [])]));
  return b;
}

/**
 * The key of a series no recorder made: its own keys and values, sorted by key, as the SDK hashes it.
 * (A recorder's series needs none: its point is reached from its attribute set or handle.)
 */
function seriesKey(attrs: Attributes): string {
  return JSON.stringify(
    Object.keys(attrs)
      .sort()
      .map((n) => [n, attrs[n]]),
  );
}
