import type { ContractSpec, InstanceLabelSpec } from './types.ts';

/**
 * The instance labels that go on one family of a contract: those without a `families` scope, and those
 * whose scope names a prefix of the family's name (trc `node_id` on `trc_agent_*` and `trc_edge_*`,
 * seed 002 "Allowed bounded labels (v1)"). Used by the pipeline, the compliance check and the tests alike.
 */
export function instanceLabelsOf(contract: ContractSpec, familyName: string): readonly InstanceLabelSpec[] {
  return contract.instanceLabels.filter((l) => instanceLabelAppliesTo(l, familyName));
}

/** Whether an instance label goes on the family named `familyName` (no scope: every family). */
export function instanceLabelAppliesTo(label: InstanceLabelSpec, familyName: string): boolean {
  return label.families === undefined || label.families.some((prefix) => familyName.startsWith(prefix));
}
