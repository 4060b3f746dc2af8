/**
 * OTLP metric names as a Prometheus user sees them after the OTel Collector (its `prometheus` and
 * `prometheusremotewrite` exporters, both through `github.com/prometheus/otlptranslator`), for the two
 * escaping strategies:
 *
 * - `UnderscoreEscapingWithSuffixes` (the default): the name is split into tokens at every character
 *   outside `[a-zA-Z0-9:]`, the unit's Prometheus word is appended unless a token already is it
 *   (`s` → `seconds`, `By` → `bytes`, `ms` → `milliseconds`, `%` → `percent`, `1` and `{annotations}` →
 *   nothing; `X/Y` adds `per_Y`), a monotonic sum loses every `total` token and gets one at the end, a
 *   gauge with unit `1` gets `ratio`, and the tokens are joined with `_`
 *   (`opensandbox.egress.dns.queries` with unit `{query}` → `opensandbox_egress_dns_queries_total`;
 *   `masque_vpn_total_connections` → `masque_vpn_connections_total`).
 * - `UnderscoreEscapingWithoutSuffixes` (what otel-contracts' own collector config uses): every run of
 *   characters outside `[a-zA-Z0-9:_]` becomes one `_`, nothing is appended.
 *
 * Both prefix a name that starts with a digit with `_`.
 */
import type { OtlpMetricKind } from './decode.ts';

/** What the translation needs of an OTLP metric. */
export interface OtlpNameInput {
  readonly name: string;
  /** UCUM unit as sent (`s`, `By`, `{query}`, `1`), or empty. */
  readonly unit: string;
  readonly kind: OtlpMetricKind;
  /** True only for a monotonic sum. */
  readonly isMonotonic: boolean;
}

/** otlptranslator's `unitMap`: UCUM unit → the word a Prometheus name carries. */
export const PROMETHEUS_UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

/** otlptranslator's `perUnitMap`: the unit after `/`. */
const PER_UNIT_WORDS: Readonly<Record<string, string>> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year' };

const VALID = /[a-zA-Z0-9:]/;

/** Replaces characters outside `[a-zA-Z0-9:]` with `_`, collapses runs of `_` and drops a leading one (otlptranslator `cleanUpUnit`). */
function cleanUpUnit(unit: string): string {
  let s = '';
  for (const c of unit) s += VALID.test(c) ? c : '_';
  return s.replace(/_+/g, '_').replace(/^_/, '');
}

/**
 * The main and per-unit suffix words of a UCUM unit, before clean-up (otlptranslator `buildUnitSuffixes`):
 * `By/s` → `bytes`, `per_second`; `{query}` and `1` → nothing; an unknown unit is used as it is.
 */
export function unitSuffixes(unit: string): { readonly main: string; readonly per: string } {
  const [mainPart, perPart] = splitOnce(unit, '/');
  let main = '';
  let per = '';
  const m = mainPart.trim();
  if (m !== '' && !/[{}]/.test(m)) main = PROMETHEUS_UNIT_WORDS[m] ?? m;
  if (perPart !== undefined && perPart !== '') {
    const p = perPart.trim();
    if (p !== '' && !/[{}]/.test(p)) per = PER_UNIT_WORDS[p] ?? p;
    if (per !== '') per = `per_${per}`;
  }
  return { main, per };
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i === -1 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

function withoutLeadingDigit(name: string): string {
  return name !== '' && /[0-9]/.test(name[0] as string) ? `_${name}` : name;
}

/** The name under `UnderscoreEscapingWithoutSuffixes`: runs of characters outside `[a-zA-Z0-9:_]` become one `_`. */
export function escapeWithoutSuffixes(name: string): string {
  const fields = name.split(/[^a-zA-Z0-9:_]+/).filter((f) => f !== '');
  return withoutLeadingDigit(fields.join('_'));
}

/** The name under the collector's default translation, `UnderscoreEscapingWithSuffixes` (otlptranslator `normalizeName`). */
export function collectorDefaultName(m: OtlpNameInput): string {
  let tokens = m.name.split(/[^a-zA-Z0-9:]+/).filter((t) => t !== '');
  const { main, per } = unitSuffixes(m.unit);
  let mainWord = cleanUpUnit(main);
  let perWord = cleanUpUnit(per);
  if (tokens.includes(mainWord)) mainWord = '';
  if (perWord === 'per_') perWord = '';
  else {
    perWord = perWord.replace(/_$/, '');
    if (tokens.includes(perWord)) perWord = '';
  }
  if (perWord !== '') mainWord = mainWord.replace(/_$/, '');
  if (mainWord !== '') tokens.push(mainWord);
  if (perWord !== '') tokens.push(perWord);
  if (m.kind === 'sum' && m.isMonotonic) tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
  if (m.unit === '1' && m.kind === 'gauge') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
  return withoutLeadingDigit(tokens.join('_'));
}

/** A Prometheus (0.0.4) metric name. */
export function isPrometheusName(name: string): boolean {
  return /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name);
}
