// The generic mechanics every reconciler uses, on the recording fake cluster: status written once
// per pass and only when it changed, read-your-own-writes, finalizers guarded by resourceVersion,
// and events de-duplicated within a window.
import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../util/fake-clock.js';
import { EventRecorder } from './events.js';
import { FakeCluster, kindLabel, type MapLister } from './fake-cluster.js';
import { addFinalizer, hasFinalizer, removeFinalizer } from './finalizers.js';
import { OwnWrites, PassObject } from './pass.js';
import { silentLogger } from './testing.js';

type Pool = KubernetesObject & { spec?: { size: number }; status?: { ready: number; note?: string } };

const KEY = 'acct-a/p';

/** A fake cluster holding NodePools (any hearth.dev kind would do). */
class PoolCluster extends FakeCluster {
  readonly pools: MapLister<Pool>;
  constructor(pools: Pool[]) {
    super();
    this.pools = this.store({ apiVersion: 'hearth.dev/v1alpha1', kind: 'NodePool' }, pools);
  }
}

function pool(over: Partial<Pool['metadata']> = {}, status?: Pool['status']): Pool {
  return { apiVersion: 'hearth.dev/v1alpha1', kind: 'NodePool', metadata: { namespace: 'acct-a', name: 'p', uid: 'u1', resourceVersion: '1', ...over }, spec: { size: 2 }, ...(status ? { status } : {}) };
}

describe('PassObject: status once per pass, only when changed', () => {
  it('writes a changed status once and moves to the object written', async () => {
    const c = new PoolCluster([pool()]);
    const p = new PassObject(c, c.pools.get(KEY)!);
    expect(await p.writeStatus({ ready: 1 })).toBe(true);
    expect(c.take()).toEqual(['status NodePool/hearth acct-a/p']);
    expect(p.current.status).toEqual({ ready: 1 });
    expect(p.superseded).toEqual(['1']);
    await expect(p.writeStatus({ ready: 2 })).rejects.toThrow(/twice in one pass/);
  });

  it('writes nothing when the status did not change (by the given equality)', async () => {
    const c = new PoolCluster([pool({}, { ready: 1, note: 'x' })]);
    const p = new PassObject(c, c.pools.get(KEY)!);
    const ignoreNote = (a: unknown, b: unknown): boolean => (a as Pool['status'])?.ready === (b as Pool['status'])?.ready;
    expect(await p.writeStatus({ ready: 1, note: 'y' }, ignoreNote)).toBe(false);
    expect(c.take()).toEqual([]);
    expect(p.superseded).toEqual([]);
  });
});

describe('OwnWrites: read your own writes', () => {
  it('serves our last write while the cache lags behind it, and the cache once it moves', async () => {
    const c = new PoolCluster([pool()]);
    const own = new OwnWrites<Pool>();
    const stale = structuredClone(c.pools.get(KEY)!);
    const read = own.read(KEY, stale)!;
    const p = new PassObject(c, read);
    await p.addFinalizer('hearth.dev/finalizer');
    await p.writeStatus({ ready: 1 });
    own.remember(KEY, read, p);
    // The cache still shows version 1: the next pass starts from what we wrote.
    const next = own.read(KEY, stale)!;
    expect(next.status).toEqual({ ready: 1 });
    expect(next.metadata?.finalizers).toEqual(['hearth.dev/finalizer']);
    // A pass over our own write that writes nothing keeps the memory.
    own.remember(KEY, next, new PassObject(c, next));
    expect(own.read(KEY, stale)).toBe(next);
    // Someone else's version: the cache wins and the memory goes.
    const theirs = pool({ resourceVersion: '999' });
    expect(own.read(KEY, theirs)).toBe(theirs);
    expect(own.size).toBe(0);
  });
});

