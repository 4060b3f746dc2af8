import type { FamilySpec } from '../../../semconv/types.ts';
import type { ObservedFamily, UnitObservation } from '../model.ts';
import { PROMETHEUS_UNIT_WORDS } from '../otlp/translate.ts';
import { citation } from '../documents.ts';
import type { Rule } from './rule.ts';

/**
 * True when an OTLP unit is the documented UCUM unit: the same string, or, for a documented `1`, a
 * UCUM annotation alone (`{query}` is a dimensionless count). An empty unit is not `1`: it says nothing.
 */
export function unitMatches(sent: string, documented: string): boolean {
  if (sent === documented) return true;
  return documented === '1' && /^\{[^{}]*\}$/.test(sent);
}

/** True when a `# UNIT` word is the Prometheus word of the documented unit (empty for `1`). */
export function unitWordMatches(word: string, documented: string): boolean {
  return word === (PROMETHEUS_UNIT_WORDS[documented] ?? documented);
}

function describeSent(f: ObservedFamily, u: UnitObservation): string {
  if (u.source === 'unit-line') return `declared with "# UNIT" ${u.unit === '' ? '"" (none)' : `"${u.unit}"`}`;
  const baseName = [...f.otlpNames.values()].some((r) => r.translation === 'base-name');
  return `sent over OTLP with unit ${u.unit === '' ? '"" (none)' : `"${u.unit}"`}${baseName ? ' (matched by base name: no collector translation gives the documented name with this unit)' : ''}`;
}

function expected(spec: FamilySpec, u: UnitObservation): string {
  if (u.source === 'unit-line') return `"${PROMETHEUS_UNIT_WORDS[spec.unit] ?? spec.unit}" (UCUM ${spec.unit})`;
  return spec.unit === '1' ? '"1" (or a {annotation})' : `"${spec.unit}"`;
}

/**
 * Units of documented families against the registry's: an OTLP metric's `unit` (a histogram pushed in
 * `ms`, a counter with no unit), and a `# UNIT` line where an exposition has one. Two units sent under
 * one family name (merged by the translation) are each checked and the message says so. Reports
 * `unit_mismatch` with the unit as the value, one finding per (unit, documented unit) pair listing the
 * families.
 */
export function unitsRule(): Rule {
  return {
    ids: ['unit_mismatch'],
    onFinish({ index, families }, out) {
      for (const f of families.values()) {
        const owner = index.ownerOf(f.name);
        const spec = owner?.spec;
        if (!owner || !spec) continue;
        for (const u of f.units.values()) {
          const ok = u.source === 'otlp' ? unitMatches(u.unit, spec.unit) : unitWordMatches(u.unit, spec.unit);
          if (ok) continue;
          const merged = f.units.size > 1 ? `; ${f.units.size} different units were sent under this one name and merged` : '';
          out.report({
            rule: 'unit_mismatch',
            contract: owner.contract.id,
            family: f.name,
            value: u.unit,
            drift: `${u.source}\u0000${u.unit}\u0000${spec.unit}`,
            message: `${describeSent(f, u)}; documented ${expected(spec, u)}${merged}`,
            cite: citation(owner.contract, spec, 'naming'),
            ...u.origin,
          });
        }
      }
    },
  };
}
