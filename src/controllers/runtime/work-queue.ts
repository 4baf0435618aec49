// A rate-limited work queue of string keys, after client-go's workqueue:
//
// - dirty set: a key added while it waits is queued once;
// - processing set: a key handed to a worker is not handed out again until done(key); if it was
//   added meanwhile it goes back on the queue at done(), so one key never has two workers;
// - addAfter(): delayed adds (requeueAfter), the earliest pending time per key wins;
// - addRateLimited()/forget(): per-key failure backoff combined with a global limit;
// - shutDown(): no new work is handed out or accepted; drain() waits for in-flight keys.
import type { Clock, Timer } from '../../util/clock.js';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.js';

export interface WorkQueueOptions {
  clock: Clock;
  /** Defaults to defaultControllerRateLimiter(clock). */
  rateLimiter?: RateLimiter;
}

interface Delayed {
  at: number;
  timer: Timer;
}

export class WorkQueue {
  readonly #clock: Clock;
  readonly #limiter: RateLimiter;
  readonly #queue: string[] = [];
  /** Keys that need processing: queued, or added again while processing. */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #delayed = new Map<string, Delayed>();
  #getters: Array<(key: string | undefined) => void> = [];
  #drainers: Array<() => void> = [];
  #shuttingDown = false;

  constructor(opts: WorkQueueOptions) {
    this.#clock = opts.clock;
    this.#limiter = opts.rateLimiter ?? defaultControllerRateLimiter(opts.clock);
  }

  /** Queues `key` unless it is already waiting; ignored after shutDown(). */
  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return; // re-queued by done()
    this.#push(key);
  }

  /** Queues `key` after `ms` (at once if ms <= 0). An earlier pending time for the key wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (!(ms > 0)) return this.add(key);
    const at = this.#clock.now() + ms;
    const existing = this.#delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.#clock.clearTimeout(existing.timer);
    const timer = this.#clock.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    this.#delayed.set(key, { at, timer });
  }

  /** Queues `key` after the rate limiter's delay for it (a failure: its backoff grows). */
  addRateLimited(key: string): void {
    this.addAfter(key, this.#limiter.when(key));
  }

  /** Resets `key`'s backoff (after a successful reconcile). */
  forget(key: string): void {
    this.#limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.#limiter.numRequeues(key);
  }

  /**
   * The next key to process, waiting for one if the queue is empty; undefined once the queue is
   * shut down. The caller must call done(key) when it has finished with it.
   */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#queue.shift();
    if (key !== undefined) return Promise.resolve(this.#take(key));
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Marks `key` finished; if it was added while processing, it is queued again. */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shuttingDown) this.#push(key);
    if (this.#processing.size === 0) this.#notifyDrained();
  }

  /** Keys waiting to be handed out (not counting delayed or in-flight ones). */
  len(): number {
    return this.#queue.length;
  }

  /** Keys currently handed out to workers. */
  inFlight(): number {
    return this.#processing.size;
  }

  /** Keys with a pending delayed add. */
  delayed(): number {
    return this.#delayed.size;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Stops the queue: waiting and future get() calls return undefined, adds are ignored, delayed
   * adds are dropped. Keys still queued are abandoned: reconciliation is level-triggered, so the
   * next owner of the work relists and finds them again.
   */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const d of this.#delayed.values()) this.#clock.clearTimeout(d.timer);
    this.#delayed.clear();
    this.#queue.length = 0;
    const getters = this.#getters;
    this.#getters = [];
    for (const g of getters) g(undefined);
    if (this.#processing.size === 0) this.#notifyDrained();
  }

  /**
   * Resolves true once no key is in flight, or false when `timeoutMs` passes first. Call after
   * shutDown() to let in-flight reconciles finish.
   */
  drain(timeoutMs = Infinity): Promise<boolean> {
    if (this.#processing.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: Timer | undefined;
      const onDrained = (): void => {
        if (timer) this.#clock.clearTimeout(timer);
        resolve(true);
      };
      this.#drainers.push(onDrained);
      if (Number.isFinite(timeoutMs)) {
        timer = this.#clock.setTimeout(() => {
          this.#drainers = this.#drainers.filter((d) => d !== onDrained);
          resolve(false);
        }, timeoutMs);
      }
    });
  }

  /** shutDown() then drain(timeoutMs). */
  shutDownWithDrain(timeoutMs = Infinity): Promise<boolean> {
    this.shutDown();
    return this.drain(timeoutMs);
  }

  #push(key: string): void {
    const getter = this.#getters.shift();
    if (getter) getter(this.#take(key));
    else this.#queue.push(key);
  }

  #take(key: string): string {
    this.#dirty.delete(key);
    this.#processing.add(key);
    return key;
  }

  #notifyDrained(): void {
    const drainers = this.#drainers;
    this.#drainers = [];
    for (const d of drainers) d();
  }
}
