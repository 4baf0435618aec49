import { describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from '../../util/fake-clock.js';
import { BucketRateLimiter, ItemExponentialRateLimiter, MaxOfRateLimiter, TokenBucket } from '../../util/rate-limiter.js';
import { WorkQueue } from './work-queue.js';

/** Takes every key available right now (without waiting). */
async function takeAll(q: WorkQueue): Promise<string[]> {
  const out: string[] = [];
  while (q.len() > 0) {
    const k = await q.get();
    if (k !== undefined) out.push(k);
  }
  return out;
}

describe('WorkQueue', () => {
  it('queues a key added several times while waiting once, in FIFO order', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('ns/a');
    q.add('ns/b');
    q.add('ns/a');
    q.add('ns/a');
    expect(q.len()).toBe(2);
    expect(await takeAll(q)).toEqual(['ns/a', 'ns/b']);
  });

  it('never hands out a key that is being processed; a re-add during processing comes back after done', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('ns/a');
    const first = await q.get();
    expect(first).toBe('ns/a');
    q.add('ns/a');
    q.add('ns/a');
    expect(q.len()).toBe(0); // not available to a second worker

    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await flushMicrotasks();
    expect(second).toBeUndefined();

    q.done('ns/a');
    await flushMicrotasks();
    expect(second).toBe('ns/a'); // once, despite two re-adds
    q.done('ns/a');
    expect(q.len()).toBe(0);
  });

  it('a done key that was not re-added is gone', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('a');
    const k = await q.get();
    q.done(k!);
    expect(q.len()).toBe(0);
    expect(q.inFlight()).toBe(0);
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    const got = q.get();
    q.add('x');
    expect(await got).toBe('x');
  });

  it('backs off per key exponentially on failures and forget() resets it', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, rateLimiter: new ItemExponentialRateLimiter({ baseDelayMs: 5, maxDelayMs: 1000 }) });
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      const before = clock.now();
      q.addRateLimited('k');
      // Step 1 ms at a time until the key is available: measures the actual delay.
      while (q.len() === 0) clock.advance(1);
      delays.push(clock.now() - before);
      const k = await q.get();
      q.done(k!);
    }
    expect(delays).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    expect(q.numRequeues('k')).toBe(10);

    q.forget('k');
    expect(q.numRequeues('k')).toBe(0);
    q.addRateLimited('k');
    clock.advance(4);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
  });

  it('keeps backoff separate per key', () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, rateLimiter: new ItemExponentialRateLimiter() });
    q.addRateLimited('a');
    q.addRateLimited('a'); // second failure of a: 10 ms, but the pending 5 ms add wins
    q.addRateLimited('b');
    clock.advance(5);
    expect(q.len()).toBe(2);
    expect(q.numRequeues('a')).toBe(2);
    expect(q.numRequeues('b')).toBe(1);
  });

  it('the global token bucket limits retries across keys', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 10, burst: 3 }, clock);
    const q = new WorkQueue({ clock, rateLimiter: new MaxOfRateLimiter(new ItemExponentialRateLimiter({ baseDelayMs: 1 }), new BucketRateLimiter(bucket)) });
    for (let i = 0; i < 6; i++) q.addRateLimited(`k${i}`);
    clock.advance(1);
    expect(q.len()).toBe(3); // the burst
    clock.advance(99);
    expect(q.len()).toBe(4); // then one every 100 ms
    clock.advance(100);
    expect(q.len()).toBe(5);
    clock.advance(100);
    expect(q.len()).toBe(6);
    expect(await takeAll(q)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
  });

  it('addAfter releases keys in due order and keeps the earliest time for a key', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.addAfter('late', 300);
    q.addAfter('early', 100);
    q.addAfter('mid', 200);
    q.addAfter('early', 250); // later than pending: ignored
    q.addAfter('late', 150); // earlier than pending: replaces
    expect(q.delayed()).toBe(3);
    const order: string[] = [];
    for (let i = 0; i < 40; i++) {
      clock.advance(10);
      for (const k of await takeAll(q)) order.push(`${k}@${clock.now()}`);
    }
    expect(order).toEqual(['early@100', 'late@150', 'mid@200']);
    expect(q.delayed()).toBe(0);
  });

  it('addAfter with a non-positive delay adds at once', () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.addAfter('a', 0);
    q.addAfter('b', -5);
    expect(q.len()).toBe(2);
  });

  it('shutDown releases waiting workers, refuses new work and drops delayed adds', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    const waiting = q.get();
    q.addAfter('later', 1000);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('new');
    expect(q.len()).toBe(0);
    clock.advance(2000);
    expect(q.len()).toBe(0);
    expect(clock.pending()).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  it('drain waits for in-flight keys, and a key re-added meanwhile is not requeued', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.add('a');
    q.add('b');
    const a = (await q.get())!;
    q.add('a');
    let drained: boolean | undefined;
    void q.shutDownWithDrain().then((d) => (drained = d));
    await flushMicrotasks();
    expect(drained).toBeUndefined();
    expect(await q.get()).toBeUndefined(); // b is not handed out after shutdown
    q.done(a);
    await flushMicrotasks();
    expect(drained).toBe(true);
    expect(q.len()).toBe(0);
  });

  it('drain gives up at its timeout', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.add('stuck');
    await q.get();
    q.shutDown();
    const p = q.drain(5000);
    clock.advance(4999);
    await flushMicrotasks();
    clock.advance(1);
    expect(await p).toBe(false);
    expect(q.inFlight()).toBe(1);
  });
});

