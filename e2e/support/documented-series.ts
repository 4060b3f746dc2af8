/**
 * What Prometheus must hold for a contract: the documented series names of every family (a
 * histogram as `_bucket`, `_sum` and `_count`), and a label-set key to compare two jobs' series.
 */
import type { ContractSpec, FamilySpec } from '../../semconv/types.ts';

/** A series name Prometheus must show, and the family it belongs to. */
export interface DocumentedName {
  readonly contract: ContractSpec;
  readonly family: FamilySpec;
}

/** Series names of every family of `contracts`: the name itself, or `_bucket`/`_sum`/`_count` for histograms. */
export function documentedSeriesNames(contracts: readonly ContractSpec[]): Map<string, DocumentedName> {
  const out = new Map<string, DocumentedName>();
  for (const contract of contracts) {
    for (const family of contract.families) {
      const names = family.type === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => family.name + s) : [family.name];
      for (const n of names) out.set(n, { contract, family });
    }
  }
  return out;
}

/** Labels that are not part of a contract: the target's, set by Prometheus or the collector. */
export const TARGET_LABELS: ReadonlySet<string> = new Set(['job', 'instance']);

/** `name{a="1",b="2"}` with labels sorted and `ignore`d ones left out: equal keys mean the same series. */
export function seriesKey(metric: Readonly<Record<string, string>>, ignore: ReadonlySet<string> = TARGET_LABELS): string {
  const labels = Object.keys(metric)
    .filter((k) => k !== '__name__' && !ignore.has(k))
    .sort()
    .map((k) => `${k}=${JSON.stringify(metric[k])}`);
  return `${metric.__name__ ?? ''}{${labels.join(',')}}`;
}
