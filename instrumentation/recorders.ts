import { ROOT_CONTEXT, type Attributes, type Counter, type Gauge, type Histogram, type Meter, type UpDownCounter } from '@opentelemetry/api';
import type { ContractSpec, FamilySpec, LabelSpec } from '../semconv/types.ts';
import { instanceLabelsForFamily } from './instance-labels.ts';
import { DIRTY, FlaggedPoint, NumberPoint } from './series-point.ts';
import { OVERFLOW_LABEL, seriesHandles, seriesLabelsOf, trustedAttributeSets, type SeriesMatcher } from './views.ts';

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

/**
 * A counter family (OTel Counter, Prometheus counter): `add(value, labels)` with `value` >= 0 in the
 * family's unit (seconds, bytes, 1). A negative value is dropped and counted as `invalid_value`.
 */
export interface CounterRecorder<F extends FamilySpec> {
  add(value: number, ...labels: LabelArgs<F>): void;
}
/** An up-down counter family (OTel UpDownCounter, Prometheus gauge): `add(delta, labels)`, delta of either sign. */
export interface UpDownCounterRecorder<F extends FamilySpec> {
  add(delta: number, ...labels: LabelArgs<F>): void;
}
/** A gauge family (OTel Gauge, Prometheus gauge): `record(value, labels)` sets the series' last value. */
export interface GaugeRecorder<F extends FamilySpec> {
  record(value: number, ...labels: LabelArgs<F>): void;
}
/**
 * A histogram family (OTel Histogram with the family's documented buckets, Prometheus histogram):
 * `record(value, labels)` with `value` >= 0 in the family's unit (seconds, bytes).
 */
export interface HistogramRecorder<F extends FamilySpec> {
  record(value: number, ...labels: LabelArgs<F>): void;
  /**
   * Starts the series with zero counts and no observation, if it does not exist yet: it is exported from
   * the next collection on, so `rate()` and `histogram_quantile()` see its first observation (Prometheus'
   * advice: export every series known in advance). Labels are checked as by `record`.
   */
  begin(...labels: LabelArgs<F>): void;
}

/** A histogram series started by `HistogramRecorder.begin`: its family and its series handle. */
export interface BegunSeries {
  readonly family: FamilySpec;
  readonly attributes: Attributes;
}
type RecorderOf<F extends FamilySpec> = F['instrument'] extends 'counter'
  ? CounterRecorder<F>
  : F['instrument'] extends 'updowncounter'
    ? UpDownCounterRecorder<F>
    : F['instrument'] extends 'gauge'
      ? GaugeRecorder<F>
      : HistogramRecorder<F>;

/**
 * Typed recorders of a contract, keyed by the exact documented family name. An undocumented family,
 * a label outside the documented set or a value outside a label's enum is a compile error.
 */
export type Recorders<C extends ContractSpec> = {
  readonly [F in C['families'][number] as F['name']]: RecorderOf<F>;
};

// ---------------------------------------------------------------------------------------------
// Run time: validation, pre-resolved series, drops.
// ---------------------------------------------------------------------------------------------

/** Why a measurement was dropped (the `reason` of `otel_contracts_measurements_dropped_total`). */
export type DropReason = 'unknown_family' | 'unknown_label_value' | 'missing_label' | 'invalid_value';

/** Receives every dropped measurement; the pipeline counts it in a self-metric and logs it once. */
export type DropSink = (contract: string, family: string, reason: DropReason, detail: string) => void;

/**
 * Turns a measurement's labels into its series, or `undefined` when the measurement must be dropped.
 * Each valid label combination is validated once and then found with one Map lookup per label; the
 * constant instance labels cost nothing per call: they sit in the sets' shared base (see `trustedAttributeSets`),
 * outside the keys the SDK hashes per record. At most `limit` series are kept; past that, measurements go
 * to one overflow series labelled `otel_metric_overflow="true"`, so totals are never lost.
 */
class SeriesResolver<S> {
  /** One Map level per label, keyed by the label's value; the last level holds the series. */
  private readonly root = new Map<unknown, unknown>();
  private count = 0;
  private readonly labels: readonly LabelSpec[];
  private readonly names: readonly string[];
  /** The label's name when the family has exactly one. */
  private readonly only: string | undefined;
  private readonly allowed: readonly (ReadonlySet<string> | undefined)[];
  private readonly limit: number;
  private readonly onDrop: (reason: DropReason, detail: string) => void;
  private overflow: S | undefined;
  private readonly make: (own: Record<string, string>) => S;
  private readonly attrsOf: (series: S) => Attributes;

