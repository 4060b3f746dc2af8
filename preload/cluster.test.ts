import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver } from '../components/check/otlp/receiver.ts';
import { find, scrape, total } from '../test/exposition.ts';
import { delay, pollUntil } from '../test/poll.ts';
import { freePort } from '../test/ports.ts';
import { stopAllProcesses } from '../test/processes.ts';
import type { CollectedFamily, WireNumber } from './cluster/collected.ts';
import { standaloneWorkerEnv } from './cluster/index.ts';
import { Aggregate, mergeMembers, retire } from './cluster/merge.ts';
import { readResponse } from './cluster/protocol.ts';
import { FIXTURES, runApp, type AppProcess, type StartupLine } from './testing/harness.ts';

// A Node cluster app under the preload serves one /metrics from its primary: the workers send their
// collected data points, the primary merges them and renders once with the one serializer.

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await stopAllProcesses();
  await receiver?.close();
  receiver = undefined;
});

/** One GET on a fresh connection; resolves with the body (the answering worker's id). */
function hit(port: number, path = '/users/1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The primary's start-up line (a worker's may come first on the shared stderr). */
async function primaryStartup(app: AppProcess): Promise<StartupLine> {
  const m = await app.waitForLine(/"clusterRole":"primary"[^\n]*"msg":"otel-contracts preload started/, { stream: 'stderr' });
  return JSON.parse(m.input as string) as StartupLine;
}

/** Starts the cluster fixture with `workers` workers; resolves once every worker listens. */
async function startCluster(workers: number, env: Record<string, string> = {}) {
  const appPort = await freePort();
  const app = runApp(`${FIXTURES}/cluster-app.cjs`, { ...ENV, APP_PORT: String(appPort), WORKERS: String(workers), ...env });
  const [ready, startup] = await Promise.all([app.ready, primaryStartup(app)]);
  return { app, appPort, workers: ready.workers as Record<string, number>, scrapeUrl: startup.scrapeUrl as string };
}

/** Less than any Node process's resident memory: what a process leaving the summed gauge takes away at least. */
const MIN_RSS_BYTES = 20 * 2 ** 20;
const N = 100;
const ENV = { OTEL_CONTRACTS_HTTP_ROUTES: '/users/:id', OTEL_CONTRACTS_COLLECTORS: 'http' };
const REQUESTS = { method: 'GET', path_template: '/users/:id', status: '200' };
const DURATION = { method: 'GET', path_template: '/users/:id', status: '200' };

describe('preload in a 2-worker cluster app', () => {
  it('one scrape of the primary sums the workers\' counters and histogram buckets under the documented names; gauges combined without a label; workers do not listen', async () => {
    const { app, appPort, workers, scrapeUrl } = await startCluster(2);
    const fast = new Map<string, number>();
    const slow = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const w = await hit(appPort, `/users/${i}`);
      fast.set(w, (fast.get(w) ?? 0) + 1);
    }
    const S = 4; // 600 ms each: above the 0.5 s bucket bound, where every fast request stays
    for (const w of await Promise.all(Array.from({ length: S }, () => hit(appPort, '/users/slow')))) slow.set(w, (slow.get(w) ?? 0) + 1);
    expect([...fast.keys()].sort(), 'both workers served fast requests').toEqual(Object.keys(workers).sort());
    expect([...slow.keys()].sort(), 'both workers served slow requests').toEqual(Object.keys(workers).sort());

    const { samples, text } = await scrape(scrapeUrl);
    // Counters: one series, the sum over both workers, under the exact documented name.
    expect(text.match(/^# TYPE trc_http_requests_total counter$/gm)).toHaveLength(1);
    expect(find(samples, 'trc_http_requests_total', REQUESTS)).toHaveLength(1);
    expect(total(samples, 'trc_http_requests_total', REQUESTS)).toBe(N + S);
    // Histograms: every bucket summed across the workers, once per bound.
    expect(text.match(/^# TYPE trc_http_request_duration_seconds histogram$/gm)).toHaveLength(1);
    const bucket = (le: string) => find(samples, 'trc_http_request_duration_seconds_bucket', { ...DURATION, le }).map((s) => s.value);
    expect(bucket('0.5')).toEqual([N]);
    expect(bucket('1')).toEqual([N + S]);
    expect(bucket('+Inf')).toEqual([N + S]);
    expect(find(samples, 'trc_http_request_duration_seconds_count', DURATION).map((s) => s.value)).toEqual([N + S]);
    expect(total(samples, 'trc_http_request_duration_seconds_sum', DURATION)).toBeGreaterThanOrEqual(S * 0.6);
    // Gauges combined without a label (the families keep their documented labels): memory summed over
    // the primary and the two workers, the start time the earliest; the process CPU counter summed.
    expect(find(samples, 'process_resident_memory_bytes')).toHaveLength(1);
    expect(total(samples, 'process_resident_memory_bytes')).toBeGreaterThan(3 * MIN_RSS_BYTES);
    expect(find(samples, 'process_start_time_seconds')).toHaveLength(1);
    expect(find(samples, 'process_cpu_seconds_total')).toHaveLength(1);
    expect(text).not.toContain('worker_id');
    // Every worker's start-up line says it does not listen.
    await pollUntil('3 start-up lines', async () => app.stderr().match(/otel-contracts preload started/g)?.length ?? 0, (n) => n === 3);
    expect(app.stderr().match(/"clusterRole":"worker",[^\n]*"msg":"otel-contracts preload started: scrape off/g)).toHaveLength(2);
    expect(app.stderr()).not.toMatch(/EADDRINUSE/);
  });

  it('a worker that dies loses nothing already scraped, and its gauges stop', async () => {
    const { appPort, workers, scrapeUrl } = await startCluster(2);
    for (let i = 0; i < N; i++) await hit(appPort);
    const before = (await scrape(scrapeUrl)).samples;
    expect(total(before, 'trc_http_requests_total', REQUESTS)).toBe(N);

    const [deadId, deadPid] = Object.entries(workers)[0]!;
    process.kill(deadPid, 'SIGKILL');
    // Its resident memory leaves the sum: at least one Node process's worth.
    const after = await pollUntil(
      `worker ${deadId}'s gauges to stop`,
      async () => (await scrape(scrapeUrl)).samples,
      (s) => total(s, 'process_resident_memory_bytes') < total(before, 'process_resident_memory_bytes') - MIN_RSS_BYTES,
    );
    expect(find(after, 'process_resident_memory_bytes')).toHaveLength(1);
    expect(total(after, 'trc_http_requests_total', REQUESTS)).toBe(N);
    // The survivor keeps counting on top.
    for (let i = 0; i < 10; i++) await hit(appPort);
    expect(total((await scrape(scrapeUrl)).samples, 'trc_http_requests_total', REQUESTS)).toBe(N + 10);
  });

  it('malformed worker messages are dropped and counted; the app\'s own messages are not; the primary keeps serving', async () => {
    const { appPort, scrapeUrl } = await startCluster(2);
    await hit(appPort, '/garbage');
    const samples = await pollUntil(
      'the two bad messages to be counted',
      async () => (await scrape(scrapeUrl)).samples,
      (s) => total(s, 'otel_contracts_cluster_messages_dropped_total') === 2,
    );
    expect(total(samples, 'otel_contracts_cluster_messages_dropped_total', { reason: 'malformed' })).toBe(2);
    expect(find(samples, 'y'), 'the hostile family name wrote nothing').toHaveLength(0);
    await hit(appPort);
    const again = (await scrape(scrapeUrl)).samples;
    expect(total(again, 'trc_http_requests_total', REQUESTS)).toBe(1);
    expect(total(again, 'process_resident_memory_bytes')).toBeGreaterThan(3 * MIN_RSS_BYTES);
    expect(total(again, 'otel_contracts_cluster_messages_dropped_total')).toBe(2);
  });

  it('a worker too busy to answer is left out after the timeout and logged; the scrape answers, its counters do not go back', async () => {
    const { app, appPort, scrapeUrl } = await startCluster(2);
    for (let i = 0; i < 10; i++) await hit(appPort);
    const before = (await scrape(scrapeUrl)).samples;
    expect(total(before, 'trc_http_requests_total', REQUESTS)).toBe(10);

    const busy = await hit(appPort, '/users/stall'); // that worker then blocks for 4 s
    await delay(200);
    const t0 = Date.now();
    const { samples } = await scrape(scrapeUrl);
    const elapsed = Date.now() - t0;
    expect(elapsed, 'the scrape waited for the 2 s timeout, not for the worker').toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(3900);
    expect(total(samples, 'trc_http_requests_total', REQUESTS), 'its last counters stay in the sum').toBe(10);
    const rss = (s: typeof samples) => total(s, 'process_resident_memory_bytes');
    expect(rss(samples), 'its gauges are left out').toBeLessThan(rss(before) - MIN_RSS_BYTES);
    await pollUntil('the late worker to be logged', async () => app.stderr(), (e) => new RegExp(`"workers":\\[${busy}\\][^\\n]*did not answer in time`).test(e), { timeoutMs: 5_000, intervalMs: 100 });

    const back = await pollUntil(
      'the busy worker to answer again',
      async () => (await scrape(scrapeUrl)).samples,
      (s) => rss(s) > rss(samples) + MIN_RSS_BYTES,
      { timeoutMs: 15_000 },
    );
    expect(total(back, 'trc_http_requests_total', REQUESTS)).toBe(11);
  });

  it('push from workers: each process pushes under its own service.instance.id', async () => {
    receiver = await startOtlpReceiver();
    await startCluster(4, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_METRIC_EXPORT_INTERVAL: '300' });
    const ids = () => new Set(receiver!.requests.flatMap((r) => r.resourceMetrics.map((rm) => rm.resource['service.instance.id'])));
    await pollUntil('pushes from the primary and the 4 workers', async () => ids().size, (n) => n >= 5);
    expect(ids().size).toBe(5);
  });
});

describe('without cluster, nothing changes', () => {
  it('a plain app serves its own exposition: no worker_id anywhere', async () => {
    const app = runApp(`${FIXTURES}/http-app.cjs`, ENV);
    const [{ port }, startup] = await Promise.all([app.ready, app.startup]);
    expect(startup.clusterRole).toBe('primary');
    await hit(port as number);
    const { samples, text } = await scrape(startup.scrapeUrl as string);
    expect(total(samples, 'trc_http_requests_total', REQUESTS)).toBe(1);
    expect(text).not.toContain('worker_id');
    expect(find(samples, 'process_resident_memory_bytes')).toHaveLength(1);
  });
});

describe('pm2 cluster mode (its daemon is the primary, so nothing aggregates)', () => {
  it('each instance serves on the scrape port plus its NODE_APP_INSTANCE; port 0 and no instance are left alone', () => {
    expect(standaloneWorkerEnv({ NODE_APP_INSTANCE: '3' }).OTEL_EXPORTER_PROMETHEUS_PORT).toBe('9467');
    expect(standaloneWorkerEnv({ NODE_APP_INSTANCE: '2', OTEL_EXPORTER_PROMETHEUS_PORT: '9100' }).OTEL_EXPORTER_PROMETHEUS_PORT).toBe('9102');
    expect(standaloneWorkerEnv({ NODE_APP_INSTANCE: '2', OTEL_EXPORTER_PROMETHEUS_PORT: '0' }).OTEL_EXPORTER_PROMETHEUS_PORT).toBe('0');
    expect(standaloneWorkerEnv({}).OTEL_EXPORTER_PROMETHEUS_PORT).toBeUndefined();
  });
});

// The pieces the processes above run, on data a test writes.

const counter = (name: string, series: [Record<string, string>, WireNumber][]): CollectedFamily<WireNumber> => ({
  name,
  type: 'counter',
  help: `${name} help`,
  unit: '1',
  series: series.map(([labels, value]) => ({ labels: Object.entries(labels), value })),
});
const message = (families: unknown[], id = 1) => ({ otelContracts: 'collected', id, families });

describe('a worker answer, read by the primary', () => {
  it('decodes NaN and the infinities, which JSON would turn into null', () => {
    const read = readResponse(JSON.parse(JSON.stringify(message([counter('a_total', [[{}, 1]]), { ...counter('g', [[{ k: 'x' }, 'NaN'], [{ k: 'y' }, '+Inf'], [{ k: 'z' }, '-Inf']]), type: 'gauge' }]))));
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(read.families[1]!.series.map((s) => ('value' in s ? s.value : undefined))).toEqual([NaN, Infinity, -Infinity]);
  });

  it('refuses an answer over the size bound (64 MiB by default), naming the bound', () => {
    const big = message([{ ...counter('a_total', []), help: 'x'.repeat(64 * 2 ** 20 + 1) }]);
    expect(readResponse(big)).toEqual({ ok: false, id: 1, why: 'larger than the size bound' });
    expect(readResponse(message([counter('a_total', [[{ k: 'v'.repeat(2000) }, 1]])]), 1000)).toMatchObject({ ok: false, why: 'larger than the size bound' });
    expect(readResponse(message([counter('a_total', [[{ k: 'v' }, 1]])]), 1000).ok).toBe(true);
  });

  it('refuses what would break the exposition or the merge, keeping the request id when it has one', () => {
    const bad: [unknown, RegExp][] = [
      [{ otelContracts: 'collected', id: 'x', families: [] }, /no request id/],
      [message([{ ...counter('a_total', []), name: 'a 1\n# TYPE b' }]), /not a metric name/],
      [message([{ ...counter('a_total', []), type: 'summary' }]), /no known type/],
      [message([counter('a_total', []), counter('a_total', [])]), /twice/],
      [message([{ ...counter('a_total', []), series: [{ labels: [['k', 'v'], ['k', 'w']], value: 1 }] }]), /label k twice/],
      [message([{ ...counter('a_total', []), series: [{ labels: [['k', 1]], value: 1 }] }]), /not a string/],
      [message([{ ...counter('a_total', []), series: [{ labels: [], value: null }] }]), /not a number/],
      [message([{ name: 'h', type: 'histogram', help: '', unit: 's', series: [{ labels: [], boundaries: [1, 2], counts: [1, 1], sum: 1, count: 2 }] }]), /2 counts for 2 boundaries/],
      [message([{ name: 'h', type: 'histogram', help: '', unit: 's', series: [{ labels: [], boundaries: [2, 1], counts: [1, 1, 0], sum: 1, count: 2 }] }]), /not increasing/],
      [message([{ name: 'h', type: 'histogram', help: '', unit: 's', series: [{ labels: [], boundaries: [1], counts: [-1, 1], sum: 1, count: 0 }] }]), /count that is not/],
    ];
    for (const [m, why] of bad) {
      const read = readResponse(m);
      expect(read.ok, JSON.stringify(m).slice(0, 200)).toBe(false);
      if (!read.ok) expect(read.why).toMatch(why);
    }
    expect(readResponse(message([{ ...counter('a_total', []), name: '' }], 7))).toMatchObject({ ok: false, id: 7 });
  });
});

describe('the merge rules', () => {
  const hist = (name: string, boundaries: number[], counts: number[], sum: number): CollectedFamily => ({
    name,
    type: 'histogram',
    help: '',
    unit: 's',
    series: [{ labels: [['route', '/']], boundaries, counts, sum, count: counts.reduce((a, b) => a + b, 0) }],
  });
  const gauge = (name: string, value: number, labels: [string, string][] = []): CollectedFamily => ({ name, type: 'gauge', help: '', unit: '1', series: [{ labels, value }] });
  const plain = (f: CollectedFamily<WireNumber>) => f as CollectedFamily;

  it('counters and histograms sum per label set, label order aside; bounds that differ are left out', () => {
    const merged = mergeMembers(
      [
        { workerId: '0', families: [plain(counter('r_total', [[{ a: '1', b: '2' }, 3]])), hist('d', [0.1, 1], [1, 2, 0], 1.5)] },
        { workerId: '1', families: [{ name: 'r_total', type: 'counter', help: '', unit: '1', series: [{ labels: [['b', '2'], ['a', '1']], value: 4 }] }, hist('d', [0.1, 1], [2, 0, 1], 3)] },
        { workerId: '2', families: [hist('d', [0.5, 1], [5, 5, 5], 9)] },
      ],
      new Aggregate(),
    );
    expect(merged.find((f) => f.name === 'r_total')?.series).toEqual([{ labels: [['a', '1'], ['b', '2']], value: 7 }]);
    expect(merged.find((f) => f.name === 'd')?.series).toEqual([{ labels: [['route', '/']], boundaries: [0.1, 1], counts: [3, 2, 1], sum: 4.5, count: 6 }]);
  });

  it('gauges combine without a label: memory summed, *_info and shared cgroup values first, start time min, latest latencies max', () => {
    const merged = mergeMembers(
      [
        { workerId: '0', families: [gauge('process_resident_memory_bytes', 10), gauge('app_info', 1, [['version', '1']]), gauge('process_start_time_seconds', 200), gauge('podtrace_rtt_latest_seconds', 0.002), gauge('podtrace_resource_limit_bytes', 512)] },
        { workerId: '3', families: [gauge('process_resident_memory_bytes', 20), gauge('app_info', 1, [['version', '1']]), gauge('process_start_time_seconds', 100), gauge('podtrace_rtt_latest_seconds', 0.009), gauge('podtrace_resource_limit_bytes', 512), plain(counter('process_resident_memory_bytes', [[{}, 5]]))] },
      ],
      new Aggregate(),
    );
    const series = (name: string) => merged.find((f) => f.name === name)?.series;
    expect(series('process_resident_memory_bytes'), 'summed; the counter of the same name (a type mismatch) left out').toEqual([{ labels: [], value: 30 }]);
    expect(series('app_info')).toEqual([{ labels: [['version', '1']], value: 1 }]);
    expect(series('process_start_time_seconds')).toEqual([{ labels: [], value: 100 }]);
    expect(series('podtrace_rtt_latest_seconds')).toEqual([{ labels: [], value: 0.009 }]);
    expect(series('podtrace_resource_limit_bytes')).toEqual([{ labels: [], value: 512 }]);
  });

  it('a retired worker keeps its counters and histograms in the sums, not its gauges', () => {
    const retired = new Aggregate();
    retire(retired, { workerId: '1', families: [plain(counter('r_total', [[{}, 5]])), gauge('mem_bytes', 20), hist('d', [1], [1, 0], 0.5)] });
    const merged = mergeMembers([{ workerId: '0', families: [plain(counter('r_total', [[{}, 2]])), gauge('mem_bytes', 10)] }], retired);
    expect(merged.find((f) => f.name === 'r_total')?.series).toEqual([{ labels: [], value: 7 }]);
    expect(merged.find((f) => f.name === 'mem_bytes')?.series).toHaveLength(1);
    expect(merged.find((f) => f.name === 'd')?.series).toEqual([{ labels: [['route', '/']], boundaries: [1], counts: [1, 0], sum: 0.5, count: 1 }]);
  });
});
