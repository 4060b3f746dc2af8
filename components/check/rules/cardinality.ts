import { instanceLabelsOf } from '../../../semconv/instance-scope.ts';
import type { ContractSpec, FamilySpec } from '../../../semconv/types.ts';
import { citation } from '../documents.ts';
import { hash53 } from '../hash.ts';
import { seriesSelector } from '../model.ts';
import type { OffendingValue, ViolationSink } from '../violations.ts';
import { tiedLabels } from './consistency.ts';
import type { Rule, SeriesContext } from './rule.ts';
import type { WrongValues } from './verdicts.ts';

/** Room past a budget for values another rule may find wrong only at the end. */
const LATE_SLACK = 10_000;
/** The tied values of a set without tied labels (shared: most families have none). */
const NO_TIED_VALUES: readonly (readonly [string, number])[] = [];

interface FamilyCounts {
  readonly spec: FamilySpec;
  readonly contract: ContractSpec;
  /** Distinct documented-label sets → the tied labels' values in it, as [label, value hash] (`values_from`: found wrong only at the end). */
  readonly sets: Map<number, readonly (readonly [string, number])[]>;
  readonly cap: number;
  /** True once a new set was not kept because of `cap` (the count is then a lower bound). */
  capped: boolean;
  /** Per bounded-by-limit label: distinct value hashes. */
  readonly values: Map<string, Set<number>>;
}

interface InstanceCounts {
  readonly contract: ContractSpec;
  readonly budget: number;
  readonly hashes: Set<number>;
  readonly examples: OffendingValue[];
  /** The first value seen; families showing any other are the ones listed. */
  readonly first: number;
  readonly families: Set<string>;
}

/** The documented labels of a series (empty values count as absent), as one string in spec order. */
function documentedSet(spec: FamilySpec, labels: readonly (readonly [string, string])[]): string {
  let key = '';
  for (const l of spec.labels) {
    const v = labels.find(([k]) => k === l.name)?.[1];
    if (v !== undefined && v !== '') key += `${l.name}\u0000${v}\u0001`;
  }
  return key;
}

function countInstanceLabels(s: SeriesContext, instances: Map<string, InstanceCounts>): void {
  for (const { name, cardinalityLimit: budget } of instanceLabelsOf(s.owner.contract, s.family.name)) {
    const v = s.labels.find(([k]) => k === name)?.[1];
    if (budget === undefined || v === undefined || v === '') continue;
    const key = `${s.owner.contract.id}\u0000${name}`;
    const h = hash53(v);
    let c = instances.get(key);
    if (!c) instances.set(key, (c = { contract: s.owner.contract, budget, hashes: new Set(), examples: [], first: h, families: new Set() }));
    if (!c.hashes.has(h) && c.hashes.size <= c.budget + 1_000) {
      c.hashes.add(h);
      if (c.examples.length < 10) c.examples.push({ value: v, series: seriesSelector(s.family.name, s.labels), ...s.origin, count: 1 });
    }
    if (h !== c.first && c.families.size < 2_000) c.families.add(s.family.name);
  }
}

function reportInstances(instances: Map<string, InstanceCounts>, out: ViolationSink): void {
  for (const [key, c] of instances) {
    if (c.hashes.size <= c.budget) continue;
    const label = key.split('\u0000')[1] as string;
    const n = `${c.hashes.size}${c.hashes.size > c.budget + 1_000 ? '+' : ''}`;
    out.reportWhole({
      rule: 'cardinality',
      contract: c.contract.id,
      families: [...c.families],
      label,
      value: `${n} values`,
      values: c.examples,
      distinctValues: c.hashes.size,
      message: `instance label "${label}" has ${n} distinct values; its budget is ${c.budget} per checked target (one instance): a target that shows more mixes instances, or is an aggregation point to check instance by instance (families listed: those showing a value other than the first)`,
      count: c.hashes.size,
      cite: citation(c.contract, undefined, 'instanceLabels'),
    });
  }
}