describe('WorkQueue priorities', () => {
  it('hands out normal keys before low ones, FIFO within each, while the guard is not due', async () => {
    const q = new WorkQueue({ clock: new FakeClock(), lowPriorityEvery: 100 });
    q.add('new-1', 'low');
    q.add('new-2', 'low');
    q.add('child-1');
    q.add('child-2', 'normal');
    expect(q.len()).toBe(4);
    expect(q.len('low')).toBe(2);
    expect(await takeAll(q)).toEqual(['child-1', 'child-2', 'new-1', 'new-2']);
  });

  it('promotes a waiting low key re-added as normal, and hands it out once', async () => {
    const q = new WorkQueue({ clock: new FakeClock(), lowPriorityEvery: 100 });
    q.add('a', 'low');
    q.add('b', 'low');
    q.add('c');
    q.add('b'); // its children changed: now in progress
    q.add('b', 'low'); // never demoted
    expect(q.len()).toBe(3);
    expect(q.len('normal')).toBe(2);
    expect(await takeAll(q)).toEqual(['c', 'b', 'a']);
    expect(q.len()).toBe(0);
  });

  it('a promoted key queued again later as low keeps its new place (the stale entry is skipped)', async () => {
    const q = new WorkQueue({ clock: new FakeClock(), lowPriorityEvery: 100 });
    q.add('a', 'low');
    q.add('b', 'low');
    q.add('a');
    expect(await q.get()).toBe('a');
    q.done('a');
    q.add('a', 'low'); // behind b now, although a's old low entry is ahead of b
    expect(await takeAll(q)).toEqual(['b', 'a']);
  });

  it('gives low keys one turn in every lowPriorityEvery while normal keys keep coming', async () => {
    const q = new WorkQueue({ clock: new FakeClock(), lowPriorityEvery: 4 });
    for (let i = 0; i < 3; i++) q.add(`low-${i}`, 'low');
    for (let i = 0; i < 9; i++) q.add(`n-${i}`);
    expect(await takeAll(q)).toEqual(['n-0', 'n-1', 'n-2', 'low-0', 'n-3', 'n-4', 'n-5', 'low-1', 'n-6', 'n-7', 'n-8', 'low-2']);
  });

  it('lowPriorityEvery 2 alternates while both priorities wait (its minimum)', async () => {
    const q = new WorkQueue({ clock: new FakeClock(), lowPriorityEvery: 1 });
    q.add('l1', 'low');
    q.add('l2', 'low');
    q.add('n1');
    q.add('n2');
    q.add('n3');
    expect(await takeAll(q)).toEqual(['n1', 'l1', 'n2', 'l2', 'n3']);
  });

  it('a key re-added while processing comes back at done() with the best priority it was added with', async () => {
    const q = new WorkQueue({ clock: new FakeClock(), lowPriorityEvery: 100 });
    q.add('a');
    const a = (await q.get())!;
    q.add('other', 'low');
    q.add('a', 'low');
    q.add('a');
    expect(q.len()).toBe(1); // a is not available to a second worker meanwhile
    q.done(a);
    expect(await takeAll(q)).toEqual(['a', 'other']);
    q.done('a');
    q.done('other');

    q.add('b');
    const b = (await q.get())!;
    q.add('c');
    q.add('b', 'low');
    q.done(b);
    expect(await takeAll(q)).toEqual(['c', 'b']);
  });

  it('a worker waiting on an empty queue gets a low key at once', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    const got = q.get();
    q.add('x', 'low');
    expect(await got).toBe('x');
    expect(q.len()).toBe(0);
  });

  it('delayed and rate-limited adds come back as normal (work in progress)', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, rateLimiter: new ItemExponentialRateLimiter({ baseDelayMs: 5 }), lowPriorityEvery: 100 });
    q.add('new', 'low');
    q.addAfter('requeued', 10);
    q.addRateLimited('failed');
    clock.advance(10);
    expect(await takeAll(q)).toEqual(['failed', 'requeued', 'new']);
  });

  it('shutDown drops both lanes', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('a', 'low');
    q.add('b');
    q.shutDown();
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
  });
});
