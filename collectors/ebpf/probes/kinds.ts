/**
 * The small integers the bpftrace program writes as map keys, shared by the probe texts and the parser,
 * so a kind means the same thing on both sides of the pipe.
 */

/** Second key of `@hist[name, kind, bucket]` (stats of nanoseconds per podtrace bucket). */
export const HIST = { rtt: 1, connect: 2, dns: 3, fs: 4, cpu: 5 } as const;

/** Second key of `@last[name, kind]` (the latest value, nanoseconds). */
export const LAST = { rtt: 1, connect: 2, dns: 3, cpu: 5, read: 40, write: 41, fsync: 42 } as const;

/** Second key of `@bytes[name, kind]` (sum of bytes). */
export const BYTES = { send: 0, recv: 1, read: 2, write: 3 } as const;

/** podtrace's buckets are `0.0001 * 2^i` s for i = 0..19: the first upper bound in nanoseconds. */
export const FIRST_BOUND_NS = 100_000;
/** Number of finite buckets; bucket index 20 is +Inf. */
export const FINITE_BUCKETS = 20;

/** What every probe group is given to build its text. */
export interface ProbeContext {
  /** A bpftrace boolean expression: the current task belongs to the traced selection. */
  readonly traced: string;
  /** A bpftrace string expression: the current task's process name (its thread-group leader's comm). */
  readonly name: string;
}

/**
 * bpftrace statements setting `$b` to the podtrace bucket index of `$d` (nanoseconds) with Prometheus's
 * `le` semantics: 0 when `$d` ≤ 100 µs, i when 100 µs·2^(i-1) < `$d` ≤ 100 µs·2^i, 20 above the last bound.
 */
export const BUCKET_OF_D = `$b = 0; $bound = (uint64)${FIRST_BOUND_NS}; unroll(${FINITE_BUCKETS}) { if ($d > $bound) { $b = $b + 1; $bound = $bound * 2; } }`;
