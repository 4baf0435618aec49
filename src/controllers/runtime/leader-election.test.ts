import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from '../../util/fake-clock.js';
import { LeaderElector, type LeaderElectorOptions } from './leader-election.js';
import { MemoryLease, type MemoryLeaseClient, silentLogger } from './testing.js';

interface Candidate {
  id: string;
  elector: LeaderElector;
  client: MemoryLeaseClient;
  events: string[];
}

const running: LeaderElector[] = [];
afterEach(async () => {
  // Stop everything still running so no loop outlives its test (stop never needs time to pass
  // unless a drain is scripted, and none is at this point).
  await Promise.all(running.splice(0).map((e) => e.stop()));
});

function candidate(clock: FakeClock, lease: MemoryLease, id: string, over: Partial<LeaderElectorOptions> = {}): Candidate {
  const events: string[] = [];
  const client = lease.client();
  const elector = new LeaderElector({
    client,
    identity: id,
    clock,
    log: silentLogger(),
    random: () => 0, // acquire retries exactly every retryPeriod
    onStartedLeading: () => events.push(`started@${clock.now()}`),
    onStoppedLeading: () => {
      events.push(`stopped@${clock.now()}`);
    },
    ...over,
  });
  running.push(elector);
  return { id, elector, client, events };
}

