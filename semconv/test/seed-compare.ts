import { instanceLabelsOf } from '../instance-scope.ts';
import type { ContractSpec } from '../types.ts';
import type { SeedLabels } from './seed-labels.ts';

/**
 * Compares a contract's families with the labels its seed document lists, label by label, and returns
 * one finding per difference (empty when the registry keeps the seed):
 * - a label the seed lists on a family that the registry neither documents on it nor puts on it as an
 *   instance label;
 * - an enum member the seed lists that the label's members lack (the registry may add members the
 *   seed leaves open, e.g. egress `l2_deny`, never drop one);
 * - a label the seed marks "Optional" that the registry makes required;
 * - a label the registry documents on a family that the seed does not list there.
 */
export function compareWithSeed(contract: ContractSpec, seed: SeedLabels): string[] {
  const findings: string[] = [];
  const byName = new Map(contract.families.map((f) => [f.name, f]));
  for (const [name, labels] of seed) {
    const family = byName.get(name);
    if (!family) {
      findings.push(`${name}: the seed documents this family; the registry has no such family`);
      continue;
    }
    const instance = new Set(instanceLabelsOf(contract, name).map((l) => l.name));
    for (const [label, stated] of labels) {
      const spec = family.labels.find((l) => l.name === label);
      if (!spec) {
        if (!instance.has(label)) findings.push(`${name}: the seed lists label "${label}"; the registry does not document it on this family`);
        continue;
      }
      if (stated.optional && spec.required) findings.push(`${name}{${label}}: the seed says Optional; the registry makes it required`);
      if (stated.members.length === 0) continue;
      if (!spec.values) {
        findings.push(`${name}{${label}}: the seed lists members ${stated.members.join(', ')}; the registry leaves the label unbounded`);
        continue;
      }
      for (const m of stated.members) {
        if (!spec.values.includes(m)) findings.push(`${name}{${label}}: the seed lists member "${m}"; the registry's members are ${spec.values.join(', ')}`);
      }
    }
    for (const l of family.labels) {
      if (!labels.has(l.name)) findings.push(`${name}: the registry documents label "${l.name}"; the seed does not list it on this family`);
    }
  }
  return findings;
}
