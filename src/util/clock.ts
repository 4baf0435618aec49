// An injectable clock: production code asks it for the time and for timers, so unit tests can
// drive time with FakeClock instead of sleeping.

/** An opaque timer handle returned by Clock.setTimeout. */
export type Timer = object;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(t: Timer): void;
}

/** Node fires a timeout longer than this (~24.8 days) after 1 ms instead; longer ones are chained. */
const MAX_NODE_TIMEOUT = 2 ** 31 - 1;

interface RealTimer {
  handle: ReturnType<typeof setTimeout> | undefined;
}

/** The wall clock and Node's timers (any delay, even beyond Node's 24.8-day limit). */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t: RealTimer = { handle: undefined };
    const due = Date.now() + Math.max(0, ms);
    const arm = (): void => {
      const left = due - Date.now();
      t.handle = left > MAX_NODE_TIMEOUT ? setTimeout(arm, MAX_NODE_TIMEOUT) : setTimeout(fn, Math.max(0, left));
    };
    arm();
    return t;
  },
  clearTimeout: (t) => clearTimeout((t as RealTimer).handle),
};

/** Resolves after `ms` on `clock`, or at once (with `false`) when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      clock.clearTimeout(t);
      resolve(false);
    };
    const t = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A manual clock for tests. Timers fire only from advance()/advanceAsync(), in due order (ties in
 * the order they were set), each seeing now() equal to its due time.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Set<FakeTimer>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const t: FakeTimer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.add(t);
    return t;
  }

  clearTimeout(t: Timer): void {
    this.#timers.delete(t as FakeTimer);
  }

  /** Number of timers not yet fired or cleared. */
  pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing due timers synchronously (including ones they set). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (let t = this.#next(end); t; t = this.#next(end)) this.#fire(t);
    this.#now = end;
  }

  /**
   * Like advance(), but lets promise chains run (a macrotask turn) before and after each timer, so
   * async code that awaits and then sets a new timer is driven as it would be in real time.
   */
  async advanceAsync(ms: number): Promise<void> {
    const end = this.#now + ms;
    await flushMicrotasks();
    for (let t = this.#next(end); t; t = this.#next(end)) {
      this.#fire(t);
      await flushMicrotasks();
    }
    this.#now = end;
    await flushMicrotasks();
  }

  #next(end: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.#timers) {
      if (t.at <= end && (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq))) best = t;
    }
    return best;
  }

  #fire(t: FakeTimer): void {
    this.#timers.delete(t);
    this.#now = Math.max(this.#now, t.at);
    t.fn();
  }
}

/** Lets pending promise callbacks run: a few macrotask turns (not a sleep: no time passes). */
export async function flushMicrotasks(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}
