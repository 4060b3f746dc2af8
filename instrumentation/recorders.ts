import type { Attributes, Counter, Gauge, Histogram, Meter, UpDownCounter } from '@opentelemetry/api';
import type { ContractSpec, FamilySpec, LabelSpec } from '../semconv/types.ts';

// ---------------------------------------------------------------------------------------------
// Compile-time shapes: derived from the `as const` contracts in semconv/generated/.
// ---------------------------------------------------------------------------------------------

type LabelValue<L> = L extends { readonly values: readonly (infer V)[] } ? V : string;
type RequiredLabels<F extends FamilySpec> = {
  [L in F['labels'][number] as L extends { readonly required: true } ? L['name'] : never]: LabelValue<L>;
};
type OptionalLabels<F extends FamilySpec> = {
  [L in F['labels'][number] as L extends { readonly required: true } ? never : L['name']]?: LabelValue<L>;
};
type Flatten<T> = { [K in keyof T]: T[K] } & {};

/** The labels a measurement of family `F` takes: enum labels as unions of their members, unbounded ones as string. */
export type LabelsOf<F extends FamilySpec> = Flatten<RequiredLabels<F> & OptionalLabels<F>>;
type LabelArgs<F extends FamilySpec> = keyof RequiredLabels<F> extends never ? [labels?: LabelsOf<F>] : [labels: LabelsOf<F>];

/** A counter or up-down counter family. `value` is in the family's unit (seconds, bytes, 1). */
export interface AddRecorder<F extends FamilySpec> {
  add(value: number, ...labels: LabelArgs<F>): void;
}
/** A gauge (last value) or histogram family. `value` is in the family's unit (seconds, bytes, 1). */
export interface RecordRecorder<F extends FamilySpec> {
  record(value: number, ...labels: LabelArgs<F>): void;
}
type RecorderOf<F extends FamilySpec> = F['instrument'] extends 'counter' | 'updowncounter' ? AddRecorder<F> : RecordRecorder<F>;

/**
 * Typed recorders of a contract, keyed by the exact documented family name. An undocumented family,
 * a label outside the documented set or a value outside a label's enum is a compile error.
 */
export type Recorders<C extends ContractSpec> = {
  readonly [F in C['families'][number] as F['name']]: RecorderOf<F>;
};

// ---------------------------------------------------------------------------------------------
// Run time: validation, pre-resolved attribute sets, drops.
// ---------------------------------------------------------------------------------------------

/** Why a measurement was dropped (the `reason` of `otel_contracts_measurements_dropped_total`). */
export type DropReason = 'unknown_family' | 'unknown_label_value' | 'missing_label' | 'invalid_value';

/** Receives every dropped measurement; the pipeline counts it in a self-metric and logs it once. */
export type DropSink = (contract: string, family: string, reason: DropReason, detail: string) => void;

/** Cap on cached attribute sets per family with unbounded labels; bounded families cache every valid combination. */
const UNBOUNDED_CACHE_LIMIT = 2048;
const SEP = '\u001f';

/**
 * Turns a measurement's labels into the attribute set recorded through the OTel instrument, or
 * `undefined` when the measurement must be dropped. Valid combinations are resolved once and reused,
 * so the hot path is one Map lookup, and the constant instance labels cost nothing per call.
 */
class AttributeResolver {
  private readonly labels: readonly LabelSpec[];
  private readonly allowed: readonly (ReadonlySet<string> | undefined)[];
  private readonly cache = new Map<string | undefined, Attributes>();
  private readonly cacheLimit: number;
  private readonly constant: Attributes;
  private readonly single: string | undefined;

  private readonly onDrop: (reason: DropReason, detail: string) => void;

  constructor(family: FamilySpec, constantLabels: Readonly<Record<string, string>>, onDrop: (reason: DropReason, detail: string) => void) {
    this.onDrop = onDrop;
    this.labels = family.labels;
    this.allowed = family.labels.map((l) => (l.values ? new Set(l.values) : undefined));
    this.constant = Object.freeze({ ...constantLabels });
    this.single = family.labels.length === 1 ? family.labels[0]?.name : undefined;
    this.cacheLimit = family.labels.every((l) => l.values) ? Number.POSITIVE_INFINITY : UNBOUNDED_CACHE_LIMIT;
  }

  resolve(input: Readonly<Record<string, unknown>> | undefined): Attributes | undefined {
    if (this.labels.length === 0) return this.constant;
    const key = this.keyOf(input);
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const attrs = this.validate(input);
    if (attrs !== undefined && this.cache.size < this.cacheLimit) this.cache.set(key, attrs);
    return attrs;
  }

