import type { KubernetesObject } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from '../util/fake-clock.js';
import { DeletedFinalStateUnknown, Informer, stripManagedFields } from './informer.js';
import { FakeListWatch, httpError, obj, silentLogger } from './testing.js';

type Ev = string;

function setup(opts: { resyncMs?: number; minHealthyWatchMs?: number; transform?: (o: KubernetesObject) => KubernetesObject } = {}) {
  const clock = new FakeClock(1_000_000);
  const source = new FakeListWatch<KubernetesObject>();
  const informer = new Informer(source, {
    clock,
    log: silentLogger(),
    backoff: { initialMs: 1000, maxMs: 8000, jitter: 0.5 },
    random: () => 0, // no jitter: delays are exact
    ...opts,
  });
  const events: Ev[] = [];
  informer.addEventHandler({
    add: (o) => events.push(`add ${o.metadata?.name}@${o.metadata?.resourceVersion}`),
    update: (a, b) => events.push(`update ${b.metadata?.name} ${a.metadata?.resourceVersion}->${b.metadata?.resourceVersion}`),
    delete: (o) => events.push(o instanceof DeletedFinalStateUnknown ? `tombstone ${o.key}` : `delete ${o.metadata?.name}`),
  });
  started.push(informer);
  return { clock, source, informer, events };
}

const started: Array<Informer<KubernetesObject>> = [];
afterEach(async () => {
  for (const i of started.splice(0)) while (i.running) await i.stop();
});

