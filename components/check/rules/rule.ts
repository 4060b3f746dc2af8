/**
 * The rule interface of `otel-contracts check`. A rule sees each distinct series once as it streams by
 * (`onSeries`, bounded state only) and the family statistics at the end (`onFinish`), and reports
 * {@link Violation}s. Rules come from the trc seed (002) "Compliance tests" and "Label conventions and
 * cardinality rules", applied to every contract.
 */
import { instanceLabelsOf } from '../../../semconv/instance-scope.ts';
import type { ContractSpec } from '../../../semconv/types.ts';
import { seriesSelector, type ContractIndex, type FamilyOwner, type LabelPair, type ObservedFamily, type Origin } from '../model.ts';
import type { ViolationSink } from '../violations.ts';

/** Identifier of a rule, as printed and in `--json`. */
export type RuleId =
  | 'family_missing'
  | 'family_type'
  | 'family_undocumented'
  | 'label_missing'
  | 'label_undocumented'
  | 'label_forbidden'
  | 'label_value_enum'
  | 'reason_enum'
  | 'path_template_raw'
  | 'cardinality';

/** Output order of rules. */
export const RULE_ORDER: readonly RuleId[] = [
  'family_missing',
  'family_type',
  'family_undocumented',
  'label_missing',
  'label_undocumented',
  'label_forbidden',
  'label_value_enum',
  'reason_enum',
  'path_template_raw',
  'cardinality',
];

/** What each rule checks, and where the requirement comes from. */
export const RULE_INFO: Readonly<Record<RuleId, { readonly title: string; readonly source: string }>> = {
  family_missing: { title: 'documented family not exposed', source: 'trc "Compliance tests" 1: required metric families present' },
  family_type: { title: 'family exposed with a TYPE other than documented', source: 'contract registry: documented TYPE' },
  family_undocumented: { title: 'family under the contract prefix that the contract does not document', source: 'contract registry' },
  label_missing: { title: 'required documented label absent from a series', source: 'contract registry: requirement_level required' },
  label_undocumented: { title: 'label the contract does not document for this family', source: 'trc "Label conventions and cardinality rules": allowed bounded labels' },
  label_forbidden: { title: 'forbidden label (by name or by value)', source: 'trc "Forbidden labels"; "Compliance tests" 2' },
  label_value_enum: { title: 'bounded label value outside its documented enum', source: 'trc "Label conventions": status, reason, ... are small enums' },
  reason_enum: { title: 'reason outside the documented reason list', source: 'trc "Compliance tests" 3 and 4: scheduler and agent reasons are the bounded lists' },
  path_template_raw: { title: 'path_template value that looks like a raw path', source: 'trc "Compliance tests" 2: path_template instead of raw paths' },
  cardinality: { title: 'series or distinct values over the contract budget', source: 'trc "Label conventions and cardinality rules"; registry maxSeries / cardinality_limit' },
};

/** One distinct series as a rule sees it. */
export interface SeriesContext {
  readonly family: ObservedFamily;
  /** The checked contract the family belongs to (with its spec when documented). */
  readonly owner: FamilyOwner;
  /** Labels without `le` / `quantile`, in exposition or attribute order. */
  readonly labels: readonly LabelPair[];
  readonly origin: Origin;
}

/** What rules see at the end. */
export interface FinishContext {
  readonly contracts: readonly ContractSpec[];
  readonly index: ContractIndex;
  readonly families: ReadonlyMap<string, ObservedFamily>;
}

/**
 * Reports a violation found on one series: the contract, family, series selector and origin come from
 * `s`; `value` is left out when undefined.
 */
export function reportOnSeries(out: ViolationSink, s: SeriesContext, v: { readonly rule: RuleId; readonly label: string; readonly value?: string; readonly message: string }): void {
  out.report({
    rule: v.rule,
    contract: s.owner.contract.id,
    family: s.family.name,
    label: v.label,
    ...(v.value !== undefined ? { value: v.value } : {}),
    message: v.message,
    series: seriesSelector(s.family.name, s.labels),
    ...s.origin,
  });
}

/** A compliance rule; one instance per check run, so it may keep (bounded) state. */
export interface Rule {
  readonly ids: readonly RuleId[];
  onSeries?(s: SeriesContext, out: ViolationSink): void;
  onFinish?(f: FinishContext, out: ViolationSink): void;
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