  private keyOf(input: Readonly<Record<string, unknown>> | undefined): string | undefined {
    if (input === undefined) return undefined;
    if (this.single !== undefined) {
      const v = input[this.single];
      return typeof v === 'string' ? v : v === undefined ? undefined : SEP + String(v);
    }
    let key = '';
    for (const l of this.labels) {
      const v = input[l.name];
      key += (typeof v === 'string' ? v : v === undefined ? '\u001e' : SEP + String(v)) + SEP;
    }
    return key;
  }

  private validate(input: Readonly<Record<string, unknown>> | undefined): Attributes | undefined {
    const attrs: Record<string, string> = { ...(this.constant as Record<string, string>) };
    for (let i = 0; i < this.labels.length; i++) {
      const l = this.labels[i] as LabelSpec;
      const v = input?.[l.name];
      if (v === undefined) {
        if (l.required) return this.drop('missing_label', `label "${l.name}" is required`);
        continue;
      }
      const allowed = this.allowed[i];
      if (typeof v !== 'string' || (allowed !== undefined && !allowed.has(v))) {
        const expected = l.values ? `one of ${l.values.join(', ')}` : 'a string';
        return this.drop('unknown_label_value', `label "${l.name}"="${String(v)}" is not ${expected}`);
      }
      attrs[l.name] = v;
    }
    return Object.freeze(attrs);
  }

  private drop(reason: DropReason, detail: string): undefined {
    this.onDrop(reason, detail);
    return undefined;
  }
}

type SyncInstrument = Counter | UpDownCounter | Gauge | Histogram;

/**
 * Creates the run-time recorders of one contract on a meter: one OTel instrument per family, named
 * with the exact documented name (the View then sets HELP, the label allow-list, buckets and the
 * cardinality limit). Unknown family names asked of the returned object yield a recorder that drops
 * and reports `unknown_family`.
 *
 * @param constantLabels the contract's instance labels, put on every measurement.
 * @param onDrop told of every dropped measurement.
 */
export function createRecorders<C extends ContractSpec>(
  contract: C,
  meter: Meter,
  constantLabels: Readonly<Record<string, string>>,
  onDrop: DropSink,
): Recorders<C> {
  const byName: Record<string, AddRecorder<FamilySpec> | RecordRecorder<FamilySpec>> = Object.create(null);
  for (const family of contract.families) {
    byName[family.name] = createFamilyRecorder(contract.id, family, meter, constantLabels, onDrop);
  }
  const unknown = new Map<string, object>();
  return new Proxy(byName, {
    get(target, prop) {
      if (typeof prop !== 'string') return undefined;
      const known = target[prop];
      if (known !== undefined || prop === 'then' || prop === 'toJSON') return known;
      let stub = unknown.get(prop);
      if (!stub) {
        const dropAll = () => onDrop(contract.id, prop, 'unknown_family', `"${prop}" is not a family of contract ${contract.id}`);
        stub = { add: dropAll, record: dropAll };
        if (unknown.size < 256) unknown.set(prop, stub);
      }
      return stub;
    },
  }) as unknown as Recorders<C>;
}

function createFamilyRecorder(
  contractId: string,
  family: FamilySpec,
  meter: Meter,
  constantLabels: Readonly<Record<string, string>>,
  onDrop: DropSink,
): AddRecorder<FamilySpec> | RecordRecorder<FamilySpec> {
  const drop = (reason: DropReason, detail: string) => onDrop(contractId, family.name, reason, detail);
  const resolver = new AttributeResolver(family, constantLabels, drop);
  const opts = { description: family.help, unit: family.unit };
  const instrument: SyncInstrument =
    family.instrument === 'counter'
      ? meter.createCounter(family.name, opts)
      : family.instrument === 'updowncounter'
        ? meter.createUpDownCounter(family.name, opts)
        : family.instrument === 'gauge'
          ? meter.createGauge(family.name, opts)
          : meter.createHistogram(family.name, opts);

  if (family.instrument === 'counter' || family.instrument === 'updowncounter') {
    const monotonic = family.instrument === 'counter';
    const counter = instrument as Counter;
    const recorder: AddRecorder<FamilySpec> = {
      add(value: number, labels?: Readonly<Record<string, unknown>>) {
        if (!Number.isFinite(value) || (monotonic && value < 0)) return drop('invalid_value', `value ${value} for ${family.instrument}`);
        const attrs = resolver.resolve(labels);
        if (attrs !== undefined) counter.add(value, attrs);
      },
    };
    // A label-less counter starts at 0, as Prometheus clients do, so rate() sees its first increment.
    if (family.labels.length === 0) counter.add(0, resolver.resolve(undefined));
    return recorder;
  }
  const sink = instrument as Histogram;
  return {
    record(value: number, labels?: Readonly<Record<string, unknown>>) {
      if (Number.isNaN(value) || (family.instrument === 'histogram' && !Number.isFinite(value))) return drop('invalid_value', `value ${value} for ${family.instrument}`);
      const attrs = resolver.resolve(labels);
      if (attrs !== undefined) sink.record(value, attrs);
    },
  };
}
