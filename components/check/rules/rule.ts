/**
 * The rule interface of `otel-contracts check`. A rule sees each distinct series once as it streams by
 * (`onSeries`, bounded state only), every sample line or OTLP value (`onSample`, for bucket bounds and
 * tie values), and the family statistics at the end (`onFinish`), and reports findings. Each finding
 * cites its own contract's document and section.
 */
import { instanceLabelsOf } from '../../../semconv/instance-scope.ts';
import type { ContractSpec } from '../../../semconv/types.ts';
import { seriesSelector, type ContractIndex, type FamilyOwner, type LabelPair, type ObservedFamily, type ObservedSample, type Origin } from '../model.ts';
import type { RequirementPlan } from '../requirements.ts';
import type { Citation } from '../documents.ts';
import type { ViolationSink } from '../violations.ts';
import type { RenameMatches } from './rename-hints.ts';

/** Identifier of a rule, as printed and in `--json`. */
export type RuleId =
  | 'family_not_observed'
  | 'family_renamed'
  | 'family_type'
  | 'family_undocumented'
  | 'otlp_translation'
  | 'unit_mismatch'
  | 'histogram_buckets'
  | 'label_missing'
  | 'label_undocumented'
  | 'label_forbidden'
  | 'label_value_enum'
  | 'reason_enum'
  | 'label_inconsistent'
  | 'path_template_raw'
  | 'cardinality';

/** Output order of rules. */
export const RULE_ORDER: readonly RuleId[] = [
  'family_not_observed',
  'family_renamed',
  'family_type',
  'family_undocumented',
  'otlp_translation',
  'unit_mismatch',
  'histogram_buckets',
  'label_missing',
  'label_undocumented',
  'label_forbidden',
  'label_value_enum',
  'reason_enum',
  'label_inconsistent',
  'path_template_raw',
  'cardinality',
];

/** What each rule checks; each finding cites the document and section it comes from. */
export const RULE_INFO: Readonly<Record<RuleId, { readonly title: string; readonly explain?: string }>> = {
  family_not_observed: {
    title: 'required documented family not observed',
    explain:
      'absent is not the same as not implemented: client_golang leaves a labelled family (a *Vec) out of the exposition until its first event, ' +
      'and an OTel SDK exports nothing for an instrument never recorded. The family is still required: expose a 0 for each known series at start, ' +
      'or check after traffic; --allow-unobserved reports drift only.',
  },
  family_renamed: { title: 'documented family absent while a likely rename of it is exposed' },
  family_type: { title: 'family exposed with a TYPE the document does not give it' },
  family_undocumented: { title: 'family under the contract prefix that the contract does not document' },
  otlp_translation: { title: 'OTLP names that no one collector translation turns into the documented names' },
  unit_mismatch: { title: 'unit other than the documented one (OTLP unit, # UNIT line)' },
  histogram_buckets: { title: 'histogram bucket boundaries other than the documented ones' },
  label_missing: { title: 'required documented label absent from a series' },
  label_undocumented: { title: 'label the contract does not document for the family' },
  label_forbidden: { title: 'forbidden label (by name or by value)' },
  label_value_enum: { title: 'bounded label value outside its documented enum' },
  reason_enum: { title: 'reason outside the documented reason list' },
  label_inconsistent: { title: 'label value the document ties to another family, not reported there' },
  path_template_raw: { title: 'path_template value that looks like a raw path' },
  cardinality: { title: 'series or distinct values over the budget' },
};

/** Set by a rule that found a wrong label value on a series, so that no budget counts the series again. */
export interface SeriesVerdict {
  wrong: boolean;
}

/** One distinct series as a rule sees it. */
export interface SeriesContext {
  readonly family: ObservedFamily;
  /** The checked contract the family belongs to (with its spec when documented). */
  readonly owner: FamilyOwner;
  /** Labels without `le` / `quantile`, in exposition or attribute order. */
  readonly labels: readonly LabelPair[];
  readonly origin: Origin;
  readonly verdict: SeriesVerdict;
}

/** One sample (an exposition line, `le` kept; or an OTLP value or bucket bound) of a checked family. */
export interface SampleContext {
  readonly family: ObservedFamily;
  readonly owner: FamilyOwner;
  readonly sample: ObservedSample;
  readonly origin: Origin;
}

/** What rules see at the end. */
export interface FinishContext {
  readonly contracts: readonly ContractSpec[];
  readonly index: ContractIndex;
  readonly families: ReadonlyMap<string, ObservedFamily>;
  /** Which documented families this run requires, and why the others are not required. */
  readonly plan: RequirementPlan;
  /** Absent documented families and the exposed family each was likely renamed to. */
  readonly renames: RenameMatches;
}

/** Sees series and samples as they stream; no findings of its own (a rule, or the requirement plan's tie watcher). */
export interface Listener {
  onSeries?(s: SeriesContext, out: ViolationSink): void;
  onSample?(s: SampleContext, out: ViolationSink): void;
}

/** A compliance rule; one instance per check run, so it may keep (bounded) state. */
export interface Rule extends Listener {
  readonly ids: readonly RuleId[];
  onFinish?(f: FinishContext, out: ViolationSink): void;
}

/**
 * Reports a finding on one series: the contract, family, series selector and origin come from `s`;
 * `value` is left out when undefined.
 */
export function reportOnSeries(
  out: ViolationSink,
  s: SeriesContext,
  v: { readonly rule: RuleId; readonly label: string; readonly value?: string; readonly message: string; readonly cite: Citation; readonly drift?: string },
): void {
  out.report({
    rule: v.rule,
    contract: s.owner.contract.id,
    family: s.family.name,
    label: v.label,
    ...(v.value !== undefined ? { value: v.value } : {}),
    message: v.message,
    cite: v.cite,
    ...(v.drift !== undefined ? { drift: v.drift } : {}),
    series: seriesSelector(s.family.name, s.labels),
    ...s.origin,
  });
}

/** Label names a Prometheus server adds to every scraped series; never a contract violation. */
export const PROMETHEUS_TARGET_LABELS: ReadonlySet<string> = new Set(['instance', 'job']);

/**
 * The names of the instance labels that go on one family of a contract (egress `instance_id`; ops-proxy
 * `node`, `pod`; trc `node_id` on agent and edge families only, seed 002 "Allowed bounded labels (v1)").
 */
export function instanceLabelNames(contract: ContractSpec, familyName: string): ReadonlySet<string> {
  let perContract = instanceCache.get(contract);
  if (!perContract) instanceCache.set(contract, (perContract = new Map()));
  let s = perContract.get(familyName);
  if (!s) {
    s = new Set(instanceLabelsOf(contract, familyName).map((l) => l.name));
    // Undocumented family names are unbounded input: cache at most 10k names per contract.
    if (perContract.size < 10_000) perContract.set(familyName, s);
  }
  return s;
}
const instanceCache = new WeakMap<ContractSpec, Map<string, ReadonlySet<string>>>();
