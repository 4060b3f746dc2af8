/**
 * Rendering GET /metrics: 10k series rendered in-process, and 100k series served over HTTP on loopback,
 * ours against `@prometheus-io/client` 0.16, prom-client 15 and the stock OTel Prometheus exporter, in one run.
 * For the 100k case, each implementation serves `/metrics` from a node:http server in this process; the
 * figure is the time from the request to the last byte, and the event loop's longest stall meanwhile
 * (a 1 ms timer probe: the longest gap between its ticks, and to the last byte). Between scrapes 1 % of the series change.
 * Targets: 100k render at or under 0.5x the faster client, stall at or under 10 ms.
 *   npm run bench   (node bench/render.bench.ts)
 */
import { createServer, request, type Server } from 'node:http';
import promClient from 'prom-client';
import promIo from '@prometheus-io/client';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { createPipeline, type Pipeline } from '../instrumentation/pipeline.ts';
import { benchContract } from './support/bench-contract.ts';
import { reportBenchmark } from './support/results.ts';
import { FASTER_CLIENT, medianAsync, type Figure } from './support/table.ts';

const RUNS = 9;
const env = { OTEL_METRICS_EXPORTER: 'prometheus', OTEL_CONTRACTS_LOG_LEVEL: 'silent', OTEL_EXPORTER_PROMETHEUS_PORT: '0' };
/** The bench contract with room for `series` series in its unbounded family. */
const contractFor = (series: number) => ({ ...benchContract, families: benchContract.families.map((f) => ({ ...f, maxSeries: Math.max(f.maxSeries, series) })) }) as unknown as typeof benchContract;

/** One implementation holding `series` counter series: how to serve them, and how to change 1 % of them. */
interface Peer {
  readonly name: string;
  render(): Promise<string> | string;
  /** A node:http server answering GET /metrics, or the URL our pipeline listens on. */
  serve(): Promise<string>;
  touch(round: number): void;
  close(): Promise<void> | void;
}

async function listen(handler: () => Promise<string> | string): Promise<{ url: string; server: Server }> {
  const server = createServer(async (_req, res) => {
    const body = await handler();
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/metrics`, server };
}

function promPeer(name: string, lib: typeof promClient, series: number): Peer {
  const registry = new lib.Registry();
  const c = new lib.Counter({ name: 'bench_series_total', help: 'many series', labelNames: ['id'], registers: [registry] });
  for (let i = 0; i < series; i++) c.inc({ id: `id-${i}` }, i + 1);
  let server: Server | undefined;
  return {
    name,
    render: () => registry.metrics(),
    serve: async () => {
      const l = await listen(() => registry.metrics());
      server = l.server;
      return l.url;
    },
    touch: (round) => {
      for (let i = round % 100; i < series; i += 100) c.inc({ id: `id-${i}` });
    },
    close: () => void server?.close(),
  };
}

function oursPeer(series: number): Peer {
  const contract = contractFor(series);
  const pipeline: Pipeline = createPipeline({ contracts: [contract], serviceName: 'bench', env });
  const r = pipeline.recorders(contract);
  for (let i = 0; i < series; i++) r.bench_series_total.add(i + 1, { id: `id-${i}` });
  return {
    name: 'ours',
    render: () => pipeline.render(),
    serve: async () => (await pipeline.start({ keepAlive: false })).scrapeUrl as string,
    touch: (round) => {
      for (let i = round % 100; i < series; i += 100) r.bench_series_total.add(1, { id: `id-${i}` });
    },
    close: async () => void (await pipeline.shutdown(500)),
  };
}

function sdkPeer(series: number): Peer {
  const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true });
  const provider = new MeterProvider({ readers: [exporter], views: [{ instrumentName: 'bench_series', aggregationCardinalityLimit: series + 1 }] });
  const oc = provider.getMeter('bench').createCounter('bench_series');
  for (let i = 0; i < series; i++) oc.add(i + 1, { id: `id-${i}` });
  const serializer = new PrometheusSerializer();
  const render = async () => serializer.serialize((await exporter.collect()).resourceMetrics);
  let server: Server | undefined;
  return {
    name: 'otel-exporter',
    render,
    serve: async () => {
      const l = await listen(render);
      server = l.server;
      return l.url;
    },
    touch: (round) => {
      for (let i = round % 100; i < series; i += 100) oc.add(1, { id: `id-${i}` });
    },
    close: () => void server?.close(),
  };
}

const peers = (series: number): Peer[] => [
  promPeer('@prometheus-io/client', promIo as unknown as typeof promClient, series),
  promPeer('prom-client', promClient, series),
  sdkPeer(series),
  oursPeer(series),
];

/** Median ms per in-process render, after a warm-up. */
async function msPerRender(peer: Peer): Promise<number> {
  for (let i = 0; i < 3; i++) await peer.render();
  let round = 0;
  return medianAsync(RUNS, async () => {
    peer.touch(round++);
    const t0 = performance.now();
    await peer.render();
    return performance.now() - t0;
  });
}

/** GET `url`, reading the body to its end; resolves with the bytes read. */
function fetchBody(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve(bytes));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/**
 * A timer probe of the event loop: ticks every millisecond and keeps the longest gap between two ticks.
 * @returns `stop()`, which ends it and gives that gap in ms (including the one up to now).
 */
function stallProbe(): { stop(): number } {
  let last = performance.now();
  let max = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(max, performance.now() - last);
    },
  };
}

/** Median over RUNS scrapes of the time to the last byte, and of the event loop's longest stall during each. */
async function served(peer: Peer): Promise<{ ms: number; stallMs: number; kib: number }> {
  const url = await peer.serve();
  let kib = 0;
  for (let i = 0; i < 2; i++) kib = (await fetchBody(url)) / 1024;
  const times: number[] = [];
  const stalls: number[] = [];
  for (let round = 0; round < RUNS; round++) {
    peer.touch(round);
    const probe = stallProbe();
    const t0 = performance.now();
    await fetchBody(url);
    times.push(performance.now() - t0);
    stalls.push(probe.stop());
  }
  await peer.close();
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  return { ms: mid(times), stallMs: mid(stalls), kib };
}

const small: Figure[] = [];
for (const p of peers(10_000)) {
  small.push({ name: p.name, value: await msPerRender(p) });
  await p.close();
}
const big = new Map<string, { ms: number; stallMs: number; kib: number }>();
for (const p of peers(100_000)) big.set(p.name, await served(p));

const row = (key: 'ms' | 'stallMs' | 'kib') => [...big].map(([name, f]) => ({ name, value: f[key] }));
reportBenchmark('render', 'Rendering /metrics (counter series)', 'ms', [
  { case: 'render 10k series, in-process', figures: small },
  { case: 'serve 100k series, to last byte', figures: row('ms'), target: { of: FASTER_CLIENT, factor: 0.5 } },
  { case: 'serve 100k series, longest stall', figures: row('stallMs'), target: { value: 10 } },
]);
console.log(`exposition of 100k series: ${[...big].map(([n, f]) => `${n} ${f.kib.toFixed(0)} KiB`).join(', ')}`);
console.log('targets: 100k served at or under 0.5x the faster client, the event loop stalled at most 10 ms meanwhile');
process.exit(0);
