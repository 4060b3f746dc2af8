import { TargetError } from '../../instrumentation/exposition/target-error.ts';
import { hash53 } from './hash.ts';
import type { ContractIndex, FamilyOwner, LabelPair, ObservationSink, ObservedFamily, ObservedType, Origin } from './model.ts';
import type { Rule } from './rules/rule.ts';
import type { ViolationSink } from './violations.ts';

/** Bounds of an {@link ObservationStore}. */
export interface ObservationLimits {
  /** Most families held (default 20,000); one more is a {@link TargetError}. */
  readonly maxFamilies?: number;
  /** Series hashes held across all families (default 200,000); past it, counts become lower bounds. */
  readonly maxTrackedSeries?: number;
}

interface FamilyState extends ObservedFamily {
  /** Hashes of the series seen, or null once the budget ran out for this family. */
  keys: Set<number> | null;
  /** The checked contract the family belongs to, resolved once when it is declared. */
  readonly owner: FamilyOwner | undefined;
}

/**
 * Holds what the check needs of a target and nothing more: per family its TYPE, HELP, first origin and
 * distinct-series count (as 53-bit hashes), and runs the series rules once per distinct series as
 * observations stream in. Memory is bounded by {@link ObservationLimits}.
 */
export class ObservationStore implements ObservationSink {
  private readonly states = new Map<string, FamilyState>();
  private readonly maxFamilies: number;
  private readonly maxTracked: number;
  private tracked = 0;
  private readonly index: ContractIndex;
  private readonly rules: readonly Rule[];
  private readonly out: ViolationSink;

  constructor(index: ContractIndex, rules: readonly Rule[], out: ViolationSink, limits: ObservationLimits = {}) {
    this.index = index;
    this.rules = rules;
    this.out = out;
    this.maxFamilies = limits.maxFamilies ?? 20_000;
    this.maxTracked = limits.maxTrackedSeries ?? 200_000;
  }

  /** Observed families by name. */
  get families(): ReadonlyMap<string, ObservedFamily> {
    return this.states;
  }

  /** Sum of distinct series over all families (a lower bound when some family's count is). */
  get seriesTotal(): number {
    let n = 0;
    for (const f of this.states.values()) n += f.seriesCount;
    return n;
  }

  /** @throws TargetError when more than `maxFamilies` families appear. */
  family(name: string, meta: { readonly type?: ObservedType; readonly help?: string }, origin: Origin): void {
    let f = this.states.get(name);
    if (!f) {
      if (this.states.size >= this.maxFamilies) {
        throw new TargetError(`more than ${this.maxFamilies} metric families: not a plausible single target`, origin.line);
      }
      f = { name, type: meta.type ?? 'untyped', help: meta.help, origin: { ...origin }, seriesCount: 0, seriesExact: true, keys: new Set(), owner: this.index.ownerOf(name) };
      this.states.set(name, f);
      return;
    }
    if (meta.type !== undefined) f.type = meta.type;
    if (meta.help !== undefined) f.help = meta.help;
  }

  /**
   * Counts a series of `family` once (by hash) and runs the series rules on its first appearance; after
   * the series budget is spent, rules run on every observation (the collector dedupes what they report).
   * @throws Error when `family` was never declared (a parser bug, not bad input).
   */
  series(family: string, labels: readonly LabelPair[], origin: Origin): void {
    const f = this.states.get(family);
    if (!f) throw new Error(`internal: series of undeclared family ${family}`);
    let fresh = true;
    if (f.keys) {
      const h = hash53(canonical(labels));
      if (f.keys.has(h)) {
        fresh = false;
      } else if (this.tracked < this.maxTracked) {
        f.keys.add(h);
        this.tracked++;
        f.seriesCount++;
      } else {
        // Budget spent: from now on this family's count is a lower bound and every observation is checked.
        f.keys = null;
        f.seriesExact = false;
      }
    }
    if (!fresh || !f.owner) return;
    const ctx = { family: f, owner: f.owner, labels, origin };
    for (const r of this.rules) r.onSeries?.(ctx, this.out);
  }
}

function canonical(labels: readonly LabelPair[]): string {
  if (labels.length === 0) return '';
  const sorted = labels.length === 1 ? labels : [...labels].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let s = '';
  for (const [k, v] of sorted) s += `${k}\u0000${v}\u0001`;
  return s;
}
