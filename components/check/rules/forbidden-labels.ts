import type { ContractSpec, ForbiddenLabelSpec } from '../../../semconv/types.ts';
import { seriesSelector } from '../model.ts';
import { instanceLabelNames, type Rule } from './rule.ts';

interface Compiled {
  readonly byName: ReadonlyMap<string, ForbiddenLabelSpec>;
  readonly patterns: readonly { readonly spec: ForbiddenLabelSpec; readonly re: RegExp }[];
}

const compiled = new WeakMap<ContractSpec, Compiled>();

function compile(contract: ContractSpec): Compiled {
  let c = compiled.get(contract);
  if (!c) {
    const byName = new Map<string, ForbiddenLabelSpec>();
    for (const f of contract.forbiddenLabels) for (const n of f.labelNames) byName.set(n, f);
    const patterns = contract.forbiddenLabels.filter((f) => f.valuePattern).map((spec) => ({ spec, re: new RegExp(spec.valuePattern as string) }));
    c = { byName, patterns };
    compiled.set(contract, c);
  }
  return c;
}

/** True when the contract forbids a label by this name (reported by `label_forbidden`, not `label_undocumented`). */
export function isForbiddenLabelName(contract: ContractSpec, name: string): boolean {
  return contract.forbiddenLabels.length > 0 && compile(contract).byName.has(name);
}

/**
 * The contract's forbidden labels (trc "Forbidden labels": raw hostname, full URL / query string,
 * instance_id, user id / email, error messages, idempotency keys, secret-like values) are absent from
 * every family under its prefix, documented or not: by label name, and by value pattern under any label.
 * A label the family documents, or one of the contract's instance labels, is not flagged by name.
 * Reports `label_forbidden` naming the forbidden-label id, the label and the value.
 */
export function forbiddenLabelsRule(): Rule {
  return {
    ids: ['label_forbidden'],
    onSeries({ family, owner, labels, origin }, out) {
      if (owner.contract.forbiddenLabels.length === 0) return;
      const { byName, patterns } = compile(owner.contract);
      const instance = instanceLabelNames(owner.contract);
      for (const [k, v] of labels) {
        const named = byName.get(k);
        if (named && !instance.has(k) && !owner.spec?.labels.some((l) => l.name === k)) {
          out.report({
            rule: 'label_forbidden',
            contract: owner.contract.id,
            family: family.name,
            label: k,
            value: v,
            message: `forbidden label "${k}" (${named.id}: ${named.brief})`,
            series: seriesSelector(family.name, labels),
            ...origin,
          });
          continue;
        }
        for (const { spec, re } of patterns) {
          if (v === '' || !re.test(v)) continue;
          out.report({
            rule: 'label_forbidden',
            contract: owner.contract.id,
            family: family.name,
            label: k,
            value: v,
            message: `value of "${k}" looks like a forbidden ${spec.id} (${spec.brief})`,
            series: seriesSelector(family.name, labels),
            ...origin,
          });
          break;
        }
      }
    },
  };
}
