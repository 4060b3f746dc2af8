import { AggregationType, type ViewOptions } from '@opentelemetry/sdk-metrics';
import { createContractAllowList } from './recorders.ts';
import type { ContractSpec, FamilySpec } from '../semconv/types.ts';

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
