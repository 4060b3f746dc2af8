/**
 * Memory per series: heap bytes for 10k counter series and 10k 20-bucket histogram series, ours against
 * prom-client and the bare OTel SDK (the Prometheus exporter's reader), in one run. Run with --expose-gc
 * (the npm script re-executes itself with it).
 */
import { execFileSync } from 'node:child_process';
import client from 'prom-client';
import { AggregationType, MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { createPipeline } from '../instrumentation/pipeline.ts';
import { benchContract, TWENTY_BUCKETS } from './support/bench-contract.ts';
import { printRows } from './support/table.ts';

const SERIES = 10_000;

if (typeof globalThis.gc !== 'function') {
  execFileSync(process.execPath, ['--expose-gc', ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(0);
}
const gc = globalThis.gc as () => void;

/** Heap growth in bytes per series after `build` creates SERIES series and one collection runs. */
async function bytesPerSeries(build: () => Promise<unknown> | unknown): Promise<number> {
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const keep = await build();
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (keep === undefined) throw new Error('keep the built object alive');
  return (after - before) / SERIES;
}

const ids = Array.from({ length: SERIES }, (_, i) => `id-${i}`);
const env = { OTEL_METRICS_EXPORTER: 'prometheus', OTEL_CONTRACTS_LOG_LEVEL: 'silent' };

async function oursCounter() {
  const p = createPipeline({ contracts: [benchContract], serviceName: 'bench', env });
  const r = p.recorders(benchContract);
  for (const id of ids) r.bench_series_total.add(1, { id });
  await p.render();
  return p;
}
async function oursHistogram() {
  const p = createPipeline({ contracts: [benchContract], serviceName: 'bench', env });
  const r = p.recorders(benchContract);
  for (const id of ids) r.bench_series_seconds.record(0.01, { id });
  await p.render();
  return p;
}
async function promCounter() {
  const reg = new client.Registry();
  const c = new client.Counter({ name: 'c_total', help: 'h', labelNames: ['id'], registers: [reg] });
  for (const id of ids) c.inc({ id });
  await reg.metrics();
  return reg;
}
async function promHistogram() {
  const reg = new client.Registry();
  const h = new client.Histogram({ name: 'h_seconds', help: 'h', labelNames: ['id'], buckets: TWENTY_BUCKETS, registers: [reg] });
  for (const id of ids) h.observe({ id }, 0.01);
  await reg.metrics();
  return reg;
}
async function sdk(kind: 'counter' | 'histogram') {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    readers: [exporter],
    views: [{ instrumentName: 'x', aggregationCardinalityLimit: SERIES + 1, ...(kind === 'histogram' ? { aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: TWENTY_BUCKETS } } } : {}) }],
  });
  const meter = provider.getMeter('bench');
  if (kind === 'counter') {
    const c = meter.createCounter('x');
    for (const id of ids) c.add(1, { id });
  } else {
    const h = meter.createHistogram('x');
    for (const id of ids) h.record(0.01, { id });
  }
  await exporter.collect();
  return provider;
}

const rows = [
  { case: 'counter series', figures: [{ name: 'prom-client', value: await bytesPerSeries(promCounter) }, { name: 'otel-sdk', value: await bytesPerSeries(() => sdk('counter')) }, { name: 'ours', value: await bytesPerSeries(oursCounter) }] },
  { case: '20-bucket histogram series', figures: [{ name: 'prom-client', value: await bytesPerSeries(promHistogram) }, { name: 'otel-sdk', value: await bytesPerSeries(() => sdk('histogram')) }, { name: 'ours', value: await bytesPerSeries(oursHistogram) }] },
];
printRows(`memory per series (${SERIES} series, after one collection)`, 'heap bytes per series', rows);
