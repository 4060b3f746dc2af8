/**
 * Big scrapes over real HTTP: `/metrics` is streamed as it is rendered (chunked, never one block), a scrape
 * arriving during a render shares it, and the next scrape after it collects afresh.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import type { Server } from 'node:http';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ScrapeReader } from './scrape/reader.ts';
import { createScrapeHandler, startScrapeServer } from './scrape/server.ts';
import { createPipeline, type Pipeline } from './pipeline.ts';
import { benchContract } from '../bench/support/bench-contract.ts';

let servers: Server[] = [];
let pipelines: Pipeline[] = [];
afterEach(async () => {
  for (const s of servers) s.close();
  servers = [];
  await Promise.all(pipelines.map((p) => p.shutdown(500)));
  pipelines = [];
});

/** GET with node:http, to see the framing: status, headers, body and how many body pieces arrived. */
function get(url: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string; pieces: number }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      let pieces = 0;
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        pieces++;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, pieces }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/** A reader behind a real scrape server; the collection waits on `gate` (an async observable callback) while it is closed. */
async function gatedEndpoint() {
  let collections = 0;
  let open!: () => void;
  let gate = Promise.resolve();
  const reader = new ScrapeReader(benchContract.families);
  const meter = new MeterProvider({ readers: [reader] }).getMeter('bench');
  const counter = meter.createCounter('bench_series_total');
  meter.createObservableGauge('gate').addCallback(() => {
    collections++;
    return gate;
  });
  const handle = createScrapeHandler({ render: () => reader.render(), stream: () => reader.stream(), rateLimit: { perSecond: 1000, burst: 1000 } });
  const { server, port } = await startScrapeServer({ host: '127.0.0.1', port: 0, handle });
  servers.push(server);
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    counter,
    collections: () => collections,
    close: () => {
      gate = new Promise<void>((resolve) => (open = resolve));
    },
    open: () => open(),
  };
}

describe('big scrapes', () => {
  it('streams a big exposition in chunks, equal byte for byte to the whole rendering', async () => {
    const p = createPipeline({ contracts: [benchContract], serviceName: 'stream', env: { OTEL_CONTRACTS_LOG_LEVEL: 'silent', OTEL_EXPORTER_PROMETHEUS_PORT: '0' } });
    pipelines.push(p);
    const r = p.recorders(benchContract);
    for (let i = 0; i < 8_000; i++) r.bench_series_total.add(i + 1, { id: `id-${i}` });
    for (let i = 0; i < 1_000; i++) r.bench_series_seconds.record(i / 1000, { id: `id-${i}` });
    const { scrapeUrl } = await p.start({ keepAlive: false });
    const res = await get(scrapeUrl!);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.pieces).toBeGreaterThan(1);
    expect(res.body).toBe(await p.render());
    expect(res.body).toContain('bench_series_total{id="id-7999"} 8000\n');
  });

  it('a scrape arriving while one renders shares that render; the next one collects afresh', async () => {
    const ep = await gatedEndpoint();
    ep.counter.add(1, { id: 'a' });
    ep.close();
    const first = get(ep.url);
    await expect.poll(() => ep.collections()).toBe(1);
    const second = get(ep.url);
    // The second request is in the server (its handler ran) before the render is let go.
    await new Promise((resolve) => setTimeout(resolve, 50));
    ep.open();
    const [a, b] = await Promise.all([first, second]);
    expect(ep.collections()).toBe(1);
    expect(a.body).toBe(b.body);
    expect(a.body).toContain('bench_series_total{id="a"} 1\n');
    // Nothing is kept: the next scrape collects again and shows the later increment.
    ep.counter.add(1, { id: 'a' });
    const c = await get(ep.url);
    expect(ep.collections()).toBe(2);
    expect(c.body).toContain('bench_series_total{id="a"} 2\n');
  });

  it('lets the event loop turn between the pieces of a big exposition', async () => {
    // A 0 ms slice yields after every piece, so the test does not depend on how fast this machine serializes.
    const reader = new ScrapeReader(benchContract.families, false, 0);
    const counter = new MeterProvider({ readers: [reader], views: [{ instrumentName: 'bench_series_total', aggregationCardinalityLimit: 100_000 }] })
      .getMeter('bench')
      .createCounter('bench_series_total');
    for (let i = 0; i < 30_000; i++) counter.add(1, { id: `id-${i}` });
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const turnsAtPiece: number[] = [];
    for await (const _ of reader.stream()) turnsAtPiece.push(turns);
    ticking = false;
    expect(turnsAtPiece.length).toBeGreaterThan(10);
    // Other callbacks ran between the first piece and the last, not only before and after.
    expect(turnsAtPiece.at(-1)).toBeGreaterThan(turnsAtPiece[0] as number);
  });
});
