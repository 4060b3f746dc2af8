/**
 * The result of a check: findings, what the run allowed, and summaries of the contracts (their
 * documents and revisions, what was required of them) and of the observed families (units, OTLP
 * names and translations, likely renames).
 */
import type { ContractSpec } from '../../semconv/types.ts';
import { documentOf } from './documents.ts';
import type { ContractIndex, ObservedFamily, ObservedType } from './model.ts';
import type { OtlpTranslation } from './otlp/resolve-name.ts';
import type { RequirementPlan, NotRequired } from './requirements.ts';
import type { RenameMatches } from './rules/rename-hints.ts';
import { fittingStrategies } from './rules/otlp-translation.ts';
import { unitMatches } from './rules/units.ts';
import type { Violation } from './violations.ts';

/** Per-contract summary of a check. */
export interface ContractSummary {
  readonly id: string;
  /**
   * The seed document the contract was written from, its title and its upstream revision, as the registry records
   * them; `gitBlob` pins the exact text (`git hash-object docs/seeds/<seed>`).
   */
  readonly document: { readonly seed: string; readonly title: string; readonly upstreamRevision: string; readonly gitBlob?: string; readonly note?: string };
  readonly documented: number;
  /** Documented families the target exposes (with or without samples). */
  readonly present: number;
  /** Documented families this run requires (all but the optional, conditional, untied and other-component ones). */
  readonly required: number;
  /** Families under the prefix that the contract does not document. */
  readonly undocumented: number;
  /** The contract's instance labels (on every family, or on the families their scope names). */
  readonly instanceLabels: readonly string[];
  /** The trc component audited (`--component`). */
  readonly component?: string;
  /** Absent documented families the run does not require, and why. */
  readonly notRequired: readonly ({ readonly family: string } & NotRequired)[];
}

/** One observed family, for `--json`. */
export interface FamilySummary {
  readonly name: string;
  readonly type: ObservedType;
  readonly series: number;
  readonly seriesExact: boolean;
  /** Contract the family belongs to, if any of the checked ones. */
  readonly contract?: string;
  readonly documented: boolean;
  /** Units sent (OTLP) or declared (`# UNIT`). */
  readonly units?: readonly string[];
  /** OTLP: each name sent for the family and the translation that gave the family name. */
  readonly otlp?: readonly { readonly sentAs: string; readonly translation: OtlpTranslation; readonly collectorDefault: string; readonly escaped: string }[];
  /** The absent documented family this one is likely the rename of. */
  readonly likelyRenameOf?: string;
}

/** Over OTLP: how the names were matched, and which collector translation gives every documented name. */
export interface OtlpNamingSummary {
  readonly translations: Readonly<Record<OtlpTranslation, number>>;
  /** The translation strategies under which every matched name sent with its documented unit is its documented name (empty: none does). */
  readonly fits: readonly ('UnderscoreEscapingWithoutSuffixes' | 'UnderscoreEscapingWithSuffixes')[];
}

/** Outcome of a check. */
export interface CheckResult {
  /** True when there is no violation. */
  readonly ok: boolean;
  readonly contracts: readonly ContractSummary[];
  readonly violations: readonly Violation[];
  /** Findings the run lets pass (`--allow-unobserved`: `family_not_observed`); not violations. */
  readonly allowed: readonly Violation[];
  /** Violations not kept because of the report's bound (0 normally). */
  readonly droppedViolations: number;
  readonly families: readonly FamilySummary[];
  /** Families outside every checked contract (another component's, process_*, go_*, a renamed family). */
  readonly otherFamilies: number;
  /** Their names, sorted (the first 1000). */
  readonly otherFamilyNames: readonly string[];
  readonly series: number;
  /** Present when the input was OTLP. */
  readonly otlp?: OtlpNamingSummary;
}

