/**
 * A token bucket: `ratePerSecond` tokens refill continuously up to `burst`. Podtrace's metrics endpoint
 * uses 10 requests per second with a burst of 20 (seed 003, "Security").
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

/**
 * One {@link TokenBucket} per client address, so that one noisy client is refused while the Prometheus
 * scrape from another address still gets its answers. At most `maxClients` buckets are kept; past that
 * the oldest is dropped, which only hands its client a full bucket again (never refuses anyone else).
 */
export class PerClientRateLimit {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly ratePerSecond: number;
  private readonly burst: number;
  private readonly maxClients: number;
  private readonly now: () => number;

  /** @throws RangeError when the rate or burst is not positive. */
  constructor(ratePerSecond: number, burst: number, maxClients = 1024, now: () => number = () => performance.now()) {
    new TokenBucket(ratePerSecond, burst, now); // validates the rate and burst now, not at the first request
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.maxClients = maxClients;
    this.now = now;
  }

  /** Takes one token from `client`'s bucket (a remote address; `undefined` shares one bucket); false when empty. */
  take(client: string | undefined): boolean {
    const key = client ?? '';
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxClients) this.buckets.delete(this.buckets.keys().next().value as string);
      bucket = new TokenBucket(this.ratePerSecond, this.burst, this.now);
      this.buckets.set(key, bucket);
    }
    return bucket.take();
  }

  /** Clients with a bucket now (at most `maxClients`). */
  size(): number {
    return this.buckets.size;
  }
}
