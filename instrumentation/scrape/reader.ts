import { MetricReader } from '@opentelemetry/sdk-metrics';
import type { FamilySpec } from '../../semconv/types.ts';
import { serializeExposition } from './serializer.ts';

/**
 * The pull reader: a MetricReader (public SDK API) that renders the Prometheus text exposition on demand
 * with the exact-name serializer, instead of the stock exporter's, which appends `_total` to every counter.
 * Temporality is cumulative (the MetricReader default), as Prometheus expects.
 */
export class ScrapeReader extends MetricReader {
  private readonly families: readonly FamilySpec[];
  private readonly targetInfo: boolean;
  private readonly beforeCollect: () => void;

  /**
   * @param families the documented families, written in this order with HELP and TYPE even before data.
   * @param targetInfo write a `target_info` gauge with the resource's attributes.
   * @param beforeCollect runs before every collection (the recorders' flush into the SDK).
   */
  constructor(families: readonly FamilySpec[], targetInfo = false, beforeCollect: () => void = () => {}) {
    super();
    this.families = families;
    this.targetInfo = targetInfo;
    this.beforeCollect = beforeCollect;
  }

  override collect(options?: Parameters<MetricReader['collect']>[0]): ReturnType<MetricReader['collect']> {
    this.beforeCollect();
    return super.collect(options);
  }

  /**
   * Collects and renders one exposition.
   * @throws Error when the reader is shut down or not yet registered with a MeterProvider.
   */
  async render(): Promise<string> {
    const { resourceMetrics, errors } = await this.collect();
    if (errors.length) throw new AggregateError(errors, 'metric collection failed');
    return serializeExposition(resourceMetrics, { families: this.families, targetInfo: this.targetInfo });
  }

  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}
