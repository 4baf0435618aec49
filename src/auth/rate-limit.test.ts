import { describe, expect, it } from 'vitest';
import { KeyRateLimiter } from './rate-limit.js';

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('KeyRateLimiter', () => {
  it('allows a burst, then the sustained rate, and says when to retry', () => {
    const c = clock();
    const rl = new KeyRateLimiter({ ratePerSecond: 10, burst: 5, now: c.now });
    for (let i = 0; i < 5; i++) expect(rl.take('k').allowed).toBe(true);
    expect(rl.take('k')).toEqual({ allowed: false, retryAfterMs: 100 });
    c.advance(100);
    expect(rl.take('k')).toEqual({ allowed: true, remaining: 0 });
    c.advance(10_000);
    expect(rl.take('k')).toEqual({ allowed: true, remaining: 4 }); // refills only up to the burst
  });

  it('keeps keys apart', () => {
    const c = clock();
    const rl = new KeyRateLimiter({ ratePerSecond: 1, burst: 1, now: c.now });
    expect(rl.take('a').allowed).toBe(true);
    expect(rl.take('a').allowed).toBe(false);
    expect(rl.take('b').allowed).toBe(true);
  });

  it('bounds memory', () => {
    const c = clock();
    const rl = new KeyRateLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 2, now: c.now });
    rl.take('a');
    rl.take('b');
    rl.take('c'); // evicts a
    expect(rl.take('a').allowed).toBe(true); // a fresh bucket
  });

  it('rejects nonsense settings', () => {
    expect(() => new KeyRateLimiter({ ratePerSecond: 0, burst: 1 })).toThrow(RangeError);
  });
});
