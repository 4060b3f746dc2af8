/**
 * What a Prometheus text exposition (0.0.4) is read into: families (from `# HELP` / `# TYPE`), series (a
 * histogram's `_bucket`, `_sum` and `_count` lines folded into one series without `le`) and, for readers
 * that want them, the sample lines with their values. `otel-contracts check` feeds its OTLP input into the
 * same shape.
 */

/** TYPE of an observed family. `untyped`: no `# TYPE` line; `none`: an OTLP metric with no data field. */
export type ObservedType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped' | 'exponential_histogram' | 'none';

/** A label name and value. */
export type LabelPair = readonly [name: string, value: string];

/** Where an observation came from: an exposition line, or an OTLP push (1-based). */
export interface Origin {
  readonly line?: number;
  readonly push?: number;
}

/** What the parser and the OTLP converter feed. */
export interface ObservationSink {
  /** Declares a family or adds what is now known of it (TYPE, HELP). Unknown fields stay as they were. */
  family(name: string, meta: { readonly type?: ObservedType; readonly help?: string }, origin: Origin): void;
  /** One observation of a series of `family` (declared before). Repeats of a series are counted once. */
  series(family: string, labels: readonly LabelPair[], origin: Origin): void;
  /** Optional: every sample line as written (`le`/`quantile` kept) with its value, after {@link series}. */
  sample?(sample: ObservedSample, origin: Origin): void;
}

/** One sample line of an exposition: its family, its own name (`X_bucket` for a bucket), labels and value. */
export interface ObservedSample {
  readonly family: string;
  readonly name: string;
  readonly labels: readonly LabelPair[];
  readonly value: number;
}
