// Per-key request rate limiting: a token bucket per API key (or any principal id), in memory, per
// API replica. `take()` says whether a request may proceed and, if not, how long until it may
// (for `429 RESOURCE_EXHAUSTED` with `Retry-After`). With N replicas behind a round-robin Service
// the account-wide ceiling is about N × rate; configure the rate per replica accordingly.

export interface RateLimitOptions {
  /** Sustained requests per second. */
  ratePerSecond: number;
  /** Bucket size: requests allowed in a burst. */
  burst: number;
  /** Buckets kept at most (least recently used are dropped: they were full anyway, or idle). */
  maxKeys?: number;
  now?: () => number;
}

export type RateDecision = { allowed: true; remaining: number } | { allowed: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class KeyRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(private readonly opts: RateLimitOptions) {
    if (!(opts.ratePerSecond > 0) || !(opts.burst >= 1)) throw new RangeError('ratePerSecond must be > 0 and burst >= 1');
    this.now = opts.now ?? Date.now;
    this.maxKeys = opts.maxKeys ?? 100_000;
  }

  take(key: string, cost = 1): RateDecision {
    const now = this.now();
    const { ratePerSecond, burst } = this.opts;
    const prev = this.buckets.get(key);
    const tokens = prev ? Math.min(burst, prev.tokens + ((now - prev.at) / 1000) * ratePerSecond) : burst;
    // Re-insert to keep the map in least-recently-used order.
    this.buckets.delete(key);
    if (tokens >= cost) {
      this.buckets.set(key, { tokens: tokens - cost, at: now });
      this.trim();
      return { allowed: true, remaining: Math.floor(tokens - cost) };
    }
    this.buckets.set(key, { tokens, at: now });
    this.trim();
    return { allowed: false, retryAfterMs: Math.ceil(((cost - tokens) / ratePerSecond) * 1000) };
  }

  /** How long until `key` could take `cost` (0: it could now; undefined: no bucket, i.e. full). Takes nothing. */
  waitMs(key: string, cost = 1): number | undefined {
    const prev = this.buckets.get(key);
    if (!prev) return undefined;
    const { ratePerSecond, burst } = this.opts;
    const tokens = Math.min(burst, prev.tokens + ((this.now() - prev.at) / 1000) * ratePerSecond);
    return tokens >= cost ? 0 : Math.ceil(((cost - tokens) / ratePerSecond) * 1000);
  }

  private trim(): void {
    while (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
  }
}
