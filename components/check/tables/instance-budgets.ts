/**
 * Budgets of the contracts' instance labels, the only open-ended labels the registry gives no
 * `cardinality_limit` (every documented `type: string` label has one). An instance label names the one
 * instance a target is: a target showing more values mixes instances, which the documents forbid
 * (egress: "metrics must be distinguishable per instance and must not be mixed in the same time
 * series"), or is an aggregation point, which should be checked instance by instance.
 */

/** One instance label's budget: distinct values per checked target. */
export interface InstanceLabelBudget {
  readonly contract: string;
  readonly label: string;
  readonly budget: number;
  /** The document's words, quoted verbatim. */
  readonly quote: string;
}

/** egress `instance_id`, ops-proxy `node` and `pod`, trc `node_id`. */
export const INSTANCE_LABEL_BUDGETS: readonly InstanceLabelBudget[] = [
  { contract: 'egress', label: 'instance_id', budget: 1, quote: 'metrics must be distinguishable per instance and must not be mixed in the same time series' },
  { contract: 'ops-proxy', label: 'node', budget: 1, quote: 'Most metrics include `node` and `pod` labels for scoping in Kubernetes.' },
  { contract: 'ops-proxy', label: 'pod', budget: 1, quote: 'Most metrics include `node` and `pod` labels for scoping in Kubernetes.' },
  { contract: 'trc', label: 'node_id', budget: 1, quote: '`node_id` (bounded by cluster size)' },
];

/** The budget of an instance label, or undefined when the table has none. */
export function instanceLabelBudget(contract: string, label: string): InstanceLabelBudget | undefined {
  return INSTANCE_LABEL_BUDGETS.find((b) => b.contract === contract && b.label === label);
}
