import type { Attributes } from '@opentelemetry/api';
import { AggregationType, type IAttributesProcessor, type ViewOptions } from '@opentelemetry/sdk-metrics';
import type { ContractSpec, FamilySpec } from '../semconv/types.ts';

/** The attribute key the SDK and the recorders' overflow series use when a family exceeds its series budget. */
export const OVERFLOW_LABEL = 'otel_metric_overflow';

/**
 * Attribute sets the recorders built and validated (see {@link trustAttributeSet}). The Views' allow-list
 * passes them through untouched instead of copying them on every measurement.
 */
const trustedAttributeSets = new WeakSet<object>();

/**
 * Marks a frozen attribute set as validated: it holds documented keys only (a family's labels, the
 * contract's instance labels, {@link OVERFLOW_LABEL}), so {@link createContractAllowList} returns it as it is.
 * Only the recorders call this, once per series.
 */
export function trustAttributeSet(attrs: Readonly<Attributes>): void {
  trustedAttributeSets.add(attrs);
}

/**
 * A View attribute processor (the SDK's `IAttributesProcessor`, exported by `@opentelemetry/sdk-metrics`)
 * that keeps only `allowed` keys and {@link OVERFLOW_LABEL}, like the SDK's
 * `createAllowListAttributesProcessor`, but returns the recorders' own validated sets (see
 * {@link trustAttributeSet}) as they are: filtering them again would allocate a copy per measurement for nothing.
 */
export function createContractAllowList(allowed: readonly string[]): IAttributesProcessor {
  const keys = new Set([...allowed, OVERFLOW_LABEL]);
  return {
    process(incoming: Attributes): Attributes {
      if (trustedAttributeSets.has(incoming)) return incoming;
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