function familySummary(f: ObservedFamily, index: ContractIndex, renames: RenameMatches): FamilySummary {
  const owner = index.ownerOf(f.name);
  const rename = renames.byCandidate.get(f.name);
  const otlp = [...f.otlpNames.values()].map((r) => ({ sentAs: r.sentName, translation: r.translation, collectorDefault: r.collectorDefault, escaped: r.escaped }));
  return {
    name: f.name,
    type: f.type,
    series: f.seriesCount,
    seriesExact: f.seriesExact,
    ...(owner ? { contract: owner.contract.id } : {}),
    documented: Boolean(owner?.spec),
    ...(f.units.size ? { units: [...f.units.keys()] } : {}),
    ...(otlp.length ? { otlp } : {}),
    ...(rename ? { likelyRenameOf: rename.documented } : {}),
  };
}

function contractSummary(c: ContractSpec, families: ReadonlyMap<string, ObservedFamily>, index: ContractIndex, plan: RequirementPlan): ContractSummary {
  const doc = documentOf(c);
  const notRequired: ({ family: string } & NotRequired)[] = [];
  let required = 0;
  for (const spec of c.families) {
    const why = plan.notRequired(spec);
    if (!why) required++;
    else if (!families.has(spec.name)) notRequired.push({ family: spec.name, ...why });
  }
  let undocumented = 0;
  for (const name of families.keys()) {
    const owner = index.ownerOf(name);
    if (owner && !owner.spec && owner.contract.id === c.id) undocumented++;
  }
  return {
    id: c.id,
    document: { seed: doc.seed, title: doc.title, upstreamRevision: doc.upstreamRevision, ...(doc.gitBlob ? { gitBlob: doc.gitBlob } : {}), ...(doc.note ? { note: doc.note } : {}) },
    documented: c.families.length,
    present: c.families.filter((f) => families.has(f.name)).length,
    required,
    undocumented,
    instanceLabels: c.instanceLabels.map((l) => l.name),
    ...(plan.component && c.id === 'trc' ? { component: plan.component.name } : {}),
    notRequired,
  };
}

function otlpSummary(families: ReadonlyMap<string, ObservedFamily>, index: ContractIndex): OtlpNamingSummary | undefined {
  const translations: Record<OtlpTranslation, number> = { 'as-sent': 0, escaping: 0, default: 0, 'base-name': 0, unmatched: 0 };
  let without = true;
  let withSuffixes = true;
  let any = false;
  for (const f of families.values()) {
    for (const r of f.otlpNames.values()) {
      any = true;
      translations[r.translation]++;
      const spec = index.ownerOf(f.name)?.spec;
      if (r.translation === 'unmatched' || !spec || !unitMatches(r.unit, spec.unit)) continue;
      const fit = fittingStrategies(r);
      without &&= fit.withoutSuffixes;
      withSuffixes &&= fit.withSuffixes;
    }
  }
  if (!any) return undefined;
  const fits: OtlpNamingSummary['fits'][number][] = [];
  if (without) fits.push('UnderscoreEscapingWithoutSuffixes');
  if (withSuffixes) fits.push('UnderscoreEscapingWithSuffixes');
  return { translations, fits };
}

/** Assembles the result from the findings and what was observed. */
export function buildResult(
  input: { contracts: readonly ContractSpec[]; index: ContractIndex; families: ReadonlyMap<string, ObservedFamily>; plan: RequirementPlan; renames: RenameMatches; series: number },
  findings: { violations: readonly Violation[]; allowed: readonly Violation[]; dropped: number },
): CheckResult {
  const { contracts, index, families, plan, renames } = input;
  const others = [...families.keys()].filter((n) => !index.ownerOf(n)).sort();
  const otlp = otlpSummary(families, index);
  return {
    ok: findings.violations.length === 0 && findings.dropped === 0,
    contracts: contracts.map((c) => contractSummary(c, families, index, plan)),
    violations: findings.violations,
    allowed: findings.allowed,
    droppedViolations: findings.dropped,
    families: [...families.values()].map((f) => familySummary(f, index, renames)),
    otherFamilies: others.length,
    otherFamilyNames: others.slice(0, 1000),
    series: input.series,
    ...(otlp ? { otlp } : {}),
  };
}
