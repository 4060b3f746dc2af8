/**
 * Memory per series: heap bytes per series of 10k counter series and 10k 20-bucket histogram series, ours (both
 * readers on) against `@prometheus-io/client` 0.16, prom-client 15 and the bare OTel SDK with one reader (the
 * Prometheus exporter's), in one run, each after two collections (ours: a scrape and an OTLP push). Target:
 * ours at or below 1.25 times the faster Prometheus client.
 *
 * Ours keeps one cumulative copy of every series; the SDK under it collects deltas and holds the last delta
 * until the next collection (it calibrates start times with it). "ours, after 1 collection" shows that
 * transient: between the first and the second collection, a series recorded in the first interval costs both.
 * Where each byte goes is in {@link METHOD} (from heap snapshots, by object shape). Run with --expose-gc (the
 * script re-executes itself with it).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import promClient from 'prom-client';
import promIo from '@prometheus-io/client';
import { AggregationType, MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPipeline, type Pipeline } from '../instrumentation/pipeline.ts';
import { benchContract, TWENTY_BUCKETS } from './support/bench-contract.ts';
import { RESULTS_DIR, reportBenchmark } from './support/results.ts';
import { FASTER_CLIENT, type Row } from './support/table.ts';

const SERIES = 10_000;

/**
 * How the figures are made and what each byte of ours is: node:v8 heap snapshots of a pipeline with 10k series
 * and of one with none (both readers on, after a scrape and a push), self sizes summed by object shape (own
 * property names) and by what holds each array, difference over 10k (Node 24, 64-bit, no pointer compression).
 */
const METHOD =
  'Heap bytes kept per series: the heap used (after two full GCs) with the series built and collected twice, minus the same build ' +
  'with no series, over 10 000. Where ours goes, from node:v8 heap snapshots summed by object shape (per series; a Map entry ' +
  'is about 48 B at 10 000 entries, its table being a power of two). ' +
  'Counter series, 161-174 B: the series point (the data point both readers export and the recorder\'s buffered delta, in one ' +
  'object: attributes, startTime, endTime, value, pending) 64 B; the attribute set (its label, a reference to its point) 40 B; ' +
  'the recorder\'s label-value Map entry about 48 B; its place in the store\'s list about 8 B; the rest is compiled code. Before ' +
  '(235 B): the recorder\'s series {attrs, pending, dirty} 48 B, the attribute set 32 B, the recorder\'s Map entry 47 B, the ' +
  'store\'s point 56 B and the store\'s Map entry keyed by the set 47 B. ' +
  '20-bucket histogram series, 465-485 B: the bucket counts 216 B (an array of 21: 32 B + 184 B); the series handle (the key ' +
  'the SDK aggregates by, holding the attribute set, start time and cumulative value) 56 B; the value {buckets, count, sum} 48 B ' +
  'and its sum 16 B; {boundaries, counts} 40 B (boundaries shared by the family); the attribute set 32 B; the Map entry about ' +
  '48 B; the list place about 8 B; each snapshot makes a short-lived data point per series. Before (594 B): the same counts, ' +
  'handle 40 B, attribute set 32 B, the store\'s point 56 B, a value whose count and sum sat in a separate property store ' +
  '(40 + 40 + 16 B), buckets 40 B and two Map entries. ' +
  'After one collection the SDK still holds its last delta report until the next collection (a delta reader\'s memo, for ' +
  'start-time calibration), on top of the above: per counter series about 250 B (two Map entries, a SumAccumulation 56 B, its ' +
  'start time 64 B, the hash string), per histogram series about 830 B (HistogramAccumulation 56 B, its checkpoint 72 B with ' +
  'three numbers 48 B, buckets 40 B, a counts array with room to grow 424 B, start time 64 B, two Map entries, the hash string).';

