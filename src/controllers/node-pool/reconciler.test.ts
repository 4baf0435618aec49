// The NodePool reconciler against the runtime's recording fake API: "given these objects, expect
// exactly these writes", then a second pass that writes nothing. KWOK (nodes becoming Ready) and
// the scheduler (pods binding or staying Unschedulable) are played by the test; time by a FakeClock.
import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../crds/group.js';
import type { NodePoolSpecInput } from '../../crds/node-pool.js';
import { silentLogger } from '../../kube/testing.js';
import { FakeClock } from '../../util/fake-clock.js';
import type { HearthObject } from '../runtime/writer.js';
import { ACCOUNT, MemoryKarpenter, MemorySelectedNodes, NS, NodePoolCluster, nodePool } from './fake-cluster.js';
import { FINALIZER, NodePoolReconciler } from './reconciler.js';
import { TEST_SEAL } from '../../../test/support/tenancy.js';

const T0 = Date.parse('2026-12-06T08:00:00Z');
const POOL = 'NodePool/hearth acct-ns/p';
const ctx = { log: silentLogger(), signal: new AbortController().signal };
const H100 = { fakeNodePool: { machineType: 'a3-highgpu-8g', region: 'US_VIRGINIA_2' as const } };

function setup(spec: Partial<NodePoolSpecInput>, o: { nodes?: V1Node[]; envs?: HearthObject<'Environment'>[]; jobs?: HearthObject<'BatchJob'>[]; extra?: object } = {}) {
  const cluster = new NodePoolCluster({ pools: [nodePool('p', spec, o.extra)], ...(o.nodes ? { nodes: o.nodes } : {}), ...(o.envs ? { environments: o.envs } : {}), ...(o.jobs ? { batchJobs: o.jobs } : {}) });
  const clock = new FakeClock(T0);
  const karpenter = new MemoryKarpenter();
  const selected = new MemorySelectedNodes(cluster.listers.nodes);
  const r = new NodePoolReconciler({ listers: cluster.listers, writer: cluster, karpenter, selected, clock, idleWindowMs: 600_000 });
  const pass = () => r.reconcile(`${NS}/p`, ctx);
  return { cluster, clock, karpenter, selected, r, pass };
}

function env(name: string, pool: string, numRanks = 2): HearthObject<'Environment'> {
  return { apiVersion: API_VERSION, kind: 'Environment', metadata: { name, namespace: NS }, spec: { connection: { nodePoolId: pool, numRanks } } } as unknown as HearthObject<'Environment'>;
}

function job(name: string, pool: string, state: string, numRanks = 4): HearthObject<'BatchJob'> {
  return { apiVersion: API_VERSION, kind: 'BatchJob', metadata: { name, namespace: NS }, spec: { nodePoolId: pool, numRanks }, status: { state } } as unknown as HearthObject<'BatchJob'>;
}

