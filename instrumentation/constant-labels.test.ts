/**
 * Constant instance labels (egress `instance_id`; ops-proxy `node`, `pod`) stay out of the attribute keys the
 * SDK hashes on every record, and still reach both writers: the exposition and the OTLP export. A histogram
 * series gives the SDK one key, its handle, which neither writer exports.
 */
import { describe, expect, it } from 'vitest';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { opsProxy, trc } from '../semconv/index.ts';
import { createRecorders } from './recorders.ts';
import { RecordingExporter } from './push/recording-exporter.ts';
import { ScrapeReader } from './scrape/reader.ts';
import { buildViews, meterNameOf, SERIES_HANDLE } from './views.ts';

describe('constant instance labels', () => {
  it('are inherited, not own keys, of the recorded attribute sets, and both writers put them first', async () => {
    const memory = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const push = new PeriodicExportingMetricReader({ exporter: new RecordingExporter(memory), exportIntervalMillis: 3_600_000 });
    const scrape = new ScrapeReader(opsProxy.families);
    const provider = new MeterProvider({ views: buildViews([opsProxy]), readers: [scrape, push] });
    const { recorders, flush } = createRecorders(opsProxy, provider.getMeter(meterNameOf(opsProxy)), { node: 'n1', pod: 'p1' }, () => {});
    const family = opsProxy.families.find((f) => f.instrument === 'counter' && f.labels.length > 0)!;
    const labels = Object.fromEntries(family.labels.map((l) => [l.name, (l as { values?: readonly string[] }).values?.[0] ?? "x"]));
    (recorders as unknown as Record<string, { add(v: number, l: object): void }>)[family.name]!.add(1, labels);
    flush();

    const { resourceMetrics } = await scrape.collect();
    const point = resourceMetrics.scopeMetrics.flatMap((sm) => sm.metrics).find((m) => m.descriptor.name === family.name)!.dataPoints[0]!;
    // What the SDK hashed per record: the family's own labels only.
    expect(Object.keys(point.attributes)).toEqual(family.labels.map((l) => l.name));

    const firstLabels = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
    expect(await scrape.render()).toContain(`${family.name}{node="n1",pod="p1",${firstLabels}} 1\n`);

    await push.forceFlush();
    const pushed = memory.getMetrics().at(-1)!.scopeMetrics.flatMap((sm) => sm.metrics).find((m) => m.descriptor.name === family.name)!.dataPoints[0]!;
    expect(Object.entries(pushed.attributes)).toEqual([['node', 'n1'], ['pod', 'p1'], ...Object.entries(labels)]);
    await provider.shutdown();
  });

  it('a histogram series is a handle to the SDK, and its labels (constant ones first) to both writers', async () => {
    const memory = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const push = new PeriodicExportingMetricReader({ exporter: new RecordingExporter(memory), exportIntervalMillis: 3_600_000 });
    const scrape = new ScrapeReader(trc.families);
    const provider = new MeterProvider({ views: buildViews([trc]), readers: [scrape, push] });
    const { recorders } = createRecorders(trc, provider.getMeter(meterNameOf(trc)), { node_id: 'n1' }, () => {});
    recorders.trc_agent_image_pull_seconds.record(2, { result: 'success' });
    recorders.trc_http_request_duration_seconds.record(0.5, { method: 'GET', path_template: '/a', status: '200' });
    recorders.trc_http_request_duration_seconds.record(0.25, { method: 'GET', path_template: '/a', status: '200' });
    recorders.trc_http_request_duration_seconds.record(1, { method: 'POST', path_template: '/a', status: '200' });

    const { resourceMetrics } = await scrape.collect();
    const attributeSets = resourceMetrics.scopeMetrics.flatMap((sm) => sm.metrics).flatMap((m) => (m.dataPoints as { attributes: object }[]).map((p) => p.attributes));
    expect(attributeSets.map((a) => Object.keys(a))).toEqual([[SERIES_HANDLE], [SERIES_HANDLE], [SERIES_HANDLE]]);

    const exposition = await scrape.render();
    expect(exposition).toContain('trc_agent_image_pull_seconds_count{node_id="n1",result="success"} 1\n');
    expect(exposition).toContain('trc_http_request_duration_seconds_sum{method="GET",path_template="/a",status="200"} 0.75\n');
    expect(exposition).toContain('trc_http_request_duration_seconds_count{method="POST",path_template="/a",status="200"} 1\n');
    expect(exposition).not.toMatch(/[{,]_="/);

    await push.forceFlush();
    const pushed = memory.getMetrics().at(-1)!.scopeMetrics.flatMap((sm) => sm.metrics);
    expect(pushed.flatMap((m) => (m.dataPoints as { attributes: object }[]).map((p) => Object.entries(p.attributes)))).toEqual([
      [['method', 'GET'], ['path_template', '/a'], ['status', '200']],
      [['method', 'POST'], ['path_template', '/a'], ['status', '200']],
      [['node_id', 'n1'], ['result', 'success']],
    ]);
    await provider.shutdown();
  });
});
