/**
 * Per-call cost of recording: our typed recorders (one reader, and both readers) against
 * `@prometheus-io/client` 0.16 and prom-client 15 (`inc` / `observe`) and the bare OTel SDK with one reader
 * (`counter.add` / `histogram.record` with an attribute object), measured in one run.
 * The "+ instance label" rows record into a contract with a constant `instance_id` label, as the egress
 * sidecar's are: the clients put it on with `setDefaultLabels`, the bare SDK in every attribute set.
 * The "http request" row is the preload's per-request work: both node:http diagnostics-channel events
 * (support/http-events.ts) into the preload's http collector (trc_http_requests_total and
 * trc_http_request_duration_seconds), against the same subscriber written on each peer; "node:http alone"
 * is the events with no subscriber.
 * Targets: counters below both clients; histograms at or below the bare SDK, both readers on.
 *   npm run bench   (node bench/recording.bench.ts)
 */
import promClient from 'prom-client';
import promIo from '@prometheus-io/client';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { createPipeline } from '../instrumentation/pipeline.ts';
import { ScrapeReader } from '../instrumentation/scrape/reader.ts';
import { buildViews, meterNameOf } from '../instrumentation/views.ts';
import { BENCH_INSTANCE_ID, benchContract, benchInstanceContract, METHOD, PROM_BUCKETS, RESULT, STATUS } from './support/bench-contract.ts';
import { startHttpServerCollector } from '../collectors/http-server/collector.ts';
import { trc } from '../semconv/index.ts';
import { BENCH_ROUTES, promRequestMetrics, requestEvents, subscribeRequestMetrics } from './support/http-events.ts';
import { reportBenchmark } from './support/results.ts';
import { FASTER_CLIENT, median, type Figure, type Row } from './support/table.ts';

