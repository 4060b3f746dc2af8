/**
 * `HistogramRecorder.begin`: a histogram series known in advance is exported with zero counts before its
 * first observation (Prometheus' advice), in the scrape and in the OTLP push alike, and never resets one
 * that already has observations.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { masqueVpn } from '../semconv/generated/masque-vpn.ts';
import { readExposition } from '../test/exposition.ts';
import { createPipeline, type Pipeline } from './pipeline.ts';

let open: Pipeline[] = [];
afterEach(async () => {
  await Promise.all(open.map((p) => p.shutdown(1000)));
  open = [];
});

function pipeline(): Pipeline {
  const p = createPipeline({ contracts: [masqueVpn], serviceName: 'test', env: { OTEL_CONTRACTS_LOG_LEVEL: 'silent', OTEL_METRICS_EXPORTER: 'prometheus', OTEL_CONTRACTS_PROCESS_METRICS: 'false' } });
  open.push(p);
  return p;
}

const FAMILY = 'masque_vpn_connection_duration_seconds';
const samplesOf = (text: string, client: string) => readExposition(text).samples.filter((s) => s.family === FAMILY && s.labels.client_id === client);

describe('HistogramRecorder.begin', () => {
  it('exports the series with zero counts in every bucket, then counts its first observation', async () => {
    const p = pipeline();
    const h = p.recorders(masqueVpn)[FAMILY];
    h.begin({ client_id: 'c1' });
    const first = samplesOf(await p.render(), 'c1');
    const buckets = first.filter((s) => s.name === `${FAMILY}_bucket`);
    expect(buckets.length).toBe((masqueVpn.families.find((f) => f.name === FAMILY)?.buckets?.length ?? 0) + 1);
    expect(first.every((s) => s.value === 0)).toBe(true);
    expect(first.map((s) => s.name)).toEqual(expect.arrayContaining([`${FAMILY}_count`, `${FAMILY}_sum`]));

    h.record(0.5, { client_id: 'c1' });
    h.begin({ client_id: 'c1' });
    const second = samplesOf(await p.render(), 'c1');
    expect(second.find((s) => s.name === `${FAMILY}_count`)?.value).toBe(1);
    expect(second.find((s) => s.name === `${FAMILY}_sum`)?.value).toBe(0.5);
    expect(second.find((s) => s.name === `${FAMILY}_bucket` && s.labels.le === '+Inf')?.value).toBe(1);
  });

  it('does not reset a series that already has observations when begun after them', async () => {
    const p = pipeline();
    const h = p.recorders(masqueVpn)[FAMILY];
    h.record(2, { client_id: 'c2' });
    await p.render();
    h.begin({ client_id: 'c2' });
    const after = samplesOf(await p.render(), 'c2');
    expect(after.find((s) => s.name === `${FAMILY}_count`)?.value).toBe(1);
    expect(after.find((s) => s.name === `${FAMILY}_sum`)?.value).toBe(2);
  });

  it('checks labels as record does: an unknown label value is dropped and counted, never a series', async () => {
    const p = pipeline();
    const h = p.recorders(masqueVpn).masque_vpn_packet_processing_duration_seconds as unknown as { begin(l: object): void };
    h.begin({ direction: 'sideways' });
    const text = await p.render();
    expect(text).not.toContain('direction="sideways"');
    expect(text).toMatch(/otel_contracts_measurements_dropped_total\{[^}]*family="masque_vpn_packet_processing_duration_seconds"[^}]*reason="unknown_label_value"[^}]*\} 1\n/);
  });

  it('begin on a family the contract lacks (a JavaScript caller) is dropped and counted as unknown_family, never a throw', async () => {
    const p = pipeline();
    const unknown = (p.recorders(masqueVpn) as unknown as Record<string, { begin(l?: object): void }>).masque_vpn_no_such_seconds;
    expect(() => unknown?.begin({ client_id: 'c1' })).not.toThrow();
    expect(await p.render()).toMatch(/otel_contracts_measurements_dropped_total\{[^}]*family="masque_vpn_no_such_seconds"[^}]*reason="unknown_family"[^}]*\} 1\n/);
  });
});
