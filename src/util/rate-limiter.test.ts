import { describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from './fake-clock.js';
import { Backoff, defaultControllerRateLimiter, ItemExponentialRateLimiter, TokenBucket } from './rate-limiter.js';

describe('TokenBucket', () => {
  it('allows the burst at once, then spaces reservations 1/qps apart', () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ qps: 10, burst: 2 }, clock);
    expect([b.reserve(), b.reserve(), b.reserve(), b.reserve()]).toEqual([0, 0, 100, 200]);
  });

  it('refills over time but never beyond the burst', () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ qps: 10, burst: 3 }, clock);
    for (let i = 0; i < 3; i++) expect(b.tryTake()).toBe(true);
    expect(b.tryTake()).toBe(false);
    clock.advance(100);
    expect(b.tryTake()).toBe(true);
    expect(b.tryTake()).toBe(false);
    clock.advance(60_000);
    expect([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([true, true, true, false]);
  });

  it('wait() resolves when the token is due', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ qps: 5, burst: 1 }, clock);
    await b.wait();
    let done = false;
    void b.wait().then(() => (done = true));
    await clock.advanceAsync(199);
    expect(done).toBe(false);
    await clock.advanceAsync(1);
    expect(done).toBe(true);
  });

  it('rejects unbounded or empty settings', () => {
    const clock = new FakeClock();
    expect(() => new TokenBucket({ qps: 0, burst: 1 }, clock)).toThrow(RangeError);
    expect(() => new TokenBucket({ qps: Infinity, burst: 1 }, clock)).toThrow(RangeError);
    expect(() => new TokenBucket({ qps: 1, burst: 0 }, clock)).toThrow(RangeError);
  });
});

describe('ItemExponentialRateLimiter', () => {
  it('doubles from 5 ms and caps at 1000 s by default', () => {
    const l = new ItemExponentialRateLimiter();
    const d = Array.from({ length: 30 }, () => l.when('k'));
    expect(d.slice(0, 4)).toEqual([5, 10, 20, 40]);
    expect(d.at(-1)).toBe(1_000_000);
    expect(Math.max(...d)).toBe(1_000_000);
  });

  it('stays finite after very many failures', () => {
    const l = new ItemExponentialRateLimiter({ baseDelayMs: 5, maxDelayMs: 1000 });
    for (let i = 0; i < 2000; i++) l.when('k');
    expect(l.when('k')).toBe(1000);
  });
});

describe('defaultControllerRateLimiter', () => {
  it('is the max of per-key backoff and the 10 qps / 100 burst bucket', () => {
    const clock = new FakeClock();
    const l = defaultControllerRateLimiter(clock);
    for (let i = 0; i < 100; i++) expect(l.when(`k${i}`)).toBe(5); // burst: per-key backoff dominates
    expect(l.when('k100')).toBe(100); // bucket empty: 1/10 s
    l.forget('k0');
    expect(l.numRequeues('k0')).toBe(0);
    expect(l.numRequeues('k1')).toBe(1);
  });
});

describe('Backoff', () => {
  it('grows, caps, jitters upwards only, and resets', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5 }, () => 0);
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
    const j = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5 }, () => 1);
    expect(j.next()).toBe(150);
  });
});

describe('FakeClock', () => {
  it('fires timers in due order, including ones set by timers, and honours clearTimeout', async () => {
    const clock = new FakeClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => {
      fired.push(`a@${clock.now()}`);
      clock.setTimeout(() => fired.push(`c@${clock.now()}`), 5);
    }, 10);
    const t = clock.setTimeout(() => fired.push('never'), 15);
    clock.clearTimeout(t);
    clock.advance(30);
    expect(fired).toEqual(['a@1010', 'c@1015', 'b@1020']);
    expect(clock.now()).toBe(1030);
    await flushMicrotasks();
  });
});
