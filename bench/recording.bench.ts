/**
 * Per-call cost of recording: our typed recorders against prom-client's inc/observe and the bare
 * OTel SDK (counter.add / histogram.record with an attribute object), measured in one run.
 *   npm run bench   (node bench/recording.bench.ts)
 */
import client from 'prom-client';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { createPipeline } from '../instrumentation/pipeline.ts';
import { ScrapeReader } from '../instrumentation/scrape/reader.ts';
import { benchContract, METHOD, RESULT, STATUS } from './support/bench-contract.ts';
import { median, printRows } from './support/table.ts';

const N = 1_000_000;
const RUNS = 5;

/** ns per call of `body(i)` over N calls, after a warm-up. */
function nsPerCall(body: (i: number) => void): number {
  for (let i = 0; i < 200_000; i++) body(i);
  return median(RUNS, () => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) body(i);
    return Number(process.hrtime.bigint() - t0) / N;
  });
}

const env = { OTEL_METRICS_EXPORTER: 'prometheus', OTEL_CONTRACTS_LOG_LEVEL: 'silent' };
const ours = createPipeline({ contracts: [benchContract], serviceName: 'bench', env }).recorders(benchContract);
const oursTwoReaders = createPipeline({
  contracts: [benchContract],
  serviceName: 'bench',
  env: { ...env, OTEL_METRICS_EXPORTER: 'prometheus,otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_METRIC_EXPORT_INTERVAL: '3600000' },
}).recorders(benchContract);

const registry = new client.Registry();
const pc1 = new client.Counter({ name: 'pc_one_total', help: 'h', labelNames: ['result'], registers: [registry] });
const pc3 = new client.Counter({ name: 'pc_three_total', help: 'h', labelNames: ['method', 'status', 'result'], registers: [registry] });
const ph1 = new client.Histogram({ name: 'ph_one_seconds', help: 'h', labelNames: ['result'], registers: [registry] });
const ph3 = new client.Histogram({ name: 'ph_three_seconds', help: 'h', labelNames: ['method', 'status', 'result'], registers: [registry] });

const meter = new MeterProvider({ readers: [new ScrapeReader([])] }).getMeter('bare');
const oc1 = meter.createCounter('oc_one');
const oc3 = meter.createCounter('oc_three');
const oh1 = meter.createHistogram('oh_one');
const oh3 = meter.createHistogram('oh_three');

const r = (i: number) => RESULT[i % 3] as 'allowed';
const m = (i: number) => METHOD[i % 4] as 'GET';
const s = (i: number) => STATUS[i % 3] as '200';
const v = (i: number) => (i % 100) / 1000;

printRows('recording, per call', 'ns per call', [
  {
    case: 'counter add, 1 enum label',
    figures: [
      { name: 'prom-client', value: nsPerCall((i) => pc1.inc({ result: r(i) })) },
      { name: 'otel-sdk', value: nsPerCall((i) => oc1.add(1, { result: r(i) })) },
      { name: 'ours', value: nsPerCall((i) => ours.bench_one_total.add(1, { result: r(i) })) },
      { name: 'ours-2-readers', value: nsPerCall((i) => oursTwoReaders.bench_one_total.add(1, { result: r(i) })) },
    ],
  },
  {
    case: 'counter add, 3 enum labels',
    figures: [
      { name: 'prom-client', value: nsPerCall((i) => pc3.inc({ method: m(i), status: s(i), result: r(i) })) },
      { name: 'otel-sdk', value: nsPerCall((i) => oc3.add(1, { method: m(i), status: s(i), result: r(i) })) },
      { name: 'ours', value: nsPerCall((i) => ours.bench_three_total.add(1, { method: m(i), status: s(i), result: r(i) })) },
      { name: 'ours-2-readers', value: nsPerCall((i) => oursTwoReaders.bench_three_total.add(1, { method: m(i), status: s(i), result: r(i) })) },
    ],
  },
  {
    case: 'histogram record, 1 enum label',
    figures: [
      { name: 'prom-client', value: nsPerCall((i) => ph1.observe({ result: r(i) }, v(i))) },
      { name: 'otel-sdk', value: nsPerCall((i) => oh1.record(v(i), { result: r(i) })) },
      { name: 'ours', value: nsPerCall((i) => ours.bench_one_seconds.record(v(i), { result: r(i) })) },
      { name: 'ours-2-readers', value: nsPerCall((i) => oursTwoReaders.bench_one_seconds.record(v(i), { result: r(i) })) },
    ],
  },
  {
    case: 'histogram record, 3 enum labels',
    figures: [
      { name: 'prom-client', value: nsPerCall((i) => ph3.observe({ method: m(i), status: s(i), result: r(i) }, v(i))) },
      { name: 'otel-sdk', value: nsPerCall((i) => oh3.record(v(i), { method: m(i), status: s(i), result: r(i) })) },
      { name: 'ours', value: nsPerCall((i) => ours.bench_three_seconds.record(v(i), { method: m(i), status: s(i), result: r(i) })) },
      { name: 'ours-2-readers', value: nsPerCall((i) => oursTwoReaders.bench_three_seconds.record(v(i), { method: m(i), status: s(i), result: r(i) })) },
    ],
  },
]);
console.log('target: ours at or below prom-client (ratio <= 1.00 in the prom-client-referenced rows)');
process.exit(0);
