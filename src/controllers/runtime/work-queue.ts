// A rate-limited work queue of string keys, after client-go's workqueue:
//
// - dirty set: a key added while it waits is queued once;
// - processing set: a key handed to a worker is not handed out again until done(key); if it was
//   added meanwhile it goes back on the queue at done(), so one key never has two workers;
// - addAfter(): delayed adds (requeueAfter), the earliest pending time per key wins;
// - addRateLimited()/forget(): per-key failure backoff combined with a global limit;
// - shutDown(): no new work is handed out or accepted; drain() waits for in-flight keys;
// - two priorities (controller-runtime's priority queue, reduced to two lanes): a 'low' key waits
//   behind 'normal' ones, so a flood of new objects (or an initial list, or a resync) does not
//   delay the passes of objects already in progress; a low key re-added as normal is promoted; and
//   while low keys wait, at least one key in every `lowPriorityEvery` handed out is a low one, so
//   new work is never starved by a busy normal lane.
import type { Clock, Timer } from '../../util/clock.js';
import { defaultControllerRateLimiter, type RateLimiter } from '../../util/rate-limiter.js';

export interface WorkQueueOptions {
  clock: Clock;
  /** Defaults to defaultControllerRateLimiter(clock). */
  rateLimiter?: RateLimiter;
  /** While low-priority keys wait, at least one key in every this many handed out is low (default 4; at least 2, which alternates). */
  lowPriorityEvery?: number;
}

/**
 * 'normal': work on objects already in progress (their children changed, a spec update, a retry,
 * a requeueAfter). 'low': work that can wait behind it (a new object, an initial list, a resync).
 */
export type Priority = 'normal' | 'low';

interface Delayed {
  at: number;
  timer: Timer;
}

/** A key's place in a lane; entries whose seq is no longer the key's are stale (it was promoted or taken). */
interface Entry {
  key: string;
  seq: number;
}

export const DEFAULT_LOW_PRIORITY_EVERY = 4;

export class WorkQueue {
  readonly #clock: Clock;
  readonly #limiter: RateLimiter;
  readonly #lanes: Record<Priority, Entry[]> = { normal: [], low: [] };
  /** Keys waiting in a lane: which lane, and the seq of their live entry there. */
  readonly #queued = new Map<string, { lane: Priority; seq: number }>();
  readonly #waiting: Record<Priority, number> = { normal: 0, low: 0 };
  readonly #lowEvery: number;
  #normalInARow = 0;
  #seq = 0;
  /** Keys that need processing (queued, or added again while processing), with their priority. */
  readonly #dirty = new Map<string, Priority>();
  readonly #processing = new Set<string>();
  readonly #delayed = new Map<string, Delayed>();
  #getters: Array<(key: string | undefined) => void> = [];
  #drainers: Array<() => void> = [];
  #shuttingDown = false;

  constructor(opts: WorkQueueOptions) {
    this.#clock = opts.clock;
    this.#limiter = opts.rateLimiter ?? defaultControllerRateLimiter(opts.clock);
    this.#lowEvery = Math.max(2, Math.floor(opts.lowPriorityEvery ?? DEFAULT_LOW_PRIORITY_EVERY));
  }

  /**
   * Queues `key` unless it is already waiting (then a 'normal' add promotes a waiting 'low' key;
   * a 'low' add never demotes); ignored after shutDown().
   */
  add(key: string, priority: Priority = 'normal'): void {
    if (this.#shuttingDown) return;
    const was = this.#dirty.get(key);
    if (was !== undefined) {
      if (was === 'low' && priority === 'normal') {
        this.#dirty.set(key, 'normal');
        if (this.#queued.has(key)) this.#enqueue(key, 'normal'); // leaves a stale entry in the low lane
      }
      return;
    }
    this.#dirty.set(key, priority);
    if (this.#processing.has(key)) return; // re-queued by done()
    this.#push(key, priority);
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
    const key = this.#pop();
    if (key !== undefined) return Promise.resolve(this.#take(key));
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Marks `key` finished; if it was added while processing, it is queued again (with the priority it was added with). */
  done(key: string): void {
    this.#processing.delete(key);
    const priority = this.#dirty.get(key);
    if (priority !== undefined && !this.#shuttingDown) this.#push(key, priority);
    if (this.#processing.size === 0) this.#notifyDrained();
  }

  /** Keys waiting to be handed out (not counting delayed or in-flight ones); of one priority if given. */
  len(priority?: Priority): number {
    return priority ? this.#waiting[priority] : this.#waiting.normal + this.#waiting.low;
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
    this.#lanes.normal.length = 0;
    this.#lanes.low.length = 0;
    this.#queued.clear();
    this.#waiting.normal = 0;
    this.#waiting.low = 0;
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

  #push(key: string, priority: Priority): void {
    const getter = this.#getters.shift();
    if (getter) getter(this.#take(key));
    else this.#enqueue(key, priority);
  }

  /** Puts `key` at the tail of `lane`; an entry it had in another lane becomes stale. */
  #enqueue(key: string, lane: Priority): void {
    const prev = this.#queued.get(key);
    if (prev) this.#waiting[prev.lane]--;
    const seq = ++this.#seq;
    this.#queued.set(key, { lane, seq });
    this.#waiting[lane]++;
    this.#lanes[lane].push({ key, seq });
  }

  /** The next key: normal before low, except that low keys get one turn in every `lowPriorityEvery`. */
  #pop(): string | undefined {
    if (this.#waiting.low === 0) this.#normalInARow = 0;
    const lowTurn = this.#waiting.low > 0 && (this.#waiting.normal === 0 || this.#normalInARow >= this.#lowEvery - 1);
    const lane: Priority = lowTurn ? 'low' : 'normal';
    if (this.#waiting[lane] === 0) return undefined;
    for (let e = this.#lanes[lane].shift(); e !== undefined; e = this.#lanes[lane].shift()) {
      const q = this.#queued.get(e.key);
      if (q?.seq !== e.seq) continue; // stale: promoted or already taken
      this.#queued.delete(e.key);
      this.#waiting[lane]--;
      this.#normalInARow = lane === 'low' ? 0 : this.#normalInARow + 1;
      return e.key;
    }
    return undefined;
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
