import type { HotPath, Implementation } from '../hot-path.ts';
import { OURS, PROM_CLIENT, PROM_IO, promLibrary } from './peers.ts';

/**
 * The exposition of 10 000 counter series, as bench/render.bench.ts renders them in-process: before each
 * render 1 % of the series change (100 adds), then the whole text is produced. Ours is a collection
 * (`pipeline.collect()`: the recorders' flush, the SDK's deltas folded into the cumulative copy) and the
 * exact-name serializer in one go; a scrape runs the same two in slices of 4 ms that yield to the event
 * loop between them, and the number of slices follows the clock, so it is left out here. Against
 * `@prometheus-io/client` and prom-client (`registry.metrics()`) and the stock OTel Prometheus exporter
 * (`collect()` and its serializer).
 */

const SERIES = 10_000;
/** The stock exporter's name in the table, as in bench/render.bench.ts. */
export const OTEL_EXPORTER = 'otel-exporter';

/** The series ids changed before the `i`-th render: 1 % of them, a different 1 % each time. */
function* touched(i: number): Generator<string> {
  for (let k = i % 100; k < SERIES; k += 100) yield `id-${k}`;
}
const ids = (n: number) => Array.from({ length: n }, (_, k) => `id-${k}`);

const clients: Implementation[] = [PROM_IO, PROM_CLIENT].map((name) => ({
  name,
  async: true,
  async setup() {
    const lib = await promLibrary(name as typeof PROM_IO);
    const registry = new lib.Registry();
    const c = new lib.Counter({ name: 'bench_series_total', help: 'many series', labelNames: ['id'], registers: [registry] });
    ids(SERIES).forEach((id, k) => c.inc({ id }, k + 1));
    return async (i: number) => {
      for (const id of touched(i)) c.inc({ id });
      await registry.metrics();
    };
  },
}));

export const EXPOSITION_PATH: HotPath = {
  id: 'exposition-10k',
  title: `exposition of ${SERIES / 1000}k counter series, 1 % changed`,
  unit: 'instructions per series rendered',
  unitsPerOperation: SERIES,
  warmup: 60,
  counts: [1, 2],
  implementations: [
    ...clients,
    {
      name: OTEL_EXPORTER,
      async: true,
      async setup() {
        const { MeterProvider } = await import('@opentelemetry/sdk-metrics');
        const { PrometheusExporter, PrometheusSerializer } = await import('@opentelemetry/exporter-prometheus');
        const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true });
        const provider = new MeterProvider({ readers: [exporter], views: [{ instrumentName: 'bench_series', aggregationCardinalityLimit: SERIES + 1 }] });
        const c = provider.getMeter('bench').createCounter('bench_series');
        ids(SERIES).forEach((id, k) => c.add(k + 1, { id }));
        const serializer = new PrometheusSerializer();
        return async (i: number) => {
          for (const id of touched(i)) c.add(1, { id });
          serializer.serialize((await exporter.collect()).resourceMetrics);
        };
      },
    },
    {
      name: OURS,
      async: true,
      async setup() {
        const { createPipeline } = await import('../../../instrumentation/pipeline.ts');
        const { serializeExposition } = await import('../../../instrumentation/scrape/serializer.ts');
        const { benchContract } = await import('../../support/bench-contract.ts');
        const contract = { ...benchContract, families: benchContract.families.map((f) => ({ ...f, maxSeries: Math.max(f.maxSeries, SERIES) })) } as unknown as typeof benchContract;
        const pipeline = createPipeline({ contracts: [contract], serviceName: 'bench', env: { OTEL_METRICS_EXPORTER: 'prometheus', OTEL_CONTRACTS_LOG_LEVEL: 'silent' } });
        const r = pipeline.recorders(contract);
        ids(SERIES).forEach((id, k) => r.bench_series_total.add(k + 1, { id }));
        return async (i: number) => {
          for (const id of touched(i)) r.bench_series_total.add(1, { id });
          serializeExposition(await pipeline.collect(), { families: contract.families });
        };
      },
    },
  ],
};