  /**
   * @param make builds the series kept for a new combination of validated labels (its attribute set included).
   * @param attrsOf the attribute set of a series `make` built.
   */
  constructor(family: FamilySpec, onDrop: (reason: DropReason, detail: string) => void, make: (own: Record<string, string>) => S, attrsOf: (series: S) => Attributes) {
    this.make = make;
    this.attrsOf = attrsOf;
    this.labels = family.labels;
    this.names = family.labels.map((l) => l.name);
    this.only = this.names.length === 1 ? this.names[0] : undefined;
    this.allowed = family.labels.map((l) => (l.values ? new Set(l.values) : undefined));
    this.limit = family.maxSeries;
    this.onDrop = onDrop;
  }

  resolve(input: Readonly<Record<string, unknown>> | undefined): S | undefined {
    // One label, the most common shape: one read and one Map lookup, at a read site of its own (the walk
    // below reads every family's label names at one site, which V8 then handles as megamorphic).
    if (this.only !== undefined) return (this.root.get(input?.[this.only]) as S | undefined) ?? this.miss(input);
    const names = this.names;
    const last = names.length - 1;
    let node = this.root;
    if (last < 0) {
      const hit = node.get(undefined) as S | undefined;
      if (hit !== undefined) return hit;
    } else {
      for (let i = 0; i < last; i++) {
        const next = node.get(input?.[names[i] as string]) as Map<unknown, unknown> | undefined;
        if (next === undefined) return this.miss(input);
        node = next;
      }
      const hit = node.get(input?.[names[last] as string]) as S | undefined;
      if (hit !== undefined) return hit;
    }
    return this.miss(input);
  }

  /** First sight of a combination: validate it, then file its series under the label values. */
  private miss(input: Readonly<Record<string, unknown>> | undefined): S | undefined {
    const attrs = this.validate(input);
    if (attrs === undefined) return undefined;
    if (this.count >= this.limit) return (this.overflow ??= this.make({ [OVERFLOW_LABEL]: 'true' }));
    const series = this.make(attrs);
    let node = this.root;
    const last = this.names.length - 1;
    for (let i = 0; i < last; i++) {
      const v = input?.[this.names[i] as string];
      let next = node.get(v) as Map<unknown, unknown> | undefined;
      if (next === undefined) node.set(v, (next = new Map()));
      node = next;
    }
    node.set(last < 0 ? undefined : input?.[this.names[last] as string], series);
    this.count++;
    return series;
  }

  /**
   * Forgets every series whose attribute set `match` selects (the overflow series included), freeing its
   * place in the budget: a later measurement with those labels starts a new series.
   * @returns the forgotten series.
   */
  forget(match: (attrs: Attributes) => boolean): S[] {
    const gone: S[] = [];
    const attrsOf = this.attrsOf;
    const walk = (node: Map<unknown, unknown>, depth: number): void => {
      for (const [k, v] of node) {
        if (depth < this.names.length - 1) {
          walk(v as Map<unknown, unknown>, depth + 1);
          if ((v as Map<unknown, unknown>).size === 0) node.delete(k);
        } else if (match(attrsOf(v as S))) {
          node.delete(k);
          gone.push(v as S);
          this.count--;
        }
      }
    };
    walk(this.root, 0);
    if (this.overflow !== undefined && match(attrsOf(this.overflow))) {
      gone.push(this.overflow);
      this.overflow = undefined;
    }
    return gone;
  }

  private validate(input: Readonly<Record<string, unknown>> | undefined): Record<string, string> | undefined {
    const attrs: Record<string, string> = {};
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
    return attrs;
  }

  private drop(reason: DropReason, detail: string): undefined {
    this.onDrop(reason, detail);
    return undefined;
  }
}

/**
 * Creates the run-time recorders of one contract on a meter: one synchronous OTel instrument per
 * family, named with the exact documented name (the View then sets HELP, the label allow-list, buckets
 * and the cardinality limit).
 *
 * Counters, up-down counters and gauges accumulate into their pre-resolved series (a Map lookup and an
 * add per measurement); `flush()` hands what changed since the previous flush to the OTel instruments,
 * one call per changed series. The readers flush before every collection, so both see the same data,
 * and the SDK hashes a busy series once per collection instead of once per measurement. Histograms
 * record straight through the SDK's Histogram with the series' pre-resolved handle (one key to hash).
 * Unknown family names asked of the returned object yield a recorder that drops and reports `unknown_family`.
 *
 * `begun()` hands over (once) the histogram series started by `begin` since the last call, for the
 * pipeline to add with zero counts to what it exports.
 *
 * `forget(match)` drops the series `match` selects (by family name and attribute set) from the recorders:
 * their place in the family's budget is freed and what they buffered is discarded (the pipeline removes
 * them from the exported state at the same time, see `Pipeline.removeSeries`).
 *
 * @param constantLabels the contract's instance labels, put on every series.
 * @param onDrop told of every dropped measurement.
 */
