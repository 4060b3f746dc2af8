/**
 * The family/series model both inputs of `otel-contracts check` are reduced to: a Prometheus text
 * exposition (families from `# HELP` / `# TYPE` / `# UNIT`, series from sample lines, a histogram's
 * `_bucket`, `_sum` and `_count` lines folded into one series without `le`) and OTLP pushes (one family
 * per metric under its translated name, one series per data point). Only counts and hashes are kept,
 * never the text.
 */
import { escapeLabelValue } from '../../instrumentation/scrape/serializer.ts';
import type { ContractSpec, FamilySpec } from '../../semconv/types.ts';
import type { LabelPair, ObservationSink, ObservedType, Origin } from './exposition/sink.ts';
import type { ResolvedOtlpName } from './otlp/resolve-name.ts';

export type { LabelPair, ObservationSink, ObservedSample, ObservedType, Origin } from './exposition/sink.ts';

/** A unit a family was sent with (OTLP `unit`) or declared with (a `# UNIT` line). */
export interface UnitObservation {
  /** As written: UCUM for OTLP (`s`, `{query}`, empty), a Prometheus word for `# UNIT` (`seconds`). */
  readonly unit: string;
  readonly source: 'otlp' | 'unit-line';
  readonly origin: Origin;
}

/** Statistics of one observed family. */
export interface ObservedFamily {
  readonly name: string;
  type: ObservedType;
  /** HELP text or OTLP description, when given. */
  help: string | undefined;
  /** Where the family was first seen. */
  readonly origin: Origin;
  /** Distinct series (label sets; `le`/`quantile` excluded). A lower bound when `seriesExact` is false. */
  seriesCount: number;
  /** False once the store's series budget ran out and new series could no longer be told from old ones. */
  seriesExact: boolean;
  /** Distinct units seen, by unit string (a few at most). */
  readonly units: ReadonlyMap<string, UnitObservation>;
  /** OTLP only: each name sent for this family and how it was translated (a few at most). */
  readonly otlpNames: ReadonlyMap<string, ResolvedOtlpName>;
}

/** The contract a family name belongs to (by documented name, else by prefix) and its documented spec, if any. */
export interface FamilyOwner {
  readonly contract: ContractSpec;
  readonly spec: FamilySpec | undefined;
}

/** What the check's readers feed: the exposition sink plus family metadata (units, OTLP names). */
export interface CheckSink extends ObservationSink {
  /** Adds a unit or an OTLP name of a declared family. */
  describe(family: string, meta: { readonly unit?: UnitObservation; readonly otlp?: ResolvedOtlpName }): void;
}

/**
 * Resolves family names to the checked contracts: a documented name maps to its spec; a name under a
 * contract's prefix maps to that contract without a spec (undocumented); anything else is nobody's.
 */
export class ContractIndex {
  readonly contracts: readonly ContractSpec[];
  private readonly byName = new Map<string, FamilyOwner & { readonly spec: FamilySpec }>();

  constructor(contracts: readonly ContractSpec[]) {
    this.contracts = contracts;
    for (const contract of contracts) for (const spec of contract.families) this.byName.set(spec.name, { contract, spec });
  }

  /** The owner of a family name, or undefined for names outside every checked contract. */
  ownerOf(name: string): FamilyOwner | undefined {
    const documented = this.byName.get(name);
    if (documented) return documented;
    for (const contract of this.contracts) if (name.startsWith(contract.prefix)) return { contract, spec: undefined };
    return undefined;
  }

  /** Every documented family of the checked contracts, with its contract. */
  documentedFamilies(): IterableIterator<FamilyOwner & { readonly spec: FamilySpec }> {
    return this.byName.values();
  }

  /** True when `name` is a documented histogram family (to fold untyped `_bucket` samples into it). */
  isDocumentedHistogram(name: string): boolean {
    return this.byName.get(name)?.spec?.type === 'histogram';
  }
}

/**
 * The TYPEs a documented family may be exposed as: every TYPE its document allows where it gives more than one
 * ("Histogram / Summary", {@link FamilySpec.acceptedTypes}), else its one documented TYPE.
 */
export function acceptedTypes(spec: FamilySpec): readonly ObservedType[] {
  return spec.acceptedTypes ?? [spec.type];
}

/** `name{a="x",b="y"}` for messages. */
export function seriesSelector(family: string, labels: readonly LabelPair[]): string {
  if (labels.length === 0) return family;
  return `${family}{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}
