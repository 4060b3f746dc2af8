import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver } from '../components/check/otlp/receiver.ts';
import { find, scrape, total } from '../test/exposition.ts';
import { pollUntil } from '../test/poll.ts';
import { freePort } from '../test/ports.ts';
import { stopAllProcesses } from '../test/processes.ts';
import { standaloneWorkerEnv } from './cluster/index.ts';
import { FIXTURES, runApp } from './testing/harness.ts';

// Item 4 of issue 13: a Node cluster app under the preload serves one aggregated /metrics from its primary.

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

const N = 200;
const ENV = { OTEL_CONTRACTS_HTTP_ROUTES: '/users/:id', OTEL_CONTRACTS_COLLECTORS: 'http' };
const REQUESTS = { method: 'GET', path_template: '/users/:id', status: '200' };

describe('preload in a 4-worker cluster app', () => {
  it('one endpoint on the primary: N requests show N, gauges per worker_id, workers do not listen', async () => {
    const appPort = await freePort();
    const app = runApp(`${FIXTURES}/cluster-app.cjs`, { ...ENV, APP_PORT: String(appPort) });
    const [ready, startup] = await Promise.all([app.ready, app.startup]);
    expect(startup.clusterRole).toBe('primary');
    expect(Object.keys(ready.workers as object)).toHaveLength(4);
    const served = new Set<string>();
    for (let i = 0; i < N; i++) served.add(await hit(appPort, `/users/${i}`));
    expect(served.size, 'the requests were spread over the workers').toBeGreaterThan(1);

    const { samples, text } = await scrape(startup.scrapeUrl as string);
    // Counters and histograms summed across the workers into one series.
    expect(find(samples, 'trc_http_requests_total', REQUESTS)).toHaveLength(1);
    expect(total(samples, 'trc_http_requests_total', REQUESTS)).toBe(N);
    expect(total(samples, 'trc_http_request_duration_seconds_count', { method: 'GET', path_template: '/users/:id' })).toBe(N);
    expect(find(samples, 'trc_http_request_duration_seconds_bucket', { le: '+Inf' }).map((s) => s.value)).toEqual([N]);
    // Gauges per process: the primary (0) and the four workers.
    const ids = find(samples, 'process_resident_memory_bytes').map((s) => s.labels.worker_id).sort();
    expect(ids).toEqual(['0', ...Object.keys(ready.workers as object)].sort());
    expect(find(samples, 'process_cpu_seconds_total')).toHaveLength(1);
    expect(text.match(/^# TYPE trc_http_requests_total /gm)).toHaveLength(1);
    // Every worker's start-up line says it does not listen.
    await pollUntil('5 start-up lines', async () => app.stderr().match(/otel-contracts preload started/g)?.length ?? 0, (n) => n === 5);
    expect(app.stderr().match(/"clusterRole":"worker",[^\n]*"msg":"otel-contracts preload started: scrape off/g)).toHaveLength(4);
    expect(app.stderr()).not.toMatch(/EADDRINUSE/);
  });

  it('a worker that dies loses nothing already scraped, and its gauges stop', async () => {
    const appPort = await freePort();
    const app = runApp(`${FIXTURES}/cluster-app.cjs`, { ...ENV, APP_PORT: String(appPort) });
    const [ready, startup] = await Promise.all([app.ready, app.startup]);
    for (let i = 0; i < N; i++) await hit(appPort);
    expect(total((await scrape(startup.scrapeUrl as string)).samples, 'trc_http_requests_total', REQUESTS)).toBe(N);

    const [deadId, deadPid] = Object.entries(ready.workers as Record<string, number>)[0]!;
    process.kill(deadPid, 'SIGKILL');
    const after = await pollUntil(
      `worker ${deadId}'s gauges to stop`,
      async () => (await scrape(startup.scrapeUrl as string)).samples,
      (s) => !find(s, 'process_resident_memory_bytes').some((x) => x.labels.worker_id === deadId),
    );
    expect(find(after, 'process_resident_memory_bytes')).toHaveLength(4);
    expect(total(after, 'trc_http_requests_total', REQUESTS)).toBe(N);
    // The survivors keep counting on top.
    for (let i = 0; i < 10; i++) await hit(appPort);
    expect(total((await scrape(startup.scrapeUrl as string)).samples, 'trc_http_requests_total', REQUESTS)).toBe(N + 10);
  });

  it('garbage over the cluster channel is ignored and counted; the app\'s own messages are not; the primary keeps serving', async () => {
    const appPort = await freePort();
    const app = runApp(`${FIXTURES}/cluster-app.cjs`, { ...ENV, APP_PORT: String(appPort), WORKERS: '2' });
    const [, startup] = await Promise.all([app.ready, app.startup]);
    await hit(appPort, '/garbage');
    const samples = await pollUntil(
      'the two bad messages to be counted',
      async () => (await scrape(startup.scrapeUrl as string)).samples,
      (s) => total(s, 'otel_contracts_cluster_messages_dropped_total') === 2,
    );
    expect(total(samples, 'otel_contracts_cluster_messages_dropped_total', { reason: 'malformed' })).toBe(1);
    expect(total(samples, 'otel_contracts_cluster_messages_dropped_total', { reason: 'unparseable' })).toBe(1);
    await hit(appPort);
    const again = (await scrape(startup.scrapeUrl as string)).samples;
    expect(total(again, 'trc_http_requests_total', { method: 'GET', status: '200' })).toBe(2);
    expect(find(again, 'process_resident_memory_bytes')).toHaveLength(3);
  });

  it('push from workers: each process pushes under its own service.instance.id', async () => {
    receiver = await startOtlpReceiver();
    const appPort = await freePort();
    const app = runApp(`${FIXTURES}/cluster-app.cjs`, {
      ...ENV,
      APP_PORT: String(appPort),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_METRIC_EXPORT_INTERVAL: '300',
    });
    await app.ready;
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
