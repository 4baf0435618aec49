import type { KubernetesObject } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../util/fake-clock.js';
import { stripManagedFields } from './informer.js';
import { InformerFactory } from './informer-factory.js';
import type { ResourceRef } from './kube-source.js';
import { FakeListWatch, obj, silentLogger } from './testing.js';

const PODS: ResourceRef = { group: '', version: 'v1', plural: 'pods' };
const NODES: ResourceRef = { group: '', version: 'v1', plural: 'nodes' };

function setup() {
  const sources = new Map<string, FakeListWatch<KubernetesObject>>();
  const factory = new InformerFactory(undefined, {
    clock: new FakeClock(1_000_000),
    log: silentLogger(),
    sourceFor: (ref) => {
      const s = new FakeListWatch<KubernetesObject>().nextList({ items: [obj('ns', `${ref.plural}-a`, '5')], resourceVersion: '10' });
      sources.set(ref.plural, s);
      return s;
    },
  });
  factories.push(factory);
  return { factory, sources };
}
const factories: InformerFactory[] = [];
afterEach(async () => {
  for (const f of factories.splice(0)) await f.stop();
});

describe('InformerFactory', () => {
  it('gives every reader of a collection the same informer: one list and one watch', async () => {
    const { factory, sources } = setup();
    const a = factory.informer(PODS);
    const b = factory.informer({ ...PODS });
    expect(b).toBe(a);
    expect(factory.size).toBe(1);
    factory.start();
    expect(await factory.waitForSync()).toBe(true);
    expect(sources.get('pods')?.listCalls).toBe(1);
    expect(sources.get('pods')?.watches).toHaveLength(1);
    expect(a.list('ns').map((o) => o.metadata?.name)).toEqual(['pods-a']);
  });

  it('a selector or namespace is another collection', () => {
    const { factory } = setup();
    factory.informer(PODS);
    factory.informer({ ...PODS, labelSelector: 'a=b' });
    factory.informer({ ...PODS, namespace: 'x' });
    const nodes = factory.informer(NODES);
    expect(factory.size).toBe(4);
    // Each watch with its collection, to compare a cache with a fresh LIST of exactly that.
    expect(factory.watched().map((w) => w.ref)).toEqual([PODS, { ...PODS, labelSelector: 'a=b' }, { ...PODS, namespace: 'x' }, NODES]);
    expect(factory.watched()[3]!.informer).toBe(nodes);
  });

  it('refuses a second projection of one watch', () => {
    const { factory } = setup();
    const slim = (o: KubernetesObject): KubernetesObject => o;
    factory.informer(PODS, { transform: slim });
    expect(factory.informer(PODS, { transform: slim })).toBeDefined();
    expect(() => factory.informer(PODS)).toThrow(/different projection/);
    factory.informer(NODES);
    expect(factory.informer(NODES, { transform: stripManagedFields })).toBeDefined();
  });

  it('keeps caches warm while readers stop and start again (leadership terms)', async () => {
    const { factory, sources } = setup();
    const pods = factory.informer(PODS);
    factory.start();
    await factory.waitForSync();
    // A controller's term: its own reference on top of the factory's.
    pods.start();
    await pods.stop();
    expect(pods.hasSynced()).toBe(true);
    expect(pods.get('ns/pods-a')).toBeDefined();
    expect(sources.get('pods')?.listCalls).toBe(1);
  });

  it('starts an informer made after start() at once', async () => {
    const { factory } = setup();
    factory.start();
    const nodes = factory.informer(NODES);
    expect(nodes.running).toBe(true);
    expect(await factory.waitForSync()).toBe(true);
  });
});
