import { afterEach, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver } from '../components/check/otlp/receiver.ts';
import { benchContract } from '../bench/support/bench-contract.ts';
import { opsProxy } from '../semconv/generated/ops-proxy.ts';
import { find, parseExposition, scrape } from '../test/exposition.ts';
import { createPipeline, type Pipeline } from './pipeline.ts';

let pipelines: Pipeline[] = [];
let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await Promise.all(pipelines.map((p) => p.shutdown(2000)));
  pipelines = [];
  await receiver?.close();
  receiver = undefined;
});

function pipeline(env: Record<string, string> = {}): Pipeline {
  const p = createPipeline({
    contracts: [opsProxy, benchContract],
    serviceName: 'remove-series',
    env: { OTEL_CONTRACTS_LOG_LEVEL: 'silent', OTEL_EXPORTER_PROMETHEUS_PORT: '0', NODE_NAME: 'n1', POD_NAME: 'p1', ...env },
  });
  pipelines.push(p);
  return p;
}

describe('removing series', () => {
  it('a removed name leaves every family on a real scrape; other names stay; a new measurement starts it from zero', async () => {
    const p = pipeline();
    const r = p.recorders(opsProxy);
    for (const name of ['gone.example', 'kept.example']) {
      r.ops_proxy_requests_total.add(3, { client_name: name, protocol: 'http' });
      r.ops_proxy_client_up.record(1, { client_name: name });
    }
    const { scrapeUrl } = await p.start({ keepAlive: false });
    const before = (await scrape(scrapeUrl!)).samples;
    expect(find(before, 'ops_proxy_requests_total', { client_name: 'gone.example' })).toHaveLength(1);

    expect(p.removeSeries({ client_name: 'gone.example' })).toBe(2);
    const after = (await scrape(scrapeUrl!)).samples;
    expect(after.filter((s) => s.labels.client_name === 'gone.example')).toEqual([]);
    expect(find(after, 'ops_proxy_requests_total', { client_name: 'kept.example', protocol: 'http', node: 'n1', pod: 'p1' })[0]?.value).toBe(3);
    expect(find(after, 'ops_proxy_client_up', { client_name: 'kept.example' })[0]?.value).toBe(1);

    r.ops_proxy_requests_total.add(1, { client_name: 'gone.example', protocol: 'http' });
    const again = (await scrape(scrapeUrl!)).samples;
    expect(find(again, 'ops_proxy_requests_total', { client_name: 'gone.example' })[0]?.value).toBe(1);
  });

  it('only the named families lose the series, histograms included', async () => {
    const p = pipeline();
    const r = p.recorders(benchContract);
    r.bench_series_total.add(5, { id: 'x' });
    r.bench_series_seconds.record(0.01, { id: 'x' });
    r.bench_series_seconds.record(0.02, { id: 'y' });
    await p.render();
    expect(p.removeSeries({ id: 'x' }, ['bench_series_seconds'])).toBe(1);
    const samples = parseExposition(await p.render());
    expect(find(samples, 'bench_series_seconds_count', { id: 'x' })).toEqual([]);
    expect(find(samples, 'bench_series_seconds_count', { id: 'y' })[0]?.value).toBe(1);
    expect(find(samples, 'bench_series_total', { id: 'x' })[0]?.value).toBe(5);
  });

  it("frees the series' places in the family's budget: a new name gets its own series, not the overflow", async () => {
    const p = pipeline();
    const r = p.recorders(opsProxy);
    const budget = opsProxy.families.find((f) => f.name === 'ops_proxy_client_up')!.maxSeries;
    for (let i = 0; i < budget; i++) r.ops_proxy_client_up.record(1, { client_name: `c${i}` });
    r.ops_proxy_client_up.record(1, { client_name: 'late-1' });
    let samples = parseExposition(await p.render());
    expect(find(samples, 'ops_proxy_client_up', { otel_metric_overflow: 'true' })).toHaveLength(1);
    expect(find(samples, 'ops_proxy_client_up', { client_name: 'late-1' })).toEqual([]);

    for (let i = 0; i < 10; i++) p.removeSeries({ client_name: `c${i}` }, ['ops_proxy_client_up']);
    r.ops_proxy_client_up.record(1, { client_name: 'late-2' });
    samples = parseExposition(await p.render());
    expect(find(samples, 'ops_proxy_client_up', { client_name: 'late-2' })[0]?.value).toBe(1);
    expect(find(samples, 'ops_proxy_client_up').length).toBe(budget - 10 + 2); // the kept names, late-2 and the overflow series
  });

  it('a value buffered before the removal is discarded, not flushed back', async () => {
    const p = pipeline();
    const r = p.recorders(opsProxy);
    r.ops_proxy_requests_total.add(2, { client_name: 'a', protocol: 'tcp' });
    await p.render();
    r.ops_proxy_requests_total.add(7, { client_name: 'a', protocol: 'tcp' });
    p.removeSeries({ client_name: 'a' });
    expect(find(parseExposition(await p.render()), 'ops_proxy_requests_total', { client_name: 'a' })).toEqual([]);
  });

  it('the OTLP push stops carrying a removed series, and scrape and push agree on the rest', async () => {
    receiver = await startOtlpReceiver();
    const p = pipeline({ OTEL_METRICS_EXPORTER: 'prometheus,otlp', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_METRIC_EXPORT_INTERVAL: '600000' });
    const r = p.recorders(opsProxy);
    r.ops_proxy_requests_total.add(4, { client_name: 'gone', protocol: 'https' });
    r.ops_proxy_requests_total.add(6, { client_name: 'kept', protocol: 'https' });
    await p.meterProvider.forceFlush();
    p.removeSeries({ client_name: 'gone' });
    await p.meterProvider.forceFlush();
    expect(receiver.requests).toHaveLength(2);
    const names = (i: number) =>
      receiver!.requests[i]!.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
        .filter((m) => m.name === 'ops_proxy_requests_total')
        .flatMap((m) => (m.kind === 'sum' ? m.dataPoints.map((d) => `${d.attributes.client_name}=${d.value}`) : []));
    expect(names(0).sort()).toEqual(['gone=4', 'kept=6']);
    expect(names(1)).toEqual(['kept=6']);
    expect(find(parseExposition(await p.render()), 'ops_proxy_requests_total').map((s) => `${s.labels.client_name}=${s.value}`)).toEqual(['kept=6']);
  });
});
