/**
 * `check --otlp-listen` on pushes shaped like the upstream implementations': an OTel-named
 * egress sidecar (the Python SDK's shape, here as OTLP/JSON and from a real OTel SDK), a histogram in
 * `ms`, counters without a unit, wrong buckets, and names that need two collector translations.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import { AggregationType, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { egress, masqueVpn } from '../../../semconv/index.ts';
import { freePort } from '../../../test/ports.ts';
import { check } from '../test/written.ts';
import { checkOtlp, egressOtelMetrics, histogram, request, sum } from '../test/otlp-push.ts';

const rules = (r: { violations: readonly { rule: string }[] }) => r.violations.map((v) => v.rule);

describe('an OTel-named egress push', () => {
  it('passes: every name comes out documented under the default translation, which the report names', () => {
    const r = checkOtlp([egress], [request(egressOtelMetrics())]);
    expect(r.violations).toEqual([]);
    expect(r.otlp?.fits).toEqual(['UnderscoreEscapingWithSuffixes']);
    const queries = r.families.find((f) => f.name === 'opensandbox_egress_dns_queries_total');
    expect(queries?.otlp).toEqual([
      { sentAs: 'opensandbox.egress.dns.queries', translation: 'default', collectorDefault: 'opensandbox_egress_dns_queries_total', escaped: 'opensandbox_egress_dns_queries' },
    ]);
    expect(queries?.units).toEqual(['{query}']);
    // dns mode: section 3 is not required; section 5 is present.
    expect(r.contracts[0]?.notRequired.map((n) => n.family)).toEqual(egress.families.filter((f) => f.section.startsWith('3.')).map((f) => f.name));
  });

  it('in dns+nft mode (the mode gauge read from the push), section 3 is required', () => {
    const r = checkOtlp([egress], [request(egressOtelMetrics({ mode: 'dns+nft' }))]);
    expect(r.violations.map((v) => `${v.rule} ${v.family}`)).toEqual(egress.families.filter((f) => f.section.startsWith('3.')).map((f) => `family_not_observed ${f.name}`).sort());
  });

  it('a histogram in ms and counters without a unit are unit_mismatch findings, one per drift', () => {
    const r = checkOtlp([egress], [request(egressOtelMetrics({ durationUnit: 'ms', counterUnit: '' }))]);
    expect(r.violations.map((v) => [v.rule, v.value, v.families])).toEqual([
      ['unit_mismatch', 'ms', ['opensandbox_egress_dns_forward_duration_seconds']],
      ['unit_mismatch', '', ['opensandbox_egress_dns_queries_total', 'opensandbox_egress_policy_updates_total', 'opensandbox_egress_violations_total']],
    ]);
    expect(r.violations[0]?.message).toContain('matched by base name');
    expect(r.families.find((f) => f.name === 'opensandbox_egress_dns_forward_duration_seconds')?.otlp?.[0]).toMatchObject({
      translation: 'base-name',
      collectorDefault: 'opensandbox_egress_dns_forward_duration_milliseconds',
    });
    for (const v of r.violations) expect(v.cite.document).toBe('000_1804d0b4eddf39f2.txt');
  });

  it('buckets [0.1, 1, 10] instead of the documented ones are caught over OTLP too', () => {
    const r = checkOtlp([egress], [request(egressOtelMetrics({ durationBounds: [0.1, 1, 10] }))]);
    expect(r.violations.map((v) => `${v.rule} ${v.family} ${v.value}`)).toEqual(['histogram_buckets opensandbox_egress_dns_forward_duration_seconds [0.1, 1, 10]']);
  });

  it('a mode gauge with unit 1 would get _ratio under the default translation: no one translation fits, said once', () => {
    const r = checkOtlp([egress], [request(egressOtelMetrics({ modeUnit: '1' }))]);
    expect(rules(r)).toEqual(['otlp_translation']);
    const v = r.violations[0]!;
    expect(v.message).toContain('opensandbox.egress.enforcement_mode (the default gives opensandbox_egress_enforcement_mode_ratio)');
    expect(v.families).toContain('opensandbox_egress_enforcement_mode');
    expect(r.otlp?.fits).toEqual([]);
  });

  it('two metrics that translate to one name with different units are both kept and the wrong one reported', () => {
    const metrics = [...egressOtelMetrics(), histogram('opensandbox_egress_dns_forward_duration_seconds', 'ms', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], [{ instance_id: 'sbx-1' }])];
    const r = checkOtlp([egress], [request(metrics)]);
    expect(r.violations.map((v) => `${v.rule} ${v.value}`)).toEqual(['unit_mismatch ms']);
    expect(r.violations[0]?.message).toContain('2 different units were sent under this one name and merged');
  });
});

describe('masque-vpn pushed with documented names', () => {
  it('is matched as sent, and the report says it fits UnderscoreEscapingWithoutSuffixes only (the default would rename total_connections)', () => {
    const r = checkOtlp([masqueVpn], [request([sum('masque_vpn_total_connections', '1', [{}])], 'masque-vpn')], { allowUnobserved: true });
    expect(r.violations).toEqual([]);
    expect(r.otlp?.fits).toEqual(['UnderscoreEscapingWithoutSuffixes']);
    expect(r.allowed).toHaveLength(18);
  });
});

describe('a real OTel SDK push through the receiver', () => {
  let provider: MeterProvider | undefined;
  afterEach(async () => {
    await provider?.shutdown().catch(() => {});
    provider = undefined;
  });

  it('OTel-named egress instruments from @opentelemetry/sdk-metrics pass `check --otlp-listen --contract egress`', async () => {
    const port = await freePort();
    const run = check(undefined, { otlpListen: `127.0.0.1:${port}`, duration: 2, contract: 'egress' });
    const exporter = new OTLPMetricExporter({ url: `http://127.0.0.1:${port}/v1/metrics`, temporalityPreference: AggregationTemporalityPreference.CUMULATIVE });
    provider = new MeterProvider({
      readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })],
      views: [
        {
          instrumentName: 'opensandbox.egress.dns.forward.duration',
          aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] } },
        },
      ],
    });
    const meter = provider.getMeter('opensandbox.egress', '1.0.0');
    const i = { instance_id: 'sbx-1' };
    meter.createCounter('opensandbox.egress.dns.queries', { unit: '{query}' }).add(2, { ...i, result: 'allowed' });
    meter.createHistogram('opensandbox.egress.dns.forward.duration', { unit: 's' }).record(0.004, i);
    meter.createCounter('opensandbox.egress.policy.updates', { unit: '{update}' }).add(1, i);
    meter.createGauge('opensandbox.egress.policy.rule_count', { unit: '{rule}' }).record(3, { ...i, default_action: 'deny' });
    meter.createGauge('opensandbox.egress.enforcement_mode', { unit: '{mode}' }).record(1, { ...i, mode: 'dns' });
    meter.createCounter('opensandbox.egress.violations', { unit: '{violation}' }).add(1, { ...i, type: 'dns_deny' });
    await new Promise((r) => setTimeout(r, 300));
    await provider.forceFlush();
    await provider.shutdown(); // while the receiver still listens: a final export to a closed port would retry for seconds
    provider = undefined;
    const out = await run;
    expect(out.stderr).toBe('');
    expect(out.json.violations).toEqual([]);
    expect(out.code).toBe(0);
    expect(out.json.otlp).toMatchObject({ fits: ['UnderscoreEscapingWithSuffixes'] });
  });
});
