import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from '../../util/fake-clock.js';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Controller, type Runnable } from './controller.js';
import { Informer } from '../../kube/informer.js';
import { handleShutdownSignals, Manager, type SignalSource } from './manager.js';
import { FakeListWatch, MemoryLease, obj, silentLogger } from './testing.js';

/** A runnable that records its lifecycle; stop() waits for `release` when `slowStop` is set. */
class Probe implements Runnable {
  static log: string[] = [];
  running = false;
  slowStop: Promise<void> | undefined;
  failStart: Error | undefined;
  stopTimeouts: Array<number | undefined> = [];
  constructor(
    readonly name: string,
    private readonly clock: FakeClock,
  ) {}
  async start(): Promise<void> {
    if (this.failStart) throw this.failStart;
    this.running = true;
    Probe.log.push(`${this.name} start@${this.clock.now()}`);
  }
  async stop(timeoutMs?: number): Promise<boolean> {
    this.stopTimeouts.push(timeoutMs);
    if (this.slowStop) await this.slowStop;
    this.running = false;
    Probe.log.push(`${this.name} stop@${this.clock.now()}`);
    return true;
  }
}

function managerWithLease(clock: FakeClock, lease: MemoryLease, identity: string) {
  const client = lease.client();
  const made: Probe[] = [];
  const m = new Manager({
    clock,
    log: silentLogger(),
    leaderElection: { client, identity, random: () => 0 },
  });
  m.add(() => {
    const p = new Probe(`${identity}/ctrl`, clock);
    made.push(p);
    return p;
  });
  return { m, client, made };
}

describe('Manager', () => {
  it('without leader election, starts runnables at once and stops them on stop()', async () => {
    const clock = new FakeClock();
    const m = new Manager({ clock, log: silentLogger() });
    const p = new Probe('solo', clock);
    m.add(() => p);
    m.start();
    await flushMicrotasks();
    expect(p.running).toBe(true);
    expect(m.isLeader()).toBe(true);
    await m.stop();
    expect(p.running).toBe(false);
    await expect(m.done).resolves.toBeUndefined();
  });

  it('runs controllers only on the leader, and moves them when the leader stops', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = managerWithLease(clock, lease, 'a');
    const b = managerWithLease(clock, lease, 'b');
    a.m.start();
    await flushMicrotasks();
    b.m.start();
    await clock.advanceAsync(10_000);
    expect(a.m.active()).toEqual(['a/ctrl']);
    expect(b.m.active()).toEqual([]);
    expect(b.made).toHaveLength(0);

    await a.m.stop();
    expect(a.made[0]!.running).toBe(false);
    expect(lease.state?.record.holderIdentity).toBe('');
    await clock.advanceAsync(2000);
    expect(b.m.isLeader()).toBe(true);
    expect(b.made).toHaveLength(1);
    expect(b.made[0]!.running).toBe(true);
    await b.m.stop();
  });

  it('stops controllers when leadership is lost, and starts fresh ones on the next term', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = managerWithLease(clock, lease, 'a');
    a.m.start();
    await flushMicrotasks();
    expect(a.made).toHaveLength(1);
    a.client.failWith = new Error('apiserver unreachable');
    await clock.advanceAsync(10_000);
    expect(a.m.isLeader()).toBe(false);
    expect(a.made[0]!.running).toBe(false);
    // In-flight work gets only until a successor may lead, not the whole shutdown timeout.
    expect(a.made[0]!.stopTimeouts).toEqual([5000]);
    a.client.failWith = undefined;
    await clock.advanceAsync(5000);
    expect(a.m.isLeader()).toBe(true);
    expect(a.made).toHaveLength(2); // a new instance: a stopped queue is never reused
    expect(a.made[1]!.running).toBe(true);
    await a.m.stop();
  });

  it('a new term with fresh controllers on a shared informer reconciles every object again', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const log = silentLogger();
    const source = new FakeListWatch<KubernetesObject>();
    source.nextList({ items: [obj('ns', 'a', '1')], resourceVersion: '1' }, { items: [obj('ns', 'a', '1')], resourceVersion: '1' });
    const informer = new Informer(source, { clock, log });
    const reconciled: string[] = [];
    const client = lease.client();
    const m = new Manager({ clock, log, leaderElection: { client, identity: 'a', random: () => 0 } });
    m.add(
      () =>
        new Controller({
          name: 'c',
          for: { informer, type: { apiVersion: 'v1', kind: 'ConfigMap' } },
          reconciler: { reconcile: async (key) => void reconciled.push(`${key}@${clock.now()}`) },
          clock,
          log,
        }),
    );
    m.start();
    await flushMicrotasks();
    expect(reconciled).toEqual(['ns/a@0']);
    client.failWith = new Error('partition');
    await clock.advanceAsync(10_000);
    expect(m.isLeader()).toBe(false);
    expect(informer.running).toBe(false);
    client.failWith = undefined;
    await clock.advanceAsync(2000);
    expect(m.isLeader()).toBe(true);
    expect(reconciled).toEqual(['ns/a@0', 'ns/a@12000']);
    await m.stop();
  });

  it('holds the lease until the runnables have stopped', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = managerWithLease(clock, lease, 'a');
    a.m.start();
    await flushMicrotasks();
    let release!: () => void;
    a.made[0]!.slowStop = new Promise<void>((r) => (release = r));
    const stopping = a.m.stop();
    await clock.advanceAsync(6000);
    expect(lease.state?.record.holderIdentity).toBe('a');
    release();
    await stopping;
    expect(lease.state?.record.holderIdentity).toBe('');
    expect(a.made[0]!.stopTimeouts).toEqual([30_000]);
  });

  it('stops, and rejects done, when a runnable fails to start', async () => {
    const clock = new FakeClock(0);
    const m = new Manager({ clock, log: silentLogger() });
    const p = new Probe('broken', clock);
    p.failStart = new Error('caches did not sync');
    m.add(() => p);
    m.start();
    await expect(m.done).rejects.toThrow('caches did not sync');
  });
});

