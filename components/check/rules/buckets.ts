import { citation } from '../documents.ts';
import type { Rule } from './rule.ts';

/** Bounds kept per family: a histogram with more is already wrong. */
const MAX_BOUNDS = 64;

function sameBound(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

function listed(bounds: readonly number[]): string {
  return `[${bounds.join(', ')}]`;
}

/**
 * Histogram bucket boundaries of documented histograms against the registry's (the document's own list,
 * or Prometheus' default buckets where it says "default buckets" or gives none), from the `le` labels
 * of an exposition's `_bucket` lines and from OTLP `explicit_bounds` alike; `+Inf` is left out. A family
 * exposed as a summary (where the document allows it) has no buckets to check. Reports
 * `histogram_buckets` with the exposed boundaries as the value, one finding per boundary list listing
 * the families that have it.
 */
export function bucketsRule(): Rule {
  const seen = new Map<string, Set<number>>();
  return {
    ids: ['histogram_buckets'],
    onSample({ family, owner, sample }) {
      if (!owner.spec?.buckets || sample.name !== `${family.name}_bucket`) return;
      const le = sample.labels.find(([k]) => k === 'le')?.[1];
      const bound = le === undefined ? Number.NaN : Number(le);
      if (!Number.isFinite(bound)) return;
      let set = seen.get(family.name);
      if (!set) seen.set(family.name, (set = new Set()));
      if (set.size < MAX_BOUNDS) set.add(bound);
    },
    onFinish({ index, families }, out) {
      for (const [name, set] of seen) {
        const f = families.get(name);
        const owner = index.ownerOf(name);
        const documented = owner?.spec?.buckets;
        if (!f || !owner?.spec || !documented || f.type !== 'histogram') continue;
        const exposed = [...set].sort((a, b) => a - b);
        if (exposed.length === documented.length && exposed.every((b, i) => sameBound(b, documented[i] as number))) continue;
        out.report({
          rule: 'histogram_buckets',
          contract: owner.contract.id,
          family: name,
          value: listed(exposed),
          drift: `${listed(exposed)}\u0000${listed(documented)}`,
          message: `bucket boundaries ${listed(exposed)}${set.size >= MAX_BOUNDS ? ' (first 64)' : ''} instead of the documented ${listed(documented)}`,
          cite: citation(owner.contract, owner.spec),
          ...f.origin,
        });
      }
    },
  };
}
