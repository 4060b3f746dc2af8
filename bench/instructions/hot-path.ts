/**
 * What the instruction benchmark measures: hot paths (a counter add, a DNS query through the egress
 * sidecar's handler, ...) and, for each, the implementations compared in one table row (ours, the peers,
 * a floor). Path modules are light: an implementation imports what it measures only in `setup`, so that
 * the child process under callgrind loads the code of one implementation and nothing else.
 */

/** One operation: synchronous (recording, a query) or asynchronous (a collection and render). */
export type Operation = ((i: number) => void) | ((i: number) => Promise<void>);

/** One implementation of a hot path, as it appears in the table (`ours`, `prom-client`, `floor`, ...). */
export interface Implementation {
  readonly name: string;
  /**
   * Builds the implementation and returns its operation, called with 0, 1, 2, ... (label values and
   * inputs cycle with `i`). Runs before the warm-up, outside the counted segments.
   */
  setup(): Promise<Operation>;
  /** True when the operation returns a Promise (each one is awaited before the next starts). */
  readonly async?: boolean;
}

/** One hot path: one row of the table. */
export interface HotPath {
  /** Stable key: the budget file and `--only` name rows by it. */
  readonly id: string;
  /** The row's text in the table. */
  readonly title: string;
  /** What one figure counts: `instructions per record`, `... per query`, `... per series rendered`. */
  readonly unit: string;
  /**
   * How many units one operation is (default 1): an exposition of 10 000 series is 10 000 series
   * rendered, a bpftrace print carrying 100 events is 100 events.
   */
  readonly unitsPerOperation?: number;
  /**
   * Operations of each of the two warm-ups before the counted segments (see child.ts), enough for V8 to
   * optimise the hot functions: the counts must then grow linearly.
   */
  readonly warmup: number;
  /**
   * Operation counts of the counted segments, run after a segment of 0 operations (the baseline): the
   * figure is the lowest per operation among them (see per-op.ts), their spread shows that the count
   * grows linearly.
   */
  readonly counts: readonly number[];
  /** The peer the row's ratios are to; default: the faster Prometheus client. */
  readonly ratioTo?: string;
  readonly implementations: readonly Implementation[];
}
