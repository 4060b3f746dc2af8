import { citation } from '../documents.ts';
import { isForbiddenLabelName } from './forbidden-labels.ts';
import { instanceLabelNames, PROMETHEUS_TARGET_LABELS, reportOnSeries, type Rule } from './rule.ts';

/**
 * Label keys of documented families: every required documented label present (an empty value counts
 * as absent, as in Prometheus; labels the document marks optional are never required), and no label
 * the contract does not document. The contract's instance labels (egress `instance_id`, ops-proxy
 * `node` and `pod`, trc `node_id` on agent and edge families) and the `instance`/`job` labels a
 * Prometheus server adds are fine; a label the contract forbids by name is left to `label_forbidden`.
 * Reports `label_missing` (label named) and `label_undocumented` (label and value named), one finding
 * per label listing every family it affects (an added `namespace` on 22 families is one drift).
 */
export function labelKeysRule(): Rule {
  return {
    ids: ['label_missing', 'label_undocumented'],
    onSeries(s, out) {
      const { owner, labels } = s;
      const spec = owner.spec;
      if (!spec) return;
      const instance = instanceLabelNames(owner.contract, s.family.name);
      for (const l of spec.labels) {
        if (!l.required) continue;
        if (labels.some(([k, v]) => k === l.name && v !== '')) continue;
        reportOnSeries(out, s, { rule: 'label_missing', label: l.name, drift: l.name, message: `required label "${l.name}" is absent (${l.brief})`, cite: citation(owner.contract, spec) });
      }
      for (const [k, v] of labels) {
        if (instance.has(k) || PROMETHEUS_TARGET_LABELS.has(k)) continue;
        if (spec.labels.some((l) => l.name === k)) continue;
        if (isForbiddenLabelName(owner.contract, k)) continue; // label_forbidden reports it
        const inst = owner.contract.instanceLabels.map((l) => l.name);
        reportOnSeries(out, s, {
          rule: 'label_undocumented',
          label: k,
          value: v,
          drift: k,
          message: `"${k}" is neither a documented label of the family nor one of the contract's instance labels (${inst.length ? inst.join(', ') : 'it has none'})`,
          cite: citation(owner.contract, spec, 'instanceLabels'),
        });
      }
    },
  };
}
