import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createPipeline } from './pipeline.ts';
import { egress, podtrace, trc } from '../semconv/index.ts';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

function setup() {
  const { logger, lines } = capturingLogger();
  const pipeline = createPipeline({
    contracts: [egress, trc, podtrace],
    serviceName: 'test',
    env: { OTEL_METRICS_EXPORTER: 'prometheus', OPENSANDBOX_EGRESS_INSTANCE_ID: 'i-1' },
    logger,
  });
  return { pipeline, lines };
}

describe('typed recorders at run time', () => {
  it('records valid measurements under the documented labels', async () => {
    const { pipeline } = setup();
    const m = pipeline.recorders(egress);
    m.opensandbox_egress_dns_queries_total.add(1, { result: 'allowed' });
    m.opensandbox_egress_dns_queries_total.add(2, { result: 'allowed' });
    m.opensandbox_egress_policy_rule_count.record(4, { default_action: 'deny' });
    m.opensandbox_egress_policy_rule_count.record(3);
    const text = await pipeline.render();
    expect(text).toContain('opensandbox_egress_dns_queries_total{instance_id="i-1",result="allowed"} 3\n');
    expect(text).toContain('opensandbox_egress_policy_rule_count{instance_id="i-1",default_action="deny"} 4\n');
    expect(text).toContain('opensandbox_egress_policy_rule_count{instance_id="i-1"} 3\n');
    // A label-less counter starts at 0.
    expect(text).toContain('opensandbox_egress_policy_updates_total{instance_id="i-1"} 0\n');
  });

  it('an enum value outside the contract is dropped, counted in the self-metric, logged once, and never becomes a series', async () => {
    const { pipeline, lines } = setup();
    const m = pipeline.recorders(egress);
    const untyped = m.opensandbox_egress_dns_queries_total as unknown as { add(v: number, l: object): void };
    for (let i = 0; i < 3; i++) untyped.add(1, { result: 'exploded' });
    const text = await pipeline.render();
    expect(text).not.toContain('result="exploded"');
    expect(text).toContain(
      'otel_contracts_measurements_dropped_total{contract="egress",family="opensandbox_egress_dns_queries_total",reason="unknown_label_value"} 3\n',
    );
    const logged = lines.filter((l) => l.reason === 'unknown_label_value');
    expect(logged).toHaveLength(1);
    expect(logged[0]?.detail).toBe('label "result"="exploded" is not one of allowed, denied, forward_error');
  });

  it('a missing required label, an undocumented family and an invalid value are dropped and counted', async () => {
    const { pipeline } = setup();
    const m = pipeline.recorders(trc) as unknown as Record<string, { add(v: number, l?: object): void }>;
    m.trc_http_requests_total!.add(1, { method: 'GET', status: '200' });
    m.trc_not_documented_total!.add(1);
    m.trc_scheduler_reconcile_runs_total!.add(-1);
    m.trc_scheduler_reconcile_runs_total!.add(Number.NaN);
    (m.trc_scheduler_reconcile_duration_seconds as unknown as { record(v: number): void }).record(-0.5);
    const text = await pipeline.render();
    expect(text).not.toMatch(/^(# TYPE )?trc_not_documented_total/m);
    expect(text).toContain('otel_contracts_measurements_dropped_total{contract="trc",family="trc_http_requests_total",reason="missing_label"} 1\n');
    expect(text).toContain('otel_contracts_measurements_dropped_total{contract="trc",family="trc_not_documented_total",reason="unknown_family"} 1\n');
    expect(text).toContain('otel_contracts_measurements_dropped_total{contract="trc",family="trc_scheduler_reconcile_runs_total",reason="invalid_value"} 2\n');
    expect(text).toContain('trc_scheduler_reconcile_runs_total 0\n');
    expect(text).toContain('otel_contracts_measurements_dropped_total{contract="trc",family="trc_scheduler_reconcile_duration_seconds",reason="invalid_value"} 1\n');
  });

  it('unbounded labels become series up to the family budget; past it, one overflow series keeps the total', async () => {
    const { pipeline } = setup();
    const m = pipeline.recorders(egress);
    for (let i = 0; i < 300; i++) m.opensandbox_egress_nft_resolved_ips_added_total.add(2, { domain: `host-${i}.example.com` });
    const text = await pipeline.render();
    const series = text.split('\n').filter((l) => l.startsWith('opensandbox_egress_nft_resolved_ips_added_total{'));
    const budget = egress.families.find((f) => f.name === 'opensandbox_egress_nft_resolved_ips_added_total')!.maxSeries;
    expect(budget).toBe(201);
    expect(series).toHaveLength(budget + 1);
    expect(series).toContain(`opensandbox_egress_nft_resolved_ips_added_total{instance_id="i-1",otel_metric_overflow="true"} ${2 * (300 - budget)}`);
    expect(series.reduce((n, l) => n + Number(l.split(' ').at(-1)), 0)).toBe(600);
  });

  it('recording an undocumented family or a value outside an enum does not compile; run anyway, nothing undocumented is exported', async () => {
    const { pipeline } = setup();
    const m = pipeline.recorders(egress);
    // Each call below must stay a compile error: `npm run typecheck` fails on an unused @ts-expect-error.
    // Run as JavaScript would run them, each has the outcome asserted after it.
    // @ts-expect-error: not a documented family
    m.opensandbox_egress_dns_query_total.add(1, { result: 'allowed' });
    // @ts-expect-error: "exploded" is not a member of result
    m.opensandbox_egress_dns_queries_total.add(1, { result: 'exploded' });
    // @ts-expect-error: result is required
    m.opensandbox_egress_dns_queries_total.add(1);
    // @ts-expect-error: an undocumented label
    m.opensandbox_egress_dns_queries_total.add(1, { result: 'allowed', client: 'x' });
    // @ts-expect-error: a histogram records, it does not add (in JavaScript: a TypeError, like any missing method)
    expect(() => m.opensandbox_egress_dns_forward_duration_seconds.add(1)).toThrow(TypeError);

    const text = await pipeline.render();
    const dropped = (family: string, reason: string) => `otel_contracts_measurements_dropped_total{contract="egress",family="${family}",reason="${reason}"} 1\n`;
    expect(text).toContain(dropped('opensandbox_egress_dns_query_total', 'unknown_family'));
    expect(text).toContain(dropped('opensandbox_egress_dns_queries_total', 'unknown_label_value'));
    expect(text).toContain(dropped('opensandbox_egress_dns_queries_total', 'missing_label'));
    expect(text).not.toMatch(/^(# TYPE )?opensandbox_egress_dns_query_total/m);
    // The undocumented label is not exported: the measurement counts under its documented labels only.
    expect(text).not.toContain('client=');
    expect(text).toContain('opensandbox_egress_dns_queries_total{instance_id="i-1",result="allowed"} 1\n');
    expect(text).not.toMatch(/^opensandbox_egress_dns_forward_duration_seconds_count/m);
  });
});
