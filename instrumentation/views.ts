import type { Attributes } from '@opentelemetry/api';
import { AggregationType, type IAttributesProcessor, type ViewOptions } from '@opentelemetry/sdk-metrics';
import type { ContractSpec, FamilySpec } from '../semconv/types.ts';
import { HISTOGRAM_LABELS, HISTOGRAM_START, HISTOGRAM_VALUE, NO_HISTOGRAM, UNREPORTED } from './series-point.ts';

/** The attribute key the SDK and the recorders' overflow series use when a family exceeds its series budget. */
export const OVERFLOW_LABEL = 'otel_metric_overflow';

/**
 * What marks the recorders' attribute sets and series handles: an inherited symbol-keyed property, read
 * with one property load (`Object.getPrototypeOf` is a runtime call in optimised code, about 200
 * instructions per histogram record through the Views' allow-list). Its value says which of the two an
 * object is; any other attribute set has none.
 */
const BRAND: unique symbol = Symbol('otel-contracts.trusted');
const SET = 1;
const SERIES = 2;
type Branded = { readonly [BRAND]?: typeof SET | typeof SERIES };
/** On each family's base (see {@link trustedAttributeSets}): the base itself, so a set reaches it with one property load. */
const BASE: unique symbol = Symbol('otel-contracts.base');

/**
 * The root of every attribute set the recorders built and validated. A set's own keys are its series'
 * labels; its prototype, a frozen per-family base (see {@link trustedAttributeSets}), holds the family's constant instance
 * labels (egress `instance_id`, ops-proxy `node`, `pod`) as inherited keys, whose prototype is this root.
 * The SDK hashes own keys only, so a record pays nothing for the constant labels; the exposition
 * (`labelString`) and the OTLP export ({@link flattenAttributes}) write them. The Views' allow-list recognises
 * such sets by the {@link BRAND} this root carries and passes them through untouched: being trusted costs a
 * series no memory. Histogram recorders hand the SDK a series handle instead (see {@link seriesHandles}).
 */
const TRUSTED = Object.freeze(Object.create(Object.prototype, { [BRAND]: { value: SET } }) as object);

/**
 * What a counter or gauge family's attribute set points to (see {@link seriesPointOf}): the series'
 * cumulative point, which the recorder buffers into and the series store exports.
 */
const POINT: unique symbol = Symbol('otel-contracts.point');

/**
 * The maker of one family's attribute sets: each is a frozen set of a series' own labels (validated,
 * documented keys only, in the order the exposition writes them) over a frozen base holding the family's
 * constant instance labels, written before the own ones. `point`, when given, is the series' point (see
 * {@link seriesPointOf}), kept under a symbol key the SDK's hash and the writers never read. Sets it makes are
 * returned as they are by {@link createContractAllowList}. Only the recorders call this, once per family, and
 * the maker once per series.
 */
export function trustedAttributeSets(constant: Readonly<Record<string, string>>): (own: Readonly<Record<string, string>>, point?: object) => Attributes {
  const base = Object.assign(Object.create(TRUSTED) as Record<string, string>, constant);
  Object.defineProperty(base, BASE, { value: base });
  Object.freeze(base);
  // A constructor per family keeps the own labels in-object; Object.create(base) would give each set a
  // separate property store, about 20 bytes more per series.
  function AttributeSet(this: Record<string | symbol, unknown>, own: Readonly<Record<string, string>>, point: object | undefined): void {
    for (const k in own) this[k] = own[k] as string;
    if (point !== undefined) this[POINT] = point;
  }
  AttributeSet.prototype = base;
  const Make = AttributeSet as unknown as new (own: Readonly<Record<string, string>>, point: object | undefined) => Attributes;
  return (own, point) => Object.freeze(new Make(own, point));
}

/**
 * The prototype of every series handle (see {@link seriesHandles}); a handle's own keys are {@link SERIES_HANDLE}
 * and, under symbol keys, its series' attribute set and cumulative state (see `HistogramSeries`).
 */
const HANDLE = Object.freeze(Object.create(Object.prototype, { [BRAND]: { value: SERIES } }) as object);

/**
 * The one string key of a series handle: the SDK aggregates by it (one series per value within an
 * instrument) and no writer exports it. One character, because the SDK stringifies it on every record;
 * not a valid Prometheus label name, so it cannot clash with a documented label.
 */
export const SERIES_HANDLE = '#';

