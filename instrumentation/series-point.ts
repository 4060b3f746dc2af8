import type { Attributes, HrTime } from '@opentelemetry/api';
import type { DataPoint, Histogram } from '@opentelemetry/sdk-metrics';

/**
 * The state of one series: what the recorders buffer and the series store exports, in as few objects as
 * a series can be (see bench/memory.bench.ts for the bytes of each).
 */


/**
 * The start time of a point whose series the SDK has not reported yet (or whose series was removed): such a
 * point is in no stream of the series store, so no reader sees it. Compared by identity.
 */
export const UNREPORTED: HrTime = Object.freeze([0, 0]) as unknown as HrTime;

/** True while an up-down counter's or gauge's point waits in its recorder's flush list (see {@link FlaggedPoint}). */
export const DIRTY: unique symbol = Symbol('otel-contracts.dirty');

/** The attributes of a point not yet given its own (see {@link NumberPoint}). */
const NO_ATTRIBUTES: Attributes = Object.freeze({});
/** The value of a histogram series not yet reported: never read (no stream holds the series yet). */
export const NO_HISTOGRAM: Histogram = Object.freeze({ buckets: Object.freeze({ boundaries: [], counts: [] }), count: 0, sum: 0 }) as Histogram;

/**
 * One counter series (or a sum or gauge no recorder made), in one object: the data point the readers export
 * (`attributes`, `startTime`, `endTime`, the cumulative or last `value`) and what its recorder buffered since
 * the last flush into the SDK (a non-enumerable field, which no writer reads). The recorder creates it with the
 * series (its attribute set points back here); the series store folds the SDK's reports into it and lists it
 * while it is exported. 64 bytes. A counter needs no flag to know it waits in the flush list: its buffered
 * delta only grows, so it joins the list when the delta leaves zero.
 */
export class NumberPoint implements DataPoint<number> {
  /** The series' attribute set; the recorder sets it right after construction (the set points back here). */
  attributes: Attributes = NO_ATTRIBUTES;
  /** {@link UNREPORTED} until the store first folds a report of the series in. */
  startTime: HrTime = UNREPORTED;
  /** The end of the last collection that exported it (one shared array per collection). */
  endTime: HrTime = UNREPORTED;
  value = 0;
  /**
   * What its recorder buffered since its last flush into the SDK: a delta, or a gauge's last value. Not
   * enumerable, so that no copy or JSON of the data point carries it; a string key, so that the recorder's
   * hot path reads it as a plain named field.
   */
  declare pending: number;
  constructor() {
    Object.defineProperty(this, 'pending', { value: 0, writable: true });
  }
}

/**
 * An up-down counter's or gauge's point: a buffered delta can return to zero, and a gauge's last value can be
 * anything, so a flag says whether the point waits in the flush list. 72 bytes.
 */
export class FlaggedPoint extends NumberPoint {
  [DIRTY] = false;
}

/** A histogram series' attribute set (labels), in its {@link HistogramSeries}. */
export const HISTOGRAM_LABELS: unique symbol = Symbol('otel-contracts.labels');
/** A histogram series' start time, {@link UNREPORTED} until the store first folds a report of it in. */
export const HISTOGRAM_START: unique symbol = Symbol('otel-contracts.start');
/** A histogram series' cumulative buckets, count and sum. */
export const HISTOGRAM_VALUE: unique symbol = Symbol('otel-contracts.value');

/**
 * The cumulative state of one histogram series: for a recorder's series, its handle (`seriesHandles` in
 * views.ts: the object the SDK aggregates by holds it under symbol keys), so a series is one object besides
 * its attribute set and buckets. The store makes the series' data point from it at each snapshot (see
 * {@link histogramPointOf}): a short-lived object beside the twenty-odd lines a render writes per series.
 */
export interface HistogramSeries {
  readonly [HISTOGRAM_LABELS]: Attributes;
  [HISTOGRAM_START]: HrTime;
  [HISTOGRAM_VALUE]: Histogram;
}

/** The state of a histogram series no recorder made (the store keys it by its attributes). */
export function newHistogramSeries(attributes: Attributes): HistogramSeries {
  return { [HISTOGRAM_LABELS]: attributes, [HISTOGRAM_START]: UNREPORTED, [HISTOGRAM_VALUE]: NO_HISTOGRAM };
}

/** The data point of a histogram series as the readers see it, stamped with `endTime`; its value is the series' own (updated in place). */
export function histogramPointOf(s: HistogramSeries, endTime: HrTime): DataPoint<Histogram> {
  return { attributes: s[HISTOGRAM_LABELS], startTime: s[HISTOGRAM_START], endTime, value: s[HISTOGRAM_VALUE] };
}

/**
 * A histogram value with every field in the object itself (one literal: a later `sum` would go to a separate
 * property store, 40 bytes more). `min` and `max` are added only when given (the contracts' Views record neither).
 * @param boundaries shared by every series of the stream; never written.
 * @param counts bucket counts, one more than `boundaries` (the +Inf bucket); kept, not copied.
 */
export function histogramValue(boundaries: number[], counts: number[], count: number, sum: number | undefined, min?: number, max?: number): Histogram {
  const value: Histogram = { buckets: { boundaries, counts }, count, sum };
  if (min !== undefined) value.min = min;
  if (max !== undefined) value.max = max;
  return value;
}
