// The cold-start hold: a request for a deployment with no ready replica waits here (Knative's
// activator, KEDA's interceptor) while the autoscaler brings one up, and is released when an
// endpoint appears. Bounded per deployment in count and in time, so the answer beyond the bound is
// a prompt 429/503 with Retry-After, never a hang; a client that goes away leaves the queue at once.
import type { Clock, Timer } from '../util/clock.js';

export interface HoldLimits {
  /** Requests held at once for one deployment; more are refused (429). */
  maxHeld: number;
  /** How long one request may wait for a ready replica (then 503). */
  timeoutMs: number;
}

/** GPU replicas take minutes to start (node, image, weights, CUDA graphs): wait up to 10 min. */
export const DEFAULT_HOLD_LIMITS: Readonly<HoldLimits> = Object.freeze({ maxHeld: 256, timeoutMs: 600_000 });

export type HoldOutcome = 'ready' | 'full' | 'timeout' | 'aborted' | 'closing' | 'gone';

interface Waiter {
  resolve(o: HoldOutcome): void;
}

export class HoldQueue {
  readonly #queues = new Map<string, Set<Waiter>>();
  #total = 0;

  constructor(private readonly clock: Clock) {}

  /**
   * Waits until `release(key)`, the time limit, or `signal` (client gone), whichever is first.
   * Refuses at once ('full') when `maxHeld` requests already wait for `key`.
   */
  hold(key: string, limits: HoldLimits, signal?: AbortSignal): Promise<HoldOutcome> {
    if (signal?.aborted) return Promise.resolve('aborted');
    const q = this.#queues.get(key) ?? new Set<Waiter>();
    if (q.size >= limits.maxHeld) return Promise.resolve('full');
    if (limits.timeoutMs <= 0) return Promise.resolve('timeout');
    this.#queues.set(key, q);
    return new Promise<HoldOutcome>((resolve) => {
      const onAbort = (): void => w.resolve('aborted');
      const w: Waiter = {
        resolve: (o) => {
          if (!q.delete(w)) return;
          this.#total--;
          if (q.size === 0 && this.#queues.get(key) === q) this.#queues.delete(key);
          this.clock.clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(o);
        },
      };
      q.add(w);
      this.#total++;
      const timer: Timer = this.clock.setTimeout(() => w.resolve('timeout'), limits.timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Lets every request held for `key` go: 'ready' (a replica became ready), or 'gone' (the
   * deployment was deleted: nothing will come up). Returns how many.
   */
  release(key: string, outcome: 'ready' | 'gone' = 'ready'): number {
    const q = this.#queues.get(key);
    if (!q) return 0;
    const waiters = [...q];
    for (const w of waiters) w.resolve(outcome);
    return waiters.length;
  }

  /** Ends every hold with 'closing' (the gateway is shutting down: clients should retry elsewhere). */
  closeAll(): number {
    let n = 0;
    for (const key of [...this.#queues.keys()]) {
      for (const w of [...(this.#queues.get(key) ?? [])]) {
        w.resolve('closing');
        n++;
      }
    }
    return n;
  }

  held(key: string): number {
    return this.#queues.get(key)?.size ?? 0;
  }

  get total(): number {
    return this.#total;
  }

  /** Keys with held requests (for load reports). */
  keys(): string[] {
    return [...this.#queues.keys()];
  }
}