export function createRecorders<C extends ContractSpec>(
  contract: C,
  meter: Meter,
  constantLabels: Readonly<Record<string, string>>,
  onDrop: DropSink,
): { recorders: Recorders<C>; flush: () => void; forget: (match: SeriesMatcher) => void; begun: () => BegunSeries[] } {
  const begun: BegunSeries[] = [];
  const byName: Record<string, CounterRecorder<FamilySpec> | GaugeRecorder<FamilySpec> | HistogramRecorder<FamilySpec>> = Object.create(null);
  const flushers: (() => void)[] = [];
  const forgetters: ((match: SeriesMatcher) => void)[] = [];
  for (const family of contract.families) {
    const drop = (reason: DropReason, detail: string) => onDrop(contract.id, family.name, reason, detail);
    const constant = instanceLabelsForFamily(contract, family.name, constantLabels);
    const opts = { description: family.help, unit: family.unit };
    const attributeSet = trustedAttributeSets(constant);
    if (family.instrument === 'histogram') {
      // A histogram series is its handle (the SDK hashes one key per record), which also holds the series'
      // attribute set and the store's cumulative buckets.
      const handle = seriesHandles();
      const resolver = new SeriesResolver<Attributes>(family, drop, (own) => handle(attributeSet(own)), (h) => seriesLabelsOf(h) as Attributes);
      byName[family.name] = histogramRecorder(meter.createHistogram(family.name, opts), resolver, drop, (attributes) => begun.push({ family, attributes }));
      forgetters.push((match) => resolver.forget((attrs) => match(family.name, attrs)));
      continue;
    }
    // A counter or gauge series is its point: what the recorder buffers and the store exports, reached from
    // the attribute set the SDK reports back.
    const monotonic = family.instrument === 'counter';
    const dirty: NumberPoint[] = [];
    const make = (own: Record<string, string>) => {
      const point = monotonic ? new NumberPoint() : new FlaggedPoint();
      point.attributes = attributeSet(own, point);
      // A new counter series is flushed even if only zero is added, so that the SDK and both readers see it.
      if (monotonic) dirty.push(point);
      return point;
    };
    const resolver = new SeriesResolver<NumberPoint>(family, drop, make, (p) => p.attributes);
    forgetters.push((match) => {
      const gone = resolver.forget((attrs) => match(family.name, attrs));
      // What a forgotten series buffered is not flushed: it would bring the series back.
      if (gone.length > 0 && dirty.length > 0) {
        const left = new Set(gone);
        const kept = dirty.filter((d) => !left.has(d));
        dirty.length = 0;
        dirty.push(...kept);
      }
    });
    if (family.instrument === 'gauge') {
      const gauge: Gauge = meter.createGauge(family.name, opts);
      byName[family.name] = gaugeRecorder(resolver as unknown as SeriesResolver<FlaggedPoint>, dirty as FlaggedPoint[], drop);
      flushers.push(() => drainFlagged(dirty as FlaggedPoint[], (s) => gauge.record(s.pending, s.attributes)));
      continue;
    }
    const write = (counter: Counter | UpDownCounter) => (s: NumberPoint) => {
      const delta = s.pending;
      s.pending = 0;
      counter.add(delta, s.attributes);
    };
    if (monotonic) {
      const counter = meter.createCounter(family.name, opts);
      byName[family.name] = counterRecorder(resolver, dirty, drop);
      flushers.push(() => drain(dirty, write(counter)));
      // A label-less counter starts at 0, as Prometheus clients do, so rate() sees its first increment
      // (made now, it is in the flush list).
      if (family.labels.length === 0) resolver.resolve(undefined);
      continue;
    }
    const upDown = meter.createUpDownCounter(family.name, opts);
    byName[family.name] = upDownRecorder(resolver as unknown as SeriesResolver<FlaggedPoint>, dirty as FlaggedPoint[], drop);
    flushers.push(() => drainFlagged(dirty as FlaggedPoint[], write(upDown)));
    if (family.labels.length === 0) markDirty(resolver.resolve(undefined) as FlaggedPoint, dirty as FlaggedPoint[]);
  }
  const flush = () => {
    for (const f of flushers) f();
  };
  const forget = (match: SeriesMatcher) => {
    for (const f of forgetters) f(match);
  };
  return { recorders: withUnknownFamilies(contract.id, byName, onDrop) as unknown as Recorders<C>, flush, forget, begun: () => begun.splice(0) };
}

