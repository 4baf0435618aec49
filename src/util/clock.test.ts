import { afterEach, describe, expect, it, vi } from 'vitest';
import { realClock, sleep } from './clock.js';
import { FakeClock } from './fake-clock.js';

describe('realClock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits out delays beyond Node’s 24.8-day timer limit instead of firing at once', () => {
    vi.useFakeTimers({ now: 0 });
    const fn = vi.fn();
    const day = 86_400_000;
    realClock.setTimeout(fn, 30 * day);
    vi.advanceTimersByTime(25 * day);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(5 * day - 1);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledOnce();
  });

  it('clearTimeout cancels a chained timer too', () => {
    vi.useFakeTimers({ now: 0 });
    const fn = vi.fn();
    const t = realClock.setTimeout(fn, 40 * 86_400_000);
    vi.advanceTimersByTime(30 * 86_400_000);
    realClock.clearTimeout(t);
    vi.advanceTimersByTime(20 * 86_400_000);
    expect(fn).not.toHaveBeenCalled();
  });
});

describe('sleep', () => {
  it('resolves true after the delay, or false at once when aborted', async () => {
    const clock = new FakeClock();
    const done = sleep(clock, 100);
    clock.advance(100);
    expect(await done).toBe(true);
    const ac = new AbortController();
    const cut = sleep(clock, 100, ac.signal);
    ac.abort();
    expect(await cut).toBe(false);
    expect(clock.pending()).toBe(0);
  });
});