describe('LeaderElector', () => {
  it('creates the Lease and leads when there is none, then renews every retryPeriod', async () => {
    const clock = new FakeClock(1_000_000);
    const lease = new MemoryLease();
    const a = candidate(clock, lease, 'a');
    void a.elector.run();
    await flushMicrotasks();
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events).toEqual(['started@1000000']);
    expect(lease.state?.record).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0, acquireTime: 1_000_000, renewTime: 1_000_000 });

    await clock.advanceAsync(2000);
    expect(lease.state?.record.renewTime).toBe(1_002_000);
    expect(lease.state?.record.acquireTime).toBe(1_000_000);
    await clock.advanceAsync(2000);
    expect(lease.state?.record.renewTime).toBe(1_004_000);
    expect(lease.state?.record.leaseTransitions).toBe(0);
  });

  it('exactly one of two candidates leads, whoever wins the create race', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = candidate(clock, lease, 'a');
    const b = candidate(clock, lease, 'b');
    void a.elector.run();
    void b.elector.run();
    await flushMicrotasks();
    for (let i = 0; i < 30; i++) {
      await clock.advanceAsync(1000);
      expect([a.elector.isLeader(), b.elector.isLeader()].filter(Boolean)).toHaveLength(1);
    }
    expect(b.events).toEqual([]);
    expect(b.elector.observedLeader).toBe('a');
  });

  it('a leader that cannot renew steps down at the renew deadline; the other takes over when the lease expires', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = candidate(clock, lease, 'a');
    const b = candidate(clock, lease, 'b');
    void a.elector.run();
    await flushMicrotasks();
    void b.elector.run();
    await flushMicrotasks();
    await clock.advanceAsync(4000); // a renewed at 2 s and 4 s; b has observed those renewals

    a.client.failWith = new Error('connection refused'); // a is cut off from the API server
    await clock.advanceAsync(9999);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advanceAsync(1);
    // Last renew at 4 s, deadline 10 s: stepped down at 14 s.
    expect(a.elector.isLeader()).toBe(false);
    expect(a.events).toEqual(['started@0', 'stopped@14000']);

    // b last saw the lease change at 4 s; it is valid until 19 s. b polls every 2 s (18 s, 20 s)
    // but does not wait for its 20 s poll: it tries again the moment the lease expires.
    await clock.advanceAsync(4999); // 18.999 s
    expect(b.elector.isLeader()).toBe(false);
    await clock.advanceAsync(1); // 19 s
    expect(b.elector.isLeader()).toBe(true);
    expect(lease.state?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1, acquireTime: 19_000 });

    // a, back online, stays a follower.
    a.client.failWith = undefined;
    await clock.advanceAsync(30_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(b.elector.isLeader()).toBe(true);
  });

  it('never two leaders, even when a renewal is answered long after the server applied it', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = candidate(clock, lease, 'a');
    void a.elector.run();
    await clock.advanceAsync(1000);
    const b = candidate(clock, lease, 'b'); // b reads at 1 s, 3 s, 5 s …: it sees a's 4 s write at 5 s
    void b.elector.run();
    await clock.advanceAsync(2000);
    // a's renewal at 4 s is applied at once but answered 7.5 s later (within its deadline);
    // then a is cut off. Counting the renewal from its answer (11.5 s) would keep a leading until
    // 21.5 s, while b may take over from 20 s (5 s + 15 s, at its 21 s retry).
    a.client.slowAnswers = { clock, ms: 7500 };
    await clock.advanceAsync(1500);
    a.client.slowAnswers = undefined;
    a.client.failWith = new Error('partition');
    for (let t = 0; t < 40_000; t += 250) {
      await clock.advanceAsync(250);
      expect(a.elector.isLeader() && b.elector.isLeader(), `both lead at ${clock.now()}`).toBe(false);
    }
    expect(b.elector.isLeader()).toBe(true);
  });

  it('tells onStoppedLeading why, and when a successor may lead', async () => {
    const clock = new FakeClock(0);
    const whys: unknown[] = [];
    const lease = new MemoryLease();
    const a = candidate(clock, lease, 'a', { onStoppedLeading: (why) => void whys.push(why) });
    void a.elector.run();
    await clock.advanceAsync(2000); // renewed at 2 s
    a.client.failWith = new Error('partition');
    await clock.advanceAsync(10_000); // steps down at 12 s; a successor may lead from 17 s
    expect(whys).toEqual([{ reason: 'lost', successorMayLeadInMs: 5000 }]);

    a.client.failWith = undefined;
    await clock.advanceAsync(2000);
    expect(a.elector.isLeader()).toBe(true);
    lease.write({ ...lease.state!.record, holderIdentity: 'intruder' });
    await clock.advanceAsync(2000);
    expect(whys.at(-1)).toEqual({ reason: 'lost', successorMayLeadInMs: 0 });

    const b = candidate(clock, new MemoryLease(), 'b', { onStoppedLeading: (why) => void whys.push(why) });
    void b.elector.run();
    await flushMicrotasks();
    await b.elector.stop();
    expect(whys.at(-1)).toEqual({ reason: 'stopped' });
  });

  it('a renew that hangs counts as a failure once the deadline passes', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = candidate(clock, lease, 'a');
    void a.elector.run();
    await flushMicrotasks();
    a.client.hang = true;
    await clock.advanceAsync(9999);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advanceAsync(1);
    expect(a.elector.isLeader()).toBe(false);
  });

  it('steps down at once when it finds another holder in the Lease', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = candidate(clock, lease, 'a');
    void a.elector.run();
    await flushMicrotasks();
    // Someone (an operator, a replica with a skewed view) overwrites the lease.
    lease.write({ ...lease.state!.record, holderIdentity: 'intruder', renewTime: 0 });
    await clock.advanceAsync(2000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.events).toEqual(['started@0', 'stopped@2000']);
  });

  it('renews through conflicts: a failed update is retried before the deadline', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = candidate(clock, lease, 'a');
    void a.elector.run();
    await flushMicrotasks();
    // Bump the resourceVersion between a's get and update, once: a's update gets 409.
    const origGet = a.client.get.bind(a.client);
    let once = true;
    a.client.get = async () => {
      const l = await origGet();
      if (once && l) {
        once = false;
        lease.write(l.record);
      }
      return l;
    };
    const writes = lease.writes;
    await clock.advanceAsync(2000);
    expect(lease.writes).toBe(writes + 1); // only the bump; a's update conflicted
    expect(a.elector.isLeader()).toBe(true);
    await clock.advanceAsync(2000);
    expect(lease.state?.record.renewTime).toBe(4000);
    expect(a.elector.isLeader()).toBe(true);
  });

  it('a follower never takes a lease its holder keeps renewing', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = candidate(clock, lease, 'a');
    void a.elector.run();
    await flushMicrotasks();
    const b = candidate(clock, lease, 'b');
    void b.elector.run();
    await clock.advanceAsync(60_000);
    expect(b.elector.isLeader()).toBe(false);
    expect(a.elector.isLeader()).toBe(true);
  });

  it('stop() keeps renewing while the work drains, then releases so a successor takes over at its next retry', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    let finishDrain!: () => void;
    const a = candidate(clock, lease, 'a', {
      onStoppedLeading: () => new Promise<void>((r) => (finishDrain = r)),
    });
    const b = candidate(clock, lease, 'b');
    void a.elector.run();
    await flushMicrotasks();
    void b.elector.run();
    await clock.advanceAsync(1000);

    let stopped = false;
    void a.elector.stop().then(() => (stopped = true));
    await clock.advanceAsync(20_000); // a long drain: longer than the lease duration
    expect(stopped).toBe(false);
    expect(a.elector.isLeader()).toBe(true);
    expect(lease.state?.record.holderIdentity).toBe('a');
    expect(lease.state?.record.renewTime).toBe(20_000);
    expect(b.elector.isLeader()).toBe(false);

    finishDrain();
    await flushMicrotasks();
    expect(stopped).toBe(true);
    expect(lease.state?.record).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    await clock.advanceAsync(2000); // b's next retry
    expect(b.elector.isLeader()).toBe(true);
    expect(lease.state?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('releases even when stop() abandons a renewal that lands afterwards', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = candidate(clock, lease, 'a');
    void a.elector.run();
    await flushMicrotasks();
    a.client.slowAnswers = { clock, ms: 1000 };
    await clock.advanceAsync(2500); // the 2 s renewal is written; its answer is due at 3 s
    const stopping = a.elector.stop();
    await clock.advanceAsync(5000);
    await stopping;
    expect(lease.state?.record.holderIdentity).toBe('');
  });

  it('a candidate stopped before it leads neither leads nor writes', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = candidate(clock, lease, 'a');
    void a.elector.run();
    await flushMicrotasks();
    const b = candidate(clock, lease, 'b');
    void b.elector.run();
    await flushMicrotasks();
    const writes = lease.writes;
    await b.elector.stop();
    expect(lease.writes).toBe(writes);
    expect(b.events).toEqual([]);
  });

  it('competes again after losing, and leads again once the lease is free', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = candidate(clock, lease, 'a');
    void a.elector.run();
    await flushMicrotasks();
    a.client.failWith = new Error('partition');
    await clock.advanceAsync(12_000);
    expect(a.elector.isLeader()).toBe(false);
    a.client.failWith = undefined;
    // Nobody else took it: a is still the holder in the record, so it re-acquires at once.
    await clock.advanceAsync(5000);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events).toEqual(['started@0', 'stopped@10000', expect.stringMatching(/^started@/)]);
  });

  it('with a watch, a standby times the expiry from the last renewal as it was written, not from its next poll', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = candidate(clock, lease, 'a');
    void a.elector.run();
    await clock.advanceAsync(1000);
    const polled = candidate(clock, lease, 'polled'); // polls at 1 s, 3 s, 5 s, 7 s …
    const watching = candidate(clock, lease, 'watching');
    watching.client.withWatch();
    void polled.elector.run();
    void watching.elector.run();
    await clock.advanceAsync(5500); // 6.5 s: a renewed at 2, 4 and 6 s
    a.client.hang = true; // a dies (SIGKILL): no more renewals, no release
    // The polling standby saw the 6 s renewal at its 7 s poll: the lease is valid until 22 s for it.
    // The watching one saw it at 6 s: valid until 21 s. Neither waits for a poll after that.
    await clock.advanceAsync(14_499); // 20.999 s
    expect(watching.elector.isLeader()).toBe(false);
    expect(polled.elector.isLeader()).toBe(false);
    await clock.advanceAsync(1); // 21 s
    expect(watching.elector.isLeader()).toBe(true);
    expect(lease.state?.record).toMatchObject({ holderIdentity: 'watching', acquireTime: 21_000, leaseTransitions: 1 });
    // a stopped leading at its renew deadline, 16 s, long before.
    expect(a.elector.isLeader()).toBe(false);
    await clock.advanceAsync(30_000);
    expect(polled.elector.isLeader()).toBe(false);
  });

  it('with a watch, a standby takes a released or deleted lease at once, not at its next retry', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = candidate(clock, lease, 'a');
    void a.elector.run();
    await flushMicrotasks();
    const b = candidate(clock, lease, 'b');
    b.client.withWatch();
    void b.elector.run();
    await clock.advanceAsync(500); // b's next poll would be at 2 s
    await a.elector.stop(); // releases the lease
    await flushMicrotasks();
    expect(b.elector.isLeader()).toBe(true);
    expect(lease.state?.record).toMatchObject({ holderIdentity: 'b', acquireTime: 500 });

    const c = candidate(clock, lease, 'c');
    c.client.withWatch();
    void c.elector.run();
    await clock.advanceAsync(300);
    b.client.failWith = new Error('partition'); // b cannot answer to the delete in time
    lease.delete(); // an operator deletes the Lease
    await flushMicrotasks();
    expect(c.elector.isLeader()).toBe(true);
    expect(lease.state?.record).toMatchObject({ holderIdentity: 'c', acquireTime: 800 });
  });

  it('a watching standby whose watch went quiet still polls, and waits out renewals it only sees by polling', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = candidate(clock, lease, 'a');
    void a.elector.run();
    await flushMicrotasks();
    const b = candidate(clock, lease, 'b');
    b.client.withWatch();
    const subscribe = lease.subscribe.bind(lease);
    lease.subscribe = () => () => {}; // a watch that never delivers anything
    void b.elector.run();
    await clock.advanceAsync(60_000);
    expect(b.elector.isLeader()).toBe(false);
    a.client.hang = true; // last renewal at 60 s, seen by b's poll at 60 s
    await clock.advanceAsync(14_999);
    expect(b.elector.isLeader()).toBe(false);
    await clock.advanceAsync(1);
    expect(b.elector.isLeader()).toBe(true);
    lease.subscribe = subscribe;
  });

  it('steps down exactly at the renew deadline, not at the next retry after it (leaseDuration − renewDeadline < retryPeriod)', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const timings = { leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 2400 };
    const a = candidate(clock, lease, 'a', timings);
    void a.elector.run();
    await flushMicrotasks();
    const b = candidate(clock, lease, 'b', timings);
    b.client.withWatch();
    void b.elector.run();
    await clock.advanceAsync(5000); // a renewed at 2.4 s and 4.8 s; b watched both
    a.client.failWith = new Error('partition'); // a's 7.2 s renewal fails
    // a's deadline is 4.8 + 3 = 7.8 s; b may take over from 4.8 + 4 = 8.8 s. Stepping down at the
    // first retry after the deadline (9.6 s) would have had both lead from 8.8 s to 9.6 s.
    for (let t = 5000; t < 20_000; t += 100) {
      await clock.advanceAsync(100);
      expect(a.elector.isLeader() && b.elector.isLeader(), `both lead at ${clock.now()}`).toBe(false);
      if (clock.now() === 7700) expect(a.elector.isLeader()).toBe(true);
      if (clock.now() === 7800) expect(a.events).toEqual(['started@0', 'stopped@7800']);
    }
    expect(b.elector.isLeader()).toBe(true);
    expect(lease.state?.record).toMatchObject({ holderIdentity: 'b', acquireTime: 8800 });
  });

  it('rejects inconsistent timings', () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const base = { client: lease.client(), identity: 'x', clock, log: silentLogger() };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(/leaseDuration/);
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2000, retryPeriodMs: 2000 })).toThrow(/renewDeadline/);
    expect(() => new LeaderElector({ ...base, identity: '' })).toThrow(/identity/);
  });
});
