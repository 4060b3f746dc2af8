import { benchContract, METHOD, PROM_BUCKETS, RESULT, STATUS } from '../../support/bench-contract.ts';
import type { HotPath, Implementation } from '../hot-path.ts';
import { OTEL_SDK, OTEL_SDK_VIEW, OURS, PROM_CLIENT, PROM_IO, ourRecorders, promLibrary, sdkMeter } from './peers.ts';

/**
 * Recording: a counter add and a histogram record with 1 and with 3 enum labels, ours (the typed recorders)
 * against `@prometheus-io/client`, prom-client and the bare OTel SDK, each with a fresh label object per
 * call, as bench/recording.bench.ts measures them in time. The histogram rows add the bare SDK through our
 * View (its attribute processor and buckets), the floor under our histograms.
 */

const r = (i: number) => RESULT[i % 3] as 'allowed';
const m = (i: number) => METHOD[i % 4] as 'GET';
const s = (i: number) => STATUS[i % 3] as '200';
const v = (i: number) => (i % 100) / 1000;
const one = (i: number) => ({ result: r(i) });
const three = (i: number) => ({ method: m(i), status: s(i), result: r(i) });

const WARMUP = 30_000;
const COUNTS = [1_000, 2_000, 4_000];

/** The two Prometheus clients' implementations of one case. */
function clients(kind: 'counter' | 'histogram', labels: 1 | 3): Implementation[] {
  return [PROM_IO, PROM_CLIENT].map((name) => ({
    name,
    async setup() {
      const lib = await promLibrary(name as typeof PROM_IO);
      const registers = [new lib.Registry()];
      const labelNames = labels === 1 ? ['result'] : ['method', 'status', 'result'];
      const labelsOf = labels === 1 ? one : three;
      if (kind === 'counter') {
        const c = new lib.Counter({ name: 'c_total', help: 'h', labelNames, registers });
        return (i: number) => c.inc(labelsOf(i));
      }
      const h = new lib.Histogram({ name: 'h_seconds', help: 'h', labelNames, buckets: PROM_BUCKETS, registers });
      return (i: number) => h.observe(labelsOf(i), v(i));
    },
  }));
}

/** A counter add with `labels` enum labels. */
function counterPath(labels: 1 | 3): HotPath {
  const labelsOf = labels === 1 ? one : three;
  return {
    id: `counter-${labels}`,
    title: `counter add, ${labels} enum label${labels === 1 ? '' : 's'}`,
    unit: 'instructions per add',
    warmup: WARMUP,
    counts: COUNTS,
    implementations: [
      ...clients('counter', labels),
      {
        name: OTEL_SDK,
        async setup() {
          const c = (await sdkMeter('bare')).createCounter('c');
          return (i: number) => c.add(1, labelsOf(i));
        },
      },
      {
        name: OURS,
        async setup() {
          const rec = await ourRecorders(benchContract);
          if (labels === 1) return (i: number) => rec.bench_one_total.add(1, one(i));
          return (i: number) => rec.bench_three_total.add(1, three(i));
        },
      },
    ],
  };
}

/** A histogram record with `labels` enum labels (the Prometheus default buckets). */
function histogramPath(labels: 1 | 3): HotPath {
  const labelsOf = labels === 1 ? one : three;
  const family = labels === 1 ? 'bench_one_seconds' : 'bench_three_seconds';
  return {
    id: `histogram-${labels}`,
    title: `histogram record, ${labels} enum label${labels === 1 ? '' : 's'}`,
    unit: 'instructions per record',
    warmup: WARMUP,
    counts: COUNTS,
    implementations: [
      ...clients('histogram', labels),
      {
        name: OTEL_SDK,
        async setup() {
          const h = (await sdkMeter('bare')).createHistogram('h');
          return (i: number) => h.record(v(i), labelsOf(i));
        },
      },
      {
        name: OTEL_SDK_VIEW,
        async setup() {
          const h = (await sdkMeter('bare', benchContract)).createHistogram(family);
          return (i: number) => h.record(v(i), labelsOf(i));
        },
      },
      {
        name: OURS,
        async setup() {
          const rec = await ourRecorders(benchContract);
          if (labels === 1) return (i: number) => rec.bench_one_seconds.record(v(i), one(i));
          return (i: number) => rec.bench_three_seconds.record(v(i), three(i));
        },
      },
    ],
  };
}

/** The four recording rows. */
export const RECORDING_PATHS: readonly HotPath[] = [counterPath(1), counterPath(3), histogramPath(1), histogramPath(3)];
