import { hostname } from 'node:os';
import { instanceLabelAppliesTo } from '../semconv/instance-scope.ts';
import type { ContractSpec } from '../semconv/types.ts';

/**
 * Values of a contract's instance labels (egress `instance_id`; ops-proxy `node`, `pod`; trc `node_id`),
 * read once from the environment with the registry's fallback: the hostname, an empty value, or (for
 * `omit`, trc `node_id` from `TRC_NODE_ID`) no label at all. A scoped label none of the contract's
 * families takes (trc `node_id` in a contract reduced to its HTTP families) is left out.
 * Seed 000 "Instance identification"; seed 001 notes; seed 002 "Allowed bounded labels (v1)".
 */
export function resolveInstanceLabels(contract: ContractSpec, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of contract.instanceLabels) {
    if (!contract.families.some((f) => instanceLabelAppliesTo(l, f.name))) continue;
    const v = env[l.env];
    if (v !== undefined && v !== '') out[l.name] = v;
    else if (l.fallback === 'hostname') out[l.name] = hostname();
    else if (l.fallback === 'empty') out[l.name] = '';
  }
  return out;
}

/**
 * The resolved instance labels (from {@link resolveInstanceLabels}) that go on one family: a scoped label
 * (trc `node_id`) only on the families its registry entry names. Seed 002 "Allowed bounded labels (v1)".
 */
export function instanceLabelsForFamily(contract: ContractSpec, familyName: string, resolved: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of contract.instanceLabels) {
    const v = resolved[l.name];
    if (v !== undefined && instanceLabelAppliesTo(l, familyName)) out[l.name] = v;
  }
  return out;
}
