import { citation } from '../documents.ts';
import { acceptedTypes } from '../model.ts';
import type { Rule } from './rule.ts';

/**
 * Present documented families have a TYPE their document gives them: the registry's TYPE, or any of
 * the alternatives the document lists ("Histogram / Summary" is right as either). Reports `family_type`
 * with the exposed TYPE as the value (`untyped`: no `# TYPE` line; `none`: an OTLP metric without
 * data), one finding per (exposed, documented) pair listing the families.
 */
export function familyTypeRule(): Rule {
  return {
    ids: ['family_type'],
    onFinish({ contracts, families }, out) {
      for (const contract of contracts) {
        for (const spec of contract.families) {
          const f = families.get(spec.name);
          if (!f) continue;
          const accepted = acceptedTypes(spec);
          if (accepted.includes(f.type)) continue;
          const why = f.type === 'untyped' ? ' (no # TYPE line)' : f.type === 'none' ? ' (OTLP metric without data)' : '';
          out.report({
            rule: 'family_type',
            contract: contract.id,
            family: spec.name,
            value: f.type,
            drift: `${f.type}\u0000${accepted.join('/')}`,
            message: `exposed as ${f.type}${why}, documented ${accepted.join(' or ')}`,
            cite: citation(contract, spec),
            ...f.origin,
          });
        }
      }
    },
  };
}
