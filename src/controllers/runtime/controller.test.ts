import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from '../../util/fake-clock.js';
import { Controller, generationChanged, type UpdatePredicate } from './controller.js';
import { Informer } from '../../kube/informer.js';
import { ItemExponentialRateLimiter } from '../../util/rate-limiter.js';
import { TerminalError, type ReconcileContext, type Reconciler, type Result } from './result.js';
import { FakeListWatch, httpError, obj, silentLogger } from './testing.js';

const OWNER = { apiVersion: 'hearth.dev/v1alpha1', kind: 'Deployment' };

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A reconciler scripted per call; records calls and concurrency. */
class ScriptedReconciler implements Reconciler {
  calls: Array<{ key: string; at: number }> = [];
  running = new Map<string, number>();
  maxConcurrentPerKey = 0;
  maxConcurrent = 0;
  signals: AbortSignal[] = [];
  constructor(
    private readonly clock: FakeClock,
    public behave: (key: string, n: number) => Promise<Result | void> | Result | void = () => {},
  ) {}

  async reconcile(key: string, ctx: ReconcileContext): Promise<Result | void> {
    this.calls.push({ key, at: this.clock.now() });
    this.signals.push(ctx.signal);
    this.running.set(key, (this.running.get(key) ?? 0) + 1);
    this.maxConcurrentPerKey = Math.max(this.maxConcurrentPerKey, this.running.get(key)!);
    this.maxConcurrent = Math.max(this.maxConcurrent, [...this.running.values()].reduce((a, b) => a + b, 0));
    try {
      return await this.behave(key, this.calls.filter((c) => c.key === key).length);
    } finally {
      this.running.set(key, this.running.get(key)! - 1);
    }
  }

  keys(): string[] {
    return this.calls.map((c) => c.key);
  }
}

function setup(behave?: ScriptedReconciler['behave'], opts: { workers?: number; cacheSyncTimeoutMs?: number; updates?: UpdatePredicate<KubernetesObject>; resyncMs?: number } = {}) {
  const clock = new FakeClock(0);
  const log = silentLogger();
  const primarySrc = new FakeListWatch<KubernetesObject>();
  const childSrc = new FakeListWatch<KubernetesObject>();
  const primary = new Informer(primarySrc, { clock, log, random: () => 0, resyncMs: opts.resyncMs });
  const children = new Informer(childSrc, { clock, log, random: () => 0 });
  const reconciler = new ScriptedReconciler(clock, behave);
  const controller = new Controller({
    name: 'test',
    for: { informer: primary, type: OWNER, updates: opts.updates },
    owns: [children],
    reconciler,
    workers: opts.workers ?? 2,
    clock,
    log,
    rateLimiter: new ItemExponentialRateLimiter({ baseDelayMs: 5, maxDelayMs: 1000 }),
    cacheSyncTimeoutMs: opts.cacheSyncTimeoutMs,
  });
  return { clock, primarySrc, childSrc, primary, children, reconciler, controller };
}

function owned(ns: string, name: string, rv: string, owner: string, kind = 'Deployment'): KubernetesObject {
  return obj(ns, name, rv, {
    metadata: { ownerReferences: [{ apiVersion: 'hearth.dev/v1alpha1', kind, name: owner, uid: 'u', controller: true }] },
  });
}

