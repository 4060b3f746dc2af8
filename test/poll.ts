/**
 * Bounded polling: the one way the e2e suite waits for something to become true. Never a fixed sleep
 * as an assertion; every loop is bounded both in time and in attempts.
 */

/** Options of {@link pollUntil}. */
export interface PollOptions<T> {
  /** Give up after this long. Default 60 s. */
  readonly timeoutMs?: number;
  /** Pause between attempts. Default 500 ms. */
  readonly intervalMs?: number;
  /** How the last value reads in the failure message. Default: JSON, cut to 2000 characters. */
  readonly describe?: (value: T) => string;
}

/** Resolves after `ms` milliseconds. For pacing loops only, never as an assertion. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `probe` until `done(value)` holds, then returns that value. A probe that throws counts as a
 * failed attempt (its error is kept for the message).
 *
 * @param what what is awaited, for the failure message ("Prometheus shows 20 instances").
 * @throws Error naming `what`, the time waited, the last value and the last probe error, once the
 *   deadline or the attempt budget (timeout / interval + 1) is used up.
 */
export async function pollUntil<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, opts: PollOptions<T> = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const intervalMs = opts.intervalMs ?? 500;
  const describe = opts.describe ?? ((v: T) => JSON.stringify(v)?.slice(0, 2000) ?? String(v));
  const maxAttempts = Math.ceil(timeoutMs / intervalMs) + 1;
  const t0 = Date.now();
  let last: { value: T } | undefined;
  let lastError: unknown;
  for (let attempt = 0; attempt < maxAttempts && Date.now() - t0 <= timeoutMs; attempt++) {
    try {
      const value = await probe();
      last = { value };
      if (done(value)) return value;
    } catch (e) {
      lastError = e;
    }
    await delay(intervalMs);
  }
  const parts = [`timed out after ${Math.round((Date.now() - t0) / 1000)} s waiting for: ${what}`];
  if (last) parts.push(`last value: ${describe(last.value)}`);
  if (lastError) parts.push(`last error: ${(lastError as Error).message ?? String(lastError)}`);
  throw new Error(parts.join('\n  '));
}
