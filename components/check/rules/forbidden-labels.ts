import type { ContractSpec, ForbiddenLabelSpec } from '../../../semconv/types.ts';
import { citation } from '../documents.ts';
import { instanceLabelNames, reportOnSeries, type Rule } from './rule.ts';

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
 * A label the family documents, or one of the contract's instance labels, is not flagged by name; a
 * forbidden value under a documented label marks the series wrong, so no budget counts it again.
 * Reports `label_forbidden` naming the forbidden-label id, the label and the value, one finding per
 * label and forbidden-label id listing every family.
 */
export function forbiddenLabelsRule(): Rule {
  return {
    ids: ['label_forbidden'],
    onSeries(s, out) {
      const { owner } = s;
      if (owner.contract.forbiddenLabels.length === 0) return;
      const { byName, patterns } = compile(owner.contract);
      const instance = instanceLabelNames(owner.contract, s.family.name);
      const cite = citation(owner.contract, owner.spec, 'forbiddenLabels');
      for (const [k, v] of s.labels) {
        const report = (id: string, message: string) => reportOnSeries(out, s, { rule: 'label_forbidden', label: k, value: v, message, cite, drift: `${k}\u0000${id}` });
        const named = byName.get(k);
        if (named && !instance.has(k) && !owner.spec?.labels.some((l) => l.name === k)) {
          report(`name:${named.id}`, `forbidden label "${k}" (${named.id}: ${named.brief})`);
          continue;
        }
        const shaped = v === '' ? undefined : patterns.find(({ re }) => re.test(v));
        if (!shaped) continue;
        if (owner.spec?.labels.some((l) => l.name === k)) s.verdict.wrong = true;
        report(`value:${shaped.spec.id}`, `value of "${k}" looks like a forbidden ${shaped.spec.id} (${shaped.spec.brief})`);
      }
    },
  };
}
