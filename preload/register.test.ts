import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startOtlpReceiver } from '../components/check/otlp/receiver.ts';
import { find, scrape, scrapeUntil, total } from '../test/exposition.ts';
import { freePort } from '../test/ports.ts';
import { stopAllProcesses } from '../test/processes.ts';
import { FIXTURES, runApp } from './testing/harness.ts';

afterEach(() => stopAllProcesses());

/** One request on a fresh connection (agent: false), so every request is its own. */
function hit(port: number, path: string, method = 'GET'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('preload on a node:http app', () => {
  it('serves trc HTTP families with configured templates, never raw paths, and podtrace families', async () => {
    const app = runApp(`${FIXTURES}/http-app.cjs`, { OTEL_CONTRACTS_HTTP_ROUTES: '/users/:id,/orders/{id}/items' });
    const [{ port }, startup] = await Promise.all([app.ready, app.startup]);
    expect(startup.scrapeUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(startup.cpuBlockSource).toBe('schedstat');
    for (let i = 0; i < 5; i++) await hit(port as number, `/users/${i}?q=${i}`);
    await hit(port as number, '/orders/42/items', 'POST');
    await hit(port as number, '/elsewhere/raw/path');
    await hit(port as number, '/teapot');
    await hit(port as number, '/users/1', 'PURGE');

    await scrape(startup.scrapeUrl as string); // a first scrape: scrapes must not count as app requests
    const { samples, text } = await scrape(startup.scrapeUrl as string);
    expect(total(samples, 'trc_http_requests_total', { method: 'GET', path_template: '/users/:id', status: '200' })).toBe(5);
    expect(total(samples, 'trc_http_requests_total', { method: 'POST', path_template: '/orders/{id}/items', status: '200' })).toBe(1);
    expect(total(samples, 'trc_http_requests_total', { method: 'GET', path_template: 'unmatched', status: '200' })).toBe(1);
    expect(total(samples, 'trc_http_requests_total', { method: 'GET', path_template: 'unmatched', status: '400' })).toBe(1); // 418 → its class
    expect(total(samples, 'trc_http_requests_total', { method: '_OTHER', path_template: '/users/:id', status: '200' })).toBe(1);
    expect(total(samples, 'trc_http_request_duration_seconds_count', { path_template: '/users/:id', method: 'GET' })).toBe(5);
    expect(text).not.toMatch(/path_template="\/users\/\d/);
    expect(text).not.toContain('/elsewhere');
    // Only trc's two HTTP families, not the other 66.
    expect(text.match(/^# TYPE trc_\S+/gm)?.sort()).toEqual(['# TYPE trc_http_request_duration_seconds', '# TYPE trc_http_requests_total']);
    // Every podtrace family is exposed.
    for (const f of ['podtrace_dns_latency_seconds_histogram', 'podtrace_fs_latency_seconds_gauge', 'podtrace_network_bytes_total', 'podtrace_cpu_block_seconds_histogram', 'podtrace_resource_usage_bytes']) {
      expect(text).toContain(`# TYPE ${f} `);
    }
  });

  it('keeps the series count bounded across 10k distinct raw paths', async () => {
    const app = runApp(`${FIXTURES}/http-app.cjs`, { OTEL_CONTRACTS_HTTP_ROUTES: '/users/:id' });
    const [{ port }, startup] = await Promise.all([app.ready, app.startup]);
    const { Agent } = await import('node:http');
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const one = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const path = i % 2 ? `/users/${i}` : `/random/${i}/${i * 7}`;
        const req = request({ host: '127.0.0.1', port: port as number, path, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        req.on('error', reject);
        req.end();
      });
    for (let i = 0; i < 10_000; i += 200) await Promise.all(Array.from({ length: 200 }, (_, k) => one(i + k)));
    agent.destroy();
    const { samples } = await scrape(startup.scrapeUrl as string);
    const series = find(samples, 'trc_http_requests_total');
    expect(series.map((s) => s.labels.path_template).sort()).toEqual(['/users/:id', 'unmatched']);
    expect(total(samples, 'trc_http_requests_total')).toBe(10_000);
  });

  it('pushes on SIGTERM and exits 0 within the bound', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const app = runApp(`${FIXTURES}/http-app.cjs`, {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_METRICS_EXPORTER: 'prometheus,otlp',
        OTEL_CONTRACTS_EXIT_TIMEOUT_MS: '3000',
        OTEL_CONTRACTS_HTTP_ROUTES: '/users/:id',
      });
      const [{ port }, startup] = await Promise.all([app.ready, app.startup]);
      expect(startup.pushUrl).toBe(`${receiver.endpoint}/v1/metrics`);
      await hit(port as number, '/users/7');
      const pushed = receiver.nextRequest();
      app.child.kill('SIGTERM');
      const [exit, req] = await Promise.all([app.exited, pushed]);
      expect(exit).toEqual({ code: 0, signal: null });
      const metrics = req.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
      const requests = metrics.find((m) => m.name === 'trc_http_requests_total');
      if (requests?.kind !== 'sum') throw new Error(`trc_http_requests_total not pushed as a sum: ${requests?.kind}`);
      expect(requests.dataPoints.map((p) => [p.attributes.path_template, p.value])).toEqual([['/users/:id', 1]]);
      expect(app.stderr()).toContain('final push delivered');
    } finally {
      await receiver.close();
    }
  });

  it('exits 0 on SIGTERM within the bound when the collector is down (the failed push is logged)', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`; // bound, then closed: nothing listens there
    const app = runApp(`${FIXTURES}/http-app.cjs`, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_CONTRACTS_EXIT_TIMEOUT_MS: '1000' });
    await Promise.all([app.ready, app.startup]);
    app.child.kill('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.stderr()).toContain('final push failed');
  });

  it('leaves the exit to an app that handles SIGTERM itself', async () => {
    const app = runApp(`${FIXTURES}/own-sigterm-app.cjs`);
    await Promise.all([app.ready, app.startup]);
    app.child.kill('SIGTERM');
    expect(await app.exited).toEqual({ code: 7, signal: null });
    expect(app.stdout()).toContain('"sigterm":true');
  });

  it('an app that drains after SIGTERM: the request it finishes after the signal is in the final push at its exit', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const app = runApp(`${FIXTURES}/draining-app.cjs`, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_METRICS_EXPORTER: 'otlp', OTEL_CONTRACTS_HTTP_ROUTES: '/users/:id', OTEL_CONTRACTS_COLLECTORS: 'http' });
      const [{ port }] = await Promise.all([app.ready, app.startup]);
      await hit(port as number, '/users/1');
      const slow = hit(port as number, '/users/slow');
      await app.waitForLine(/"received":"\/users\/slow"/);
      app.child.kill('SIGTERM');
      await app.waitForLine(/"sigterm":true/);
      expect(await slow).toBe(200); // answered after the signal, while the app drained
      expect(await app.exited).toEqual({ code: 0, signal: null });
      const metrics = receiver.requests.at(-1)?.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((sm) => sm.metrics)) ?? [];
      const requests = metrics.find((m) => m.name === 'trc_http_requests_total');
      if (requests?.kind !== 'sum') throw new Error(`trc_http_requests_total not in the last push: ${requests?.kind}`);
      expect(requests.dataPoints.map((p) => [p.attributes.path_template, p.value])).toEqual([['/users/:id', 2]]);
      expect(app.stderr()).toContain('final push delivered');
    } finally {
      await receiver.close();
    }
  });

  it('a repeated SIGTERM to an app that handles it still leaves the exit to the app', async () => {
    const app = runApp(`${FIXTURES}/own-sigterm-app.cjs`);
    await Promise.all([app.ready, app.startup]);
    app.child.kill('SIGTERM');
    app.child.kill('SIGTERM');
    expect(await app.exited).toEqual({ code: 7, signal: null });
  });

  it('works with --require too', async () => {
    const app = runApp(`${FIXTURES}/http-app.cjs`, { OTEL_CONTRACTS_HTTP_ROUTES: '/users/:id' }, { flag: '--require' });
    const [{ port }, startup] = await Promise.all([app.ready, app.startup]);
    await hit(port as number, '/users/1');
    const { samples } = await scrape(startup.scrapeUrl as string);
    expect(total(samples, 'trc_http_requests_total', { path_template: '/users/:id' })).toBe(1);
  });
});

describe('the app records its own families through the preload (OTEL_CONTRACTS_APP_CONTRACTS)', () => {
  it('with trc named, a family the app records from its own copy of the package is in the preload\'s scrape beside the HTTP families', async () => {
    const app = runApp(`${FIXTURES}/app-contracts-app.mjs`, { OTEL_CONTRACTS_APP_CONTRACTS: 'trc', OTEL_CONTRACTS_COLLECTORS: 'http' });
    const [{ port, preloaded }, startup] = await Promise.all([app.ready, app.startup]);
    expect(preloaded).toBe(true);
    for (let i = 0; i < 3; i++) await hit(port as number, '/apps');
    const { samples } = await scrape(startup.scrapeUrl as string);
    expect(total(samples, 'trc_commands_total', { command: 'create_app', result: 'success' })).toBe(3);
    expect(total(samples, 'trc_http_requests_total', { method: 'GET', path_template: 'unmatched', status: '200' })).toBe(3);
    expect(total(samples, 'otel_contracts_measurements_dropped_total')).toBe(0);
  });

  it('narrowed to a component, the preload holds only that component\'s families: no idle scheduler counter to trip a stall alert', async () => {
    const app = runApp(`${FIXTURES}/app-contracts-app.mjs`, { OTEL_CONTRACTS_APP_CONTRACTS: 'trc:control-plane', OTEL_CONTRACTS_COLLECTORS: 'http' });
    const [{ port }, startup] = await Promise.all([app.ready, app.startup]);
    await hit(port as number, '/apps');
    const { samples, text } = await scrape(startup.scrapeUrl as string);
    expect(total(samples, 'trc_commands_total', { command: 'create_app', result: 'success' })).toBe(1);
    expect(text).not.toMatch(/^# TYPE trc_(scheduler|agent|edge)_/m);
    expect(text).toMatch(/^# TYPE trc_http_requests_total counter$/m);
  });

  it('without it, the preload holds trc\'s HTTP families only: the app\'s measurement is dropped and counted, never a series', async () => {
    const app = runApp(`${FIXTURES}/app-contracts-app.mjs`, { OTEL_CONTRACTS_COLLECTORS: 'http' });
    const [{ port }, startup] = await Promise.all([app.ready, app.startup]);
    await hit(port as number, '/apps');
    const { samples } = await scrape(startup.scrapeUrl as string);
    expect(samples.some((s) => s.family === 'trc_commands_total')).toBe(false);
    expect(total(samples, 'otel_contracts_measurements_dropped_total', { family: 'trc_commands_total', reason: 'unknown_family' })).toBe(1);
  });
});

describe('frameworks', () => {
  it('express: the matched route, including a parameterised mount, never the raw path', async () => {
    const app = runApp(`${FIXTURES}/express-app.cjs`);
    const [{ port }, startup] = await Promise.all([app.ready, app.startup]);
    for (let i = 0; i < 3; i++) await hit(port as number, `/users/${i}`);
    await hit(port as number, '/orgs/acme/apps/web');
    await hit(port as number, '/orgs/other/apps/api');
    await hit(port as number, '/orgs/acme/apps', 'POST');
    await hit(port as number, '/nope/123');
    const { samples, text } = await scrape(startup.scrapeUrl as string);
    expect(total(samples, 'trc_http_requests_total', { path_template: '/users/:id', status: '200' })).toBe(3);
    expect(total(samples, 'trc_http_requests_total', { path_template: '/orgs/:org/apps/:app', status: '200' })).toBe(2);
    expect(total(samples, 'trc_http_requests_total', { method: 'POST', path_template: '/orgs/:org/apps', status: '201' })).toBe(1);
    expect(total(samples, 'trc_http_requests_total', { path_template: 'unmatched', status: '404' })).toBe(1);
    expect(samples.flatMap((s) => Object.values(s.labels)).filter((v) => /acme|other|\/nope/.test(v)), 'no raw path segment in any label value').toEqual([]);
  });

  it('fastify: routeOptions.url through fastify\'s diagnostics channel, prefixes included', async () => {
    const app = runApp(`${FIXTURES}/fastify-app.cjs`);
    const [{ port }, startup] = await Promise.all([app.ready, app.startup]);
    await hit(port as number, '/items/1');
    await hit(port as number, '/items/2');
    await hit(port as number, '/v1/things/x');
    await hit(port as number, '/missing');
    const { samples } = await scrape(startup.scrapeUrl as string);
    expect(total(samples, 'trc_http_requests_total', { path_template: '/items/:id', status: '200' })).toBe(2);
    expect(total(samples, 'trc_http_requests_total', { path_template: '/v1/things/:thing', status: '200' })).toBe(1);
    expect(total(samples, 'trc_http_requests_total', { path_template: 'unmatched', status: '404' })).toBe(1);
  });

  it('koa + @koa/router: ctx._matchedRoute, nested prefixes included, in CommonJS and ESM apps', async () => {
    const cjs = runApp(`${FIXTURES}/koa-app.cjs`);
    const esm = runApp(`${FIXTURES}/koa-app.mjs`);
    const [{ port }, startup, { port: esmPort }, esmStartup] = await Promise.all([cjs.ready, cjs.startup, esm.ready, esm.startup]);
    await hit(port as number, '/users/1');
    await hit(port as number, '/users/2');
    await hit(port as number, '/orgs/acme/apps/web');
    await hit(port as number, '/missing/1');
    await hit(esmPort as number, '/items/9');
    const { samples, text } = await scrape(startup.scrapeUrl as string);
    expect(total(samples, 'trc_http_requests_total', { path_template: '/users/:id', status: '200' })).toBe(2);
    expect(total(samples, 'trc_http_requests_total', { path_template: '/orgs/:org/apps/:app', status: '200' })).toBe(1);
    expect(total(samples, 'trc_http_requests_total', { path_template: 'unmatched', status: '404' })).toBe(1);
    expect(text).not.toMatch(/acme|missing/);
    const esmSamples = (await scrape(esmStartup.scrapeUrl as string)).samples;
    expect(total(esmSamples, 'trc_http_requests_total', { path_template: '/items/:id', status: '200' })).toBe(1);
    // The app still reads its own ctx._matchedRoute.
    expect(await (await fetch(`http://127.0.0.1:${port}/users/5`)).text()).toBe('user 5 via /users/:id');
  });
});

describe('the app keeps its behaviour', () => {
  it('an app that throws: same error on stderr, same exit code as without the preload', async () => {
    const bare = runApp(`${FIXTURES}/throw-app.cjs`, {}, { flag: 'none' });
    const withPreload = runApp(`${FIXTURES}/throw-app.cjs`);
    const [a, b] = await Promise.all([bare.exited, withPreload.exited]);
    expect(a.code).toBe(1);
    expect(b).toEqual(a);
    expect(withPreload.stderr()).toContain('Error: boom from the app');
  });

  it('an app that exits by itself with code 3 exits 3 (exitCode and process.exit)', async () => {
    const natural = runApp(`${FIXTURES}/exit-app.cjs`);
    const explicit = runApp(`${FIXTURES}/exit-app.cjs`, {}, { args: ['exit'] });
    expect(await natural.exited).toEqual({ code: 3, signal: null });
    expect(await explicit.exited).toEqual({ code: 3, signal: null });
    expect(natural.stdout()).toContain('"done":true');
  });

  it('an app that never listens and finishes exits 0, and the scrape port does not keep it alive', async () => {
    const app = runApp('-e', {}, { args: [''] });
    expect(await app.exited).toEqual({ code: 0, signal: null });
  });

  it('a bad configuration disables the preload with one line; the app runs', async () => {
    const app = runApp(`${FIXTURES}/exit-app.cjs`, { OTEL_METRICS_EXPORTER: 'carrier-pigeon' });
    expect(await app.exited).toEqual({ code: 3, signal: null });
    expect(app.stderr()).toContain('otel-contracts preload disabled');
    expect(app.stderr()).toContain('carrier-pigeon');
  });

  it('a scrape port in use logs one line and the app carries on', async () => {
    const first = runApp(`${FIXTURES}/http-app.cjs`);
    const s1 = await first.startup;
    const port = new URL(s1.scrapeUrl as string).port;
    const second = runApp(`${FIXTURES}/http-app.cjs`, { OTEL_EXPORTER_PROMETHEUS_PORT: port });
    const [{ port: appPort }, s2] = await Promise.all([second.ready, second.startup]);
    expect(s2.scrapeUrl).toBeUndefined();
    expect(second.stderr()).toContain('scrape endpoint not started');
    expect(await hit(appPort as number, '/')).toBe(200);
  });

  it('a collector that cannot start logs one line; the others run', async () => {
    const app = runApp(`${FIXTURES}/http-app.cjs`, { OTEL_CONTRACTS_CGROUP_ROOT: '/nonexistent', OTEL_CONTRACTS_HTTP_ROUTES: '/users/:id' });
    const [{ port }, startup] = await Promise.all([app.ready, app.startup]);
    expect(app.stderr().match(/collector cgroup not started/g)).toHaveLength(1);
    expect(startup.collectors.some((c) => c.startsWith('cgroup'))).toBe(false);
    await hit(port as number, '/users/1');
    expect(total((await scrape(startup.scrapeUrl as string)).samples, 'trc_http_requests_total')).toBe(1);
  });

  it('OTEL_CONTRACTS_COLLECTORS chooses the collectors', async () => {
    const app = runApp(`${FIXTURES}/http-app.cjs`, { OTEL_CONTRACTS_COLLECTORS: 'http,bogus' });
    const [{ port }, startup] = await Promise.all([app.ready, app.startup]);
    expect(startup.collectors.map((c) => c.split(' ')[0])).toEqual(['http']);
    expect(startup.cpuBlockSource).toBe('off');
    expect(app.stderr()).toContain('bogus');
    await hit(port as number, '/x');
    const samples = await scrapeUntil(startup.scrapeUrl as string, 'trc_http_requests_total to count the one request', (s) => total(s, 'trc_http_requests_total') === 1);
    expect(find(samples, 'podtrace_cpu_block_seconds_gauge')).toEqual([]);
  });
});
