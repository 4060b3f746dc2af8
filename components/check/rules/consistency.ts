import type { ContractSpec, ValuesFrom } from '../../../semconv/types.ts';
import { citation } from '../documents.ts';
import { hash53 } from '../hash.ts';
import { seriesSelector, type Origin } from '../model.ts';
import type { OffendingValue } from '../violations.ts';
import type { Rule, SeriesContext } from './rule.ts';
import type { WrongValues } from './verdicts.ts';

/** Distinct values remembered per rule (with one series each); past it, values are only counted. */
const MAX_TRACKED_VALUES = 10_000;
/** Values listed in a finding. */
const LISTED = 10;

/** A label whose values the document ties to another family's (`values_from` in the registry). */
export interface TiedLabel {
  readonly label: string;
  readonly from: ValuesFrom;
}

const tiedCache = new WeakMap<ContractSpec, readonly TiedLabel[]>();

/** The labels of a contract whose values the registry ties to another family ({@link ValuesFrom}), one entry per label name. */
export function tiedLabels(contract: ContractSpec): readonly TiedLabel[] {
  let tied = tiedCache.get(contract);
  if (!tied) {
    const byName = new Map<string, TiedLabel>();
    for (const f of contract.families) for (const l of f.labels) if (l.valuesFrom && !byName.has(l.name)) byName.set(l.name, { label: l.name, from: l.valuesFrom });
    tiedCache.set(contract, (tied = [...byName.values()]));
  }
  return tied;
}

interface Seen {
  readonly value: string;
  readonly series: string;
  readonly origin: Origin;
  count: number;
  readonly families: Set<string>;
}

interface State {
  readonly contract: ContractSpec;
  readonly rule: TiedLabel;
  /** Hashes of the values the reference family reports. */
  readonly reference: Set<number>;
  readonly seen: Map<number, Seen>;
  untracked: number;
}

/** Remembers the tied label's value of one series: in the reference set, or as a value to check at the end. */
function track(st: State, ctx: SeriesContext): void {
  const { label, from } = st.rule;
  const v = ctx.labels.find(([k]) => k === label)?.[1];
  if (v === undefined || v === '' || from.placeholders.includes(v)) return;
  const h = hash53(v);
  if (ctx.family.name === from.family) {
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
}

/**
 * Labels a document ties to another family (`values_from`, {@link tiedLabels}): ops-proxy `client_name` is "the
 * registered routing name", so every `client_name` value on every other ops-proxy family must be one
 * that `ops_proxy_client_up` reports (or a bounded placeholder such as `<unknown>`). A raw Host header
 * recorded on `no_client` errors is caught here, once, as one `label_inconsistent` finding listing the
 * families and the first values with their series; the values are marked wrong so that no budget counts
 * them again. Checked at the end, since the reference family may come after the others.
 */
export function consistencyRule(wrong: WrongValues): Rule {
  const states = new Map<ContractSpec, State[]>();
  const statesOf = (contract: ContractSpec): State[] => {
    let s = states.get(contract);
    if (!s) states.set(contract, (s = tiedLabels(contract).map((rule) => ({ contract, rule, reference: new Set(), seen: new Map(), untracked: 0 }))));
    return s;
  };
  return {
    ids: ['label_inconsistent'],
    onSeries(ctx) {
      for (const st of statesOf(ctx.owner.contract)) track(st, ctx);
    },
    onFinish({ contracts }, out) {
      for (const st of [...states.values()].flat()) {
        const { contract, rule } = st;
        if (!contracts.includes(contract)) continue;
        const bad = [...st.seen].filter(([h]) => !st.reference.has(h));
        if (bad.length === 0) continue;
        for (const [h] of bad) wrong.mark(contract.id, rule.label, h);
        const families = new Set<string>();
        for (const [, s] of bad) for (const f of s.families) families.add(f);
        const values: OffendingValue[] = bad.slice(0, LISTED).map(([, s]) => ({ value: s.value, series: s.series, ...s.origin, count: s.count }));
        const first = bad[0]?.[1] as Seen;
        const more = st.untracked > 0 ? ` (and ${st.untracked} more series not told apart)` : '';
        out.reportWhole({
          rule: 'label_inconsistent',
          contract: contract.id,
          families: [...families],
          label: rule.label,
          value: first.value,
          values,
          distinctValues: bad.length,
          message: `${bad.length} distinct ${rule.label} values are not names that ${rule.from.family} reports${more}: "${rule.from.quote}"`,
          hint: `a raw request value (a Host header) recorded as ${rule.label}: record the matched registered name, or one bounded placeholder (${rule.from.placeholders.join(', ')}) when nothing matches`,
          series: first.series,
          ...first.origin,
          count: bad.reduce((n, [, s]) => n + s.count, 0),
          cite: citation(contract, undefined, 'consistency'),
        });
      }
    },
  };
}
