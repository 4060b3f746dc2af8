import { hash53 } from '../hash.ts';
import { seriesSelector, type Origin } from '../model.ts';
import { citation } from '../tables/documents.ts';
import { LABEL_CONSISTENCY, type LabelConsistency } from '../tables/label-consistency.ts';
import type { OffendingValue } from '../violations.ts';
import type { Rule } from './rule.ts';
import type { WrongValues } from './verdicts.ts';

/** Distinct values remembered per rule (with one series each); past it, values are only counted. */
const MAX_TRACKED_VALUES = 10_000;
/** Values listed in a finding. */
const LISTED = 10;

interface Seen {
  readonly value: string;
  readonly series: string;
  readonly origin: Origin;
  count: number;
  readonly families: Set<string>;
}

interface State {
  readonly rule: LabelConsistency;
  /** Hashes of the values the reference family reports. */
  readonly reference: Set<number>;
  readonly seen: Map<number, Seen>;
  untracked: number;
}

/**
 * Labels a document ties to another family ({@link LABEL_CONSISTENCY}): ops-proxy `client_name` is "the
 * registered routing name", so every `client_name` value on every other ops-proxy family must be one
 * that `ops_proxy_client_up` reports (or a bounded placeholder such as `<unknown>`). A raw Host header
 * recorded on `no_client` errors is caught here, once, as one `label_inconsistent` finding listing the
 * families and the first values with their series; the values are marked wrong so that no budget counts
 * them again. Checked at the end, since the reference family may come after the others.
 */
export function consistencyRule(wrong: WrongValues): Rule {
  const states = new Map<string, State>();
  const stateOf = (contract: string): State | undefined => {
    let s = states.get(contract);
    if (!s) {
      const rule = LABEL_CONSISTENCY.find((r) => r.contract === contract);
      if (!rule) return undefined;
      s = { rule, reference: new Set(), seen: new Map(), untracked: 0 };
      states.set(contract, s);
    }
    return s;
  };
  return {
    ids: ['label_inconsistent'],
    onSeries(ctx) {
      const st = stateOf(ctx.owner.contract.id);
      if (!st) return;
      const v = ctx.labels.find(([k]) => k === st.rule.label)?.[1];
      if (v === undefined || v === '' || st.rule.placeholders.includes(v)) return;
      const h = hash53(v);
      if (ctx.family.name === st.rule.reference) {
        st.reference.add(h);
        return;
      }
      const known = st.seen.get(h);
      if (known) {
        known.count++;
        if (known.families.size < 100) known.families.add(ctx.family.name);
      } else if (st.seen.size < MAX_TRACKED_VALUES) {
        st.seen.set(h, { value: v, series: seriesSelector(ctx.family.name, ctx.labels), origin: ctx.origin, count: 1, families: new Set([ctx.family.name]) });
      } else st.untracked++;
    },
    onFinish({ contracts }, out) {
      for (const [contractId, st] of states) {
        const contract = contracts.find((c) => c.id === contractId);
        if (!contract) continue;
        const bad = [...st.seen].filter(([h]) => !st.reference.has(h));
        if (bad.length === 0) continue;
        for (const [h] of bad) wrong.mark(contractId, st.rule.label, h);
        const families = new Set<string>();
        for (const [, s] of bad) for (const f of s.families) families.add(f);
        const values: OffendingValue[] = bad.slice(0, LISTED).map(([, s]) => ({ value: s.value, series: s.series, ...s.origin, count: s.count }));
        const first = bad[0]?.[1] as Seen;
        const more = st.untracked > 0 ? ` (and ${st.untracked} more series not told apart)` : '';
        out.reportWhole({
          rule: 'label_inconsistent',
          contract: contractId,
          families: [...families],
          label: st.rule.label,
          value: first.value,
          values,
          distinctValues: bad.length,
          message: `${bad.length} distinct ${st.rule.label} values are not names that ${st.rule.reference} reports${more}: "${st.rule.quote}"`,
          hint: `a raw request value (a Host header) recorded as ${st.rule.label}: record the matched registered name, or one bounded placeholder (${st.rule.placeholders.join(', ')}) when nothing matches`,
          series: first.series,
          ...first.origin,
          count: bad.reduce((n, [, s]) => n + s.count, 0),
          cite: citation(contract, undefined, 'consistency'),
        });
      }
    },
  };
}