describe('handleShutdownSignals', () => {
  function setup() {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = managerWithLease(clock, lease, 'a');
    const signals = new EventEmitter() as EventEmitter & SignalSource;
    const exits: number[] = [];
    const off = handleShutdownSignals(a.m, { log: silentLogger(), clock, signals, exit: (c) => exits.push(c), hardDeadlineMs: 60_000 });
    return { clock, lease, a, signals, exits, off };
  }

  it('SIGTERM stops work, releases the lease, then exits 0', async () => {
    const { lease, a, signals, exits } = setup();
    a.m.start();
    await flushMicrotasks();
    signals.emit('SIGTERM');
    await flushMicrotasks();
    expect(a.made[0]!.running).toBe(false);
    expect(lease.state?.record.holderIdentity).toBe('');
    expect(exits).toEqual([0]);
  });

  it('a second signal exits 1 without waiting', async () => {
    const { a, signals, exits } = setup();
    a.m.start();
    await flushMicrotasks();
    a.made[0]!.slowStop = new Promise<void>(() => {});
    signals.emit('SIGTERM');
    await flushMicrotasks();
    expect(exits).toEqual([]);
    signals.emit('SIGINT');
    expect(exits).toEqual([1]);
  });

  it('the hard deadline exits 1 when the graceful stop hangs', async () => {
    const { clock, a, signals, exits } = setup();
    a.m.start();
    await flushMicrotasks();
    a.made[0]!.slowStop = new Promise<void>(() => {});
    signals.emit('SIGTERM');
    await clock.advanceAsync(59_999);
    expect(exits).toEqual([]);
    await clock.advanceAsync(1);
    expect(exits).toEqual([1]);
  });

  it('the returned function removes the handlers', () => {
    const { signals, off } = setup();
    off();
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });
});