describe('finalizers', () => {
  it('adds and removes one name, keeping the others, with a write only when needed', async () => {
    const c = new PoolCluster([pool({ finalizers: ['other.io/keep'] })]);
    const added = await addFinalizer(c, c.pools.get(KEY)!, 'hearth.dev/finalizer');
    expect(added?.metadata?.finalizers).toEqual(['other.io/keep', 'hearth.dev/finalizer']);
    expect(await addFinalizer(c, added!, 'hearth.dev/finalizer')).toBeUndefined();
    const removed = await removeFinalizer(c, added!, 'hearth.dev/finalizer');
    expect(removed?.metadata?.finalizers).toEqual(['other.io/keep']);
    expect(hasFinalizer(removed!, 'hearth.dev/finalizer')).toBe(false);
    expect(await removeFinalizer(c, removed!, 'hearth.dev/finalizer')).toBeUndefined();
    expect(c.take()).toEqual(['finalizers NodePool/hearth acct-a/p', 'finalizers NodePool/hearth acct-a/p']);
  });

  it('never overwrites a list changed since it was read: the write is guarded by the resourceVersion (409)', async () => {
    const c = new PoolCluster([pool()]);
    const read = c.pools.get(KEY)!;
    await addFinalizer(c, read, 'other.io/theirs'); // someone else, meanwhile
    await expect(addFinalizer(c, read, 'hearth.dev/finalizer')).rejects.toMatchObject({ code: 409 });
    expect(c.pools.get(KEY)?.metadata?.finalizers).toEqual(['other.io/theirs']);
  });

  it('the fake deletes an object being deleted once its last finalizer is gone, as the API server does', async () => {
    const c = new PoolCluster([pool({ finalizers: ['hearth.dev/finalizer'], deletionTimestamp: new Date(0) })]);
    await removeFinalizer(c, c.pools.get(KEY)!, 'hearth.dev/finalizer');
    expect(c.pools.get(KEY)).toBeUndefined();
  });
});

describe('EventRecorder', () => {
  const warn = { type: 'Warning' as const, reason: 'NotOwned', message: 'Service p-server exists and is not ours' };

  it('records an event once and bumps its count for repeats within the window; a new series after it', async () => {
    const clock = new FakeClock(0);
    const c = new PoolCluster([pool()]);
    const r = new EventRecorder({ sink: c, clock, windowMs: 60_000 });
    const obj = c.pools.get(KEY)!;
    await r.record(obj, warn);
    clock.advance(30_000);
    await r.record(obj, warn);
    await r.record(obj, { ...warn, message: 'another message' });
    clock.advance(30_000);
    await r.record(obj, warn);
    const counts = c.writes.map((w) => [(w.obj as { message: string }).message, (w.obj as { count: number }).count]);
    expect(counts).toEqual([
      [warn.message, 1],
      [warn.message, 2],
      ['another message', 1],
      [warn.message, 1], // 60 s after the first: a new series
    ]);
  });

  it('a recorded repeat carries the name of the first event, so the real writer patches it instead of creating another', async () => {
    const clock = new FakeClock(0);
    const seen: Array<{ count: number; name?: string }> = [];
    const r = new EventRecorder({ sink: { event: async (_o, _e, s) => (seen.push({ ...s! }), 'p.17a9') }, clock });
    await r.record(pool(), warn);
    await r.record(pool(), warn);
    expect(seen).toEqual([{ count: 1 }, { count: 2, name: 'p.17a9' }]);
  });

  it('swallows and logs a failure; the next occurrence counts as the first again', async () => {
    const clock = new FakeClock(0);
    const counts: number[] = [];
    let fail = true;
    const r = new EventRecorder({
      sink: {
        event: async (_o, _e, s) => {
          counts.push(s!.count);
          if (fail) throw new Error('events are forbidden');
        },
      },
      clock,
      log: silentLogger(),
    });
    await expect(r.record(pool(), warn)).resolves.toBeUndefined();
    fail = false;
    await r.record(pool(), warn);
    expect(counts).toEqual([1, 1]);
  });

  it('forgets series older than the window (bounded memory)', async () => {
    const clock = new FakeClock(0);
    const r = new EventRecorder({ sink: { event: async () => undefined }, clock, windowMs: 1000 });
    for (let i = 0; i < 5; i++) await r.record(pool({ name: `p${i}` }), warn);
    expect(r.size).toBe(5);
    clock.advance(1000);
    await r.record(pool({ name: 'late' }), warn);
    expect(r.size).toBe(1);
  });
});

describe('kindLabel', () => {
  it.each([
    [{ apiVersion: 'v1', kind: 'Service' }, 'Service'],
    [{ apiVersion: 'apps/v1', kind: 'Deployment' }, 'Deployment/apps'],
    [{ apiVersion: 'hearth.dev/v1alpha1', kind: 'Deployment' }, 'Deployment/hearth'],
  ])('%o → %s', (type, want) => {
    expect(kindLabel(type)).toBe(want);
  });
});
