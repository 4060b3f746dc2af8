import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { AggregationTemporalityPreference, OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { AggregationType, MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { decodeMetricsRequest, OtlpDecodeError, type OtlpMetric, type OtlpMetricsRequest } from './decode.ts';
import { otlpMessageTypes } from './descriptor.ts';
import { startOtlpReceiver, type OtlpReceiver } from './receiver.ts';

let receiver: OtlpReceiver | undefined;
let provider: MeterProvider | undefined;

afterEach(async () => {
  await provider?.shutdown().catch(() => {});
  provider = undefined;
  await receiver?.close();
  receiver = undefined;
});

/** Records one of each instrument kind through a real SDK and pushes it with `exporter`. */
async function pushOnce(exporter: PushMetricExporter): Promise<void> {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
  provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'otlp-test', 'service.instance.id': 'i-1' }),
    readers: [reader],
    views: [{ instrumentName: 'test_latency_seconds', aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [0.1, 1] } } }],
  });
  const meter = provider.getMeter('otlp-test-scope', '1.2.3');
  meter.createCounter('test_requests_total', { description: 'requests', unit: '1' }).add(3, { method: 'GET', ok: true, code: 200 });
  meter.createUpDownCounter('test_in_flight').add(-2, { pool: 'a' });
  meter.createGauge('test_temperature', { unit: 'Cel' }).record(21.5, { room: 'b' });
  const h = meter.createHistogram('test_latency_seconds', { unit: 's' });
  h.record(0.05, { route: '/x' });
  h.record(0.5, { route: '/x' });
  h.record(5, { route: '/x' });
  await provider.forceFlush();
}

function metricsByName(req: OtlpMetricsRequest): Map<string, OtlpMetric> {
  const out = new Map<string, OtlpMetric>();
  for (const rm of req.resourceMetrics) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) out.set(m.name, m);
  return out;
}

function expectDecodedPush(req: OtlpMetricsRequest): void {
  expect(req.resourceMetrics).toHaveLength(1);
  const rm = req.resourceMetrics[0]!;
  expect(rm.resource['service.name']).toBe('otlp-test');
  expect(rm.resource['service.instance.id']).toBe('i-1');
  expect(rm.scopeMetrics[0]?.scope).toMatchObject({ name: 'otlp-test-scope', version: '1.2.3' });
  const m = metricsByName(req);

  const counter = m.get('test_requests_total');
  expect(counter).toMatchObject({ kind: 'sum', isMonotonic: true, temporality: 'cumulative', description: 'requests', unit: '1' });
  expect(counter?.kind === 'sum' && counter.dataPoints[0]).toMatchObject({ value: 3, attributes: { method: 'GET', ok: 'true', code: '200' } });

  const upDown = m.get('test_in_flight');
  expect(upDown).toMatchObject({ kind: 'sum', isMonotonic: false });
  expect(upDown?.kind === 'sum' && upDown.dataPoints[0]?.value).toBe(-2);

  const gauge = m.get('test_temperature');
  expect(gauge).toMatchObject({ kind: 'gauge', unit: 'Cel', temporality: 'unspecified' });
  expect(gauge?.kind === 'gauge' && gauge.dataPoints[0]).toMatchObject({ value: 21.5, attributes: { room: 'b' } });

  const hist = m.get('test_latency_seconds');
  expect(hist).toMatchObject({ kind: 'histogram', temporality: 'cumulative' });
  if (hist?.kind !== 'histogram') throw new Error('not a histogram');
  const p = hist.dataPoints[0]!;
  expect(p.attributes).toEqual({ route: '/x' });
  expect(p.explicitBounds).toEqual([0.1, 1]);
  expect(p.bucketCounts).toEqual([1, 1, 1]);
  expect(p.count).toBe(3);
  expect(p.sum).toBeCloseTo(5.55);
  expect(p.min).toBe(0.05);
  expect(p.max).toBe(5);
  expect(BigInt(p.timeUnixNano)).toBeGreaterThan(1_600_000_000_000_000_000n);
}

