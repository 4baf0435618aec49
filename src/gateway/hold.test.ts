import { describe, expect, it } from 'vitest';
import { FakeClock } from '../util/fake-clock.js';
import { HoldQueue } from './hold.js';

const LIMITS = { maxHeld: 2, timeoutMs: 60_000 };

describe('HoldQueue', () => {
  it('releases held requests when a replica is ready', async () => {
    const clock = new FakeClock();
    const q = new HoldQueue(clock);
    const a = q.hold('ns/d', LIMITS);
    const b = q.hold('ns/d', LIMITS);
    expect(q.held('ns/d')).toBe(2);
    expect(q.release('ns/d')).toBe(2);
    await expect(Promise.all([a, b])).resolves.toEqual(['ready', 'ready']);
    expect(q.held('ns/d')).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('refuses beyond the count bound at once, per deployment', async () => {
    const q = new HoldQueue(new FakeClock());
    void q.hold('ns/d', LIMITS);
    void q.hold('ns/d', LIMITS);
    await expect(q.hold('ns/d', LIMITS)).resolves.toBe('full');
    expect(q.held('ns/other')).toBe(0);
    void q.hold('ns/other', LIMITS);
    expect(q.held('ns/other')).toBe(1);
    expect(q.total).toBe(3);
  });

  it('times out at the time bound, not before', async () => {
    const clock = new FakeClock();
    const q = new HoldQueue(clock);
    let outcome: string | undefined;
    void q.hold('ns/d', LIMITS).then((o) => (outcome = o));
    clock.advance(59_999);
    await Promise.resolve();
    expect(outcome).toBeUndefined();
    clock.advance(1);
    await Promise.resolve();
    expect(outcome).toBe('timeout');
    expect(q.held('ns/d')).toBe(0);
    // a slot freed by a timeout is free again
    void q.hold('ns/d', LIMITS);
    void q.hold('ns/d', LIMITS);
    expect(q.held('ns/d')).toBe(2);
  });

  it('drops a request whose client disconnected, freeing its slot and timer', async () => {
    const clock = new FakeClock();
    const q = new HoldQueue(clock);
    const ac = new AbortController();
    const p = q.hold('ns/d', LIMITS, ac.signal);
    void q.hold('ns/d', LIMITS);
    ac.abort();
    await expect(p).resolves.toBe('aborted');
    expect(q.held('ns/d')).toBe(1);
    expect(clock.pending()).toBe(1);
    expect(q.release('ns/d')).toBe(1);
    await expect(q.hold('ns/d', LIMITS, AbortSignal.abort())).resolves.toBe('aborted');
  });

  it('closeAll ends every hold with closing', async () => {
    const clock = new FakeClock();
    const q = new HoldQueue(clock);
    const held = [q.hold('ns/a', LIMITS), q.hold('ns/b', LIMITS)];
    expect(q.closeAll()).toBe(2);
    await expect(Promise.all(held)).resolves.toEqual(['closing', 'closing']);
    expect(q.total).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('a zero time limit refuses at once', async () => {
    await expect(new HoldQueue(new FakeClock()).hold('ns/d', { maxHeld: 1, timeoutMs: 0 })).resolves.toBe('timeout');
  });
});