if (typeof globalThis.gc !== 'function') {
  execFileSync(process.execPath, ['--expose-gc', ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(0);
}
const gc = globalThis.gc as () => void;

/**
 * Heap bytes per series: the heap kept by `build(SERIES)` minus that kept by `build(0)` (the same objects with
 * no series: a pipeline's or registry's fixed cost is not a series' cost), over SERIES. Each build creates its
 * series and runs two collections; a first, discarded build warms up code and lazily created module state.
 * Pipelines built before a measurement are shut down first, so that none of their work (timers, exports)
 * frees memory inside another's measurement.
 */
async function bytesPerSeries(build: (n: number) => Promise<unknown> | unknown): Promise<number> {
  await warmUp(() => build(SERIES));
  const empty = await heapKept(() => build(0));
  const full = await heapKept(() => build(SERIES));
  return (full - empty) / SERIES;
}
async function warmUp(build: () => Promise<unknown> | unknown): Promise<void> {
  await build();
}
/** Heap growth while what `build` returns is alive (in its own frame, so nothing else is). */
async function heapKept(build: () => Promise<unknown> | unknown): Promise<number> {
  await Promise.all(pipelines.splice(0).map((p) => p.shutdown(1000)));
  const before = await settledHeap();
  const keep = await build();
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (keep === undefined) throw new Error('keep the built object alive');
  return after - before;
}

/**
 * The heap used once it stops shrinking: a pipeline just shut down lets go of its series a few event-loop
 * turns later (its export's socket and timers), and what it still held would be counted against the next build.
 */
async function settledHeap(): Promise<number> {
  let last = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 40; i++) {
    gc();
    gc();
    const now = process.memoryUsage().heapUsed;
    if (Math.abs(last - now) < 16 * 1024) return now;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return last;
}

const allIds = Array.from({ length: SERIES }, (_, i) => `id-${i}`);
/** A loopback OTLP endpoint that accepts every push, so that no export is retried or left pending. */
const collector = createServer((req, res) => req.resume().on('end', () => res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end()));
await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
const bothReaders = { OTEL_CONTRACTS_LOG_LEVEL: 'silent', OTEL_METRICS_EXPORTER: 'prometheus,otlp', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_METRIC_EXPORT_INTERVAL: '3600000' };
const pipelines: Pipeline[] = [];

/** Our pipeline, both readers on, with `n` series of one kind, after a scrape and (`collections` 2) an OTLP push. */
async function ours(kind: 'counter' | 'histogram', collections: 1 | 2, n: number) {
  const ids = allIds.slice(0, n);
  const p = createPipeline({ contracts: [benchContract], serviceName: 'bench', env: bothReaders });
  pipelines.push(p);
  const r = p.recorders(benchContract);
  if (kind === 'counter') for (const id of ids) r.bench_series_total.add(1, { id });
  else for (const id of ids) r.bench_series_seconds.record(0.01, { id });
  await p.render();
  if (collections === 2) await p.meterProvider.forceFlush();
  return p;
}
async function prom(lib: typeof promClient, kind: 'counter' | 'histogram', n: number) {
  const ids = allIds.slice(0, n);
  const registers = [new lib.Registry()];
  if (kind === 'counter') {
    const c = new lib.Counter({ name: 'c_total', help: 'h', labelNames: ['id'], registers });
    for (const id of ids) c.inc({ id });
  } else {
    const h = new lib.Histogram({ name: 'h_seconds', help: 'h', labelNames: ['id'], buckets: TWENTY_BUCKETS, registers });
    for (const id of ids) h.observe({ id }, 0.01);
  }
  await registers[0]?.metrics();
  await registers[0]?.metrics();
  return registers;
}
async function sdk(kind: 'counter' | 'histogram', n: number) {
  const ids = allIds.slice(0, n);
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
  await exporter.collect();
  return provider;
}

async function row(kind: 'counter' | 'histogram', label: string): Promise<Row> {
  return {
    case: label,
    target: { of: FASTER_CLIENT, factor: 1.25 },
    figures: [
      { name: '@prometheus-io/client', value: await bytesPerSeries((n) => prom(promIo as unknown as typeof promClient, kind, n)) },
      { name: 'prom-client', value: await bytesPerSeries((n) => prom(promClient, kind, n)) },
      { name: 'otel-sdk', value: await bytesPerSeries((n) => sdk(kind, n)) },
      { name: 'ours', value: await bytesPerSeries((n) => ours(kind, 2, n)) },
      { name: 'ours, after 1 collection', value: await bytesPerSeries((n) => ours(kind, 1, n)) },
    ],
  };
}

const result = reportBenchmark('memory', `Memory per series (${SERIES} series, after two collections)`, 'heap bytes per series', [
  await row('counter', 'counter series'),
  await row('histogram', '20-bucket histogram series'),
]);
writeFileSync(new URL('memory.json', RESULTS_DIR), `${JSON.stringify({ ...result, method: METHOD }, null, 2)}\n`);
console.log('target: ours (both readers on) at or below 1.25x the faster Prometheus client, each after two collections');
console.log(METHOD);
process.exit(0);
