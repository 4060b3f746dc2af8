import type { RuleId } from './rules/rule.ts';
import { RULE_ORDER } from './rules/rule.ts';
import { hash53 } from './hash.ts';

/** One finding: which rule, where (contract, family, label) and the offending value, as the check reports it. */
export interface Violation {
  readonly rule: RuleId;
  /** Contract id (`trc`, `egress`, ...). */
  readonly contract: string;
  readonly family: string;
  readonly label?: string;
  /** The offending value, quoted verbatim in the output (a label value, a TYPE, a series count). */
  readonly value?: string;
  /** What is wrong and what the contract says. */
  readonly message: string;
  /** A series showing it (first seen), e.g. `trc_x_total{reason="boom"}`. */
  readonly series?: string;
  /** Exposition line where it was first seen. */
  readonly line?: number;
  /** OTLP push (1-based) where it was first seen. */
  readonly push?: number;
  /** How many series showed it. */
  readonly count: number;
}

/** Input of {@link ViolationCollector.report}; `count` is added up by the collector. */
export type ViolationInput = Omit<Violation, 'count'>;

/** Where rules put what they find. */
export interface ViolationSink {
  report(v: ViolationInput): void;
}

/** Distinct values kept per rule, family and label before the rest are summarized. */
export const MAX_VALUES_PER_GROUP = 10;
/** Elided distinct values counted per group before the count becomes a lower bound. */
const MAX_ELIDED_TRACKED = 1_000;
/** Distinct violations kept in all. */
export const MAX_VIOLATIONS = 5_000;

interface Mutable extends ViolationInput {
  count: number;
}

/**
 * Collects violations with bounded memory: one entry per (rule, family, label, value), its count of
 * series, and at most {@link MAX_VALUES_PER_GROUP} distinct values per (rule, family, label); further
 * values are counted and reported as one summary entry.
 */
export class ViolationCollector implements ViolationSink {
  private readonly entries = new Map<string, Mutable>();
  private readonly groups = new Map<string, { distinct: number; elided: Set<number>; elidedSeries: number; first: ViolationInput }>();
  private dropped = 0;

  /** Records one occurrence: a new (rule, family, label, value) entry, or one more count of an existing one. */
  report(v: ViolationInput): void {
    const key = `${v.rule}\u0000${v.family}\u0000${v.label ?? ''}\u0000${v.value ?? ''}`;
    const e = this.entries.get(key);
    if (e) {
      e.count++;
      return;
    }
    const gkey = `${v.rule}\u0000${v.family}\u0000${v.label ?? ''}`;
    let g = this.groups.get(gkey);
    if (!g) {
      if (this.groups.size >= MAX_VIOLATIONS) {
        this.dropped++;
        return;
      }
      g = { distinct: 0, elided: new Set(), elidedSeries: 0, first: v };
      this.groups.set(gkey, g);
    }
    if (g.distinct >= MAX_VALUES_PER_GROUP) {
      g.elidedSeries++;
      if (g.elided.size < MAX_ELIDED_TRACKED) g.elided.add(hash53(v.value ?? ''));
      return;
    }
    if (this.entries.size >= MAX_VIOLATIONS) {
      this.dropped++;
      return;
    }
    g.distinct++;
    this.entries.set(key, { ...v, count: 1 });
  }

  /** Violations not kept because {@link MAX_VIOLATIONS} was reached. */
  get droppedCount(): number {
    return this.dropped;
  }

  /** Every violation, ordered by rule, contract, family, label, then first appearance; summaries of elided values last in their group. */
  list(): Violation[] {
    const out: Violation[] = [...this.entries.values()];
    for (const g of this.groups.values()) {
      if (g.elidedSeries === 0) continue;
      const more = g.elided.size >= MAX_ELIDED_TRACKED ? `${MAX_ELIDED_TRACKED}+` : String(g.elided.size);
      const { rule, contract, family, label } = g.first;
      out.push({
        rule,
        contract,
        family,
        ...(label !== undefined ? { label } : {}),
        value: `(${more} more distinct values)`,
        message: `${more} more distinct values not listed (only the first ${MAX_VALUES_PER_GROUP} are)`,
        count: g.elidedSeries,
      });
    }
    const rank = (r: RuleId): number => RULE_ORDER.indexOf(r);
    return out
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
