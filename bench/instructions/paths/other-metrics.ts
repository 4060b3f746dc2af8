import type { Meter } from '@opentelemetry/api';
import type promClient from 'prom-client';
import type { Recorders } from '../../../instrumentation/recorders.ts';
import type { ContractSpec } from '../../../semconv/types.ts';

/**
 * The other metrics of a real process. An application has more than one metric, so the code its metrics
 * library shares between them (an attribute hash, a label lookup) has seen several label shapes and its
 * inline caches are megamorphic; a benchmark process with one metric would measure the library on
 * monomorphic caches it never has in use, flattering whichever implementation the benchmark's own set-up
 * touched least. So every implementation of the recording rows first records once into five other
 * counters and five other histograms, each with other label names, before its warm-up.
 */

/** Five label sets of other names and sizes. */
const SHAPES: readonly Readonly<Record<string, string>>[] = [{ kind: 'a' }, { zone: 'b', rack: 'c' }, { op: 'x', code: 'y', peer: 'z' }, { route: 'r' }, { queue: 'q', worker: 'w' }];

const label = (name: string) => ({ name, brief: name, required: true, cardinalityLimit: 10 });

/** The other metrics as a contract of ours: a counter and a histogram per label set. */
export const otherContract = {
  id: 'other',
  seed: 'none',
  brief: 'the other metrics of a process',
  prefix: 'other_',
  instanceLabels: [],
  forbiddenLabels: [],
  families: SHAPES.flatMap((shape, k) => [
    { name: `other_${k}_total`, instrument: 'counter', type: 'counter', unit: '1', help: 'other', section: 'other', labels: Object.keys(shape).map(label), maxSeries: 10 },
    { name: `other_${k}_seconds`, instrument: 'histogram', type: 'histogram', unit: 's', help: 'other', section: 'other', labels: Object.keys(shape).map(label), buckets: [0.1, 1], maxSeries: 10 },
  ]),
} as const satisfies ContractSpec;

/** Records once into each of the other metrics, on a Prometheus client. */
export function recordOthersProm(lib: typeof promClient, registry: promClient.Registry): void {
  SHAPES.forEach((shape, k) => {
    const labelNames = Object.keys(shape);
    new lib.Counter({ name: `other_${k}_total`, help: 'other', labelNames, registers: [registry] }).inc(shape);
    new lib.Histogram({ name: `other_${k}_seconds`, help: 'other', labelNames, buckets: [0.1, 1], registers: [registry] }).observe(shape, 0.5);
  });
}

/** Records once into each of the other metrics, on an OTel meter. */
export function recordOthersSdk(meter: Meter): void {
  SHAPES.forEach((shape, k) => {
    meter.createCounter(`other_${k}_total`).add(1, shape);
    meter.createHistogram(`other_${k}_seconds`).record(0.5, shape);
  });
}

/** Records once into each of the other metrics, on our recorders of {@link otherContract}. */
export function recordOthersOurs(rec: Recorders<typeof otherContract>): void {
  const r = rec as unknown as Record<string, { add?(v: number, l: object): void; record?(v: number, l: object): void }>;
  SHAPES.forEach((shape, k) => {
    r[`other_${k}_total`]?.add?.(1, shape);
    r[`other_${k}_seconds`]?.record?.(0.5, shape);
  });
}