describe('NodePoolReconciler', () => {
  it('minNodeCount 0: finalizer and READY at once, no nodes; a second pass changes nothing', async () => {
    const t = setup({ ...H100, maxNodeCount: 3 });
    await t.pass();
    expect(t.cluster.take()).toEqual([`finalizers ${POOL}`, `status ${POOL}`, `event Normal/Ready ${NS}/p`]);
    expect(t.cluster.status('p')).toMatchObject({ state: 'READY', status: { code: 'OK' }, nodePoolStats: { nodeCount: 0, ranksPerNode: 8, environmentCount: 0, environmentRanks: 0 } });
    expect(t.cluster.listers.nodePools.get(`${NS}/p`)?.metadata.finalizers).toEqual([FINALIZER]);
    await t.pass();
    expect(t.cluster.take()).toEqual([]);
  });

  it('minNodeCount 2: creates 2 KWOK nodes, CREATING until they are Ready, then READY; a second pass changes nothing', async () => {
    const t = setup({ ...H100, minNodeCount: 2, maxNodeCount: 3 });
    await t.pass();
    expect(t.cluster.take()).toEqual([`finalizers ${POOL}`, 'create Node np-acme-p-0', 'create Node np-acme-p-1', `status ${POOL}`]);
    expect(t.cluster.status('p')).toMatchObject({ state: 'CREATING', status: { message: '0 of 2 minimum nodes Ready' }, nodePoolStats: { nodeCount: 2 } });
    await t.pass();
    expect(t.cluster.take()).toEqual([]);
    t.cluster.readyNodes();
    await t.pass();
    expect(t.cluster.take()).toEqual([`status ${POOL}`, `event Normal/Ready ${NS}/p`]);
    expect(t.cluster.status('p')?.state).toBe('READY');
    await t.pass();
    expect(t.cluster.take()).toEqual([]);
  });

  it('FAILED naming the field when the machine type is unknown; no nodes; a second pass changes nothing', async () => {
    const t = setup({ fakeNodePool: { machineType: 'z9.mega' }, minNodeCount: 1, maxNodeCount: 1 });
    await t.pass();
    expect(t.cluster.take()).toEqual([`finalizers ${POOL}`, `status ${POOL}`, `event Warning/InvalidSpec ${NS}/p`]);
    const s = t.cluster.status('p');
    expect(s?.state).toBe('FAILED');
    expect(s?.status).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(s?.status?.message).toMatch(/^fakeNodePool\.machineType: unknown machine type "z9\.mega"/);
    await t.pass();
    expect(t.cluster.take()).toEqual([]);
  });

  it('a kubectl-made pool with min > max (CRD rules bypassed) is FAILED naming maxNodeCount', async () => {
    const t = setup({ ...H100, minNodeCount: 3, maxNodeCount: 2 });
    await t.pass();
    expect(t.cluster.status('p')?.status?.message).toMatch(/^maxNodeCount: /);
  });

  it('grows 1 → 3 for 20 one-GPU ranks, then shrinks back after the idle window', async () => {
    const t = setup({ ...H100, minNodeCount: 1, maxNodeCount: 3 });
    await t.pass();
    t.cluster.readyNodes();
    await t.pass();
    t.cluster.take();
    for (let i = 0; i < 20; i++) t.cluster.pod(`r${i}`, 'p', 1, i < 8 ? 'np-acme-p-0' : undefined);
    await t.pass();
    expect(t.cluster.take()).toEqual(['create Node np-acme-p-1', 'create Node np-acme-p-2', `status ${POOL}`]);
    // Nodes on their way: the same pods waiting do not make more.
    await t.pass();
    expect(t.cluster.take()).toEqual([]);
    t.cluster.readyNodes();
    for (let i = 8; i < 20; i++) t.cluster.pod(`r${i}`, 'p', 1, i < 16 ? 'np-acme-p-1' : 'np-acme-p-2');
    await t.pass();
    expect(t.cluster.take()).toEqual([]);
    // The job ends: nodes idle, removed only once the window has passed, never below minNodeCount.
    for (let i = 0; i < 20; i++) t.cluster.removePod(`r${i}`);
    const first = await t.pass();
    expect(t.cluster.take()).toEqual([]);
    expect(first).toEqual({ requeueAfter: 600_000 });
    t.clock.advance(599_000);
    await t.pass();
    expect(t.cluster.take()).toEqual([]);
    t.clock.advance(1_000);
    await t.pass();
    expect(t.cluster.take()).toEqual(['delete Node np-acme-p-2', 'delete Node np-acme-p-1', `status ${POOL}`]);
    expect(t.cluster.nodeNames()).toEqual(['np-acme-p-0']);
    await t.pass();
    expect(t.cluster.take()).toEqual([]);
  });

  it('overprovisioning: the PriorityClass and a placeholder Deployment; a preempted (pending) placeholder grows the pool', async () => {
    const t = setup({ ...H100, minNodeCount: 1, maxNodeCount: 3, overprovisionNodeCount: 1 });
    await t.pass();
    expect(t.cluster.take()).toEqual([
      `finalizers ${POOL}`,
      'create PriorityClass/scheduling hearth-overprovisioning',
      'create Deployment/apps acct-ns/p-overprovisioning',
      'create Node np-acme-p-0',
      `status ${POOL}`,
    ]);
    expect(t.cluster.listers.workloads.get(`${NS}/p-overprovisioning`)?.spec?.replicas).toBe(1);
    t.cluster.readyNodes();
    t.cluster.pod('ph-1', 'p', 8, 'np-acme-p-0', { placeholder: true });
    await t.pass();
    t.cluster.take();
    await t.pass();
    expect(t.cluster.take()).toEqual([]);
    // A real pod preempts the placeholder, which comes back Pending: the pool grows for it.
    t.cluster.removePod('ph-1');
    t.cluster.pod('real', 'p', 8, 'np-acme-p-0');
    t.cluster.pod('ph-2', 'p', 8, undefined, { placeholder: true });
    await t.pass();
    expect(t.cluster.take()).toEqual(['create Node np-acme-p-1', `status ${POOL}`]);
    // Headroom changes with the spec.
    t.cluster.editPool('p', (p) => void (p.spec.overprovisionNodeCount = 0));
    await t.pass();
    expect(t.cluster.take()).toEqual(['delete Deployment/apps acct-ns/p-overprovisioning', `status ${POOL}`]);
  });

  it('eksNodePool without a provisioner: CREATING, saying what it needs', async () => {
    const t = setup({ eksNodePool: { instanceType: 'p5.48xlarge' }, maxNodeCount: 2 });
    t.karpenter.isInstalled = false;
    await t.pass();
    const s = t.cluster.status('p');
    expect(s).toMatchObject({ state: 'CREATING', status: { code: 'FAILED_PRECONDITION' } });
    expect(s?.status?.message).toMatch(/Karpenter/);
    expect(s?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'NeedsProvisioner' });
    t.cluster.take();
    await t.pass();
    expect(t.cluster.take()).toEqual([]);
  });

  it('eksNodePool with Karpenter: writes its NodePool, updates it with the pool, deletes it with the pool', async () => {
    const t = setup({ eksNodePool: { instanceType: 'p5.48xlarge' }, maxNodeCount: 2 });
    await t.pass();
    expect(t.karpenter.calls).toEqual(['create hearth-acme-p']);
    expect(t.cluster.status('p')?.state).toBe('READY');
    await t.pass();
    expect(t.karpenter.calls).toEqual(['create hearth-acme-p']);
    t.cluster.editPool('p', (p) => void (p.spec.maxNodeCount = 4));
    await t.pass();
    expect(t.karpenter.calls.at(-1)).toBe('replace hearth-acme-p');
    expect((t.karpenter.objects.get('hearth-acme-p')?.spec.limits as Record<string, string>)['nvidia.com/gpu']).toBe('32');
    t.cluster.editPool('p', (p) => void (p.metadata.deletionTimestamp = new Date(T0).toISOString() as never));
    await t.pass();
    expect(t.karpenter.calls.at(-1)).toBe('delete hearth-acme-p');
    expect(t.cluster.listers.nodePools.get(`${NS}/p`)).toBeUndefined();
  });

  it('eksNodePool.nodeSelector: adopts the matching nodes (labels and taint), releases them on delete', async () => {
    const existing: V1Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'ip-10-0-0-1', labels: { ng: 'train' } }, spec: { taints: [] }, status: { conditions: [{ type: 'Ready', status: 'True' }] } };
    const t = setup({ eksNodePool: { instanceType: 'p5.48xlarge', nodeSelector: { ng: 'train' } }, minNodeCount: 1, maxNodeCount: 2 }, { nodes: [existing] });
    await t.pass();
    expect(t.selected.calls).toEqual(['patch ip-10-0-0-1']);
    const n = t.cluster.listers.nodes.get('ip-10-0-0-1')!;
    expect(n.metadata?.labels).toMatchObject({ 'hearth.dev/node-pool': 'p', 'hearth.dev/node-pool-account': ACCOUNT });
    expect(n.spec?.taints).toEqual([{ key: 'hearth.dev/node-pool', value: 'p', effect: 'NoSchedule' }]);
    expect(t.cluster.status('p')).toMatchObject({ state: 'READY', nodePoolStats: { nodeCount: 1 } });
    await t.pass();
    expect(t.selected.calls).toHaveLength(1);
    t.cluster.editPool('p', (p) => void (p.metadata.deletionTimestamp = new Date(T0).toISOString() as never));
    await t.pass();
    expect(t.cluster.listers.nodes.get('ip-10-0-0-1')?.metadata?.labels).toEqual({ ng: 'train' });
    expect(t.cluster.listers.nodes.get('ip-10-0-0-1')?.spec?.taints).toEqual([]);
    expect(t.cluster.take()).not.toContain('delete Node ip-10-0-0-1');
  });

  it('eksNodePool.nodeSelector without RBAC to patch nodes: says so in the status instead of retrying blindly', async () => {
    const existing: V1Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'ip-10-0-0-2', labels: { ng: 'train' } }, status: { conditions: [{ type: 'Ready', status: 'True' }] } };
    const t = setup({ eksNodePool: { instanceType: 'p5.48xlarge', nodeSelector: { ng: 'train' } }, maxNodeCount: 2 }, { nodes: [existing] });
    t.selected.forbidden = true;
    await t.pass();
    expect(t.cluster.status('p')).toMatchObject({ state: 'CREATING', status: { code: 'PERMISSION_DENIED' } });
    expect(t.cluster.status('p')?.status?.message).toContain('nodePools.adoptExistingNodes');
    t.cluster.take();
    await t.pass();
    expect(t.cluster.take()).toEqual([]);
  });

  it('stats: environments and batch jobs on the pool, ranks per state', async () => {
    const t = setup(H100, { envs: [env('e1', 'p', 2), env('e2', 'other')], jobs: [job('j1', 'p', 'RUNNING', 4), job('j2', 'p', 'COMPLETED', 8), job('j3', 'p', 'RUNNING', 1)] });
    await t.pass();
    expect(t.cluster.status('p')?.nodePoolStats).toEqual({
      nodeCount: 0,
      ranksPerNode: 8,
      environmentCount: 1,
      environmentRanks: 2,
      batchJobCount: { RUNNING: 2, COMPLETED: 1 },
      batchJobRanks: { RUNNING: 5, COMPLETED: 8 },
    });
  });

  it('DELETING: waits while an environment is connected or a job runs, naming them; then removes its nodes and the finalizer', async () => {
    const t = setup({ ...H100, minNodeCount: 2, maxNodeCount: 2 }, { envs: [env('e1', 'p')], jobs: [job('j1', 'p', 'RUNNING'), job('j0', 'p', 'COMPLETED')] });
    await t.pass();
    t.cluster.readyNodes();
    await t.pass();
    t.cluster.take();
    t.cluster.editPool('p', (p) => void (p.metadata.deletionTimestamp = new Date(T0).toISOString() as never));
    await t.pass();
    expect(t.cluster.take()).toEqual([`status ${POOL}`]);
    expect(t.cluster.status('p')).toMatchObject({ state: 'DELETING', status: { code: 'FAILED_PRECONDITION', message: 'node pool is in use by batchJob j1, environment e1; waiting for them to finish' } });
    await t.pass();
    expect(t.cluster.take()).toEqual([]);
    t.cluster.listers.environments.delete(`${NS}/e1`);
    t.cluster.listers.batchJobs.put(job('j1', 'p', 'CANCELLED'));
    const res = await t.pass();
    expect(t.cluster.take()).toEqual(['delete Node np-acme-p-0', 'delete Node np-acme-p-1', `status ${POOL}`]);
    expect(res).toEqual({ requeueAfter: 2_000 });
    await t.pass();
    expect(t.cluster.take()).toEqual([`finalizers ${POOL}`]);
    expect(t.cluster.listers.nodePools.get(`${NS}/p`)).toBeUndefined();
  });
});

describe('NodePoolReconciler: whose pool it is (issue 15 item 5)', () => {
  it('in a namespace labelled with an account by hand: a NamespaceNotVerified Warning, no finalizer, no node; a second pass neither', async () => {
    const t = setup(H100);
    t.cluster.listers.namespaces.put(TEST_SEAL.project({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'hearth.dev/account': ACCOUNT } } }));
    expect(await t.pass()).toEqual({});
    expect(t.cluster.take()).toEqual([`event Warning/NamespaceNotVerified ${NS}/p`]);
    await t.pass();
    expect(t.cluster.take().filter((w) => !w.startsWith('event '))).toEqual([]);
    expect(t.cluster.listers.nodes.list()).toEqual([]);
  });

  it('in a namespace of no account, the pool\'s own hearth.dev/account label claims nothing: not reconciled', async () => {
    const t = setup(H100, { extra: { labels: { 'hearth.dev/account': ACCOUNT } } });
    t.cluster.listers.namespaces.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    expect(await t.pass()).toEqual({});
    expect(t.cluster.take()).toEqual([]);
  });
});
