import { TargetError } from './exposition/target-error.ts';
import { hash53 } from './hash.ts';
import type { CheckSink, ContractIndex, FamilyOwner, LabelPair, ObservedFamily, ObservedSample, ObservedType, Origin, UnitObservation } from './model.ts';
import type { ResolvedOtlpName } from './otlp/resolve-name.ts';
import type { Listener } from './rules/rule.ts';
import type { ViolationSink } from './violations.ts';

/** Bounds of an {@link ObservationStore}. */
export interface ObservationLimits {
  /** Most families held (default 20,000); one more is a {@link TargetError}. */
  readonly maxFamilies?: number;
  /** Series hashes held across all families (default 200,000); past it, counts become lower bounds. */
  readonly maxTrackedSeries?: number;
}

/** Units and OTLP names kept per family: a family sent under more is already a finding. */
const MAX_META_PER_FAMILY = 8;

interface FamilyState extends ObservedFamily {
  /** Hashes of the series seen, or null once the budget ran out for this family. */
  keys: Set<number> | null;
  /** The checked contract the family belongs to, resolved once when it is declared. */
  readonly owner: FamilyOwner | undefined;
  readonly units: Map<string, UnitObservation>;
  readonly otlpNames: Map<string, ResolvedOtlpName>;
}

/**
 * Holds what the check needs of a target and nothing more: per family its TYPE, HELP, units, OTLP
 * names, first origin and distinct-series count (as 53-bit hashes); runs the listeners (rules, the
 * requirement plan's tie watcher) once per distinct series and on every sample as observations stream
 * in. Memory is bounded by {@link ObservationLimits}.
 */
export class ObservationStore implements CheckSink {
  private readonly states = new Map<string, FamilyState>();
  private readonly maxFamilies: number;
  private readonly maxTracked: number;
  private tracked = 0;
  private readonly index: ContractIndex;
  private readonly listeners: readonly Listener[];
  private readonly out: ViolationSink;

  constructor(index: ContractIndex, listeners: readonly Listener[], out: ViolationSink, limits: ObservationLimits = {}) {
    this.index = index;
    this.listeners = listeners;
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
      f = {
        name,
        type: meta.type ?? 'untyped',
        help: meta.help,
        origin: { ...origin },
        seriesCount: 0,
        seriesExact: true,
        keys: new Set(),
        owner: this.index.ownerOf(name),
        units: new Map(),
        otlpNames: new Map(),
      };
      this.states.set(name, f);
      return;
    }
    if (meta.type !== undefined) f.type = meta.type;
    if (meta.help !== undefined) f.help = meta.help;
  }

  /** Adds a unit or an OTLP name of a declared family (a few distinct ones at most are kept). */
  describe(family: string, meta: { readonly unit?: UnitObservation; readonly otlp?: ResolvedOtlpName }): void {
    const f = this.states.get(family);
    if (!f) return;
    if (meta.unit && !f.units.has(meta.unit.unit) && f.units.size < MAX_META_PER_FAMILY) f.units.set(meta.unit.unit, meta.unit);
    if (meta.otlp && !f.otlpNames.has(meta.otlp.sentName) && f.otlpNames.size < MAX_META_PER_FAMILY) f.otlpNames.set(meta.otlp.sentName, meta.otlp);
  }

  /**
   * Counts a series of `family` once (by hash) and runs the listeners on its first appearance; after
   * the series budget is spent, they run on every observation (the collector dedupes what they report).
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
    const ctx = { family: f, owner: f.owner, labels, origin, verdict: { wrong: false } };
    for (const l of this.listeners) l.onSeries?.(ctx, this.out);
  }

  /** Hands one sample (an exposition line with `le` kept, or an OTLP value or bucket) of a checked family to the listeners. */
  sample(sample: ObservedSample, origin: Origin): void {
    const f = this.states.get(sample.family);
    if (!f?.owner) return;
    const ctx = { family: f, owner: f.owner, sample, origin };
    for (const l of this.listeners) l.onSample?.(ctx, this.out);
  }
}

function canonical(labels: readonly LabelPair[]): string {
  if (labels.length === 0) return '';
  const sorted = labels.length === 1 ? labels : [...labels].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let s = '';
  for (const [k, v] of sorted) s += `${k}\u0000${v}\u0001`;
  return s;
}
