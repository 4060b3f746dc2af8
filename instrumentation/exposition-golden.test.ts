/**
 * The exposition stays byte-for-byte what it was before the recording hot path, the series memory and the
 * streaming render were reworked: the same recorded data (`recordSample` over all five contracts, 136
 * families, plus the self-metrics) renders to the checked-in golden files, with one reader and with both,
 * after one scrape and after a second round of recording. The blocks of the self-metrics families are left out (other work adds to them), except the drops
 * counter, which the second round exercises. Regenerate only on a deliberate format change: `UPDATE_GOLDEN=1 vitest run --project unit instrumentation/exposition-golden.test.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { recordSample } from '../components/sample/sample.ts';
import { componentContracts, selectContracts } from '../semconv/index.ts';
import { createPipeline, type Pipeline } from './pipeline.ts';

const env = {
  OTEL_CONTRACTS_LOG_LEVEL: 'silent',
  OPENSANDBOX_EGRESS_INSTANCE_ID: 'sbx-golden',
  NODE_NAME: 'node-golden',
  POD_NAME: 'pod-golden',
  TRC_NODE_ID: 'node-golden',
};
const bothReaders = { OTEL_METRICS_EXPORTER: 'prometheus,otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_METRIC_EXPORT_INTERVAL: '3600000' };
const golden = (name: string) => new URL(`fixtures/exposition-golden-${name}.txt`, import.meta.url);

let open: Pipeline[] = [];
afterEach(async () => {
  await Promise.all(open.map((p) => p.shutdown(500)));
  open = [];
});

function pipeline(extra: Record<string, string>): Pipeline {
  const p = createPipeline({ contracts: selectContracts('all'), serviceName: 'golden', env: { ...env, ...extra } });
  open.push(p);
  return p;
}

/** Second round: the sample again (counters double, gauges stay), a gauge moved, and drops counted in the self-metrics. */
function recordMore(p: Pipeline): void {
  recordSample(p, selectContracts('all'));
  const egress = p.recorders(componentContracts.egress) as unknown as Record<string, { add?: (v: number, l?: object) => void; record?: (v: number, l?: object) => void }>;
  egress.opensandbox_egress_dns_queries_total?.add?.(3, { result: 'not-a-result' });
  egress.opensandbox_egress_dns_queries_total?.add?.(-1, { result: 'allowed' });
  egress.opensandbox_egress_no_such_family?.add?.(1);
}

/** The five contracts' families plus the drops counter: the families whose rendering must not move. */
const compared = new Set([...selectContracts('all').flatMap((c) => c.families.map((f) => f.name)), 'otel_contracts_measurements_dropped_total']);

/** The exposition reduced to the blocks (HELP, TYPE, samples) of the {@link compared} families, in order. */
function comparedBlocks(text: string): string {
  return text
    .split(/(?=^# HELP )/m)
    .filter((block) => compared.has(/^# HELP (\S+)/.exec(block)?.[1] ?? ''))
    .join('');
}

function expectGolden(name: string, full: string): void {
  const text = comparedBlocks(full);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden(name), text);
  expect(text).toBe(readFileSync(golden(name), 'utf8'));
}

describe('exposition golden: all 136 documented families, byte for byte', () => {
  it('covers every documented family', () => {
    const families = selectContracts('all').reduce((n, c) => n + c.families.length, 0);
    expect(families).toBe(136);
  });

  for (const [readers, extra] of [
    ['scrape reader', { OTEL_METRICS_EXPORTER: 'prometheus' }],
    ['scrape and OTLP readers', bothReaders],
  ] as const) {
    it(`${readers}: first scrape, then a second round of recording`, async () => {
      const p = pipeline(extra);
      recordSample(p, selectContracts('all'));
      expectGolden('first', await p.render());
      recordMore(p);
      expectGolden('second', await p.render());
      // Nothing recorded in between: the same cumulative values again.
      expectGolden('second', await p.render());
    });
  }
});
