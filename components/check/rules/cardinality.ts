import { hash53 } from '../hash.ts';
import type { Rule } from './rule.ts';

/**
 * Cardinality against the contract's budget (trc "Label conventions and cardinality rules"): per
 * documented family, distinct series against `maxSeries`; per unbounded documented label, distinct
 * values against its `cardinalityLimit`. Distinct values are counted as hashes, at most limit + 1 per
 * label, so memory stays bounded. Reports `cardinality` with the count as the value.
 */
export function cardinalityRule(): Rule {
  /** family -> label -> hashes of the distinct values seen (capped at limit + 1). */
  const distinct = new Map<string, Map<string, Set<number>>>();
  return {
    ids: ['cardinality'],
    onSeries({ family, owner, labels }) {
      const spec = owner.spec;
      if (!spec) return;
      for (const l of spec.labels) {
        if (l.cardinalityLimit === undefined) continue;
        const v = labels.find(([k]) => k === l.name)?.[1];
        if (v === undefined || v === '') continue;
        let perFamily = distinct.get(family.name);
        if (!perFamily) distinct.set(family.name, (perFamily = new Map()));
        let set = perFamily.get(l.name);
        if (!set) perFamily.set(l.name, (set = new Set()));
        if (set.size <= l.cardinalityLimit) set.add(hash53(v));
      }
    },
    onFinish({ index, families }, out) {
      for (const f of families.values()) {
        const owner = index.ownerOf(f.name);
        const spec = owner?.spec;
        if (!owner || !spec) continue;
        if (f.seriesCount > spec.maxSeries) {
          const n = `${f.seriesCount}${f.seriesExact ? '' : '+'}`;
          out.report({
            rule: 'cardinality',
            contract: owner.contract.id,
            family: f.name,
            value: `${n} series`,
            message: `${n} series exceed the family's budget of ${spec.maxSeries} (the product of its labels' documented values)`,
          });
        }
        for (const l of spec.labels) {
          const set = distinct.get(f.name)?.get(l.name);
          if (l.cardinalityLimit === undefined || !set || set.size <= l.cardinalityLimit) continue;
          out.report({
            rule: 'cardinality',
            contract: owner.contract.id,
            family: f.name,
            label: l.name,
            value: `${set.size}+ values`,
            message: `more than ${l.cardinalityLimit} distinct values of "${l.name}" (its documented cardinality_limit)`,
          });
        }
      }
    },
  };
}
