/**
 * The one SDK-internal method the pipeline relies on: `MetricReader.setMetricProducer`, which sdk-metrics
 * documents as "should only be called once by the SDK and should be considered internal". `CumulativeReader.bind`
 * calls it so that the scrape and push readers read the pipeline's one cumulative copy (see the comment there
 * for why no public API does this). An SDK upgrade that renames it, stops collecting from it, or stops
 * refusing a second producer fails here, by name, before it fails as an empty /metrics elsewhere.
 */
import { ValueType } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  MetricReader,
  type CollectionResult,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { describe, expect, it } from 'vitest';
import { CumulativeReader } from './pipeline/cumulative-reader.ts';
import { ScrapeReader } from './scrape/reader.ts';
import type { FamilySpec } from '../semconv/types.ts';

/** The smallest reader: the SDK's abstract class with nothing added. */
class PlainReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** A producer that hands out one fixed sum, and counts how often it was asked. */
function fixedProducer(): MetricProducer & { calls: number; result: CollectionResult } {
  const result: CollectionResult = {
    resourceMetrics: {
      resource: resourceFromAttributes({ 'service.name': 'sdk-internals' }),
      scopeMetrics: [
        {
          scope: { name: 'test' },
          metrics: [
            {
              descriptor: { name: 'probe_total', description: 'probe', unit: '1', valueType: ValueType.DOUBLE },
              aggregationTemporality: AggregationTemporality.CUMULATIVE,
              dataPointType: DataPointType.SUM,
              isMonotonic: true,
              dataPoints: [{ attributes: { k: 'v' }, startTime: [1, 0], endTime: [2, 0], value: 42 }],
            },
          ],
        },
      ],
    },
    errors: [],
  };
  const p = {
    calls: 0,
    result,
    async collect() {
      p.calls++;
      return result;
    },
  };
  return p;
}

describe('MetricReader.setMetricProducer (SDK-internal; CumulativeReader.bind depends on it)', () => {
  it('exists on MetricReader.prototype as a method of one parameter', () => {
    const method = (MetricReader.prototype as unknown as Record<string, unknown>).setMetricProducer;
    expect(typeof method, 'sdk-metrics removed or renamed MetricReader.prototype.setMetricProducer: CumulativeReader.bind must change').toBe('function');
    expect((method as (p: MetricProducer) => void).length).toBe(1);
  });

  it('a reader given a producer through it collects from that producer, and from nothing else', async () => {
    const reader = new PlainReader();
    await expect(reader.collect(), 'an unbound reader must refuse to collect').rejects.toThrow();
    const producer = fixedProducer();
    reader.setMetricProducer(producer);
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    expect(producer.calls).toBe(1);
    expect(resourceMetrics.resource.attributes['service.name']).toBe('sdk-internals');
    expect(resourceMetrics.scopeMetrics).toEqual(producer.result.resourceMetrics.scopeMetrics);
  });

  it('a second producer is refused (bind documents the throw)', () => {
    const reader = new PlainReader();
    reader.setMetricProducer(fixedProducer());
    expect(() => reader.setMetricProducer(fixedProducer())).toThrow();
    const cumulative = new CumulativeReader(() => {});
    expect(() => cumulative.bind(reader)).toThrow();
  });

  it('through CumulativeReader.bind, a scrape reader renders what the MeterProvider recorded', async () => {
    const family: FamilySpec = { name: 'sdk_hook_probe_total', instrument: 'counter', type: 'counter', unit: '1', help: 'probe', section: 'test', labels: [], maxSeries: 10 };
    const cumulative = new CumulativeReader(() => {});
    const scrape = new ScrapeReader([family]);
    cumulative.bind(scrape);
    const provider = new MeterProvider({ readers: [cumulative] });
    provider.getMeter('test').createCounter('sdk_hook_probe_total', { description: 'probe' }).add(3);
    expect(await scrape.render()).toContain('sdk_hook_probe_total 3\n');
    await provider.shutdown();
  });
});
