import type { ContractSpec } from '../../semconv/types.ts';

const enumLabel = (name: string, values: string[]) => ({ name, brief: name, required: true, values });
/** The Prometheus default buckets. */
export const PROM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** 20 boundaries: podtrace's 0.0001 * 2^i. */
export const TWENTY_BUCKETS = Array.from({ length: 20 }, (_, i) => Number((0.0001 * 2 ** i).toPrecision(6)));

/** Label values the benchmarks cycle through, shared by every implementation measured. */
export const RESULT = ['allowed', 'denied', 'forward_error'];
export const METHOD = ['GET', 'POST', 'PUT', 'DELETE'];
export const STATUS = ['200', '404', '500'];

/** A synthetic contract shaped like the real ones: 1 and 3 enum labels, and an unbounded label for 10k series. */
export const benchContract = {
  id: 'bench',
  seed: 'none',
  brief: 'benchmark families',
  prefix: 'bench_',
  instanceLabels: [],
  forbiddenLabels: [],
  families: [
    { name: 'bench_one_total', instrument: 'counter', type: 'counter', unit: '1', help: 'one label', section: 'bench', labels: [enumLabel('result', RESULT)], maxSeries: 3 },
    {
      name: 'bench_three_total', instrument: 'counter', type: 'counter', unit: '1', help: 'three labels', section: 'bench',
      labels: [enumLabel('method', METHOD), enumLabel('status', STATUS), enumLabel('result', RESULT)], maxSeries: 36,
    },
    { name: 'bench_one_seconds', instrument: 'histogram', type: 'histogram', unit: 's', help: 'one label', section: 'bench', labels: [enumLabel('result', RESULT)], buckets: PROM_BUCKETS, maxSeries: 3 },
    {
      name: 'bench_three_seconds', instrument: 'histogram', type: 'histogram', unit: 's', help: 'three labels', section: 'bench',
      labels: [enumLabel('method', METHOD), enumLabel('status', STATUS), enumLabel('result', RESULT)], buckets: PROM_BUCKETS, maxSeries: 36,
    },
    {
      name: 'bench_series_total', instrument: 'counter', type: 'counter', unit: '1', help: 'many series', section: 'bench',
      labels: [{ name: 'id', brief: 'id', required: true, cardinalityLimit: 20_000 }], maxSeries: 20_000,
    },
    {
      name: 'bench_series_seconds', instrument: 'histogram', type: 'histogram', unit: 's', help: 'many 20-bucket series', section: 'bench',
      labels: [{ name: 'id', brief: 'id', required: true, cardinalityLimit: 20_000 }], buckets: TWENTY_BUCKETS, maxSeries: 20_000,
    },
  ],
} as const satisfies ContractSpec;

/**
 * The 1-label families again, in a contract with a constant instance label like the egress sidecar's
 * `instance_id` (from BENCH_INSTANCE_ID): what real contracts record, where every series carries it.
 */
export const benchInstanceContract = {
  ...benchContract,
  id: 'bench-instance',
  prefix: 'benchi_',
  instanceLabels: [{ name: 'instance_id', env: 'BENCH_INSTANCE_ID', fallback: 'hostname', brief: 'instance' }],
  families: [
    { ...benchContract.families[0], name: 'benchi_one_total' },
    { ...benchContract.families[2], name: 'benchi_one_seconds' },
  ],
} as const satisfies ContractSpec;
/** The instance label's value in every benchmark that uses {@link benchInstanceContract}. */
export const BENCH_INSTANCE_ID = 'sbx-7f3c9a2e-41d8';
