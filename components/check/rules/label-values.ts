import type { LabelSpec } from '../../../semconv/types.ts';
import { citation } from '../documents.ts';
import { reportOnSeries, type Rule } from './rule.ts';

const sets = new WeakMap<LabelSpec, ReadonlySet<string>>();

function valuesOf(l: LabelSpec): ReadonlySet<string> | undefined {
  if (!l.values) return undefined;
  let s = sets.get(l);
  if (!s) {
    s = new Set(l.values);
    sets.set(l, s);
  }
  return s;
}

function listed(values: readonly string[]): string {
  return values.length <= 12 ? values.join(', ') : `${values.slice(0, 12).join(', ')}, ... (${values.length} values)`;
}

/**
 * Bounded label values stay inside their documented enums. A trc `reason` label is reported as
 * `reason_enum`: the scheduler's unschedulable reasons and the agent's failure reason codes must be
 * exactly the spec's lists (trc "Compliance tests" 3 and 4); every other bounded label as
 * `label_value_enum`. One finding per label and enum, listing the families and the wrong values. The
 * series is marked wrong, so no budget counts it again. Empty values count as absent and are left to
 * `label_missing`.
 */
export function labelValuesRule(): Rule {
  return {
    ids: ['label_value_enum', 'reason_enum'],
    onSeries(s, out) {
      const spec = s.owner.spec;
      if (!spec) return;
      for (const [k, v] of s.labels) {
        if (v === '') continue;
        const l = spec.labels.find((x) => x.name === k);
        const allowed = l && valuesOf(l);
        if (!l || !allowed || allowed.has(v)) continue;
        s.verdict.wrong = true;
        const reason = k === 'reason' && s.owner.contract.id === 'trc';
        const enumList = listed(l.values ?? []);
        reportOnSeries(out, s, {
          rule: reason ? 'reason_enum' : 'label_value_enum',
          label: k,
          value: v,
          drift: `${k}\u0000${enumList}`,
          message: reason ? `not one of the documented reasons: ${enumList}` : `outside the documented enum of ${k}: ${enumList}`,
          cite: citation(s.owner.contract, spec, reason ? 'reasons' : undefined),
        });
      }
    },
  };
}
