// Rate limiters for the work queue and for API clients, after client-go's workqueue package:
// a per-key exponential failure backoff combined (max) with a global token bucket.
import { sleep, type Clock } from './clock.js';

/** Decides how long a key waits before it is retried (client-go's TypedRateLimiter). */
export interface RateLimiter {
  /** The delay before `key` may be processed again; counts one more failure for it. */
  when(key: string): number;
  /** Resets the failure count of `key` (after a success). */
  forget(key: string): void;
  /** Failures counted for `key` since its last forget(). */
  numRequeues(key: string): number;
}

export interface TokenBucketOptions {
  /** Tokens added per second (> 0). */
  qps: number;
  /** Bucket size: how many tokens can be taken at once after a quiet period (>= 1). */
  burst: number;
}

/**
 * A token bucket (golang.org/x/time/rate semantics): starts full, refills at `qps`, holds at most
 * `burst`. reserve() always succeeds and returns how long the caller must wait for its token, so
 * concurrent callers are spread out rather than racing.
 */
export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  #tokens: number;
  #last: number;

  constructor(
    opts: TokenBucketOptions,
    private readonly clock: Clock,
  ) {
    if (!(opts.qps > 0) || !Number.isFinite(opts.qps)) throw new RangeError(`qps must be a positive finite number, got ${opts.qps}`);
    if (!(opts.burst >= 1) || !Number.isFinite(opts.burst)) throw new RangeError(`burst must be >= 1, got ${opts.burst}`);
    this.qps = opts.qps;
    this.burst = Math.floor(opts.burst);
    this.#tokens = this.burst;
    this.#last = clock.now();
  }

  /** Takes a token now or in the future; returns the wait in ms (0 when one was available). */
  reserve(): number {
    this.#refill();
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.qps);
  }

  /** Takes a token only if one is available now. */
  tryTake(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Waits for a token. */
  async wait(signal?: AbortSignal): Promise<void> {
    const ms = this.reserve();
    if (ms > 0) await sleep(this.clock, ms, signal);
  }

  #refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.qps) / 1000);
  }
}

export interface ExponentialBackoffOptions {
  /** Delay after the first failure (default 5 ms). */
  baseDelayMs?: number;
  /** Upper bound of the delay (default 1000 s). */
  maxDelayMs?: number;
}

/** base·2ⁿ per key, capped (client-go's ItemExponentialFailureRateLimiter). */
export class ItemExponentialRateLimiter implements RateLimiter {
  readonly #failures = new Map<string, number>();
  readonly #base: number;
  readonly #max: number;

  constructor(opts: ExponentialBackoffOptions = {}) {
    this.#base = opts.baseDelayMs ?? 5;
    this.#max = opts.maxDelayMs ?? 1_000_000;
  }

  when(key: string): number {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    // 2^n overflows to Infinity long after the cap is reached; min() keeps it finite.
    return Math.min(this.#max, this.#base * 2 ** n);
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}

/** A global token bucket as a RateLimiter: every retry, of any key, takes a token. */
export class BucketRateLimiter implements RateLimiter {
  constructor(readonly bucket: TokenBucket) {}
  when(_key: string): number {
    return this.bucket.reserve();
  }
  forget(_key: string): void {}
  numRequeues(_key: string): number {
    return 0;
  }
}

/** The longest delay of several limiters (client-go's MaxOfRateLimiter). */
export class MaxOfRateLimiter implements RateLimiter {
  readonly #limiters: RateLimiter[];
  constructor(...limiters: RateLimiter[]) {
    this.#limiters = limiters;
  }
  when(key: string): number {
    // Every limiter must see the failure (the bucket takes its token), so no short-circuit.
    return this.#limiters.map((l) => l.when(key)).reduce((a, b) => Math.max(a, b), 0);
  }
  forget(key: string): void {
    for (const l of this.#limiters) l.forget(key);
  }
  numRequeues(key: string): number {
    return this.#limiters.map((l) => l.numRequeues(key)).reduce((a, b) => Math.max(a, b), 0);
  }
}

export interface ControllerRateLimiterOptions extends ExponentialBackoffOptions {
  /** Global retry rate across all keys (default 10 per second). */
  qps?: number;
  /** Global retry burst (default 100). */
  burst?: number;
}

/** max(per-key 5 ms·2ⁿ ≤ 1000 s, global bucket 10 qps / burst 100), like client-go's default. */
export function defaultControllerRateLimiter(clock: Clock, opts: ControllerRateLimiterOptions = {}): RateLimiter {
  return new MaxOfRateLimiter(
    new ItemExponentialRateLimiter(opts),
    new BucketRateLimiter(new TokenBucket({ qps: opts.qps ?? 10, burst: opts.burst ?? 100 }, clock)),
  );
}

/** Capped exponential backoff with jitter, for retrying a loop (informer restarts). */
export class Backoff {
  #attempt = 0;
  constructor(
    private readonly opts: { initialMs: number; maxMs: number; factor?: number; jitter?: number },
    private readonly random: () => number = Math.random,
  ) {}

  /** The next delay: initial·factorⁿ capped at max, then stretched by up to `jitter` (default 0.5). */
  next(): number {
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * (this.opts.factor ?? 2) ** this.#attempt);
    this.#attempt++;
    return Math.round(base * (1 + (this.opts.jitter ?? 0.5) * this.random()));
  }

  reset(): void {
    this.#attempt = 0;
  }

  get attempts(): number {
    return this.#attempt;
  }
}