function markDirty(s: FlaggedPoint, dirty: FlaggedPoint[]): void {
  if (!s[DIRTY]) {
    s[DIRTY] = true;
    dirty.push(s);
  }
}

/** Writes every point of a flush list (a new counter series may be in it twice: the second write adds 0). */
function drain(dirty: NumberPoint[], write: (s: NumberPoint) => void): void {
  for (const s of dirty) write(s);
  dirty.length = 0;
}

function drainFlagged(dirty: FlaggedPoint[], write: (s: FlaggedPoint) => void): void {
  for (const s of dirty) {
    s[DIRTY] = false;
    write(s);
  }
  dirty.length = 0;
}

function counterRecorder(resolver: SeriesResolver<NumberPoint>, dirty: NumberPoint[], drop: (r: DropReason, d: string) => void): CounterRecorder<FamilySpec> {
  return {
    add(value: number, labels?: Readonly<Record<string, unknown>>) {
      if (!Number.isFinite(value) || value < 0) return drop('invalid_value', `value ${value} for a counter`);
      const s = resolver.resolve(labels);
      if (s === undefined) return;
      const pending = s.pending;
      s.pending = pending + value;
      // The delta never shrinks between flushes: it leaves zero once, and the series joins the list then.
      if (pending === 0 && value !== 0) dirty.push(s);
    },
  };
}

function upDownRecorder(resolver: SeriesResolver<FlaggedPoint>, dirty: FlaggedPoint[], drop: (r: DropReason, d: string) => void): UpDownCounterRecorder<FamilySpec> {
  return {
    add(value: number, labels?: Readonly<Record<string, unknown>>) {
      if (!Number.isFinite(value)) return drop('invalid_value', `value ${value} for a up-down counter`);
      const s = resolver.resolve(labels);
      if (s === undefined) return;
      s.pending += value;
      if (!s[DIRTY]) markDirty(s, dirty);
    },
  };
}

function gaugeRecorder(resolver: SeriesResolver<FlaggedPoint>, dirty: FlaggedPoint[], drop: (r: DropReason, d: string) => void): GaugeRecorder<FamilySpec> {
  return {
    record(value: number, labels?: Readonly<Record<string, unknown>>) {
      if (Number.isNaN(value)) return drop('invalid_value', `value ${value} for a gauge`);
      const s = resolver.resolve(labels);
      if (s === undefined) return;
      s.pending = value;
      if (!s[DIRTY]) markDirty(s, dirty);
    },
  };
}

function histogramRecorder(
  histogram: Histogram,
  resolver: SeriesResolver<Attributes>,
  drop: (r: DropReason, d: string) => void,
  onBegin: (handle: Attributes) => void,
): HistogramRecorder<FamilySpec> {
  const begun = new WeakSet<Attributes>();
  return {
    begin(labels?: Readonly<Record<string, unknown>>) {
      const attrs = resolver.resolve(labels);
      if (attrs === undefined || begun.has(attrs)) return;
      begun.add(attrs);
      onBegin(attrs);
    },
    record(value: number, labels?: Readonly<Record<string, unknown>>) {
      // The SDK would drop a negative observation with only a diag warning; count it as ours instead.
      if (!Number.isFinite(value) || value < 0) return drop('invalid_value', `value ${value} for a histogram`);
      const attrs = resolver.resolve(labels);
      // An explicit context spares the SDK a context.active() lookup per record: the Views' attribute
      // processor ignores the context, and this SDK keeps no exemplars.
      if (attrs !== undefined) histogram.record(value, attrs, ROOT_CONTEXT);
    },
  };
}

/**
 * The recorders as a plain object whose prototype answers undocumented names: a JavaScript caller asking
 * for one gets a recorder that drops and reports `unknown_family`. Documented families are own properties,
 * so reading one on the hot path is a plain property load; only a miss reaches the prototype's proxy.
 */
function withUnknownFamilies(contractId: string, byName: Record<string, object>, onDrop: DropSink): object {
  const unknown = new Map<string, object>();
  const fallback = new Proxy(Object.create(null) as object, {
    get(_target, prop) {
      if (typeof prop !== 'string' || prop === 'then' || prop === 'toJSON') return undefined;
      let stub = unknown.get(prop);
      if (!stub) {
        const dropAll = () => onDrop(contractId, prop, 'unknown_family', `"${prop}" is not a family of contract ${contractId}`);
        stub = { add: dropAll, record: dropAll, begin: dropAll };
        if (unknown.size < 256) unknown.set(prop, stub);
      }
      return stub;
    },
  });
  return Object.assign(Object.create(fallback) as object, byName);
}
