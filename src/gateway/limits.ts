// Admission at the inference edge (issue 15 item 2): what one request may hold of the gateway.
// Every authenticated inference request takes a Ticket before its body is read and gives it back
// when its answer ends (held time included), so that
//   - request rate is limited per API key and per account (token buckets, 429 + Retry-After; the
//     account bucket keeps a user from multiplying the rate by minting keys);
//   - requests in flight (held ones included) are bounded per key, per account and in total;
//   - request body bytes buffered (read, held while the deployment scales from zero, in flight to a
//     replica) are bounded per key and in total: a body is counted chunk by chunk as it arrives and
//     refused the moment it would exceed a budget, before it is buffered, and a declared
//     Content-Length is counted up front.
// Per-key budgets below the totals mean one key cannot take the whole gateway from another; the
// per-deployment hold bound (hold.ts) still applies on top.
import { KeyRateLimiter } from '../auth/rate-limit.js';
import type { Clock } from '../util/clock.js';
import { GatewayError } from './errors.js';

export interface AdmissionLimits {
  /** Requests in flight (held included) in this gateway replica. */
  maxInFlight: number;
  maxInFlightPerKey: number;
  maxInFlightPerAccount: number;
  /** Request body bytes buffered at once in this replica (held and in-flight bodies). */
  maxBufferedBytes: number;
  maxBufferedBytesPerKey: number;
  keyRatePerSecond: number;
  keyRateBurst: number;
  accountRatePerSecond: number;
  accountRateBurst: number;
}

export const rateLimited = (who: 'API key' | 'account', retryAfterSeconds: number): GatewayError =>
  new GatewayError(429, 'rate_limit_error', 'rate_limit_exceeded', `too many requests for this ${who}; retry after ${retryAfterSeconds} s`, retryAfterSeconds);
export const tooManyConcurrent = (who: 'API key' | 'account'): GatewayError =>
  new GatewayError(429, 'rate_limit_error', 'too_many_concurrent_requests', `too many requests in flight for this ${who}; retry when one has finished`, 1);
export const tooManyBufferedBytes = (): GatewayError =>
  new GatewayError(429, 'rate_limit_error', 'too_many_buffered_bytes', 'the request bodies this API key has in flight exceed its budget; retry when one has finished', 1);
export const overloaded = (): GatewayError =>
  new GatewayError(503, 'service_unavailable', 'overloaded', 'the gateway is at its request or memory budget; retry', 1);

interface Usage {
  n: number;
  bytes: number;
}

/** One admitted request's share of the budgets; release() exactly once when its answer ends. */
export interface Ticket {
  /** Bytes this request counts now. */
  readonly bytes: number;
  /** Counts `total` bytes for this request (never less than now); an error if a budget would be exceeded (nothing counted then). */
  reserve(total: number): GatewayError | undefined;
  /** Counts exactly `total` bytes (after the body was re-encoded); an error if growing would exceed a budget. */
  resize(total: number): GatewayError | undefined;
  release(): void;
}

export class Admission {
  readonly #keyRate: KeyRateLimiter;
  readonly #accountRate: KeyRateLimiter;
  readonly #keys = new Map<string, Usage>();
  readonly #accounts = new Map<string, number>();
  #inFlight = 0;
  #bytes = 0;
  /** The most bytes ever counted at once (tests and the metric check it against the budget). */
  peakBytes = 0;

  constructor(
    readonly limits: AdmissionLimits,
    clock: Clock,
  ) {
    const now = () => clock.now();
    this.#keyRate = new KeyRateLimiter({ ratePerSecond: limits.keyRatePerSecond, burst: limits.keyRateBurst, now });
    this.#accountRate = new KeyRateLimiter({ ratePerSecond: limits.accountRatePerSecond, burst: limits.accountRateBurst, now });
  }

  get inFlight(): number {
    return this.#inFlight;
  }
  get bufferedBytes(): number {
    return this.#bytes;
  }
  keyUsage(key: string): Readonly<Usage> {
    return this.#keys.get(key) ?? { n: 0, bytes: 0 };
  }

  /** Admits a request of `key` (an API key id) in `account`, or says why not. */
  admit(key: string, account: string): Ticket | GatewayError {
    const l = this.limits;
    const k = this.#keys.get(key) ?? { n: 0, bytes: 0 };
    const a = this.#accounts.get(account) ?? 0;
    if (this.#inFlight >= l.maxInFlight) return overloaded();
    if (k.n >= l.maxInFlightPerKey) return tooManyConcurrent('API key');
    if (a >= l.maxInFlightPerAccount) return tooManyConcurrent('account');
    const byKey = this.#keyRate.take(key);
    if (!byKey.allowed) return rateLimited('API key', Math.ceil(byKey.retryAfterMs / 1000));
    const byAccount = this.#accountRate.take(account);
    if (!byAccount.allowed) return rateLimited('account', Math.ceil(byAccount.retryAfterMs / 1000));
    k.n++;
    this.#keys.set(key, k);
    this.#accounts.set(account, a + 1);
    this.#inFlight++;
    return this.#ticket(key, k, account);
  }

  #ticket(key: string, k: Usage, account: string): Ticket {
    let bytes = 0;
    let released = false;
    const grow = (total: number, strictlyMore: boolean): GatewayError | undefined => {
      if (released) return undefined;
      const delta = strictlyMore ? Math.max(0, total - bytes) : total - bytes;
      if (delta > 0) {
        if (k.bytes + delta > this.limits.maxBufferedBytesPerKey) return tooManyBufferedBytes();
        if (this.#bytes + delta > this.limits.maxBufferedBytes) return overloaded();
      }
      k.bytes += delta;
      this.#bytes += delta;
      bytes += delta;
      this.peakBytes = Math.max(this.peakBytes, this.#bytes);
      return undefined;
    };
    return {
      get bytes() {
        return bytes;
      },
      reserve: (total) => grow(total, true),
      resize: (total) => grow(total, false),
      release: () => {
        if (released) return;
        released = true;
        this.#bytes -= bytes;
        k.bytes -= bytes;
        k.n--;
        if (k.n === 0) this.#keys.delete(key);
        const a = (this.#accounts.get(account) ?? 1) - 1;
        if (a === 0) this.#accounts.delete(account);
        else this.#accounts.set(account, a);
        this.#inFlight--;
      },
    };
  }
}