describe('Controller', () => {
  it('waits for every cache to sync before any reconcile, then reconciles each primary once', async () => {
    const t = setup();
    t.primarySrc.nextList({ items: [obj('ns', 'a', '1'), obj('ns', 'b', '2')], resourceVersion: '2' });
    t.childSrc.nextList(httpError(500), { items: [owned('ns', 'a-server', '3', 'a')], resourceVersion: '3' });
    let started = false;
    void t.controller.start().then(() => (started = true));
    await flushMicrotasks();
    expect(t.primary.hasSynced()).toBe(true);
    expect(started).toBe(false);
    expect(t.reconciler.calls).toHaveLength(0);

    await t.clock.advanceAsync(1000); // the children list is retried after backoff
    expect(started).toBe(true);
    await flushMicrotasks();
    // 'a' was enqueued by its own add and by its child's: reconciled once (dedup).
    expect(t.reconciler.keys().sort()).toEqual(['ns/a', 'ns/b']);
    await t.controller.stop();
  });

  it('routes child events to the owner key through the controller ownerReference only', async () => {
    const t = setup();
    t.primarySrc.nextList({ items: [], resourceVersion: '1' });
    t.childSrc.nextList({ items: [], resourceVersion: '1' });
    await t.controller.start();
    await flushMicrotasks();
    t.childSrc.current!.emit('ADDED', owned('ns', 'x-server', '2', 'x'));
    t.childSrc.current!.emit('ADDED', owned('ns', 'y-server', '3', 'y', 'SomethingElse'));
    t.childSrc.current!.emit('ADDED', obj('ns', 'orphan', '4'));
    await flushMicrotasks();
    t.childSrc.current!.emit('DELETED', owned('ns', 'x-server', '5', 'x'));
    await flushMicrotasks();
    expect(t.reconciler.keys()).toEqual(['ns/x', 'ns/x']);
    await t.controller.stop();
  });

  it('routes a child deleted while the watch was down (tombstone from a relist) to its owner', async () => {
    const t = setup();
    t.primarySrc.nextList({ items: [], resourceVersion: '1' });
    t.childSrc.nextList({ items: [owned('ns', 'z-server', '2', 'z')], resourceVersion: '2' }, { items: [], resourceVersion: '9' });
    await t.controller.start();
    await flushMicrotasks();
    expect(t.reconciler.keys()).toEqual(['ns/z']);
    t.childSrc.current!.emit('ERROR', { code: 410 });
    t.childSrc.current!.end();
    await flushMicrotasks();
    expect(t.reconciler.keys()).toEqual(['ns/z', 'ns/z']);
    await t.controller.stop();
  });

  it('honours requeueAfter and resets backoff on success', async () => {
    const t = setup((_k, n) => (n === 1 ? { requeueAfter: 30_000 } : {}));
    t.primarySrc.nextList({ items: [obj('ns', 'a', '1')], resourceVersion: '1' });
    t.childSrc.nextList({ items: [], resourceVersion: '1' });
    await t.controller.start();
    await flushMicrotasks();
    expect(t.reconciler.calls).toEqual([{ key: 'ns/a', at: 0 }]);
    await t.clock.advanceAsync(29_999);
    expect(t.reconciler.calls).toHaveLength(1);
    await t.clock.advanceAsync(1);
    expect(t.reconciler.calls).toEqual([
      { key: 'ns/a', at: 0 },
      { key: 'ns/a', at: 30_000 },
    ]);
    await t.clock.advanceAsync(120_000);
    expect(t.reconciler.calls).toHaveLength(2);
    expect(t.controller.queue.numRequeues('ns/a')).toBe(0);
    await t.controller.stop();
  });

  it('retries a failing reconcile with exponential backoff and forgets after success', async () => {
    const t = setup((_k, n) => {
      if (n <= 4) throw new Error(`fail ${n}`);
    });
    t.primarySrc.nextList({ items: [obj('ns', 'a', '1')], resourceVersion: '1' });
    t.childSrc.nextList({ items: [], resourceVersion: '1' });
    await t.controller.start();
    await t.clock.advanceAsync(1000);
    expect(t.reconciler.calls.map((c) => c.at)).toEqual([0, 5, 15, 35, 75]);
    expect(t.controller.stats).toMatchObject({ reconciles: 5, errors: 4, terminalErrors: 0 });
    expect(t.controller.queue.numRequeues('ns/a')).toBe(0);
    await t.controller.stop();
  });

  it('does not retry a TerminalError', async () => {
    const t = setup(() => {
      throw new TerminalError('spec.acceleratorCount must be positive');
    });
    t.primarySrc.nextList({ items: [obj('ns', 'a', '1')], resourceVersion: '1' });
    t.childSrc.nextList({ items: [], resourceVersion: '1' });
    await t.controller.start();
    await t.clock.advanceAsync(3_600_000);
    expect(t.reconciler.calls).toHaveLength(1);
    expect(t.controller.stats.terminalErrors).toBe(1);
    // A change to the object reconciles it again.
    t.primarySrc.current!.emit('MODIFIED', obj('ns', 'a', '2'));
    await flushMicrotasks();
    expect(t.reconciler.calls).toHaveLength(2);
    await t.controller.stop();
  });

  it('never reconciles one key on two workers at once, but runs different keys in parallel', async () => {
    const gates = new Map<string, Array<() => void>>();
    const t = setup(
      (key) =>
        new Promise<void>((resolve) => {
          gates.set(key, [...(gates.get(key) ?? []), resolve]);
        }),
      { workers: 4 },
    );
    t.primarySrc.nextList({ items: [obj('ns', 'a', '1'), obj('ns', 'b', '1')], resourceVersion: '1' });
    t.childSrc.nextList({ items: [], resourceVersion: '1' });
    await t.controller.start();
    await flushMicrotasks();
    expect(t.reconciler.maxConcurrent).toBe(2);
    // Events for 'a' while it is being reconciled: queued once, not started.
    for (let rv = 2; rv < 6; rv++) t.primarySrc.current!.emit('MODIFIED', obj('ns', 'a', String(rv)));
    await flushMicrotasks();
    expect(t.reconciler.calls).toHaveLength(2);
    gates.get('ns/a')!.shift()!();
    await flushMicrotasks();
    expect(t.reconciler.keys()).toEqual(['ns/a', 'ns/b', 'ns/a']);
    gates.get('ns/a')!.shift()!();
    gates.get('ns/b')!.shift()!();
    await flushMicrotasks();
    expect(t.reconciler.calls).toHaveLength(3);
    expect(t.reconciler.maxConcurrentPerKey).toBe(1);
    await t.controller.stop();
  });

  it('stop() takes no new work, lets in-flight reconciles finish and stops the informers', async () => {
    const gate = deferred();
    const t = setup((key) => (key === 'ns/slow' ? gate.promise : undefined), { workers: 1 });
    t.primarySrc.nextList({ items: [obj('ns', 'slow', '1'), obj('ns', 'next', '1')], resourceVersion: '1' });
    t.childSrc.nextList({ items: [], resourceVersion: '1' });
    await t.controller.start();
    await flushMicrotasks();
    expect(t.reconciler.keys()).toEqual(['ns/slow']);
    let stopped: boolean | undefined;
    void t.controller.stop(10_000).then((d) => (stopped = d));
    await flushMicrotasks();
    expect(stopped).toBeUndefined();
    gate.resolve();
    await flushMicrotasks();
    expect(stopped).toBe(true);
    expect(t.reconciler.keys()).toEqual(['ns/slow']); // 'next' was not started
    expect(t.primary.running).toBe(false);
    expect(t.children.running).toBe(false);
    expect(t.primarySrc.current!.aborted).toBe(true);
  });

  it('stop() gives up on a reconcile that outlives the drain timeout and aborts its signal', async () => {
    const t = setup(() => new Promise<void>(() => {}), { workers: 1 });
    t.primarySrc.nextList({ items: [obj('ns', 'stuck', '1')], resourceVersion: '1' });
    t.childSrc.nextList({ items: [], resourceVersion: '1' });
    await t.controller.start();
    await flushMicrotasks();
    const p = t.controller.stop(5_000);
    await t.clock.advanceAsync(5_000);
    expect(await p).toBe(false);
    expect(t.reconciler.signals[0]?.aborted).toBe(true);
  });

  it('with generationChanged, status-only updates of the primary do not enqueue; spec changes and resyncs do', async () => {
    const t = setup(undefined, { updates: generationChanged, resyncMs: 600_000 });
    const dep = (rv: string, generation: number, status: unknown) => ({ ...obj('ns', 'a', rv, { metadata: { generation } }), status });
    t.primarySrc.nextList({ items: [dep('1', 1, {})], resourceVersion: '1' });
    t.childSrc.nextList({ items: [], resourceVersion: '1' });
    await t.controller.start();
    await flushMicrotasks();
    expect(t.reconciler.calls).toHaveLength(1);
    t.primarySrc.current!.emit('MODIFIED', dep('2', 1, { state: 'READY' })); // our own status write
    await flushMicrotasks();
    expect(t.reconciler.calls).toHaveLength(1);
    t.primarySrc.current!.emit('MODIFIED', dep('3', 2, { state: 'READY' })); // a spec change
    await flushMicrotasks();
    expect(t.reconciler.calls).toHaveLength(2);
    await t.clock.advanceAsync(600_000); // periodic resync still reconciles
    expect(t.reconciler.calls).toHaveLength(3);
    await t.controller.stop();
  });

  it('start() fails when caches do not sync in time', async () => {
    const t = setup(undefined, { cacheSyncTimeoutMs: 10_000 });
    t.primarySrc.nextList({ items: [], resourceVersion: '1' });
    t.childSrc.nextList(...Array.from({ length: 20 }, () => httpError(403, 'forbidden')));
    const p = t.controller.start();
    const outcome = p.then(
      () => 'started',
      (e: Error) => e.message,
    );
    await t.clock.advanceAsync(10_000);
    expect(await outcome).toMatch(/caches did not sync within 10000 ms/);
    await t.controller.stop();
  });

  it('a controller stopped before its caches synced starts no workers', async () => {
    const t = setup();
    t.primarySrc.nextList(...Array.from({ length: 20 }, () => httpError(500)));
    t.childSrc.nextList({ items: [], resourceVersion: '1' });
    const p = t.controller.start();
    await flushMicrotasks();
    await t.controller.stop();
    await expect(p).resolves.toBeUndefined();
    expect(t.reconciler.calls).toHaveLength(0);
  });

  it('passes of objects in progress (child events, spec updates) go before first passes of new objects', async () => {
    const gate = deferred();
    const t = setup(async (key) => (key === 'ns/first' ? gate.promise : undefined), { workers: 1 });
    t.primarySrc.nextList({ items: [obj('ns', 'first', '1'), obj('ns', 'busy', '2', { metadata: { generation: 1 } })], resourceVersion: '2' });
    t.childSrc.nextList({ items: [], resourceVersion: '2' });
    await t.controller.start();
    await flushMicrotasks();
    expect(t.reconciler.keys()).toEqual(['ns/first']); // the one worker is held here
    // Meanwhile (the initial list's 'busy' is still waiting, low) new objects arrive, and then
    // events for objects in progress: a child of 'busy' and a spec update of 'upd'.
    for (let i = 0; i < 3; i++) t.primarySrc.current!.emit('ADDED', obj('ns', `new-${i}`, `${3 + i}`));
    t.primarySrc.current!.emit('ADDED', obj('ns', 'upd', '6', { metadata: { generation: 1 } }));
    t.primarySrc.current!.emit('MODIFIED', obj('ns', 'upd', '7', { metadata: { generation: 2 } }));
    t.childSrc.current!.emit('ADDED', owned('ns', 'busy-server', '8', 'busy'));
    expect(t.controller.queue.len('normal')).toBe(2);
    gate.resolve();
    await flushMicrotasks();
    await t.clock.advanceAsync(1);
    expect(t.reconciler.keys()).toEqual(['ns/first', 'ns/upd', 'ns/busy', 'ns/new-0', 'ns/new-1', 'ns/new-2']);
    await t.controller.stop();
  });
});
