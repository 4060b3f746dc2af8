import type { RuleId } from './rules/rule.ts';
import { RULE_ORDER } from './rules/rule.ts';
import { hash53 } from './hash.ts';
import type { Citation } from './documents.ts';

/** One offending value of a finding, with the series and place it was first seen. */
export interface OffendingValue {
  readonly value: string;
  readonly series?: string;
  readonly line?: number;
  readonly push?: number;
  /** Series that showed it. */
  readonly count: number;
}

/**
 * One finding: one drift, with every family it affects. Which rule, where (contract, families, label),
 * the offending values, what is wrong, and the document and section the requirement comes from.
 */
export interface Violation {
  readonly rule: RuleId;
  /** Contract id (`trc`, `egress`, ...). */
  readonly contract: string;
  /** The first family it affects (alphabetically). */
  readonly family: string;
  /** Every family it affects, sorted (`[family]` for a finding about one family). */
  readonly families: readonly string[];
  /** Families past the 2000 listed, when more were affected. */
  readonly moreFamilies?: number;
  readonly label?: string;
  /** The first offending value, quoted verbatim in the output (a label value, a TYPE, a unit, a count). */
  readonly value?: string;
  /** Every distinct offending value up to {@link MAX_VALUES_PER_FINDING}, when there is more than one. */
  readonly values?: readonly OffendingValue[];
  /** Distinct offending values in all (a lower bound at {@link MAX_DISTINCT_TRACKED}), when more than listed. */
  readonly distinctValues?: number;
  /** What is wrong and what the contract says. */
  readonly message: string;
  /** A likely explanation: the rename, the translation, the mode. */
  readonly hint?: string;
  /** A series showing it (first seen), e.g. `trc_x_total{reason="boom"}`. */
  readonly series?: string;
  /** Exposition line where it was first seen. */
  readonly line?: number;
  /** OTLP push (1-based) where it was first seen. */
  readonly push?: number;
  /** How many series (or reports) showed it. */
  readonly count: number;
  /** The contract's own document and the sections that state the requirement. */
  readonly cite: Citation;
}

/**
 * Input of {@link ViolationCollector.report}. Reports with the same rule, contract and `drift` are one
 * finding listing every family; without `drift`, one finding per family and label.
 */
export interface ViolationInput {
  readonly rule: RuleId;
  readonly contract: string;
  readonly family: string;
  readonly label?: string;
  readonly value?: string;
  readonly message: string;
  readonly hint?: string;
  readonly series?: string;
  readonly line?: number;
  readonly push?: number;
  readonly cite: Citation;
  readonly drift?: string;
}

/** A finding a rule assembles whole at the end (its families, values and count already known). */
export interface WholeFinding extends Omit<ViolationInput, 'drift' | 'family'> {
  /** Every family it affects (at least one). */
  readonly families: readonly string[];
  readonly values?: readonly OffendingValue[];
  readonly distinctValues?: number;
  readonly count: number;
}

/** Where rules put what they find. */
export interface ViolationSink {
  /** One occurrence (a series, a family) of a drift; occurrences of one drift are merged. */
  report(v: ViolationInput): void;
  /** A finding assembled whole. */
  reportWhole(v: WholeFinding): void;
}

/** Distinct values listed per finding; the rest are counted. */
export const MAX_VALUES_PER_FINDING = 10;
/** Distinct values counted per finding before the count becomes a lower bound. */
export const MAX_DISTINCT_TRACKED = 1_000;
/** Families listed per finding. */
const MAX_FAMILIES_PER_FINDING = 2_000;
/** Distinct findings kept in all. */
export const MAX_VIOLATIONS = 5_000;

interface Entry {
  readonly first: ViolationInput;
  readonly families: Set<string>;
  moreFamilies: number;
  readonly sections: string[];
  readonly values: Map<string, { series?: string; line?: number; push?: number; count: number }>;
  readonly distinct: Set<number>;
  count: number;
}

function originOf(v: ViolationInput): { series?: string; line?: number; push?: number } {
  return { ...(v.series !== undefined ? { series: v.series } : {}), ...(v.line !== undefined ? { line: v.line } : {}), ...(v.push !== undefined ? { push: v.push } : {}) };
}