describe('Informer', () => {
  it('lists, reports synced, then watches from the list resourceVersion and keeps the cache', async () => {
    const { source, informer, events } = setup();
    source.nextList({ items: [obj('ns', 'a', '5'), obj('ns', 'b', '6')], resourceVersion: '10' });
    expect(informer.hasSynced()).toBe(false);
    informer.start();
    expect(await informer.waitForSync()).toBe(true);
    await flushMicrotasks();
    expect(source.current?.resourceVersion).toBe('10');
    expect(events).toEqual(['add a@5', 'add b@6']);

    source.current!.emit('MODIFIED', obj('ns', 'a', '11', { metadata: { labels: { x: 'y' } } }));
    source.current!.emit('ADDED', obj('other', 'c', '12'));
    source.current!.emit('DELETED', obj('ns', 'b', '13'));
    source.current!.emit('BOOKMARK', { metadata: { resourceVersion: '20' } });
    expect(events.slice(2)).toEqual(['update a 5->11', 'add c@12', 'delete b']);
    expect(informer.get('ns/a')?.metadata?.labels).toEqual({ x: 'y' });
    expect(informer.get('ns/b')).toBeUndefined();
    expect(informer.keys().sort()).toEqual(['ns/a', 'other/c']);
    expect(informer.list('other').map((o) => o.metadata?.name)).toEqual(['c']);
    expect(informer.resourceVersion).toBe('20');
  });

  it('applies the transform to listed objects and to every watch event before caching or handing them out', async () => {
    const managedFields = [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:data': {} } }];
    const seen: Array<KubernetesObject['metadata']> = [];
    const { source, informer } = setup({ transform: (o) => stripManagedFields({ ...o, data: undefined } as KubernetesObject) });
    informer.addEventHandler({ add: (o) => seen.push(o.metadata), update: (_a, b) => seen.push(b.metadata), delete: (o) => seen.push((o as KubernetesObject).metadata) });
    const full = (name: string, rv: string): KubernetesObject => obj('ns', name, rv, { metadata: { managedFields }, data: { big: 'x'.repeat(1000) } } as Partial<KubernetesObject>);
    source.nextList({ items: [full('a', '1')], resourceVersion: '1' });
    informer.start();
    await informer.waitForSync();
    await flushMicrotasks();
    source.current!.emit('ADDED', full('b', '2'));
    source.current!.emit('MODIFIED', full('a', '3'));
    source.current!.emit('DELETED', full('b', '4'));
    expect(informer.get('ns/a')).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', data: undefined, metadata: { namespace: 'ns', name: 'a', resourceVersion: '3' } });
    expect(seen.map((m) => `${m?.name}@${m?.resourceVersion}:${m?.managedFields === undefined ? 'stripped' : 'full'}`)).toEqual([
      'a@1:stripped',
      'b@2:stripped',
      'a@3:stripped',
      'b@4:stripped',
    ]);
    expect(informer.resourceVersion).toBe('4');
  });

  it('keeps cluster-scoped objects under their name', async () => {
    const { source, informer } = setup();
    source.nextList({ items: [obj(undefined, 'node-1', '1')], resourceVersion: '1' });
    informer.start();
    await informer.waitForSync();
    expect(informer.get('node-1')?.metadata?.name).toBe('node-1');
  });

  it('restarts a failed watch after backoff growing 1 s, 2 s, 4 s … and resumes from the last resourceVersion', async () => {
    const { clock, source, informer } = setup();
    source.nextList({ items: [], resourceVersion: '10' });
    source.nextWatch(httpError(500), httpError(500), httpError(503), 'open');
    informer.start();
    await informer.waitForSync();
    await flushMicrotasks();
    expect(source.watches).toHaveLength(1);

    await clock.advanceAsync(999);
    expect(source.watches).toHaveLength(1);
    await clock.advanceAsync(1);
    expect(source.watches).toHaveLength(2);
    await clock.advanceAsync(1999);
    expect(source.watches).toHaveLength(2);
    await clock.advanceAsync(1);
    expect(source.watches).toHaveLength(3);
    await clock.advanceAsync(4000);
    expect(source.watches).toHaveLength(4);
    expect(source.watches.map((w) => w.resourceVersion)).toEqual(['10', '10', '10', '10']);
    expect(source.listCalls).toBe(1); // no relist for ordinary errors
  });

  it('caps the backoff and resets it after a healthy watch', async () => {
    const { clock, source, informer } = setup();
    source.nextList({ items: [], resourceVersion: '1' });
    source.nextWatch(...Array.from({ length: 6 }, () => httpError(500)));
    informer.start();
    await informer.waitForSync();
    // 1 + 2 + 4 + 8 + 8 + 8 s (capped at 8) → the 7th watch opens after 31 s.
    await clock.advanceAsync(30_999);
    expect(source.watches).toHaveLength(6);
    await clock.advanceAsync(1);
    expect(source.watches).toHaveLength(7);

    // Healthy: it delivered an event. A clean close re-watches at once, and the next failure
    // waits only the initial delay again.
    source.current!.emit('ADDED', obj('ns', 'a', '2'));
    source.nextWatch(httpError(500));
    source.current!.end();
    await flushMicrotasks();
    expect(source.watches).toHaveLength(8);
    expect(source.current!.resourceVersion).toBe('2');
    await clock.advanceAsync(1000);
    expect(source.watches).toHaveLength(9);
  });

  it('retries a failed list with backoff and syncs when it succeeds', async () => {
    const { clock, source, informer } = setup();
    source.nextList(httpError(503), httpError(503), { items: [obj('ns', 'a', '1')], resourceVersion: '3' });
    informer.start();
    await flushMicrotasks();
    expect(informer.hasSynced()).toBe(false);
    await clock.advanceAsync(1000);
    expect(source.listCalls).toBe(2);
    expect(informer.hasSynced()).toBe(false);
    await clock.advanceAsync(2000);
    expect(source.listCalls).toBe(3);
    expect(informer.hasSynced()).toBe(true);
    expect(informer.get('ns/a')).toBeDefined();
  });

  it('relists at once after a 410 Gone watch event, reporting what changed meanwhile', async () => {
    const { source, informer, events } = setup();
    source.nextList(
      { items: [obj('ns', 'a', '1'), obj('ns', 'b', '2'), obj('ns', 'c', '3')], resourceVersion: '3' },
      { items: [obj('ns', 'a', '1'), obj('ns', 'b', '7'), obj('ns', 'd', '8')], resourceVersion: '9' },
    );
    informer.start();
    await informer.waitForSync();
    await flushMicrotasks();
    events.length = 0;

    source.current!.emit('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
    source.current!.end();
    await flushMicrotasks();
    expect(source.listCalls).toBe(2);
    expect(events).toEqual(['tombstone ns/c', 'update b 2->7', 'add d@8']);
    expect(source.current!.resourceVersion).toBe('9');
    expect(informer.hasSynced()).toBe(true);
  });

  it('relists after a watch rejected with HTTP 410', async () => {
    const { source, informer } = setup();
    source.nextList({ items: [], resourceVersion: '3' }, { items: [], resourceVersion: '30' });
    source.nextWatch(httpError(410));
    informer.start();
    await informer.waitForSync();
    await flushMicrotasks();
    expect(source.listCalls).toBe(2);
    expect(source.watches.map((w) => w.resourceVersion)).toEqual(['3', '30']);
  });

  it('backs off if the server keeps answering 410 after relists', async () => {
    const { clock, source, informer } = setup();
    source.nextList({ items: [], resourceVersion: '1' }, { items: [], resourceVersion: '2' }, { items: [], resourceVersion: '3' });
    source.nextWatch(httpError(410), httpError(410), 'open');
    informer.start();
    await informer.waitForSync();
    await flushMicrotasks();
    expect(source.listCalls).toBe(2); // first 410: relisted at once
    await clock.advanceAsync(999);
    expect(source.listCalls).toBe(2); // second in a row: backoff
    await clock.advanceAsync(1);
    expect(source.listCalls).toBe(3);
  });

  it('treats a non-410 ERROR event as a failure: backoff, then re-watch from the same resourceVersion', async () => {
    const { clock, source, informer } = setup();
    source.nextList({ items: [], resourceVersion: '5' });
    informer.start();
    await informer.waitForSync();
    await flushMicrotasks();
    source.current!.emit('ERROR', { kind: 'Status', code: 500, message: 'etcd hiccup' });
    // The informer ends the watch itself, without waiting for the server to close the stream.
    expect(source.watches[0]!.aborted).toBe(true);
    await clock.advanceAsync(1000);
    expect(source.watches.map((w) => w.resourceVersion)).toEqual(['5', '5']);
    expect(source.listCalls).toBe(1);
  });

  it('backs off when a watch closes at once without events', async () => {
    const { clock, source, informer } = setup();
    source.nextList({ items: [], resourceVersion: '5' });
    informer.start();
    await informer.waitForSync();
    await flushMicrotasks();
    source.current!.end();
    await flushMicrotasks();
    expect(source.watches).toHaveLength(1);
    await clock.advanceAsync(1000);
    expect(source.watches).toHaveLength(2);
    // One that lasted long enough is healthy even without events: re-watch at once.
    await clock.advanceAsync(5000);
    source.current!.end();
    await flushMicrotasks();
    expect(source.watches).toHaveLength(3);
  });

  it('replays cached objects as adds to a handler registered after sync, and removes handlers', async () => {
    const { source, informer } = setup();
    source.nextList({ items: [obj('ns', 'a', '1'), obj('ns', 'b', '2')], resourceVersion: '2' });
    informer.start();
    await informer.waitForSync();
    await flushMicrotasks();
    const late: string[] = [];
    const off = informer.addEventHandler({ add: (o) => late.push(o.metadata!.name!) });
    expect(late).toEqual(['a', 'b']);
    off();
    source.current!.emit('ADDED', obj('ns', 'c', '3'));
    expect(late).toEqual(['a', 'b']);
  });

  it('survives a throwing handler', async () => {
    const { source, informer, events } = setup();
    informer.addEventHandler({
      add: () => {
        throw new Error('boom');
      },
    });
    source.nextList({ items: [obj('ns', 'a', '1')], resourceVersion: '1' });
    informer.start();
    await informer.waitForSync();
    await flushMicrotasks();
    source.current!.emit('ADDED', obj('ns', 'b', '2'));
    expect(events).toEqual(['add a@1', 'add b@2']);
  });

  it('ignores an event that repeats the cached resourceVersion', async () => {
    const { source, informer, events } = setup();
    source.nextList({ items: [obj('ns', 'a', '1')], resourceVersion: '1' });
    informer.start();
    await informer.waitForSync();
    await flushMicrotasks();
    source.current!.emit('ADDED', obj('ns', 'a', '1'));
    expect(events).toEqual(['add a@1']);
  });

  it('resyncs: passes every cached object to update handlers periodically', async () => {
    const { clock, source, informer, events } = setup({ resyncMs: 60_000 });
    source.nextList({ items: [obj('ns', 'a', '1')], resourceVersion: '1' });
    informer.start();
    await informer.waitForSync();
    await clock.advanceAsync(60_000);
    expect(events).toEqual(['add a@1', 'update a 1->1']);
    await clock.advanceAsync(60_000);
    expect(events).toHaveLength(3);
  });

  it('stop() aborts the watch, cancels a pending backoff, and is reference-counted', async () => {
    const { clock, source, informer } = setup();
    source.nextList({ items: [], resourceVersion: '1' });
    informer.start();
    informer.start();
    await informer.waitForSync();
    await flushMicrotasks();
    await informer.stop();
    expect(informer.running).toBe(true);
    expect(source.current!.aborted).toBe(false);
    await informer.stop();
    expect(informer.running).toBe(false);
    expect(source.current!.aborted).toBe(true);
    expect(informer.hasSynced()).toBe(false);
    expect(clock.pending()).toBe(0);
  });

  it('after a full stop, a new subscriber gets an add for every object on the next start', async () => {
    const { source, informer } = setup();
    source.nextList({ items: [obj('ns', 'a', '1')], resourceVersion: '1' }, { items: [obj('ns', 'a', '1'), obj('ns', 'b', '2')], resourceVersion: '2' });
    informer.start();
    await informer.waitForSync();
    await informer.stop();
    expect(informer.keys()).toEqual([]);
    const seen: string[] = [];
    informer.addEventHandler({ add: (o) => seen.push(o.metadata!.name!), update: (_a, o) => seen.push(`update ${o.metadata!.name}`) });
    informer.start();
    await informer.waitForSync();
    expect(seen).toEqual(['a', 'b']);
  });

  it('stop() during a backoff sleep ends the loop without another attempt', async () => {
    const { clock, source, informer } = setup();
    source.nextList(httpError(500));
    informer.start();
    await flushMicrotasks();
    expect(clock.pending()).toBe(1);
    await informer.stop();
    expect(clock.pending()).toBe(0);
    await clock.advanceAsync(60_000);
    expect(source.listCalls).toBe(1);
  });

  it('abandons a list that hangs past the list timeout and retries after backoff', async () => {
    const { clock, source, informer } = setup();
    source.nextList('hang', { items: [obj('ns', 'a', '1')], resourceVersion: '1' });
    informer.start();
    await clock.advanceAsync(60_000);
    expect(source.listCalls).toBe(1);
    expect(informer.hasSynced()).toBe(false);
    await clock.advanceAsync(1000);
    expect(source.listCalls).toBe(2);
    expect(informer.hasSynced()).toBe(true);
  });

  it('stop() does not wait for a list that hangs', async () => {
    const { clock, source, informer } = setup();
    source.nextList('hang');
    informer.start();
    await flushMicrotasks();
    await informer.stop();
    expect(informer.running).toBe(false);
    expect(clock.pending()).toBe(0);
  });

  it('waitForSync resolves false when its signal aborts first', async () => {
    const { source, informer } = setup();
    source.nextList(httpError(500));
    informer.start();
    const ac = new AbortController();
    const p = informer.waitForSync(ac.signal);
    ac.abort();
    expect(await p).toBe(false);
  });
});
