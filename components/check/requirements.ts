/**
 * Which documented families a check run requires. Every documented family is required (the trc spec's
 * first compliance test, applied to every contract) except: families of another trc component under
 * `--component`; families the document marks optional or makes conditional on a feature the target
 * cannot show; and families tied to a mode or role that the target says is off
 * ({@link FAMILY_REQUIREMENTS}). A family that is not required is still checked in full when present.
 */
import type { ContractSpec, FamilySpec } from '../../semconv/types.ts';
import type { ObservedFamily } from './model.ts';
import type { Listener, SampleContext } from './rules/rule.ts';
import { FAMILY_REQUIREMENTS, type FamilyRequirement, type RequirementLevel, type TieCondition } from './tables/family-requirements.ts';
import { inComponent, type TrcComponent } from './tables/trc-components.ts';

/** Why a documented family is not required in this run. */
export interface NotRequired {
  readonly level: RequirementLevel | 'component';
  /** Readable reason, quoting the document. */
  readonly why: string;
}

/** The requirement plan of one run. */
export interface RequirementPlan {
  /** Undefined when the family is required; else why not. */
  notRequired(spec: FamilySpec): NotRequired | undefined;
  /** The trc component audited (`--component`), if any. */
  readonly component: TrcComponent | undefined;
}

/** The requirement-table entries that cover a family (by name or by section). */
function entriesFor(contract: ContractSpec, spec: FamilySpec): FamilyRequirement[] {
  return FAMILY_REQUIREMENTS.filter((r) => r.contract === contract.id && (r.families?.includes(spec.name) || r.sections?.includes(spec.section)));
}

function tieKey(c: TieCondition & { kind: 'value' }): string {
  return `${c.family}\u0000${JSON.stringify(c.labels)}`;
}

/**
 * Watches the samples that `value` ties read (egress: `opensandbox_egress_enforcement_mode{mode="dns+nft"}`)
 * and keeps the last value of each.
 */
export class TieWatcher implements Listener {
  private readonly watched = new Map<string, (TieCondition & { kind: 'value' })[]>();
  private readonly values = new Map<string, number>();

  constructor(contracts: readonly ContractSpec[]) {
    const ids = new Set(contracts.map((c) => c.id));
    for (const r of FAMILY_REQUIREMENTS) {
      if (r.when?.kind !== 'value' || !ids.has(r.contract)) continue;
      const list = this.watched.get(r.when.family) ?? [];
      list.push(r.when);
      this.watched.set(r.when.family, list);
    }
  }

  /** Records the value of a watched series. */
  onSample({ sample }: SampleContext): void {
    const conditions = this.watched.get(sample.family);
    if (!conditions || sample.name !== sample.family) return;
    for (const c of conditions) {
      if (Object.entries(c.labels).every(([k, v]) => sample.labels.some(([lk, lv]) => lk === k && lv === v))) this.values.set(tieKey(c), sample.value);
    }
  }

  /** The last value seen of the condition's series, or undefined when none was. */
  valueOf(c: TieCondition & { kind: 'value' }): number | undefined {
    return this.values.get(tieKey(c));
  }
}

/** Whether a tie holds in what the target showed, and how to say so. */
function tieHolds(entry: FamilyRequirement, contract: ContractSpec, families: ReadonlyMap<string, ObservedFamily>, watcher: TieWatcher): { holds: boolean; why: string } {
  const c = entry.when as TieCondition;
  if (c.kind === 'value') {
    const v = watcher.valueOf(c);
    const seen = v === undefined ? 'the target does not show that series' : `it is ${v}`;
    return { holds: v === c.value, why: `required when ${c.describe}; ${seen}` };
  }
  const tied = contract.families.filter((f) => entry.families?.includes(f.name) || entry.sections?.includes(f.section));
  const onlyOtherRole = families.has(c.marker) && !tied.some((f) => families.has(f.name));
  return { holds: !onlyOtherRole, why: `required when ${c.describe}; the target exposes ${c.marker} and none of them` };
}

/**
 * Plans which documented families are required, from the options, the requirement table and the
 * observed families and tie values.
 */
export function planRequirements(
  contracts: readonly ContractSpec[],
  families: ReadonlyMap<string, ObservedFamily>,
  watcher: TieWatcher,
  component: TrcComponent | undefined,
): RequirementPlan {
  const decided = new Map<string, NotRequired | undefined>();
  const decide = (contract: ContractSpec, spec: FamilySpec): NotRequired | undefined => {
    if (component && contract.id === 'trc' && !inComponent(component, spec.section)) {
      return { level: 'component', why: `families of other trc components: --component ${component.name} requires those of the ${component.brief}` };
    }
    for (const e of entriesFor(contract, spec)) {
      if (e.level === 'optional') return { level: 'optional', why: `optional: "${e.quotes[0]}"` };
      if (e.level === 'conditional') return { level: 'conditional', why: `conditional on a feature the target cannot show: "${e.quotes[0]}"` };
      const tie = tieHolds(e, contract, families, watcher);
      if (!tie.holds) return { level: 'tied', why: `${tie.why} ("${e.quotes[0]}")` };
    }
    return undefined;
  };
  const ownerOf = new Map<string, ContractSpec>();
  for (const c of contracts) for (const f of c.families) ownerOf.set(f.name, c);
  return {
    component,
    notRequired(spec) {
      if (!decided.has(spec.name)) {
        const contract = ownerOf.get(spec.name);
        decided.set(spec.name, contract ? decide(contract, spec) : undefined);
      }
      return decided.get(spec.name);
    },
  };
}