/**
 * Collects findings with bounded memory: one entry per drift (rule, contract and the rule's drift key,
 * by default family and label), the families it affects, its first {@link MAX_VALUES_PER_FINDING}
 * distinct values with their counts, and the number of distinct values past those.
 */
export class ViolationCollector implements ViolationSink {
  private readonly entries = new Map<string, Entry>();
  private readonly whole: Violation[] = [];
  private dropped = 0;

  /** Records a finding assembled whole. */
  reportWhole(v: WholeFinding): void {
    if (this.entries.size + this.whole.length >= MAX_VIOLATIONS) {
      this.dropped++;
      return;
    }
    const families = [...v.families].sort();
    const { families: _f, values, distinctValues, ...rest } = v;
    this.whole.push({
      ...rest,
      family: families[0] as string,
      families,
      ...(values && values.length > 1 ? { values } : {}),
      ...(distinctValues !== undefined && distinctValues > (values?.length ?? 1) ? { distinctValues } : {}),
    });
  }

  /** Records one occurrence: a new finding, or one more family, value or series of an existing one. */
  report(v: ViolationInput): void {
    const key = `${v.rule}\u0000${v.contract}\u0000${v.drift ?? `${v.family}\u0000${v.label ?? ''}`}`;
    let e = this.entries.get(key);
    if (!e) {
      if (this.entries.size + this.whole.length >= MAX_VIOLATIONS) {
        this.dropped++;
        return;
      }
      e = { first: v, families: new Set(), moreFamilies: 0, sections: [], values: new Map(), distinct: new Set(), count: 0 };
      this.entries.set(key, e);
    }
    e.count++;
    if (e.families.size < MAX_FAMILIES_PER_FINDING || e.families.has(v.family)) e.families.add(v.family);
    else e.moreFamilies++;
    for (const s of v.cite.sections) if (!e.sections.includes(s) && e.sections.length < 50) e.sections.push(s);
    if (v.value === undefined) return;
    const known = e.values.get(v.value);
    if (known) known.count++;
    else if (e.values.size < MAX_VALUES_PER_FINDING) e.values.set(v.value, { ...originOf(v), count: 1 });
    if (e.distinct.size < MAX_DISTINCT_TRACKED) e.distinct.add(hash53(v.value));
  }

  /** Findings not kept because {@link MAX_VIOLATIONS} was reached. */
  get droppedCount(): number {
    return this.dropped;
  }

  /** Every finding, ordered by rule, contract, first family, label, then first appearance. */
  list(): Violation[] {
    const rank = (r: RuleId): number => RULE_ORDER.indexOf(r);
    return [...[...this.entries.values()].map(toViolation), ...this.whole]
      .map((v, i) => ({ v, i }))
      .sort(
        (a, b) =>
          rank(a.v.rule) - rank(b.v.rule) ||
          a.v.contract.localeCompare(b.v.contract) ||
          a.v.family.localeCompare(b.v.family) ||
          (a.v.label ?? '').localeCompare(b.v.label ?? '') ||
          a.i - b.i,
      )
      .map(({ v }) => v);
  }
}

function toViolation(e: Entry): Violation {
  const f = e.first;
  const families = [...e.families].sort();
  const values = [...e.values].map(([value, o]) => ({ value, ...o }));
  const distinct = e.distinct.size >= MAX_DISTINCT_TRACKED ? MAX_DISTINCT_TRACKED : e.distinct.size;
  return {
    rule: f.rule,
    contract: f.contract,
    family: families[0] ?? f.family,
    families,
    ...(e.moreFamilies ? { moreFamilies: e.moreFamilies } : {}),
    ...(f.label !== undefined ? { label: f.label } : {}),
    ...(f.value !== undefined ? { value: f.value } : {}),
    ...(values.length > 1 ? { values } : {}),
    ...(distinct > values.length ? { distinctValues: distinct } : {}),
    message: f.message,
    ...(f.hint !== undefined ? { hint: f.hint } : {}),
    ...originOf(f),
    count: e.count,
    cite: { document: f.cite.document, sections: e.sections },
  };
}
