import type { ContractSpec } from '../../../semconv/types.ts';
import type { ObservedFamily } from '../model.ts';
import { citation } from '../documents.ts';
import type { ViolationSink } from '../violations.ts';
import { renameHint, type RenameMatch } from './rename-hints.ts';
import type { Rule } from './rule.ts';

/** One `family_renamed` finding per rename drift (`masque_vpn_` → `vpn_server_` on every family it renamed). */
function reportRenames(contract: ContractSpec, matches: readonly RenameMatch[], families: ReadonlyMap<string, ObservedFamily>, out: ViolationSink): void {
  const byDrift = new Map<string, RenameMatch[]>();
  for (const m of matches) byDrift.set(m.drift, [...(byDrift.get(m.drift) ?? []), m]);
  for (const unsorted of byDrift.values()) {
    const list = [...unsorted].sort((a, b) => a.documented.localeCompare(b.documented));
    const first = list[0] as RenameMatch;
    const specs = contract.families.filter((f) => list.some((m) => m.documented === f.name));
    const cite = citation(contract, specs[0], 'catalogue');
    const sections = [...new Set([...specs.map((f) => f.section), ...cite.sections])];
    const what = first.how === 'collector-default' ? "the names the collector's default translation gives them" : `the same suffix and TYPE${first.note ? ` (${first.note})` : ''}, under ${first.drift.split(';')[0]}`;
    out.reportWhole({
      rule: 'family_renamed',
      contract: contract.id,
      families: list.flatMap((m) => [m.documented, m.candidate]),
      value: first.candidate,
      values: list.slice(0, 10).map((m) => ({ value: `${m.documented} -> ${m.candidate}`, ...families.get(m.candidate)?.origin, count: 1 })),
      distinctValues: list.length,
      message: `${list.length} documented ${list.length === 1 ? 'family is' : 'families are'} not exposed, and families with ${what} are: likely renamed`,
      hint: list.length === 1 ? renameHint(first) : `${renameHint(first).replace(/^likely renamed to/, `${first.documented} likely renamed to`)}; ${list.length - 1} more alike`,
      count: list.length,
      cite: { document: cite.document, sections },
      ...families.get(first.candidate)?.origin,
    });
  }
}

/**
 * Required documented families are there (the trc spec's first compliance test, applied to every
 * contract; a family with only `# HELP`/`# TYPE` lines counts as present). A required family that is
 * absent is `family_not_observed`: absent is not the same as not implemented, since client_golang leaves
 * a labelled family (a `*Vec`) out of the exposition until its first event and an OTel SDK exports
 * nothing for an instrument never recorded; it stays a violation unless the run allows it
 * (`--allow-unobserved`). Documented families that are absent while undocumented families look like
 * their renames are `family_renamed`, one finding per rename drift listing each pair, whether the
 * families are required or not: that is drift, never allowed.
 */
export function presenceRule(): Rule {
  return {
    ids: ['family_not_observed', 'family_renamed'],
    onFinish({ contracts, families, plan, renames }, out) {
      for (const contract of contracts) {
        reportRenames(contract, [...renames.byDocumented.values()].filter((m) => m.contract === contract.id), families, out);
        for (const spec of contract.families) {
          if (families.has(spec.name)) continue;
          if (renames.byDocumented.has(spec.name)) continue;
          if (plan.notRequired(spec)) continue;
          const why = spec.labels.length > 0 ? 'labelled: a client may leave it out until its first event' : 'unlabelled: clients expose it from registration, so it is likely not implemented';
          out.report({
            rule: 'family_not_observed',
            contract: contract.id,
            family: spec.name,
            message: `documented ${spec.type} not observed (${why})`,
            cite: citation(contract, spec, 'requiredFamilies'),
          });
        }
      }
    },
  };
}
