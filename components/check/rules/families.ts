import type { Rule } from './rule.ts';

/**
 * Required families present with the documented TYPE (trc "Compliance tests" 1, applied to every
 * contract: each documented family is required). A family that appears only as `# HELP`/`# TYPE`
 * without samples counts as present. Reports `family_missing` and `family_type` (the exposed TYPE is the value;
 * `untyped` means no `# TYPE` line).
 */
export function requiredFamiliesRule(): Rule {
  return {
    ids: ['family_missing', 'family_type'],
    onFinish({ contracts, families }, out) {
      for (const contract of contracts) {
        for (const spec of contract.families) {
          const f = families.get(spec.name);
          if (!f) {
            out.report({ rule: 'family_missing', contract: contract.id, family: spec.name, message: `documented ${spec.type} is not exposed (${spec.section})` });
          } else if (f.type !== spec.type) {
            const why = f.type === 'untyped' ? ' (no # TYPE line)' : f.type === 'none' ? ' (OTLP metric without data)' : '';
            out.report({
              rule: 'family_type',
              contract: contract.id,
              family: spec.name,
              value: f.type,
              message: `exposed as ${f.type}${why}, documented ${spec.type}`,
              ...f.origin,
            });
          }
        }
      }
    },
  };
}
