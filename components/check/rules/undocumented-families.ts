import { citation, documentOf } from '../documents.ts';
import type { Rule } from './rule.ts';

const TIME_WORDS = new Set(['ms', 'milliseconds', 'millis', 'us', 'microseconds', 'ns', 'nanoseconds', 'minutes', 'hours', 'days']);
const SIZE_WORDS = new Set(['kb', 'kilobytes', 'kib', 'kibibytes', 'mb', 'megabytes', 'mib', 'gb', 'gigabytes', 'bits']);

/**
 * What an undocumented name breaks of a document's naming conventions (trc: "Use `_total` suffix for
 * counters", "Use `_seconds` suffix for durations", "Use `_bytes` suffix for byte sizes"), or undefined.
 */
export function namingRemark(name: string, type: string): string | undefined {
  const last = name.split('_').pop() ?? '';
  if (TIME_WORDS.has(last)) return `durations use the _seconds suffix, not _${last}`;
  if (SIZE_WORDS.has(last)) return `byte sizes use the _bytes suffix, not _${last}`;
  if (type === 'counter' && last !== 'total') return 'counters use the _total suffix';
  return undefined;
}

/**
 * Families under a checked contract's prefix that the contract does not document (a leftover, an
 * exporter's unit suffix), other than those already reported as a documented family's rename. Reports
 * `family_undocumented` with the exposed TYPE; where the document states naming rules (trc), the
 * message says which one the name breaks.
 */
export function undocumentedFamiliesRule(): Rule {
  return {
    ids: ['family_undocumented'],
    onFinish({ index, families, renames }, out) {
      for (const f of families.values()) {
        const owner = index.ownerOf(f.name);
        if (!owner || owner.spec || renames.byCandidate.has(f.name)) continue;
        const naming = documentOf(owner.contract).sections.naming ? namingRemark(f.name, f.type) : undefined;
        const sent = [...f.otlpNames.keys()].filter((n) => n !== f.name);
        out.report({
          rule: 'family_undocumented',
          contract: owner.contract.id,
          family: f.name,
          value: f.type,
          message: `${f.type} family under the prefix ${owner.contract.prefix} is not in the ${owner.contract.id} contract${sent.length ? ` (sent over OTLP as ${sent.join(', ')})` : ''}${naming ? `; it also breaks the naming conventions: ${naming}` : ''}`,
          cite: citation(owner.contract, undefined, naming ? 'naming' : 'catalogue'),
          ...f.origin,
        });
      }
    },
  };
}
