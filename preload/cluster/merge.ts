import type { CollectedFamily, CollectedHistogram, FamilyMeta } from './collected.ts';

/**
 * How a gauge's series combine across the processes, without adding a label (a contract's families keep
 * exactly their documented labels): `sum` (prom-client's default), `first` (the first process's, the
 * primary's when it has one), `min` or `max` per label set.
 */
export type GaugeAggregator = 'sum' | 'first' | 'min' | 'max';

/**
 * The aggregator of a gauge family, by what it measures:
 * - `first`: the same for every process: `*_info` (prom-client's `first` for `nodejs_version_info`),
 *   `process_max_fds`, podtrace's cgroup `podtrace_resource_*` (the workers share their cgroup);
 * - `min`: `process_start_time_seconds`, the cluster's start (prom-client omits it; a sum means nothing);
 * - `max`: podtrace's latest-value latencies (`*_latest_seconds`, `*_seconds_gauge`): the worst process's;
 * - `sum`: everything else, e.g. `process_resident_memory_bytes`, `process_open_fds`: the cluster's total.
 */
export function gaugeAggregatorOf(name: string): GaugeAggregator {
  if (name.endsWith('_info') || name === 'process_max_fds' || name.startsWith('podtrace_resource_')) return 'first';
  if (name === 'process_start_time_seconds') return 'min';
  if (/_latest_seconds$|_seconds_gauge$/.test(name)) return 'max';
  return 'sum';
}

/** One process's collected families, and who it comes from. */
export interface Member {
  /** `cluster.worker.id` as a string; `0` for the primary. */
  readonly workerId: string;
  readonly families: readonly CollectedFamily[];
}

/** Whether a family's series add up across processes (counters and histograms): see {@link mergeMembers}. */
export function isSummed(type: CollectedFamily['type']): boolean {
  return type === 'counter' || type === 'histogram';
}

type Value = { labels: (readonly [string, string])[]; value: number };
type Histogram = { labels: (readonly [string, string])[]; boundaries: readonly number[]; counts: number[]; sum: number; count: number };
interface Merged extends FamilyMeta {
  readonly type: CollectedFamily['type'];
  readonly series: Map<string, Value | Histogram>;
}

/**
 * Families being merged: series by family and label set, with the rules of {@link mergeMembers}. Holds
 * copies: the members' data is never changed.
 */
export class Aggregate {
  private readonly byName = new Map<string, Merged>();

  /** Adds one process's families; families keep the order in which they are first seen, and their first HELP. */
  add(member: Member): void {
    for (const f of member.families) {
      let into = this.byName.get(f.name);
      if (!into) this.byName.set(f.name, (into = { name: f.name, help: f.help, unit: f.unit, type: f.type, series: new Map() }));
      if (into.type !== f.type) continue;
      if (f.type === 'histogram') for (const s of f.series) addHistogram(into.series, s);
      else if (f.type === 'counter') for (const s of f.series) addValue(into.series, s.labels, s.value);
      else {
        const combine = COMBINE[gaugeAggregatorOf(f.name)];
        for (const s of f.series) combineValue(into.series, s.labels, s.value, combine);
      }
    }
  }

  /** The merged families, as plain data. */
  families(): CollectedFamily[] {
    return [...this.byName.values()].map((f): CollectedFamily => {
      const meta = { name: f.name, help: f.help, unit: f.unit };
      const series = [...f.series.values()];
      return f.type === 'histogram' ? { ...meta, type: f.type, series: series as Histogram[] } : { ...meta, type: f.type, series: series as Value[] };
    });
  }
}

/** A label set's identity: its pairs sorted by name (label order does not make another series). */
function keyOf(labels: readonly (readonly [string, string])[]): string {
  return JSON.stringify([...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function addValue(into: Map<string, Value | Histogram>, labels: readonly (readonly [string, string])[], value: number): void {
  const key = keyOf(labels);
  const prior = into.get(key) as Value | undefined;
  if (prior) prior.value += value;
  else into.set(key, { labels: [...labels], value });
}

const COMBINE: Readonly<Record<GaugeAggregator, (prior: number, next: number) => number>> = {
  sum: (a, b) => a + b,
  first: (a) => a,
  min: Math.min,
  max: Math.max,
};

function combineValue(into: Map<string, Value | Histogram>, labels: readonly (readonly [string, string])[], value: number, combine: (prior: number, next: number) => number): void {
  const key = keyOf(labels);
  const prior = into.get(key) as Value | undefined;
  if (prior) prior.value = combine(prior.value, value);
  else into.set(key, { labels: [...labels], value });
}

function addHistogram(into: Map<string, Value | Histogram>, s: CollectedHistogram): void {
  const key = keyOf(s.labels);
  const prior = into.get(key) as Histogram | undefined;
  if (!prior) {
    into.set(key, { labels: [...s.labels], boundaries: s.boundaries, counts: [...s.counts], sum: s.sum, count: s.count });
    return;
  }
  if (prior.boundaries.length !== s.boundaries.length || prior.boundaries.some((b, i) => b !== s.boundaries[i])) return;
  for (let i = 0; i < prior.counts.length; i++) prior.counts[i] = (prior.counts[i] as number) + (s.counts[i] as number);
  prior.sum += s.sum;
  prior.count += s.count;
}

/**
 * The cluster's one set of families: `members` in order (the primary first, then the workers by id), then
 * `retired`, the summed families of workers that exited (so that nothing already served goes backwards
 * when a worker dies).
 *
 * The rules, per family type. prom-client's `AggregatorRegistry` sums every metric by default and lets a
 * metric name another aggregator (`omit` for `process_start_time_seconds`, `first` for
 * `nodejs_version_info`, `average`/`min`/`max` for the event-loop lag). No rule adds a label: the merged
 * families keep exactly their documented labels.
 *
 * - `counter`: summed per label set over the processes (prom-client's `sum`): the cluster's total.
 * - `histogram`: bucket counts, `_sum` and `_count` summed per label set (prom-client's `sum`). A series
 *   whose bucket bounds differ from the first one seen cannot be added and is left out.
 * - `gauge`: combined per label set by {@link gaugeAggregatorOf} (sum, first, min or max, by what the
 *   family measures); `process_cpu_seconds_total` is a counter and is summed.
 *
 * A process whose family has another type than the one first seen is left out of that family.
 */
export function mergeMembers(members: readonly Member[], retired: Aggregate): CollectedFamily[] {
  const out = new Aggregate();
  for (const m of members) out.add(m);
  out.add({ workerId: '', families: retired.families() });
  return out.families();
}

/**
 * Keeps the counters and histograms of a worker's last collected families in `retired` (see
 * {@link mergeMembers}); its gauges stop.
 */
export function retire(retired: Aggregate, member: Member): void {
  retired.add({ workerId: member.workerId, families: member.families.filter((f) => isSummed(f.type)) });
}