/**
 * The maker of one histogram family's series handles: what its recorder hands the SDK on every record
 * instead of the series' attribute set. The SDK hashes a set's own string keys per record (sort +
 * JSON.stringify, about 450 ns for three labels); a handle has one, {@link SERIES_HANDLE}, numbered per
 * family, and holds its attribute set (a {@link trustedAttributeSets} set) and the series' cumulative state
 * (start time and buckets, which the series store folds the SDK's reports into: a `HistogramSeries`) under
 * symbol keys, which the SDK's hash ignores. The writers export the set's labels and never the handle (see
 * {@link seriesLabelsOf}), and the Views' allow-list passes handles through untouched. 56 bytes per series,
 * buckets aside.
 */
export function seriesHandles(): (labels: Attributes) => Attributes {
  function SeriesHandle(this: Record<string | symbol, unknown>, n: number, labels: Attributes): void {
    this[SERIES_HANDLE] = n;
    this[HISTOGRAM_LABELS] = labels;
    this[HISTOGRAM_START] = UNREPORTED;
    this[HISTOGRAM_VALUE] = NO_HISTOGRAM;
  }
  SeriesHandle.prototype = HANDLE;
  const Make = SeriesHandle as unknown as new (n: number, labels: Attributes) => Attributes;
  let next = 0;
  // Not frozen: the series store writes the state.
  return (labels) => new Make(next++, labels);
}

/**
 * True for an attribute set made by a {@link trustedAttributeSets} maker, or a series handle of one. One
 * property load: the Views' allow-list asks it of every histogram record.
 */
export function isTrustedAttributeSet(attrs: Attributes): boolean {
  return (attrs as Branded)[BRAND] !== undefined;
}

/**
 * The attribute set of a recorder's series, for the writers: the set itself, or the set a series handle
 * stands for; undefined for any other attribute set. Its own keys are the series' labels in documented
 * order, its inherited ones the family's constant labels.
 */
export function seriesLabelsOf(attrs: Attributes): Attributes | undefined {
  const brand = (attrs as Branded)[BRAND];
  return brand === SERIES ? (attrs as { [HISTOGRAM_LABELS]: Attributes })[HISTOGRAM_LABELS] : brand === SET ? attrs : undefined;
}

/**
 * The state of a recorder's series, from what the recorder hands the SDK (the SDK reports it back as the data
 * point's attributes): a counter or gauge set's point, or a histogram's handle itself (see {@link seriesHandles}).
 * One property load, no per-series key. Undefined for any other attribute set.
 */
export function seriesStateOf(attrs: Attributes): object | undefined {
  return (attrs as Branded)[BRAND] === SERIES ? attrs : (attrs as { [POINT]?: object })[POINT];
}

/**
 * The frozen per-family base of a {@link seriesLabelsOf} set, which holds its family's constant labels as
 * keys the set inherits: the same object for every series of a family, so a writer can keep what it derives
 * from the constant labels per base.
 */
export function constantLabelsOf(labels: Attributes): Attributes {
  return (labels as { [BASE]: Attributes })[BASE];
}

/**
 * Chooses the series `SeriesStore.remove` and the recorders' `forget` delete: `metric` is the family's
 * exact name, `attributes` the series' labels (for a recorder's series, the set a histogram handle stands
 * for, with the family's constant labels inherited).
 */
export type SeriesMatcher = (metric: string, attributes: Attributes) => boolean;

/**
 * A plain copy of a recorder's attribute set (or the set a handle stands for) with its constant labels
 * first, then its own (what Prometheus and OTLP receivers see); any other attribute set is returned as it
 * is. For writers that read own keys only (the OTLP transformer uses `Object.keys`).
 */
export function flattenAttributes(attrs: Attributes): Attributes {
  const labels = seriesLabelsOf(attrs);
  if (labels === undefined) return attrs;
  const out: Attributes = {};
  for (const k in labels) if (!Object.prototype.hasOwnProperty.call(labels, k)) out[k] = labels[k];
  for (const k of Object.keys(labels)) out[k] = labels[k];
  return out;
}

/**
 * A View attribute processor (the SDK's `IAttributesProcessor`, exported by `@opentelemetry/sdk-metrics`)
 * that keeps only `allowed` keys and {@link OVERFLOW_LABEL}, like the SDK's
 * `createAllowListAttributesProcessor`, but returns the recorders' own validated sets (see
 * {@link trustedAttributeSets}) as they are: filtering them again would allocate a copy per measurement for nothing.
 */