/**
 * Cardinality against the contract's budgets (trc "Label conventions and cardinality rules", applied to
 * every contract): per documented label with a `cardinality_limit`, its distinct values; per documented
 * family, its distinct sets of documented labels against `maxSeries` (reported only when no single label
 * explains the excess, so one drift is one finding); per instance label, its distinct values against
 * its `cardinality_limit` per checked target. A series another rule found a wrong value on, and a
 * value found wrong at the end (`label_inconsistent`), never count: one wrong value is reported once.
 * Undocumented labels never count either (`label_undocumented` reports them). Memory: hashes, at most
 * budget + 1 per family and label. Reports `cardinality` with the count as the value.
 */
export function cardinalityRule(wrong: WrongValues): Rule {
  const families = new Map<string, FamilyCounts>();
  const instances = new Map<string, InstanceCounts>();
  return {
    ids: ['cardinality'],
    onSeries(s) {
      const spec = s.owner.spec;
      if (!spec || s.verdict.wrong) return;
      countInstanceLabels(s, instances);
      const tied = tiedLabels(s.owner.contract).filter((t) => spec.labels.some((l) => l.name === t.label));
      let c = families.get(spec.name);
      if (!c) families.set(spec.name, (c = { spec, contract: s.owner.contract, sets: new Map(), cap: spec.maxSeries + 1 + (tied.length ? LATE_SLACK : 0), capped: false, values: new Map() }));
      const h = hash53(documentedSet(spec, s.labels));
      if (!c.sets.has(h)) {
        if (c.sets.size < c.cap) {
          const values = tied.flatMap(({ label }) => {
            const v = s.labels.find(([k]) => k === label)?.[1];
            return v ? [[label, hash53(v)] as const] : [];
          });
          c.sets.set(h, values.length ? values : NO_TIED_VALUES);
        } else c.capped = true;
      }
      for (const l of spec.labels) {
        if (l.cardinalityLimit === undefined) continue;
        const v = s.labels.find(([k]) => k === l.name)?.[1];
        if (v === undefined || v === '') continue;
        let set = c.values.get(l.name);
        if (!set) c.values.set(l.name, (set = new Set()));
        if (set.size <= l.cardinalityLimit + (l.valuesFrom ? LATE_SLACK : 0)) set.add(hash53(v));
      }
    },
    onFinish(_f, out) {
      for (const c of families.values()) {
        const ok = (label: string, h: number): boolean => !wrong.has(c.contract.id, label, h);
        let labelOver = false;
        for (const l of c.spec.labels) {
          const set = c.values.get(l.name);
          if (l.cardinalityLimit === undefined || !set) continue;
          const n = l.valuesFrom ? [...set].filter((h) => ok(l.name, h)).length : set.size;
          if (n <= l.cardinalityLimit) continue;
          labelOver = true;
          out.report({
            rule: 'cardinality',
            contract: c.contract.id,
            family: c.spec.name,
            label: l.name,
            value: `${n}+ values`,
            message: `more than ${l.cardinalityLimit} distinct values of "${l.name}" (its documented cardinality_limit)`,
            cite: citation(c.contract, c.spec, 'cardinality'),
          });
        }
        const sets = [...c.sets.values()].filter((tiedValues) => tiedValues.every(([label, h]) => ok(label, h))).length;
        if (labelOver || sets <= c.spec.maxSeries) continue;
        const n = `${sets}${c.capped ? '+' : ''}`;
        out.report({
          rule: 'cardinality',
          contract: c.contract.id,
          family: c.spec.name,
          value: `${n} series`,
          message: `${n} distinct sets of documented label values exceed the family's budget of ${c.spec.maxSeries} series (the product of its labels' documented values and limits)`,
          cite: citation(c.contract, c.spec, 'cardinality'),
        });
      }
      reportInstances(instances, out);
    },
  };
}
