// Controllers on the process's one informer cache (src/kube/informer-factory.ts): one watch per
// collection whatever number of controllers reads it, and caches that stay warm across leadership
// terms. Fake list/watch, MemoryLease and FakeClock: no cluster, no sleeping.
import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { InformerFactory } from '../../kube/informer-factory.js';
import type { ResourceRef } from '../../kube/kube-source.js';
import { FakeClock, flushMicrotasks } from '../../util/fake-clock.js';
import { Controller } from './controller.js';
import { Manager } from './manager.js';
import { FakeListWatch, MemoryLease, obj, silentLogger } from './testing.js';

const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', plural: 'configmaps' };
const TYPE = { apiVersion: 'v1', kind: 'ConfigMap' };

function setup() {
  const clock = new FakeClock(0);
  const log = silentLogger();
  const source = new FakeListWatch<KubernetesObject>().nextList({ items: [obj('ns', 'a', '1'), obj('ns', 'b', '2')], resourceVersion: '2' });
  const informers = new InformerFactory(undefined, { clock, log, sourceFor: () => source });
  const reconciled: string[] = [];
  const controller = (name: string): Controller<KubernetesObject> =>
    new Controller({
      name,
      for: { informer: informers.informer(CONFIGMAPS), type: TYPE },
      reconciler: { reconcile: async (key) => void reconciled.push(`${name} ${key}@${clock.now()}`) },
      clock,
      log,
    });
  return { clock, log, source, informers, reconciled, controller };
}

describe('the shared informer cache', () => {
  it('serves two controllers from one list and one watch', async () => {
    const { source, controller, reconciled } = setup();
    const a = controller('a');
    const b = controller('b');
    await Promise.all([a.start(), b.start()]);
    await flushMicrotasks();
    expect(source.listCalls).toBe(1);
    expect(source.watches).toHaveLength(1);
    expect(reconciled.sort()).toEqual(['a ns/a@0', 'a ns/b@0', 'b ns/a@0', 'b ns/b@0']);
    // An event reaches both controllers' queues from the one watch.
    source.current!.emit('MODIFIED', obj('ns', 'a', '3', { metadata: { generation: 2 } }));
    await flushMicrotasks();
    expect(reconciled.filter((r) => r.includes('ns/a'))).toHaveLength(4);
    await a.stop();
    // b still reads it: the watch stays open.
    expect(source.current!.aborted).toBe(false);
    await b.stop();
  });

  it('stays warm across a lost and regained lease: the new term reconciles from the synced cache, no second list', async () => {
    const { clock, log, source, informers, reconciled, controller } = setup();
    const lease = new MemoryLease();
    const client = lease.client();
    const m = new Manager({ clock, log, informers, leaderElection: { client, identity: 'a', random: () => 0 } });
    m.add(() => controller('c'));
    m.start();
    await flushMicrotasks();
    expect(m.isLeader()).toBe(true);
    expect(reconciled.sort()).toEqual(['c ns/a@0', 'c ns/b@0']);

    client.failWith = new Error('partition');
    await clock.advanceAsync(10_000);
    expect(m.isLeader()).toBe(false);
    expect(m.active()).toEqual([]);
    // While standing by, the cache keeps watching.
    const informer = informers.informer(CONFIGMAPS);
    expect(informer.running).toBe(true);
    expect(informer.hasSynced()).toBe(true);
    source.current!.emit('ADDED', obj('ns', 'c', '3'));

    client.failWith = undefined;
    await clock.advanceAsync(2000);
    expect(m.isLeader()).toBe(true);
    // Every object again, including the one added while standing by: from the cache, not a relist.
    expect(reconciled.filter((r) => r.endsWith('@12000')).sort()).toEqual(['c ns/a@12000', 'c ns/b@12000', 'c ns/c@12000']);
    expect(source.listCalls).toBe(1);
    expect(source.watches).toHaveLength(1);
    await m.stop();
    // The manager leaves the cache to the process, which stops it last.
    expect(informer.running).toBe(true);
    await informers.stop();
    expect(informer.running).toBe(false);
  });

  it('a standby lists and watches before it leads: caches start with the process', async () => {
    const { clock, log, source, informers, controller, reconciled } = setup();
    const lease = new MemoryLease();
    const leader = lease.client();
    await leader.create({ holderIdentity: 'other', leaseDurationSeconds: 15, acquireTime: 0, renewTime: 0, leaseTransitions: 0 });
    const m = new Manager({ clock, log, informers, leaderElection: { client: lease.client(), identity: 'b', random: () => 0 } });
    m.add(() => controller('c'));
    informers.informer(CONFIGMAPS); // declared at process start (controllers/manager.ts)
    m.start();
    await clock.advanceAsync(5000);
    expect(m.isLeader()).toBe(false);
    expect(source.listCalls).toBe(1);
    expect(informers.hasSynced()).toBe(true);
    expect(reconciled).toEqual([]);
    await m.stop();
    await informers.stop();
  });
});

describe('Controller resync', () => {
  it('enqueues every cached primary key at low priority every resyncMs (the informer is shared and has none)', async () => {
    const { clock, log, informers, reconciled } = setup();
    const c = new Controller({
      name: 'r',
      for: { informer: informers.informer(CONFIGMAPS), type: TYPE },
      reconciler: { reconcile: async (key) => void reconciled.push(`${key}@${clock.now()}`) },
      resyncMs: 600_000,
      clock,
      log,
    });
    await c.start();
    await flushMicrotasks();
    expect(reconciled).toHaveLength(2);
    await clock.advanceAsync(599_999);
    expect(reconciled).toHaveLength(2);
    await clock.advanceAsync(1);
    expect(reconciled.slice(2).sort()).toEqual(['ns/a@600000', 'ns/b@600000']);
    await c.stop();
    await clock.advanceAsync(600_000);
    expect(reconciled).toHaveLength(4);
  });
});
