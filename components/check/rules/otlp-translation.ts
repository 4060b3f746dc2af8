import type { ContractSpec } from '../../../semconv/types.ts';
import type { ObservedFamily } from '../model.ts';
import type { ResolvedOtlpName } from '../otlp/resolve-name.ts';
import { unitMatches } from './units.ts';
import { citation } from '../documents.ts';
import type { Rule } from './rule.ts';
import type { ViolationSink } from '../violations.ts';

/** The collector translation strategies that give a resolved metric its documented name. */
export function fittingStrategies(r: ResolvedOtlpName): { readonly withoutSuffixes: boolean; readonly withSuffixes: boolean } {
  return { withoutSuffixes: r.escaped === r.family, withSuffixes: r.collectorDefault === r.family };
}

interface Matched {
  readonly family: string;
  readonly r: ResolvedOtlpName;
}

interface Split {
  /** Names right only under UnderscoreEscapingWithoutSuffixes. */
  readonly onlyWithout: Matched[];
  /** Names right only under the default UnderscoreEscapingWithSuffixes. */
  readonly onlyWith: Matched[];
  /** Names matched by base name, that no translation makes documented (with the right unit). */
  readonly neither: Matched[];
}

function split(contract: ContractSpec, families: ReadonlyMap<string, ObservedFamily>): Split {
  const out: Split = { onlyWithout: [], onlyWith: [], neither: [] };
  for (const spec of contract.families) {
    const f = families.get(spec.name);
    if (!f) continue;
    for (const r of f.otlpNames.values()) {
      // A unit that differs is the unit rule's finding (the name then differs too, under the default translation).
      if (!unitMatches(r.unit, spec.unit)) continue;
      const fit = fittingStrategies(r);
      if (r.translation === 'base-name') out.neither.push({ family: spec.name, r });
      else if (fit.withoutSuffixes && !fit.withSuffixes) out.onlyWithout.push({ family: spec.name, r });
      else if (fit.withSuffixes && !fit.withoutSuffixes) out.onlyWith.push({ family: spec.name, r });
    }
  }
  return out;
}

function reportMixed(contract: ContractSpec, s: Split, families: ReadonlyMap<string, ObservedFamily>, out: ViolationSink): void {
  const affected = [...s.onlyWithout, ...s.onlyWith].map((m) => m.family);
  const without = s.onlyWithout.map((m) => `${m.r.sentName} (the default gives ${m.r.collectorDefault})`).join(', ');
  const withSuffixes = s.onlyWith.map((m) => `${m.r.sentName} (without suffixes: ${m.r.escaped})`).join(', ');
  out.reportWhole({
    rule: 'otlp_translation',
    contract: contract.id,
    families: affected,
    value: `${s.onlyWithout.length} need UnderscoreEscapingWithoutSuffixes, ${s.onlyWith.length} need UnderscoreEscapingWithSuffixes`,
    message:
      `no one collector translation gives every documented name: ${without} come out right only without suffixes ` +
      `(translation_strategy: UnderscoreEscapingWithoutSuffixes); ${withSuffixes} only with them (the default, UnderscoreEscapingWithSuffixes)`,
    hint: 'send every metric under its documented Prometheus name (it passes UnderscoreEscapingWithoutSuffixes unchanged), or name and unit them all for the default translation',
    count: affected.length,
    cite: citation(contract, undefined, 'catalogue'),
    ...(families.get(affected[0] as string)?.origin ?? {}),
  });
}

/**
 * OTLP names against the collector's translations (names sent with a unit other than the documented one
 * are left to `unit_mismatch`, since the unit is the drift) (`--otlp-listen` only). A push is right when one
 * translation strategy turns every name into its documented name; the report says which one. Reports
 * `otlp_translation` once per contract when the matched names need different strategies (an OTel-named
 * counter needs the default's `_total` while a gauge with unit `1` would get the default's `_ratio`), and
 * once for the metrics matched only by base name (no translation gives their documented name: a counter
 * named without `total` where the document's `total` is not last, a gauge with a `ratio`).
 */
export function otlpTranslationRule(): Rule {
  return {
    ids: ['otlp_translation'],
    onFinish({ contracts, families }, out) {
      for (const contract of contracts) {
        const s = split(contract, families);
        if (s.onlyWithout.length > 0 && s.onlyWith.length > 0) reportMixed(contract, s, families, out);
        for (const { family, r } of s.neither) {
          const spec = contract.families.find((x) => x.name === family);
          out.report({
            rule: 'otlp_translation',
            contract: contract.id,
            family,
            value: r.sentName,
            drift: 'base-name',
            message: `sent as ${r.sentName}: the collector's default translation gives ${r.collectorDefault}, UnderscoreEscapingWithoutSuffixes gives ${r.escaped}, neither is the documented name`,
            cite: citation(contract, spec, 'catalogue'),
            ...families.get(family)?.origin,
          });
        }
      }
    },
  };
}
