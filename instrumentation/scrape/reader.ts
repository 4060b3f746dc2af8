import { MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { FamilySpec } from '../../semconv/types.ts';
import { serializeChunks } from './serializer.ts';
import { SharedRender } from './shared-render.ts';

/** Longest stretch, in milliseconds, the serializer runs before it lets the event loop turn. */
export const SLICE_MS = 4;

/**
 * Turns the data a render collected into the data it serializes (see {@link ScrapeReader.setTransform}).
 * May reject; the render then fails with that error.
 */
export type CollectedTransform = (collected: ResourceMetrics) => Promise<ResourceMetrics>;

/**
 * The pull reader: a MetricReader subclass (subclassing is public SDK API) that renders the Prometheus text
 * exposition on demand with the exact-name serializer, instead of the stock exporter's, which appends `_total`
 * to every counter. It reads cumulative data, as Prometheus expects: in a pipeline it is bound to the
 * `CumulativeReader` (one cumulative copy shared with the push reader; the binding uses the SDK-internal
 * `setMetricProducer`, see `CumulativeReader.bind`); registered with a MeterProvider on its own, it is a
 * cumulative reader (the MetricReader default).
 *
 * A render serializes in slices of at most about {@link SLICE_MS} and yields to the event loop between
 * them, so a big exposition does not block the process while it is written; scrapes that arrive during a
 * render share it (see {@link SharedRender}).
 */
export class ScrapeReader extends MetricReader {
  private readonly families: readonly FamilySpec[];
  private readonly targetInfo: boolean;
  private readonly sliceMs: number;
  private inflight: SharedRender | undefined;
  private transform: CollectedTransform | undefined;

  /**
   * @param families the documented families, written in this order with HELP and TYPE even before data.
   * @param targetInfo write a `target_info` gauge with the resource's attributes.
   * @param sliceMs how long, in milliseconds, serialization runs before it yields (default {@link SLICE_MS}; 0 yields after every piece).
   */
  constructor(families: readonly FamilySpec[], targetInfo = false, sliceMs = SLICE_MS) {
    super();
    this.sliceMs = sliceMs;
    this.families = families;
    this.targetInfo = targetInfo;
  }

  /**
   * The exposition as pieces of text, produced by the render under way if there is one, else by a new one.
   * Joined, the pieces are the exposition {@link render} returns.
   * @throws Error (on iteration) when collection fails, the reader is shut down or not yet registered.
   */
  stream(): AsyncGenerator<string, void, undefined> {
    if (!this.inflight) {
      const shared = new SharedRender();
      this.inflight = shared;
      this.produce(shared).then(
        () => shared.finish(),
        (e: unknown) => shared.finish(e),
      );
    }
    return this.inflight.read();
  }

  /**
   * Collects and renders one exposition (shared with a render already under way).
   * @throws Error when the reader is shut down or not yet registered with a MeterProvider.
   */
  async render(): Promise<string> {
    let out = '';
    for await (const piece of this.stream()) out += piece;
    return out;
  }

  /**
   * From now on, every render serializes `transform(collected)` instead of what it collected (a process
   * that serves more than its own series: a cluster primary merging its workers' data points). Renders
   * under way keep the transform they started with. `undefined` serializes the collected data again.
   */
  setTransform(transform: CollectedTransform | undefined): void {
    this.transform = transform;
  }

  /**
   * Collects what a render serializes before any transform: every series of the cumulative copy.
   * @throws AggregateError when the collection reports errors (an observable callback threw); Error when
   *   the reader is shut down or not yet registered with a MeterProvider.
   */
  async collectOwn(): Promise<ResourceMetrics> {
    const { resourceMetrics, errors } = await this.collect();
    if (errors.length) throw new AggregateError(errors, 'metric collection failed');
    return resourceMetrics;
  }

  private async produce(shared: SharedRender): Promise<void> {
    try {
      const transform = this.transform;
      const collected = await this.collectOwn();
      const resourceMetrics = transform ? await transform(collected) : collected;
      // The collection ran in one go: let the event loop turn before the first slice.
      await new Promise<void>((resolve) => setImmediate(resolve));
      let sliceStart = performance.now();
      for (const piece of serializeChunks(resourceMetrics, { families: this.families, targetInfo: this.targetInfo })) {
        shared.push(piece);
        if (performance.now() - sliceStart >= this.sliceMs) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
        }
      }
    } finally {
      // The next scrape collects afresh: nothing of this render outlives it.
      if (this.inflight === shared) this.inflight = undefined;
    }
  }

  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}
