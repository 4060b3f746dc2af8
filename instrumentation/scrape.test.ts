import { describe, expect, it, afterEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { createPipeline, type Pipeline } from './pipeline.ts';
import { recordSample } from '../components/sample/sample.ts';
import { componentContracts, selectContracts } from '../semconv/index.ts';
import { readExposition } from '../test/exposition.ts';
import { NonLoopbackBindError } from './scrape/server.ts';
import { instanceLabelsForFamily, resolveInstanceLabels } from './instance-labels.ts';

const quiet = { OTEL_CONTRACTS_LOG_LEVEL: 'silent', OTEL_METRICS_EXPORTER: 'prometheus' };
let open: Pipeline[] = [];
afterEach(async () => {
  await Promise.all(open.map((p) => p.shutdown(1000)));
  open = [];
});
function pipelineFor(id: string, env: Record<string, string> = {}): Pipeline {
  const p = createPipeline({ contracts: selectContracts(id), serviceName: 'test', env: { ...quiet, ...env } });
  open.push(p);
  return p;
}

describe('scrape: every family under its exact documented name, TYPE, HELP and label keys', () => {
  for (const [id, contract] of Object.entries(componentContracts)) {
    it(id, async () => {
      const env = { OPENSANDBOX_EGRESS_INSTANCE_ID: 'sbx-1', NODE_NAME: 'node-a', POD_NAME: 'pod-a', TRC_NODE_ID: 'node-a' };
      const p = pipelineFor(id, env);
      recordSample(p, [contract]);
      const { help, type, samples } = readExposition(await p.render());
      const resolved = resolveInstanceLabels(contract, env);
      for (const f of contract.families) {
        expect(type.get(f.name), f.name).toBe(f.type);
        expect(help.get(f.name), f.name).toBe(f.help);
        const mine = samples.filter((s) => s.family === f.name);
        expect(mine.length, `${f.name} has samples`).toBeGreaterThan(0);
        const keys = new Set(mine.flatMap((s) => Object.keys(s.labels)).filter((k) => k !== 'le'));
        const instance = Object.keys(instanceLabelsForFamily(contract, f.name, resolved));
        expect([...keys].sort(), f.name).toEqual([...f.labels.map((l) => l.name), ...instance].sort());
      }
      // Nothing but the contract's and the pipeline's own families, and no OTel scope or target labels.
      for (const name of type.keys()) expect(name.startsWith(contract.prefix) || name.startsWith('otel_contracts_'), name).toBe(true);
      expect(type.has('target_info')).toBe(false);
      for (const s of samples) expect(Object.keys(s.labels).some((k) => k.startsWith('otel_scope')), s.name).toBe(false);
    });
  }

  it('instance labels come from the environment: egress instance_id, ops-proxy node and pod', async () => {
    const egress = pipelineFor('egress', { OPENSANDBOX_EGRESS_INSTANCE_ID: 'sbx-42' });
    egress.recorders(componentContracts.egress).opensandbox_egress_dns_queries_total.add(2, { result: 'denied' });
    expect(await egress.render()).toContain('opensandbox_egress_dns_queries_total{instance_id="sbx-42",result="denied"} 2\n');
    const ops = pipelineFor('ops-proxy', { NODE_NAME: 'n1', POD_NAME: 'p1' });
    ops.recorders(componentContracts['ops-proxy']).ops_proxy_clients_total.record(5);
    expect(await ops.render()).toContain('ops_proxy_clients_total{node="n1",pod="p1"} 5\n');
  });

  it('target_info only when configured', async () => {
    const p = pipelineFor('masque-vpn', { OTEL_CONTRACTS_TARGET_INFO: 'true', OTEL_SERVICE_NAME: 'vpn' });
    expect(await p.render()).toMatch(/^# HELP target_info .*\n# TYPE target_info gauge\ntarget_info\{.*service_name="vpn".*\} 1\n/);
  });

  it('promtool parses it; its only lint findings are the ones the documented names cause', async () => {
    const p = pipelineFor('all', { OPENSANDBOX_EGRESS_INSTANCE_ID: 'sbx-1' });
    recordSample(p, selectContracts('all'));
    const run = spawnSync('promtool', ['check', 'metrics'], { input: await p.render(), encoding: 'utf8' });
    expect(run.error, 'promtool is installed (Debian package prometheus)').toBeUndefined();
    // Exit 3 means lint findings only; 1 would be a parse error.
    expect(run.status).toBe(3);
    const findings = (run.stdout + run.stderr).trim().split('\n').sort();
    expect(findings).toEqual([
      'masque_vpn_ip_pool_total non-counter metrics should not have "_total" suffix',
      'masque_vpn_server_uptime_seconds counter metrics should have "_total" suffix',
      'masque_vpn_total_connections counter metrics should have "_total" suffix',
      'opensandbox_egress_policy_rule_count non-histogram and non-summary metrics should not have "_count" suffix',
      'ops_proxy_clients_total non-counter metrics should not have "_total" suffix',
      "podtrace_cpu_block_seconds_gauge metric name should not include type 'gauge'",
      "podtrace_cpu_block_seconds_histogram metric name should not include type 'histogram'",
      "podtrace_dns_latency_seconds_gauge metric name should not include type 'gauge'",
      "podtrace_dns_latency_seconds_histogram metric name should not include type 'histogram'",
      "podtrace_fs_latency_seconds_gauge metric name should not include type 'gauge'",
      "podtrace_fs_latency_seconds_histogram metric name should not include type 'histogram'",
      'trc_edge_backends_active_total non-counter metrics should not have "_total" suffix',
    ]);
  });
});

describe('scrape endpoint over HTTP', () => {
  it('answers with the hardening headers and the 0.0.4 content type; 404 elsewhere; 405 for POST', async () => {
    const p = pipelineFor('masque-vpn', { OTEL_EXPORTER_PROMETHEUS_PORT: '0' });
    const { scrapeUrl } = await p.start();
    const res = await fetch(scrapeUrl!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-xss-protection')).toBe('1; mode=block');
    expect(await res.text()).toContain('# TYPE masque_vpn_total_connections counter\n');
    expect((await fetch(scrapeUrl!.replace('/metrics', '/other'))).status).toBe(404);
    expect((await fetch(scrapeUrl!, { method: 'POST' })).status).toBe(405);
  });

  it('a scrape flood gets 429s once the burst is spent, counted, and memory does not grow', async () => {
    const p = pipelineFor('masque-vpn', { OTEL_EXPORTER_PROMETHEUS_PORT: '0', OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '10:20' });
    const { scrapeUrl } = await p.start();
    const statuses: number[] = [];
    for (let round = 0; round < 4; round++) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => fetch(scrapeUrl!).then(async (r) => (await r.arrayBuffer(), r.status))));
      statuses.push(...batch);
      if (round === 0) globalThis.gc?.();
    }
    const ok = statuses.filter((s) => s === 200).length;
    const limited = statuses.filter((s) => s === 429).length;
    expect(ok + limited).toBe(200);
    expect(ok).toBeGreaterThanOrEqual(20);
    expect(ok).toBeLessThan(60);
    const text = await p.render();
    expect(text).toContain(`otel_contracts_scrapes_rejected_total ${limited}\n`);
  });

  it('the rate limit is per client address: a flood from 127.0.0.2 leaves the scrape from 127.0.0.1 answered', async () => {
    const p = pipelineFor('masque-vpn', { OTEL_EXPORTER_PROMETHEUS_HOST: '0.0.0.0', OTEL_EXPORTER_PROMETHEUS_PORT: '0', OTEL_CONTRACTS_ALLOW_NON_LOOPBACK: 'true', OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '1:5' });
    const { scrapeUrl } = await p.start();
    const port = Number(new URL(scrapeUrl!).port);
    const from = (localAddress: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/metrics', localAddress, agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    const noisy = await Promise.all(Array.from({ length: 30 }, () => from('127.0.0.2')));
    expect(noisy.filter((s) => s === 429).length).toBeGreaterThanOrEqual(25);
    expect(await from('127.0.0.1')).toBe(200);
  });

  it('binds to loopback by default; another address only by explicit opt-in', async () => {
    const p = pipelineFor('masque-vpn', { OTEL_EXPORTER_PROMETHEUS_HOST: '0.0.0.0', OTEL_EXPORTER_PROMETHEUS_PORT: '0' });
    await expect(p.start()).rejects.toBeInstanceOf(NonLoopbackBindError);
    const allowed = pipelineFor('masque-vpn', { OTEL_EXPORTER_PROMETHEUS_HOST: '0.0.0.0', OTEL_EXPORTER_PROMETHEUS_PORT: '0', OTEL_CONTRACTS_ALLOW_NON_LOOPBACK: 'true' });
    const { scrapeUrl } = await allowed.start();
    expect(scrapeUrl).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/metrics$/);
  });
});