export function createContractAllowList(allowed: readonly string[]): IAttributesProcessor {
  const keys = new Set([...allowed, OVERFLOW_LABEL]);
  return {
    process(incoming: Attributes): Attributes {
      if (isTrustedAttributeSet(incoming)) return incoming;
      const out: Attributes = {};
      for (const k in incoming) if (Object.prototype.hasOwnProperty.call(incoming, k) && keys.has(k)) out[k] = incoming[k];
      return out;
    },
  };
}

/** The meter (instrumentation scope) name a contract's instruments are created on. */
export function meterNameOf(contract: ContractSpec): string {
  return `otel-contracts/${contract.id}`;
}

/**
 * Two Views whose selectors can match one instrument. The SDK would count every measurement once per
 * matching View and silently ignore the buckets, so this is refused at construction.
 */
export class ViewConflictError extends Error {
  constructor(a: ViewOptions, b: ViewOptions) {
    super(
      `two Views can match one instrument: ${describeSelector(a)} and ${describeSelector(b)}; ` +
        'every instrument must be matched by exactly one View (give each View an exact instrumentName and meterName)',
    );
    this.name = 'ViewConflictError';
  }
}

/**
 * The View of one documented family: exact instrument and meter selection, the documented name and
 * HELP, the label allow-list (documented labels, the contract's instance labels and the overflow label), the documented
 * buckets for histograms, and the family's series budget as the cardinality limit.
 */
export function viewOfFamily(contract: ContractSpec, family: FamilySpec): ViewOptions {
  const allowed = [...family.labels.map((l) => l.name), ...contract.instanceLabels.map((l) => l.name)];
  return {
    instrumentName: family.name,
    meterName: meterNameOf(contract),
    name: family.name,
    description: family.help,
    attributesProcessors: [createContractAllowList(allowed)],
    aggregation:
      family.instrument === 'histogram'
        ? { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [...(family.buckets ?? [])], recordMinMax: false } }
        : { type: AggregationType.DEFAULT },
    // The recorders cap a family at its budget plus their own overflow series (which keeps the instance
    // labels); +2 more leaves the SDK's overflow, which drops them, unreachable.
    aggregationCardinalityLimit: family.maxSeries + 2,
  };
}

/**
 * One View per documented family of every contract, guarded so that no two can match one instrument.
 * @throws ViewConflictError when two families share a name in one scope, or any two selectors overlap.
 */
export function buildViews(contracts: readonly ContractSpec[]): ViewOptions[] {
  const views = contracts.flatMap((c) => c.families.map((f) => viewOfFamily(c, f)));
  assertOneViewPerInstrument(views);
  return views;
}

/**
 * Refuses any pair of Views whose selectors can match the same instrument. A selector without an
 * instrument name, or with a `*`/`?` wildcard, matches many; one without a meter name matches every scope.
 * @throws ViewConflictError naming both Views.
 */
export function assertOneViewPerInstrument(views: readonly ViewOptions[]): void {
  const exact = new Map<string, ViewOptions>();
  const wide: ViewOptions[] = [];
  for (const v of views) {
    if (v.instrumentName !== undefined && !/[*?]/.test(v.instrumentName) && v.meterName !== undefined) {
      const key = `${v.meterName}\u0000${v.instrumentName}`;
      const prior = exact.get(key);
      if (prior) throw new ViewConflictError(prior, v);
      exact.set(key, v);
    } else {
      wide.push(v);
    }
  }
  for (const w of wide) {
    for (const v of [...exact.values(), ...wide]) {
      if (v !== w && selectorsOverlap(w, v)) throw new ViewConflictError(w, v);
    }
  }
}

function selectorsOverlap(a: ViewOptions, b: ViewOptions): boolean {
  const meters = a.meterName === undefined || b.meterName === undefined || a.meterName === b.meterName;
  if (!meters) return false;
  if (a.instrumentType !== undefined && b.instrumentType !== undefined && a.instrumentType !== b.instrumentType) return false;
  const an = a.instrumentName ?? '*';
  const bn = b.instrumentName ?? '*';
  return wildcardMatch(an, bn) || wildcardMatch(bn, an);
}

function wildcardMatch(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === name;
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(name);
}

function describeSelector(v: ViewOptions): string {
  return `View{instrumentName: ${v.instrumentName ?? '*'}, meterName: ${v.meterName ?? '*'}}`;
}
