import type { Rule } from './rule.ts';

/**
 * Families under a checked contract's prefix that the contract does not document (a renamed family,
 * a leftover, an unit suffix appended by an exporter). Reports `family_undocumented` with the exposed TYPE.
 */
export function undocumentedFamiliesRule(): Rule {
  return {
    ids: ['family_undocumented'],
    onFinish({ index, families }, out) {
      for (const f of families.values()) {
        const owner = index.ownerOf(f.name);
        if (!owner || owner.spec) continue;
        out.report({
          rule: 'family_undocumented',
          contract: owner.contract.id,
          family: f.name,
          value: f.type,
          message: `${f.type} family under the prefix ${owner.contract.prefix} is not in the ${owner.contract.id} contract`,
          ...f.origin,
        });
      }
    },
  };
}
