/**
 * A token bucket: `ratePerSecond` tokens refill continuously up to `burst`. Podtrace's metrics endpoint
 * uses 10 requests per second with a burst of 20 (seed 003, "Security"). Constant memory: one bucket
 * for the endpoint, not one per client.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  private readonly ratePerSecond: number;
  private readonly burst: number;
  private readonly now: () => number;

  /** @throws RangeError when the rate or burst is not positive. */
  constructor(ratePerSecond: number, burst: number, now: () => number = () => performance.now()) {
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.now = now;
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new RangeError(`rate limit needs rate > 0 and burst >= 1, got ${ratePerSecond}/s burst ${burst}`);
    this.tokens = burst;
    this.last = now();
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
