/**
 * What one simulated egress sidecar exports, derived from the egress contract (semconv/egress.yaml): one
 * series per counter label combination (every documented enum value, started as a real sidecar starts
 * them), one per gauge (the sidecar's current state: the first enum value), the histogram with the
 * contract's buckets, and `instance_id` on every series. Values follow a fixed model of the sidecar's
 * index and the push number, so that what storage must hold after any push is known exactly:
 *
 *   counter     k · inc,   inc = 1 + (i + j) mod 5        (i sidecar, j series, k push from 1)
 *   gauge       10 · k for `*_seconds` (uptime), else 1 + (i + j) mod 13
 *   histogram   k · c observations of v each, c = 1 + i mod 3, v = 0.005 · (1 + i mod 4) s
 *
 * Every value is a short decimal, so it survives float64 and VictoriaMetrics' decimal storage exactly.
 */
import { egress } from '../../semconv/generated/egress.ts';
import type { ContractSpec, FamilySpec } from '../../semconv/types.ts';

/** One OTLP series of a sidecar: its family and documented labels (without the instance label). */
export interface SeriesTemplate {
  readonly family: FamilySpec;
  readonly labels: Readonly<Record<string, string>>;
  /** Position among the sidecar's series (the `j` of the value model). */
  readonly index: number;
}

/** A histogram's state after some pushes: OTLP bucket counts (not cumulative) beside count and sum. */
export interface HistogramValue {
  readonly boundaries: readonly number[];
  readonly counts: readonly number[];
  readonly count: number;
  readonly sum: number;
}

/** A Prometheus series (name and labels, `instance_id` included, `job`/`instance` not) and its value. */
export interface PromSeriesValue {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The label value a fleet gives a documented free-text label (egress `version`). */
export const FLEET_VERSION = '0.1.0-fleet';

/** The contract the fleet simulates. */
export const FLEET_CONTRACT: ContractSpec = egress;

/** The contract's instance label (egress `instance_id`). */
export const INSTANCE_LABEL = FLEET_CONTRACT.instanceLabels[0]?.name ?? 'instance_id';

function combinations(family: FamilySpec): Record<string, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const label of family.labels) {
    if (!label.required && !label.values) continue; // opt-in free text (egress `domain`): off, as by default
    const values = label.values ? (family.type === 'gauge' ? label.values.slice(0, 1) : label.values) : [FLEET_VERSION];
    out = out.flatMap((partial) => values.map((v) => ({ ...partial, [label.name]: v })));
  }
  return out;
}

/** The series one sidecar exports, in a fixed order. */
export function seriesTemplates(contract: ContractSpec = FLEET_CONTRACT): SeriesTemplate[] {
  const out: SeriesTemplate[] = [];
  for (const family of contract.families) {
    for (const labels of combinations(family)) out.push({ family, labels, index: out.length });
  }
  return out;
}

/** The value of a counter or gauge series `t` of sidecar `i` after push `k`. */
export function scalarValue(t: SeriesTemplate, i: number, k: number): number {
  if (t.family.type === 'counter') return k * (1 + ((i + t.index) % 5));
  if (t.family.name.endsWith('_seconds')) return 10 * k;
  return 1 + ((i + t.index) % 13);
}

/** The histogram series `t` of sidecar `i` after push `k`. */
export function histogramValue(t: SeriesTemplate, i: number, k: number): HistogramValue {
  const boundaries = t.family.buckets ?? [];
  const c = 1 + (i % 3);
  const milli = 5 * (1 + (i % 4));
  const v = milli / 1000;
  const counts = new Array<number>(boundaries.length + 1).fill(0);
  const bucket = boundaries.findIndex((b) => v <= b);
  counts[bucket < 0 ? boundaries.length : bucket] = k * c;
  return { boundaries, counts, count: k * c, sum: (k * c * milli) / 1000 };
}

function leLabel(b: number): string {
  return Number.isFinite(b) ? String(b) : '+Inf';
}

/**
 * The Prometheus series (and values) that series `t` of sidecar `i` becomes after push `k`, as the
 * remote-write exporter writes them with names kept: the name itself, or `_bucket` (cumulative, by `le`),
 * `_sum` and `_count` for a histogram.
 */
export function promSeriesOf(t: SeriesTemplate, i: number, k: number, instanceId: string): PromSeriesValue[] {
  const labels = { ...t.labels, [INSTANCE_LABEL]: instanceId };
  if (t.family.type !== 'histogram') return [{ name: t.family.name, labels, value: scalarValue(t, i, k) }];
  const h = histogramValue(t, i, k);
  let cumulative = 0;
  const buckets = [...h.boundaries, Number.POSITIVE_INFINITY].map((b, n) => {
    cumulative += h.counts[n] ?? 0;
    return { name: `${t.family.name}_bucket`, labels: { ...labels, le: leLabel(b) }, value: cumulative };
  });
  return [...buckets, { name: `${t.family.name}_sum`, labels, value: h.sum }, { name: `${t.family.name}_count`, labels, value: h.count }];
}

/** The Prometheus series names the contract allows (a histogram's three), as the fleet audit checks them. */
export function documentedNames(contract: ContractSpec = FLEET_CONTRACT): Set<string> {
  return new Set(contract.families.flatMap((f) => (f.type === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => f.name + s) : [f.name])));
}

/** Prometheus samples one push of one sidecar writes (one per Prometheus series). */
export function samplesPerPush(templates: readonly SeriesTemplate[]): number {
  return templates.reduce((n, t) => n + (t.family.type === 'histogram' ? (t.family.buckets?.length ?? 0) + 3 : 1), 0);
}
