import { describe, expect, it } from 'vitest';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { assertOneViewPerInstrument, buildViews, ViewConflictError } from './views.ts';
import { ScrapeReader } from './scrape/reader.ts';
import { componentContracts, selectContracts } from '../semconv/index.ts';

describe('one View per instrument', () => {
  it('every documented family gets exactly one View, with exact selectors', () => {
    const views = buildViews(selectContracts('all'));
    expect(views).toHaveLength(136);
    for (const v of views) {
      expect(v.instrumentName).toBe(v.name);
      expect(v.meterName).toMatch(/^otel-contracts\//);
    }
  });

  it('refuses two Views for one instrument, and a wildcard that overlaps an exact View', () => {
    const one = { instrumentName: 'a_total', meterName: 'm', name: 'a_total' };
    expect(() => assertOneViewPerInstrument([one, { ...one, name: 'renamed' }])).toThrow(ViewConflictError);
    expect(() => assertOneViewPerInstrument([one, { instrumentName: 'a_*', name: 'x' }])).toThrow(/two Views can match one instrument/);
    expect(() => assertOneViewPerInstrument([one, { meterName: 'm', name: 'y' }])).toThrow(ViewConflictError);
    expect(() => assertOneViewPerInstrument([one, { instrumentName: 'a_total', meterName: 'other', name: 'a_total' }])).not.toThrow();
  });

  it('refuses a contract set that declares one family twice', () => {
    const egress = componentContracts.egress;
    expect(() => buildViews([egress, { ...egress, id: 'copy' }])).not.toThrow(); // different scopes
    expect(() => assertOneViewPerInstrument([...buildViews([egress]), ...buildViews([egress])])).toThrow(ViewConflictError);
  });

  it('the Views count each measurement once and apply the documented buckets (what the SDK gets wrong with two)', async () => {
    const contract = componentContracts.egress;
    const reader = new ScrapeReader(contract.families);
    const provider = new MeterProvider({ views: buildViews([contract]), readers: [reader] });
    const meter = provider.getMeter('otel-contracts/egress');
    const h = meter.createHistogram('opensandbox_egress_dns_forward_duration_seconds');
    const c = meter.createCounter('opensandbox_egress_dns_queries_total');
    for (let i = 0; i < 5; i++) {
      h.record(0.003);
      c.add(1, { result: 'allowed', undocumented: 'dropped by the allow-list' });
    }
    const text = await reader.render();
    expect(text).toContain('opensandbox_egress_dns_queries_total{result="allowed"} 5\n');
    expect(text).toContain('opensandbox_egress_dns_forward_duration_seconds_bucket{le="0.005"} 5\n');
    expect(text).toContain('opensandbox_egress_dns_forward_duration_seconds_count 5\n');
    expect(text.match(/_bucket\{le=/g)).toHaveLength(12);
    await provider.shutdown();
  });
});
