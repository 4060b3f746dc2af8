/**
 * Rendering GET /metrics for 10k series: our exact-name scrape reader against prom-client's
 * registry.metrics() and the stock OTel Prometheus exporter (collect + its serializer), in one run.
 * Each figure includes collection and serialization; all of it blocks the event loop.
 */
import client from 'prom-client';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { createPipeline } from '../instrumentation/pipeline.ts';
import { benchContract } from './support/bench-contract.ts';
import { medianAsync, printRows } from './support/table.ts';

const SERIES = 10_000;
const RUNS = 15;

async function msPerRender(render: () => Promise<string> | string): Promise<{ ms: number; bytes: number }> {
  let bytes = 0;
  for (let i = 0; i < 3; i++) bytes = (await render()).length;
  const ms = await medianAsync(RUNS, async () => {
    const t0 = performance.now();
    await render();
    return performance.now() - t0;
  });
  return { ms, bytes };
}

// ours
const pipeline = createPipeline({ contracts: [benchContract], serviceName: 'bench', env: { OTEL_METRICS_EXPORTER: 'prometheus', OTEL_CONTRACTS_LOG_LEVEL: 'silent' } });
const ours = pipeline.recorders(benchContract);
for (let i = 0; i < SERIES; i++) ours.bench_series_total.add(i + 1, { id: `id-${i}` });

// prom-client
const registry = new client.Registry();
const pc = new client.Counter({ name: 'bench_series_total', help: 'many series', labelNames: ['id'], registers: [registry] });
for (let i = 0; i < SERIES; i++) pc.inc({ id: `id-${i}` }, i + 1);

// stock OTel exporter
const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true });
const provider = new MeterProvider({ readers: [exporter], views: [{ instrumentName: 'bench_series', aggregationCardinalityLimit: SERIES + 1 }] });
const oc = provider.getMeter('bench').createCounter('bench_series');
for (let i = 0; i < SERIES; i++) oc.add(i + 1, { id: `id-${i}` });
const serializer = new PrometheusSerializer();

const o = await msPerRender(() => pipeline.render());
const p = await msPerRender(() => registry.metrics());
const s = await msPerRender(async () => serializer.serialize((await exporter.collect()).resourceMetrics));

printRows(`rendering /metrics, ${SERIES} counter series`, 'ms per render, median', [
  { case: 'collect + serialize', figures: [{ name: 'prom-client', value: p.ms }, { name: 'otel-exporter', value: s.ms }, { name: 'ours', value: o.ms }] },
  { case: 'exposition size (KiB)', figures: [{ name: 'prom-client', value: p.bytes / 1024 }, { name: 'otel-exporter', value: s.bytes / 1024 }, { name: 'ours', value: o.bytes / 1024 }] },
]);
console.log('target: ours at or below prom-client');
process.exit(0);
