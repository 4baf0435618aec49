// The process's controller manager: every registered controller's informers are asked for at
// process start on the one shared cache, so a standby lists and watches before it leads; a
// controller that cannot start makes done reject (main.ts then exits 1).
import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { InformerFactory } from '../kube/informer-factory.js';
import { FakeClock, flushMicrotasks } from '../util/fake-clock.js';
import type { Db } from '../db/client.js';
import type { KubeClients } from '../kube/client.js';
import { controllerManager, registrations, type ControllerContext } from './manager.js';
import { FakeListWatch, silentLogger } from './runtime/testing.js';
import { TEST_SEAL } from '../../test/support/tenancy.js';

function context() {
  const clock = new FakeClock(0);
  const log = silentLogger();
  const lists = new Map<string, FakeListWatch<KubernetesObject>>();
  const informers = new InformerFactory(undefined, {
    clock,
    tenancy: TEST_SEAL,
    log,
    sourceFor: (ref) => {
      const s = new FakeListWatch<KubernetesObject>().nextList({ items: [], resourceVersion: '1' });
      lists.set(`${ref.group}/${ref.plural}${ref.labelSelector ? `?${ref.labelSelector}` : ''}`, s);
      return s;
    },
  });
  const ctx: ControllerContext = { clients: {} as KubeClients, informers, db: {} as Db, clock, log };
  return { ctx, lists, informers, clock };
}

describe('controllerManager', () => {
  it('asks the shared cache for every controller’s informers at once, one watch each where they overlap, and starts them with the manager', async () => {
    const { ctx, lists, informers } = context();
    const m = controllerManager({ ...ctx, deployment: { selector: 'shard=a' } }, registrations({ ...ctx, deployment: { selector: 'shard=a' } }).map((r) => ({ ...r, make: () => ({ name: r.name, start: async () => {}, stop: async () => true }) })));
    // The BatchJob controller adds BatchJobs, its Jobs, NodePools and Environments (sharing pods and namespaces).
    // The Deployment controller's six collections; metering's pods, GPU nodes and namespaces are among them.
    // The DeployedModel controller adds its DeployedModels and Hearth's EndpointSlices; it shares
    // the selected Deployments (the DeployedModels of this shard's Deployments) and namespaces.
    expect([...lists.keys()].sort()).toEqual([
      '/namespaces',
      '/nodes?hearth.dev/accelerator-type',
      '/pods',
      '/services',
      'apps/deployments',
      'batch/jobs?hearth.dev/batch-job',
      'discovery.k8s.io/endpointslices?hearth.dev/deployment',
      'hearth.dev/batchjobs',
      'hearth.dev/deployedmodels',
      'hearth.dev/deployments?shard=a',
      'hearth.dev/environments',
      'hearth.dev/nodepools',
    ]);
    expect(informers.hasSynced()).toBe(false);
    m.start();
    await flushMicrotasks();
    expect(informers.hasSynced()).toBe(true);
    expect(m.active()).toEqual(['deployment', 'deployedmodel', 'metering', 'batch-job', 'deployment-orphan-holds']);
    for (const s of lists.values()) expect(s.listCalls).toBe(1);
    await m.stop();
    await informers.stop();
  });

  it('rejects done when a controller cannot start', async () => {
    const { ctx, informers } = context();
    const m = controllerManager(ctx, [
      { name: 'broken', declare: () => {}, make: () => ({ name: 'broken', start: () => Promise.reject(new Error('caches did not sync')), stop: async () => true }) },
    ]);
    m.start();
    await expect(m.done).rejects.toThrow('caches did not sync');
    await informers.stop();
  });

  it('runs the NodePool controller when given its settings, on its own pod and node watches (by the pool label)', () => {
    const { ctx, lists } = context();
    const regs = registrations({ ...ctx, nodePool: { idleWindowMs: 1000 } });
    expect(regs.map((r) => r.name)).toEqual(['deployment', 'deployedmodel', 'metering', 'nodepool', 'batch-job', 'deployment-orphan-holds']);
    for (const r of regs) r.declare(ctx);
    expect([...lists.keys()]).toEqual(expect.arrayContaining(['/pods?hearth.dev/node-pool', '/nodes?hearth.dev/node-pool', 'hearth.dev/nodepools', 'hearth.dev/environments', 'hearth.dev/batchjobs', 'scheduling.k8s.io/priorityclasses']));
  });

  it('leaves metering out when asked', () => {
    const { ctx } = context();
    expect(registrations({ ...ctx, metering: false }).map((r) => r.name)).toEqual(['deployment', 'deployedmodel', 'batch-job', 'deployment-orphan-holds']);
  });

  it('sweeps orphaned quota holds sharded or not; a shard does not watch every Deployment for it (it lists them at each sweep)', () => {
    const { ctx, lists } = context();
    expect(registrations(ctx).map((r) => r.name)).toContain('deployment-orphan-holds');
    const sharded = registrations({ ...ctx, deployment: { selector: 'shard=a' } });
    expect(sharded.map((r) => r.name)).toContain('deployment-orphan-holds');
    for (const r of sharded) r.declare(ctx);
    expect([...lists.keys()].filter((k) => k.startsWith('hearth.dev/deployments'))).toEqual(['hearth.dev/deployments?shard=a']);
    expect(registrations({ ...ctx, orphanHolds: { off: true } }).map((r) => r.name)).not.toContain('deployment-orphan-holds');
  });
});