const N = 1_000_000;
/** Every target here must hold for ours with one reader and with both. */
const BOTH_READERS = ['ours', 'ours, 2 readers'];
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
const bothReaders = { ...env, OTEL_METRICS_EXPORTER: 'prometheus,otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_METRIC_EXPORT_INTERVAL: '3600000' };
const oursTwoReaders = createPipeline({ contracts: [benchContract], serviceName: 'bench', env: bothReaders }).recorders(benchContract);
const withInstance = { BENCH_INSTANCE_ID };
const oursI = createPipeline({ contracts: [benchInstanceContract], serviceName: 'bench', env: { ...env, ...withInstance } }).recorders(benchInstanceContract);
const oursITwoReaders = createPipeline({ contracts: [benchInstanceContract], serviceName: 'bench', env: { ...bothReaders, ...withInstance } }).recorders(benchInstanceContract);

/** The same four instruments in either Prometheus client (they share prom-client's API). */
function promInstruments(lib: typeof promClient, defaultLabels?: Record<string, string>) {
  const registers = [new lib.Registry()];
  if (defaultLabels) registers[0]?.setDefaultLabels(defaultLabels);
  return {
    c1: new lib.Counter({ name: 'c_one_total', help: 'h', labelNames: ['result'], registers }),
    c3: new lib.Counter({ name: 'c_three_total', help: 'h', labelNames: ['method', 'status', 'result'], registers }),
    h1: new lib.Histogram({ name: 'h_one_seconds', help: 'h', labelNames: ['result'], buckets: PROM_BUCKETS, registers }),
    h3: new lib.Histogram({ name: 'h_three_seconds', help: 'h', labelNames: ['method', 'status', 'result'], buckets: PROM_BUCKETS, registers }),
  };
}
const pc = promInstruments(promClient);
const pio = promInstruments(promIo as unknown as typeof promClient);
const pcI = promInstruments(promClient, { instance_id: BENCH_INSTANCE_ID });
const pioI = promInstruments(promIo as unknown as typeof promClient, { instance_id: BENCH_INSTANCE_ID });

const meter = new MeterProvider({ readers: [new ScrapeReader([])] }).getMeter('bare');
const oc1 = meter.createCounter('oc_one');
const oc3 = meter.createCounter('oc_three');
const oh1 = meter.createHistogram('oh_one');
const oh3 = meter.createHistogram('oh_three');
// The floor under our histograms: the bare SDK, one reader, through the same View (allow-list processor, buckets).
const viewed = new MeterProvider({ readers: [new ScrapeReader([])], views: buildViews([benchContract]) }).getMeter(meterNameOf(benchContract));
const vh1 = viewed.createHistogram('bench_one_seconds');
const vh3 = viewed.createHistogram('bench_three_seconds');
const oc1i = meter.createCounter('oc_one_instance');
const oh1i = meter.createHistogram('oh_one_instance');

const r = (i: number) => RESULT[i % 3] as 'allowed';
const m = (i: number) => METHOD[i % 4] as 'GET';
const s = (i: number) => STATUS[i % 3] as '200';
const v = (i: number) => (i % 100) / 1000;

/** The figures of one case, measured one after the other (`sdkView`: the bare SDK through our View). */
function figures(io: (i: number) => void, pcBody: (i: number) => void, sdk: (i: number) => void, one: (i: number) => void, two: (i: number) => void, sdkView?: (i: number) => void): Figure[] {
  return [
    { name: '@prometheus-io/client', value: nsPerCall(io) },
    { name: 'prom-client', value: nsPerCall(pcBody) },
    { name: 'otel-sdk', value: nsPerCall(sdk) },
    ...(sdkView ? [{ name: 'otel-sdk + View', value: nsPerCall(sdkView) }] : []),
    { name: 'ours', value: nsPerCall(one) },
    { name: 'ours, 2 readers', value: nsPerCall(two) },
  ];
}

/** ns per request through both node:http events while the subscriber `subscribe` installs is on. */
function perRequest(subscribe: () => () => void): number {
  const unsubscribe = subscribe();
  try {
    return nsPerCall(requestEvents);
  } finally {
    unsubscribe();
  }
}
/** The preload's http collector on a pipeline with trc's families. */
function oursHttp(envOfPipeline: Record<string, string>): () => () => void {
  const recorders = createPipeline({ contracts: [trc], serviceName: 'bench', env: envOfPipeline }).recorders(trc);
  return () => startHttpServerCollector(recorders, { routes: BENCH_ROUTES }).stop;
}
/** The same subscriber on the bare SDK (one reader). */
function sdkHttp(): () => () => void {
  const m = new MeterProvider({ readers: [new ScrapeReader([])] }).getMeter('bare-http');
  const requests = m.createCounter('trc_http_requests_total');
  const duration = m.createHistogram('trc_http_request_duration_seconds');
  return () =>
    subscribeRequestMetrics((seconds, labels) => {
      requests.add(1, labels);
      duration.record(seconds, labels);
    });
}

const rows: Row[] = [
  {
    case: 'counter add, 1 label + instance label',
    target: { of: FASTER_CLIENT, factor: 1 },
    figures: figures(
      (i) => pioI.c1.inc({ result: r(i) }),
      (i) => pcI.c1.inc({ result: r(i) }),
      (i) => oc1i.add(1, { instance_id: BENCH_INSTANCE_ID, result: r(i) }),
      (i) => oursI.benchi_one_total.add(1, { result: r(i) }),
      (i) => oursITwoReaders.benchi_one_total.add(1, { result: r(i) }),
    ),
  },
  {
    case: 'histogram record, 1 label + instance label',
    target: { of: 'otel-sdk', factor: 1 },
    figures: figures(
      (i) => pioI.h1.observe({ result: r(i) }, v(i)),
      (i) => pcI.h1.observe({ result: r(i) }, v(i)),
      (i) => oh1i.record(v(i), { instance_id: BENCH_INSTANCE_ID, result: r(i) }),
      (i) => oursI.benchi_one_seconds.record(v(i), { result: r(i) }),
      (i) => oursITwoReaders.benchi_one_seconds.record(v(i), { result: r(i) }),
    ),
  },
  {
    case: 'counter add, 1 enum label',
    target: { of: FASTER_CLIENT, factor: 1 },
    figures: figures(
      (i) => pio.c1.inc({ result: r(i) }),
      (i) => pc.c1.inc({ result: r(i) }),
      (i) => oc1.add(1, { result: r(i) }),
      (i) => ours.bench_one_total.add(1, { result: r(i) }),
      (i) => oursTwoReaders.bench_one_total.add(1, { result: r(i) }),
    ),
  },
  {
    case: 'counter add, 3 enum labels',
    target: { of: FASTER_CLIENT, factor: 1 },
    figures: figures(
      (i) => pio.c3.inc({ method: m(i), status: s(i), result: r(i) }),
      (i) => pc.c3.inc({ method: m(i), status: s(i), result: r(i) }),
      (i) => oc3.add(1, { method: m(i), status: s(i), result: r(i) }),
      (i) => ours.bench_three_total.add(1, { method: m(i), status: s(i), result: r(i) }),
      (i) => oursTwoReaders.bench_three_total.add(1, { method: m(i), status: s(i), result: r(i) }),
    ),
  },
  {
    case: 'histogram record, 1 enum label',
    target: { of: 'otel-sdk', factor: 1 },
    figures: figures(
      (i) => pio.h1.observe({ result: r(i) }, v(i)),
      (i) => pc.h1.observe({ result: r(i) }, v(i)),
      (i) => oh1.record(v(i), { result: r(i) }),
      (i) => ours.bench_one_seconds.record(v(i), { result: r(i) }),
      (i) => oursTwoReaders.bench_one_seconds.record(v(i), { result: r(i) }),
      (i) => vh1.record(v(i), { result: r(i) }),
    ),
  },
  {
    case: 'histogram record, 3 enum labels',
    target: { of: 'otel-sdk', factor: 1 },
    figures: figures(
      (i) => pio.h3.observe({ method: m(i), status: s(i), result: r(i) }, v(i)),
      (i) => pc.h3.observe({ method: m(i), status: s(i), result: r(i) }, v(i)),
      (i) => oh3.record(v(i), { method: m(i), status: s(i), result: r(i) }),
      (i) => ours.bench_three_seconds.record(v(i), { method: m(i), status: s(i), result: r(i) }),
      (i) => oursTwoReaders.bench_three_seconds.record(v(i), { method: m(i), status: s(i), result: r(i) }),
      (i) => vh3.record(v(i), { method: m(i), status: s(i), result: r(i) }),
    ),
  },
  {
    case: 'http request, both events (the preload)',
    target: { of: 'otel-sdk', factor: 1 },
    figures: [
      { name: 'node:http alone', value: perRequest(() => () => {}) },
      { name: '@prometheus-io/client', value: perRequest(promRequestMetrics(promIo as unknown as typeof promClient)) },
      { name: 'prom-client', value: perRequest(promRequestMetrics(promClient)) },
      { name: 'otel-sdk', value: perRequest(sdkHttp()) },
      { name: 'ours', value: perRequest(oursHttp(env)) },
      { name: 'ours, 2 readers', value: perRequest(oursHttp(bothReaders)) },
    ],
  },
];
reportBenchmark('recording', 'Recording, per call', 'ns per call', rows.map((row) => ({ ...row, judged: BOTH_READERS })));
console.log('targets: counters below the faster Prometheus client; histograms (both readers too) at or below the bare SDK');
process.exit(0);
