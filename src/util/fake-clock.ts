// FakeClock, the manual Clock every unit test drives instead of sleeping, and flushMicrotasks.
// Test doubles only: kept out of dist/ by tsconfig.build.json (fake-*.ts).
import type { Clock, Timer } from './clock.js';

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
