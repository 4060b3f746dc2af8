/**
 * Which documented family an OTLP metric is, matched both ways: from the metric to the contract (its
 * name as sent, then under each collector translation, {@link escapeWithoutSuffixes} and
 * {@link collectorDefaultName}), and from the contract to the metric (each documented name reduced to
 * its base: without its unit word and `total` tokens, compared with the metric's base, so that a
 * histogram sent in `ms` or a counter named without `total` is still found and its unit or name drift
 * reported against the right family).
 */
import type { ContractIndex } from '../model.ts';
import type { FamilySpec } from '../../../semconv/types.ts';
import { observedTypeOf } from './observed-type.ts';
import type { OtlpMetric } from './decode.ts';
import { collectorDefaultName, escapeWithoutSuffixes, isPrometheusName, PROMETHEUS_UNIT_WORDS, type OtlpNameInput } from './translate.ts';

/**
 * How an OTLP metric's name became the family name:
 * - `as-sent`: the name is the documented Prometheus name itself;
 * - `escaping`: `UnderscoreEscapingWithoutSuffixes` turns it into the documented name (dots to underscores);
 * - `default`: the collector's default `UnderscoreEscapingWithSuffixes` does (unit and `_total` suffixes);
 * - `base-name`: no translation does, but its base name (without unit word and `total`) is a documented family's;
 * - `unmatched`: no documented family; named as sent when that is a Prometheus name, else by the default translation.
 */
export type OtlpTranslation = 'as-sent' | 'escaping' | 'default' | 'base-name' | 'unmatched';

/** What became of one OTLP metric's name. */
export interface ResolvedOtlpName {
  /** The family it is counted under. */
  readonly family: string;
  readonly sentName: string;
  /** The unit sent with it. */
  readonly unit: string;
  readonly translation: OtlpTranslation;
  /** The name under `UnderscoreEscapingWithoutSuffixes`. */
  readonly escaped: string;
  /** The name under the collector's default translation. */
  readonly collectorDefault: string;
}

/** Words of a Prometheus unit suffix, to strip from base names. */
const UNIT_WORDS: ReadonlySet<string> = new Set(Object.values(PROMETHEUS_UNIT_WORDS).filter((w) => w !== ''));

function tokens(name: string): string[] {
  return name.split(/[^a-zA-Z0-9:]+/).filter((t) => t !== '');
}

/** The base of a documented name: without `total` tokens (counters) and without its trailing unit word. */
export function documentedBase(spec: FamilySpec): string {
  let t = tokens(spec.name);
  if (spec.type === 'counter') t = t.filter((x) => x !== 'total');
  const word = PROMETHEUS_UNIT_WORDS[spec.unit];
  if (word && t[t.length - 1] === word) t = t.slice(0, -1);
  return t.join('_');
}

/** The base of an OTLP metric's name: without `total` (monotonic sums), a trailing `ratio` (gauges) and a trailing unit word or unit. */
export function otlpBase(m: OtlpNameInput): string {
  let t = tokens(m.name);
  if (m.kind === 'sum' && m.isMonotonic) t = t.filter((x) => x !== 'total');
  if (m.kind === 'gauge' && t[t.length - 1] === 'ratio') t = t.slice(0, -1);
  const last = t[t.length - 1];
  if (last !== undefined && t.length > 1 && (last === m.unit || last === PROMETHEUS_UNIT_WORDS[m.unit] || UNIT_WORDS.has(last))) t = t.slice(0, -1);
  return t.join('_');
}

/** Resolves OTLP metric names against the checked contracts' documented families. */
export class OtlpNameResolver {
  private readonly index: ContractIndex;
  private readonly byBase = new Map<string, FamilySpec[]>();

  constructor(index: ContractIndex) {
    this.index = index;
    for (const { spec } of index.documentedFamilies()) {
      const base = documentedBase(spec);
      const list = this.byBase.get(base) ?? [];
      list.push(spec);
      this.byBase.set(base, list);
    }
  }

  /** The family an OTLP metric counts under and the translation that named it. */
  resolve(m: OtlpMetric): ResolvedOtlpName {
    const escaped = escapeWithoutSuffixes(m.name);
    const collectorDefault = collectorDefaultName(m);
    const out = (family: string, translation: OtlpTranslation): ResolvedOtlpName => ({ family, sentName: m.name, unit: m.unit, translation, escaped, collectorDefault });
    if (this.isDocumented(m.name)) return out(m.name, 'as-sent');
    if (this.isDocumented(escaped)) return out(escaped, 'escaping');
    if (this.isDocumented(collectorDefault)) return out(collectorDefault, 'default');
    const byBase = this.byBaseName(m);
    if (byBase) return out(byBase, 'base-name');
    return out(isPrometheusName(m.name) ? m.name : collectorDefault, 'unmatched');
  }

  private isDocumented(name: string): boolean {
    return this.index.ownerOf(name)?.spec !== undefined;
  }

  /** The one documented family with the metric's base name (a type-compatible one when several share it). */
  private byBaseName(m: OtlpMetric): string | undefined {
    const candidates = this.byBase.get(otlpBase(m));
    if (!candidates || candidates.length === 0) return undefined;
    if (candidates.length === 1) return (candidates[0] as FamilySpec).name;
    const type = observedTypeOf(m);
    const compatible = candidates.filter((c) => c.type === type);
    return compatible.length === 1 ? (compatible[0] as FamilySpec).name : undefined;
  }
}