describe('Pushgateway without the prometheus reader', () => {
  it('does not open a scrape port when only the Pushgateway push is configured', async () => {
    const p = pipelineFor('egress', { OTEL_METRICS_EXPORTER: 'none', OTEL_CONTRACTS_PUSHGATEWAY_URL: 'http://127.0.0.1:9', OTEL_EXPORTER_PROMETHEUS_PORT: '0' });
    const started = await p.start();
    expect(started.scrapeUrl).toBeUndefined();
    expect(started.pushgatewayUrl).toMatch(/^http:\/\/127\.0\.0\.1:9\/metrics\/job\/test\/instance_id\//);
  });
});

describe('label names', () => {
  it('attribute keys that are not Prometheus label names are written with underscores', async () => {
    const { serializeExposition } = await import('./scrape/serializer.ts');
    const { DataPointType, AggregationTemporality } = await import('@opentelemetry/sdk-metrics');
    const { resourceFromAttributes } = await import('@opentelemetry/resources');
    const text = serializeExposition(
      {
        resource: resourceFromAttributes({}),
        scopeMetrics: [{
          scope: { name: 's' },
          metrics: [{
            descriptor: { name: 'x_total', description: 'x', unit: '1', valueType: 1 },
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.SUM,
            isMonotonic: true,
            dataPoints: [{ startTime: [0, 0], endTime: [0, 0], attributes: { 'otel.metric.overflow': true, '9lives': 'a"b\\c\nd' }, value: 3 }],
          }],
        }],
      },
      { families: [] },
    );
    expect(text).toBe('# HELP x_total x\n# TYPE x_total counter\nx_total{otel_metric_overflow="true",_9lives="a\\"b\\\\c\\nd"} 3\n');
  });
});
