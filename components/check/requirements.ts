/**
 * Which documented families a check run requires. Every documented family is required (the trc spec's
 * first compliance test, applied to every contract) except: families of another component under
 * `--component`; families the document marks optional or makes conditional on a feature the target
 * cannot show; and families tied to a mode or role that the target says is off. The registry says which
 * (`requirement` and `component` on the metric groups, {@link FamilySpec.requirement}). A family that is not
 * required is still checked in full when present.
 */
import type { ContractSpec, FamilyRequirement, FamilySpec, TieCondition } from '../../semconv/types.ts';
import type { ContractComponent } from './components.ts';
import type { ObservedFamily } from './model.ts';
import type { Listener, SampleContext } from './rules/rule.ts';

/** Why a documented family is not required in this run. */
export interface NotRequired {
  readonly level: FamilyRequirement['level'] | 'component';
  /** Readable reason, quoting the document. */
  readonly why: string;
}

/** The requirement plan of one run. */
export interface RequirementPlan {
  /** Undefined when the family is required; else why not. */
  notRequired(spec: FamilySpec): NotRequired | undefined;
  /** The component audited (`--component`), if any. */
  readonly component: ContractComponent | undefined;
}

type ValueTie = TieCondition & { kind: 'value' };

function tieKey(c: ValueTie): string {
  return `${c.family}\u0000${JSON.stringify(c.labels)}`;
}

/** `opensandbox_egress_enforcement_mode{mode="dns+nft"} is 1` */
function describeValueTie(c: ValueTie): string {
  return `${c.family}{${Object.entries(c.labels).map(([k, v]) => `${k}="${v}"`).join(',')}} is ${c.value}`;
}

/**
 * Watches the samples that `value` ties read (egress: `opensandbox_egress_enforcement_mode{mode="dns+nft"}`)
 * and keeps the last value of each.
 */
export class TieWatcher implements Listener {
  private readonly watched = new Map<string, ValueTie[]>();
  private readonly values = new Map<string, number>();

  constructor(contracts: readonly ContractSpec[]) {
    for (const c of contracts) {
      for (const f of c.families) {
        const when = f.requirement?.when;
        if (when?.kind !== 'value') continue;
        const list = this.watched.get(when.family) ?? [];
        if (!list.some((w) => tieKey(w) === tieKey(when))) list.push(when);
        this.watched.set(when.family, list);
      }
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
  valueOf(c: ValueTie): number | undefined {
    return this.values.get(tieKey(c));
  }
}

/** Whether a tie holds in what the target showed, and how to say so. */
function tieHolds(c: TieCondition, contract: ContractSpec, families: ReadonlyMap<string, ObservedFamily>, watcher: TieWatcher): { holds: boolean; why: string } {
  if (c.kind === 'value') {
    const v = watcher.valueOf(c);
    const seen = v === undefined ? 'the target does not show that series' : `it is ${v}`;
    return { holds: v === c.value, why: `required when ${describeValueTie(c)}; ${seen}` };
  }
  const tied = contract.families.filter((f) => f.requirement?.when?.kind === 'role' && f.requirement.when.role === c.role);
  const onlyOtherRole = families.has(c.otherRoleMarker) && !tied.some((f) => families.has(f.name));
  return {
    holds: !onlyOtherRole,
    why: `required when the target is a ${c.role} (not one that exposes ${c.otherRoleMarker} and no ${c.role} family); the target exposes ${c.otherRoleMarker} and none of them`,
  };
}

/**
 * Plans which documented families are required, from the options, the families' requirements in the
 * registry and the observed families and tie values.
 */
export function planRequirements(
  contracts: readonly ContractSpec[],
  families: ReadonlyMap<string, ObservedFamily>,
  watcher: TieWatcher,
  component: ContractComponent | undefined,
): RequirementPlan {
  const decided = new Map<string, NotRequired | undefined>();
  const decide = (contract: ContractSpec, spec: FamilySpec): NotRequired | undefined => {
    if (component && spec.component !== undefined && spec.component !== component.name) {
      return { level: 'component', why: `families of other ${contract.id} components: --component ${component.name} requires those of its sections ${component.sections.join(', ')}` };
    }
    const r = spec.requirement;
    if (!r) return undefined;
    if (r.level === 'optional') return { level: 'optional', why: `optional: "${r.quote}"` };
    if (r.level === 'conditional') return { level: 'conditional', why: `conditional on a feature the target cannot show: "${r.quote}"` };
    const tie = tieHolds(r.when as TieCondition, contract, families, watcher);
    return tie.holds ? undefined : { level: 'tied', why: `${tie.why} ("${r.quote}")` };
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