describe('OTLP receiver with real pushes', () => {
  it('receives and decodes a protobuf push from exporter-metrics-otlp-proto', async () => {
    receiver = await startOtlpReceiver();
    const next = receiver.nextRequest();
    await pushOnce(new ProtoExporter({ url: receiver.url, temporalityPreference: AggregationTemporalityPreference.CUMULATIVE }));
    expectDecodedPush(await next);
    expect(receiver.errors).toEqual([]);
    expect(receiver.requests).toHaveLength(1);
  });

  it('receives a gzip-compressed protobuf push', async () => {
    receiver = await startOtlpReceiver();
    const next = receiver.nextRequest();
    await pushOnce(new ProtoExporter({ url: receiver.url, compression: CompressionAlgorithm.GZIP }));
    expectDecodedPush(await next);
  });

  it('receives and decodes an OTLP/JSON push from exporter-metrics-otlp-http the same way', async () => {
    receiver = await startOtlpReceiver();
    const next = receiver.nextRequest();
    await pushOnce(new JsonExporter({ url: receiver.url, temporalityPreference: AggregationTemporalityPreference.CUMULATIVE }));
    expectDecodedPush(await next);
  });
});

describe('OTLP receiver refusals', () => {
  it('answers 200 with an empty ExportMetricsServiceResponse', async () => {
    receiver = await startOtlpReceiver();
    const res = await fetch(receiver.url, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: new Uint8Array() });
    expect(res.status).toBe(200);
    const body = new Uint8Array(await res.arrayBuffer());
    const { ExportMetricsServiceResponse } = otlpMessageTypes();
    expect(ExportMetricsServiceResponse.toObject(ExportMetricsServiceResponse.decode(body))).toEqual({});
  });

  it('answers 400 with a Status for a body that is not an export request', async () => {
    receiver = await startOtlpReceiver();
    const res = await fetch(receiver.url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"resourceMetrics": 3' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/invalid JSON/);
    expect(receiver.errors[0]?.status).toBe(400);
  });

  it('answers 413 for a body over the cap, declared or streamed, and for a gzip bomb', async () => {
    receiver = await startOtlpReceiver({ maxBodyBytes: 4096 });
    const big = new Uint8Array(8192);
    const res = await fetch(receiver.url, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: big });
    expect(res.status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(1 << 20));
    const res2 = await fetch(receiver.url, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' }, body: bomb });
    expect(bomb.length).toBeLessThan(4096);
    expect(res2.status).toBe(413);
    expect(receiver.errors.map((e) => e.reason)).toEqual([expect.stringMatching(/^request body larger/), expect.stringMatching(/^gunzipped request body larger/)]);
  });

  it('answers 415 for other content types and 404/405 elsewhere', async () => {
    receiver = await startOtlpReceiver();
    expect((await fetch(receiver.url, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' })).status).toBe(415);
    expect((await fetch(`${receiver.endpoint}/v1/traces`, { method: 'POST', body: 'x' })).status).toBe(404);
    expect((await fetch(receiver.url)).status).toBe(405);
  });

  it('refuses a non-loopback bind unless allowed', async () => {
    await expect(startOtlpReceiver({ host: '0.0.0.0' })).rejects.toThrow(/non-loopback/);
  });
});

describe('decodeMetricsRequest', () => {
  it('accepts snake_case OTLP/JSON and 64-bit integers as strings', () => {
    const body = JSON.stringify({
      resource_metrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 's' } }] },
          scope_metrics: [
            {
              scope: { name: 'sc' },
              metrics: [
                { name: 'c', sum: { data_points: [{ as_int: '42', attributes: [{ key: 'k', value: { intValue: '7' } }] }], aggregation_temporality: 1, is_monotonic: true } },
                { name: 'h', histogram: { dataPoints: [{ count: '2', bucketCounts: ['1', '1'], explicitBounds: [1] }], aggregationTemporality: 2 } },
              ],
            },
          ],
        },
      ],
    });
    const req = decodeMetricsRequest(new TextEncoder().encode(body), 'application/json; charset=utf-8');
    const m = metricsByName(req);
    expect(m.get('c')).toMatchObject({ kind: 'sum', isMonotonic: true, temporality: 'delta', dataPoints: [{ value: 42, attributes: { k: '7' } }] });
    expect(m.get('h')).toMatchObject({ kind: 'histogram', dataPoints: [{ count: 2, bucketCounts: [1, 1], explicitBounds: [1] }] });
  });

  it('rejects garbage protobuf and mismatched histogram buckets with the reason', () => {
    expect(() => decodeMetricsRequest(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f]), 'application/x-protobuf')).toThrow(OtlpDecodeError);
    const bad = JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'h', histogram: { dataPoints: [{ bucketCounts: [1, 2, 3], explicitBounds: [1] }] } }] }] }] });
    expect(() => decodeMetricsRequest(new TextEncoder().encode(bad), 'application/json')).toThrow(/3 bucketCounts for 1 explicitBounds/);
    expect(() => decodeMetricsRequest(new Uint8Array(), 'text/plain')).toThrow(/unsupported content type/);
  });
});
