import type { KubernetesObject } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from '../util/fake-clock.js';
import { Informer } from './informer.js';
import { FakeListWatch, obj, silentLogger } from './testing.js';
import { WriteOverlay } from './write-overlay.js';

const informers: Informer<KubernetesObject>[] = [];
afterEach(async () => {
  for (const i of informers.splice(0)) await i.stop();
});

async function setup(items: KubernetesObject[] = [], listRv = '10') {
  const clock = new FakeClock(1_000_000);
  const source = new FakeListWatch<KubernetesObject>().nextList({ items, resourceVersion: listRv });
  const informer = new Informer<KubernetesObject>(source, { clock, log: silentLogger() });
  informers.push(informer);
  informer.start();
  await informer.waitForSync();
  await flushMicrotasks();
  const overlay = new WriteOverlay(informer, { clock, ttlMs: 60_000 });
  const label = (o: KubernetesObject | undefined): string | undefined => o?.metadata?.labels?.v;
  const names = (ns?: string): string[] => overlay.list(ns).map((o) => o.metadata?.name ?? '').sort();
  return { clock, source, informer, overlay, label, names };
}

const at = (name: string, rv: string, v = rv, ns = 'a'): KubernetesObject => obj(ns, name, rv, { metadata: { labels: { v } } });

describe('WriteOverlay', () => {
  it('serves a write at once, until the informer has caught up with it', async () => {
    const { source, informer, overlay, label, names } = await setup([at('old', '5')]);
    overlay.put(at('new', '11'));
    expect(names('a')).toEqual(['new', 'old']);
    expect(label(overlay.get('a/new'))).toBe('11');
    expect(informer.get('a/new')).toBeUndefined(); // the shared cache is not touched
    source.current?.emit('ADDED', at('new', '11'));
    expect(overlay.size).toBe(0);
    expect(label(overlay.get('a/new'))).toBe('11');
  });

  it('never lets an older copy replace a newer write (a watch event trailing the write)', async () => {
    const { source, overlay, label } = await setup([at('d', '5')]);
    overlay.put(at('d', '12'));
    source.current?.emit('MODIFIED', at('d', '11')); // someone's earlier write, seen late
    expect(label(overlay.get('a/d'))).toBe('12');
    // A slow read answering with an older version than our write changes nothing either.
    overlay.put(at('d', '11'));
    expect(label(overlay.get('a/d'))).toBe('12');
    source.current?.emit('MODIFIED', at('d', '13'));
    expect(label(overlay.get('a/d'))).toBe('13');
  });

  it('gives way once the informer has seen past the write, even when that is a deletion by someone else', async () => {
    const { source, overlay, names } = await setup([at('d', '5')]);
    overlay.put(at('d', '12'));
    source.current?.emit('DELETED', at('d', '14'));
    expect(names('a')).toEqual([]);
    expect(overlay.get('a/d')).toBeUndefined();
  });

  it('hides a deleted object until the informer sees the deletion, and does not resurrect it from a stale event', async () => {
    const { source, overlay, names } = await setup([at('d', '5'), at('e', '6')]);
    overlay.remove('a', 'd', '15');
    expect(names('a')).toEqual(['e']);
    expect(overlay.get('a/d')).toBeUndefined();
    source.current?.emit('MODIFIED', at('d', '14'));
    expect(names('a')).toEqual(['e']);
    overlay.put(at('d', '14')); // a read racing the delete
    expect(overlay.get('a/d')).toBeUndefined();
    source.current?.emit('DELETED', at('d', '15'));
    expect(overlay.size).toBe(0);
    // Re-created later: the new object shows.
    overlay.put(at('d', '20'));
    expect(names('a')).toEqual(['d', 'e']);
  });

  it('a deletion without a resourceVersion (404) hides the cached copy until that copy changes', async () => {
    const { source, overlay, names } = await setup([at('d', '5')]);
    overlay.remove('a', 'd');
    expect(names('a')).toEqual([]);
    source.current?.emit('MODIFIED', at('d', '7'));
    expect(names('a')).toEqual(['d']);
  });

  it('opaque resourceVersions: a write holds until the informer’s copy changes', async () => {
    const { source, overlay, label } = await setup([at('d', 'x1')], 'x');
    overlay.put(at('d', 'x2'));
    expect(label(overlay.get('a/d'))).toBe('x2');
    source.current?.emit('MODIFIED', at('d', 'x3'));
    expect(label(overlay.get('a/d'))).toBe('x3');
  });

  it('lists by namespace and expires entries an informer never catches up with', async () => {
    const { clock, overlay, names } = await setup();
    overlay.put(at('p', '11', '11', 'a'));
    overlay.put(at('q', '12', '12', 'b'));
    expect(names('a')).toEqual(['p']);
    expect(names()).toEqual(['p', 'q']);
    clock.advance(60_001);
    expect(names()).toEqual([]);
    expect(overlay.size).toBe(0);
  });
});
