import { millisToHrTime } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InstrumentType,
  MetricReader,
  type CollectionResult,
  type IMetricReader,
  type MetricCollectOptions,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { SeriesMatcher } from '../views.ts';
import type { BegunSeries } from '../recorders.ts';
import { SeriesStore } from './series-store.ts';

/**
 * Observable counters report cumulative values already; asking the SDK for their deltas would make it
 * keep a cumulative memo of every series. Everything else is collected as deltas.
 */
function temporalityOf(type: InstrumentType): AggregationTemporality {
  return type === InstrumentType.OBSERVABLE_COUNTER || type === InstrumentType.OBSERVABLE_UP_DOWN_COUNTER ? AggregationTemporality.CUMULATIVE : AggregationTemporality.DELTA;
}

/**
 * The one reader the MeterProvider knows. It collects the SDK with delta temporality and folds each
 * collection into a {@link SeriesStore}, so its `collect()` returns cumulative data as a cumulative reader's
 * would, from one copy of every series, which can be removed ({@link removeSeries}).
 *
 * The exporting readers (the exact-name scrape reader, the OTLP push reader) are not registered with the
 * MeterProvider: each is bound to this reader as its metric producer ({@link bind}, through the SDK-internal
 * `MetricReader.setMetricProducer`), so scrape and push read the same state and the SDK keeps no per-reader
 * cumulative copy. The MeterProvider's `forceFlush()` and `shutdown()` reach them through this reader: a
 * flush pushes, and shutdown runs the push reader's final export before this reader stops collecting.
 */
export class CumulativeReader extends MetricReader {
  private readonly store = new SeriesStore(millisToHrTime(Date.now()));
  private readonly beforeCollect: () => void;
  private readonly bound: IMetricReader[] = [];
  private readonly begun: [string, readonly BegunSeries[]][] = [];

  /** @param beforeCollect runs before every collection (collector hooks, the recorders' flush into the SDK). */
  constructor(beforeCollect: () => void) {
    super({ aggregationTemporalitySelector: temporalityOf });
    this.beforeCollect = beforeCollect;
  }

  /**
   * Makes `reader` read this reader's cumulative state (it must not be registered with a MeterProvider).
   * @throws Error when `reader` is already bound to a producer.
   */
  bind(reader: MetricReader): void {
    const producer: MetricProducer = { collect: (options) => this.collect(options) };
    // `MetricReader.setMetricProducer` is SDK-internal, not public API: sdk-metrics documents it as "should
    // only be called once by the SDK and should be considered internal" (the MeterProvider calls it when a
    // reader is registered). We call it in the MeterProvider's place, once per reader, because the SDK has
    // no public way to make one reader read another's state: the public `metricProducers` option only adds
    // producers beside the SDK's, and `collect()` throws until this one is set. Registering the scrape and
    // push readers with the MeterProvider instead would make the SDK keep one cumulative copy per reader,
    // which can never forget a series (no `removeSeries`). Checked against each SDK upgrade by
    // instrumentation/sdk-internals.test.ts (the method exists, a reader collects from the producer it is
    // given, a second call throws).
    reader.setMetricProducer(producer);
    this.bound.push(reader);
  }

  /**
   * Collects the SDK's deltas, folds them in, and returns every series' cumulative value.
   * @throws Error when the reader is shut down or not yet registered with a MeterProvider.
   */
  override async collect(options?: MetricCollectOptions): Promise<CollectionResult> {
    this.beforeCollect();
    const { resourceMetrics, errors } = await super.collect(options);
    const now = millisToHrTime(Date.now());
    this.store.merge(resourceMetrics.scopeMetrics, now);
    for (const [scopeName, series] of this.begun.splice(0)) this.store.begin(scopeName, series, now);
    return { resourceMetrics: { resource: resourceMetrics.resource, scopeMetrics: this.store.snapshot(now) }, errors };
  }

  /**
   * Histogram series started with zero counts (`HistogramRecorder.begin`) under the meter `scopeName`:
   * added to the cumulative copy at the next collection, unless they exist by then.
   */
  begin(scopeName: string, series: readonly BegunSeries[]): void {
    if (series.length > 0) this.begun.push([scopeName, series]);
  }

  /**
   * Removes the series `match` selects from what every bound reader exports.
   * @returns how many series were removed.
   */
  removeSeries(match: SeriesMatcher): number {
    return this.store.remove(match);
  }

  protected override async onForceFlush(): Promise<void> {
    await Promise.all(this.bound.map((r) => r.forceFlush()));
  }

  /** The bound readers shut down first (the push reader's final export collects through this reader). */
  protected override async onShutdown(): Promise<void> {
    await Promise.all(this.bound.map((r) => r.shutdown()));
  }
}
