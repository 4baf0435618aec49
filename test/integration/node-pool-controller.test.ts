// The NodePool controller on the simulated cluster (real kube-apiserver, scheduler with preemption,
// controller-manager, KWOK): pools of KWOK nodes that become Ready, grow for unschedulable pods and
// shrink when idle; overprovisioning placeholders preempted by a real pod; a Karpenter NodePool
// accepted by Karpenter's own CRD (fetched from its Go module, removed again at the end); deletion
// refused while an environment uses the pool, then its nodes removed. The growth is driven by the
// Indexed Job the BatchJob controller builds for a 20-rank job (its builder, its pod template). The
// run has its own namespace and account, and its controller reconciles only that namespace's pools.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiextensionsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type V1CustomResourceDefinition, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildJob } from '../../src/controllers/batch-job/resources.js';
import { nodePoolController } from '../../src/controllers/node-pool/controller.js';
import { KubeKarpenterApi } from '../../src/controllers/node-pool/karpenter.js';
import type { Runnable } from '../../src/controllers/runtime/controller.js';
import type { HearthObject } from '../../src/controllers/runtime/writer.js';
import { KubeClients } from '../../src/controllers/runtime/index.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import { NODE_POOL_LABELS, nodePoolPodLabels, nodePoolScheduling } from '../../src/fleet/node-pools.js';
import { InformerFactory } from '../../src/kube/informer-factory.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { realClock } from '../../src/util/clock.js';
import { SIM_ENV } from '../fixtures/kwok-sim/index.js';
import { kubeconfigPath } from '../support/env.js';
import { createTestNamespace } from '../support/namespace.js';
import { dumpNamespace, waitFor } from '../support/wait.js';
import { TEST_SEAL } from '../support/tenancy.js';

const REPO_ROOT = new URL('../..', import.meta.url).pathname;
const suffix = randomBytes(3).toString('hex');
const NS = `npctl-${suffix}`;
const ACCOUNT = `np${suffix}`;
const IDLE_MS = 3_000;
const kc = loadKubeConfig(kubeconfigPath());
const clients = new KubeClients(kc, { qps: 50, burst: 100 });
const core = clients.api(CoreV1Api);
const batch = clients.api(BatchV1Api);
const custom = clients.api(CustomObjectsApi);
const ext = kc.makeApiClient(ApiextensionsV1Api);
const log = pino({ level: process.env.HEARTH_TEST_LOG ?? 'warn' });
const informers = new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log, backoff: { initialMs: 200, maxMs: 2000 } });
const pools = { group: GROUP, version: VERSION, namespace: NS, plural: 'nodepools' };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
let controller: Runnable | undefined;
let karpenterCrds: string[] = [];

type Pool = { metadata: { deletionTimestamp?: string }; status?: { state?: string; status?: { code?: string; message?: string }; nodePoolStats?: Record<string, unknown> } };

async function pool(name: string): Promise<Pool | undefined> {
  try {
    return (await custom.getNamespacedCustomObject({ ...pools, name })) as Pool;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}

async function createPool(name: string, spec: Record<string, unknown>): Promise<void> {
  await custom.createNamespacedCustomObject({ ...pools, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'NodePool', metadata: { name }, spec } });
}

async function nodesOf(name: string): Promise<{ name: string; ready: boolean }[]> {
  const list = await core.listNode({ labelSelector: `${NODE_POOL_LABELS.pool}=${name},${NODE_POOL_LABELS.account}=${ACCOUNT}` });
  return list.items.map((n) => ({ name: n.metadata!.name!, ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false })).sort((a, b) => (a.name < b.name ? -1 : 1));
}

async function dump(name: string): Promise<unknown> {
  return { pool: await pool(name), nodes: await nodesOf(name), ns: await dumpNamespace(kc, NS) };
}

/** A pod of the pool asking for `gpus` GPUs, restricted like every pod Hearth makes. */
function gpuPod(poolName: string, name: string, gpus: number): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { ...nodePoolPodLabels(poolName), run: suffix } },
    spec: {
      ...nodePoolScheduling(ACCOUNT, poolName),
      terminationGracePeriodSeconds: 0,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'rank',
          image: 'registry.example/rank:1',
          resources: { requests: { 'nvidia.com/gpu': String(gpus), cpu: '100m' }, limits: { 'nvidia.com/gpu': String(gpus) } },
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
}

async function deletePool(name: string): Promise<void> {
  await custom.deleteNamespacedCustomObject({ ...pools, name }).catch(() => undefined);
}

async function removeKarpenterCrds(): Promise<void> {
  for (const name of karpenterCrds) await ext.deleteCustomResourceDefinition({ name }).catch(() => undefined);
  karpenterCrds = [];
}

beforeAll(async () => {
  await createTestNamespace(kc, NS, { 'hearth.dev/account': ACCOUNT });
  controller = nodePoolController({ clients, informers, clock: realClock, log, namespace: NS, idleWindowMs: IDLE_MS, karpenter: new KubeKarpenterApi(clients, realClock, 500) });
  await controller.start();
}, 60_000);

afterAll(async () => {
  const list = (await custom.listNamespacedCustomObject(pools)) as { items: { metadata: { name: string } }[] };
  for (const p of list.items) await deletePool(p.metadata.name);
  await batch.deleteCollectionNamespacedJob({ namespace: NS, propagationPolicy: 'Background' }).catch(() => undefined);
  await core.deleteCollectionNamespacedPod({ namespace: NS, gracePeriodSeconds: 0 }).catch(() => undefined);
  await waitFor('the run’s pools and nodes to be gone', async () => {
    const left = (await custom.listNamespacedCustomObject(pools)) as { items: unknown[] };
    const nodes = await core.listNode({ labelSelector: `${NODE_POOL_LABELS.account}=${ACCOUNT}` });
    return left.items.length === 0 && nodes.items.length === 0;
  }, { timeoutMs: 30_000 }).catch(async (e: unknown) => {
    log.warn({ err: e }, 'cleanup: removing leftovers by force');
    const nodes = await core.listNode({ labelSelector: `${NODE_POOL_LABELS.account}=${ACCOUNT}` });
    for (const n of nodes.items) await core.deleteNode({ name: n.metadata!.name! }).catch(() => undefined);
  });
  await controller?.stop(5_000);
  await informers.stop();
  await removeKarpenterCrds();
  await core.deleteNamespace({ name: NS }).catch(() => undefined);
}, 90_000);

describe('NodePool controller on the simulated cluster', () => {
  it('a pool is READY once minNodeCount KWOK nodes of its machine type are Ready', async () => {
    await createPool('mins', { minNodeCount: 2, maxNodeCount: 3, fakeNodePool: { machineType: 'a3-highgpu-8g', region: 'US_VIRGINIA_2' } });
    const p = await waitFor('pool mins READY', async () => ((await pool('mins'))?.status?.state === 'READY' ? pool('mins') : undefined), { timeoutMs: 30_000, dump: () => dump('mins') });
    expect(p?.status?.nodePoolStats).toMatchObject({ nodeCount: 2, ranksPerNode: 8 });
    const nodes = await nodesOf('mins');
    expect(nodes).toEqual([
      { name: `np-${ACCOUNT}-mins-0`, ready: true },
      { name: `np-${ACCOUNT}-mins-1`, ready: true },
    ]);
    const n = await core.readNode({ name: nodes[0]!.name });
    expect(n.metadata?.labels).toMatchObject({ 'topology.kubernetes.io/region': 'US_VIRGINIA_2', 'node.kubernetes.io/instance-type': 'a3-highgpu-8g', 'hearth.dev/accelerator-type': 'NVIDIA_H100_80GB' });
    expect(n.spec?.taints).toContainEqual({ key: 'hearth.dev/node-pool', value: 'mins', effect: 'NoSchedule' });
    expect(n.status?.allocatable?.['nvidia.com/gpu']).toBe('8');
  });

  it('an unknown machine type is FAILED naming the field; min > max is refused by the API server naming maxNodeCount', async () => {
    await createPool('badtype', { maxNodeCount: 1, fakeNodePool: { machineType: 'z9.mega' } });
    const p = await waitFor('pool badtype FAILED', async () => ((await pool('badtype'))?.status?.state === 'FAILED' ? pool('badtype') : undefined), { timeoutMs: 20_000, dump: () => dump('badtype') });
    expect(p?.status?.status).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(p?.status?.status?.message).toMatch(/^fakeNodePool\.machineType: unknown machine type "z9\.mega"/);
    const refused = await createPool('minmax', { minNodeCount: 3, maxNodeCount: 2, fakeNodePool: {} }).then(
      () => undefined,
      (e: { code?: number; body?: string }) => e,
    );
    expect(refused?.code).toBe(422);
    expect(refused?.body).toContain('spec.maxNodeCount');
    expect(refused?.body).toContain('maxNodeCount must be greater than or equal to minNodeCount');
  });

  it('grows 1 → 3 nodes for a 20-rank job (the BatchJob builder’s Indexed Job, one GPU per rank) that cannot be scheduled, and shrinks back after it goes', async () => {
    const spec = { minNodeCount: 1, maxNodeCount: 3, fakeNodePool: { machineType: 'a3-highgpu-8g' } };
    await createPool('grow', spec);
    await waitFor('pool grow READY with 1 node', async () => (await pool('grow'))?.status?.state === 'READY', { timeoutMs: 30_000, dump: () => dump('grow') });
    // The Job the BatchJob controller would make for 20 ranks on this pool (no owner: no controller
    // runs here); its ranks stay Running until it is deleted (hack/kwok/stages.yaml).
    const bj = { apiVersion: `${GROUP}/${VERSION}`, kind: 'BatchJob', metadata: { name: 'grow-job', namespace: NS, uid: 'none' }, spec: { nodePoolId: 'grow', numRanks: 20, imageRef: 'registry.example/rank:1', shellExecutor: { command: 'python train.py' }, envVars: { [SIM_ENV.duration]: '1h' } } } as unknown as HearthObject<'BatchJob'>;
    const job = buildJob({ bj, account: ACCOUNT, image: 'registry.example/rank:1', pool: { metadata: { name: 'grow' }, spec: spec as never }, terminationGracePeriodSeconds: 0 });
    delete job.metadata!.ownerReferences;
    expect(job.spec?.template.spec?.containers[0]?.resources?.limits).toMatchObject({ 'nvidia.com/gpu': '1' });
    await batch.createNamespacedJob({ namespace: NS, body: job });
    await waitFor(
      '20 ranks Running on 3 nodes',
      async () => {
        const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'hearth.dev/batch-job=grow-job' })).items;
        const running = pods.filter((p) => p.status?.phase === 'Running');
        return running.length === 20 && new Set(running.map((p) => p.spec?.nodeName)).size === 3;
      },
      { timeoutMs: 90_000, dump: () => dump('grow') },
    );
    expect(await nodesOf('grow')).toHaveLength(3);
    await waitFor('nodeCount 3', async () => (await pool('grow'))?.status?.nodePoolStats?.nodeCount === 3, { timeoutMs: 10_000, dump: () => dump('grow') });
    await batch.deleteNamespacedJob({ namespace: NS, name: 'grow-job', propagationPolicy: 'Background' });
    await core.deleteCollectionNamespacedPod({ namespace: NS, labelSelector: 'hearth.dev/batch-job=grow-job', gracePeriodSeconds: 0 });
    await waitFor('the pool back at minNodeCount (1) after the idle window', async () => (await nodesOf('grow')).length === 1, { timeoutMs: 60_000, dump: () => dump('grow') });
    await waitFor('nodeCount 1', async () => (await pool('grow'))?.status?.nodePoolStats?.nodeCount === 1, { timeoutMs: 10_000, dump: () => dump('grow') });
  });

  it('overprovisioning: a real pod preempts the placeholder, and the pool grows for the evicted placeholder', async () => {
    await createPool('head', { minNodeCount: 1, maxNodeCount: 3, overprovisionNodeCount: 1, fakeNodePool: { machineType: 'a3-highgpu-8g' } });
    const placeholders = async () => (await core.listNamespacedPod({ namespace: NS, labelSelector: 'hearth.dev/overprovisioning=head' })).items.filter((p) => !p.metadata?.deletionTimestamp);
    const first = await waitFor(
      'the placeholder Running on the pool’s node',
      async () => (await placeholders()).find((p) => p.status?.phase === 'Running'),
      { timeoutMs: 60_000, dump: () => dump('head') },
    );
    expect(first.spec?.priorityClassName).toBe('hearth-overprovisioning');
    expect(first.spec?.priority).toBe(-10);
    expect(await nodesOf('head')).toHaveLength(1);
    await core.createNamespacedPod({ namespace: NS, body: gpuPod('head', 'head-real', 8) });
    await waitFor(
      'the real pod Running where the placeholder was, and the placeholder Running on a new node',
      async () => {
        const real = await core.readNamespacedPod({ namespace: NS, name: 'head-real' });
        const ph = (await placeholders()).find((p) => p.status?.phase === 'Running');
        return real.status?.phase === 'Running' && real.spec?.nodeName === first.spec?.nodeName && ph !== undefined && ph.spec?.nodeName !== first.spec?.nodeName;
      },
      { timeoutMs: 60_000, dump: () => dump('head') },
    );
    expect(await nodesOf('head')).toHaveLength(2);
  });

  it('eksNodePool: needs a provisioner without Karpenter; with Karpenter’s CRDs installed, its NodePool is written, accepted and follows the pool', async () => {
    await createPool('noprov', { maxNodeCount: 2, eksNodePool: { instanceType: 'p5.48xlarge' } });
    const np = await waitFor('pool noprov to say what it needs', async () => ((await pool('noprov'))?.status?.status?.code === 'FAILED_PRECONDITION' ? pool('noprov') : undefined), { timeoutMs: 20_000, dump: () => dump('noprov') });
    expect(np?.status?.state).toBe('CREATING');
    expect(np?.status?.status?.message).toContain('Karpenter');

    const dir = execFileSync('bash', [join(REPO_ROOT, 'hack/karpenter-crds.sh')], { encoding: 'utf8' }).trim();
    const crd = parse(readFileSync(join(dir, 'karpenter.sh_nodepools.yaml'), 'utf8')) as V1CustomResourceDefinition;
    await KubernetesObjectApi.makeApiClient(kc).patch(crd, undefined, undefined, `npctl-${suffix}`, true, PatchStrategy.ServerSideApply);
    karpenterCrds.push(crd.metadata!.name!);
    const kp = { group: 'karpenter.sh', version: 'v1', plural: 'nodepools' };
    await waitFor('karpenter.sh/v1 nodepools to be served', async () => {
      await custom.listClusterCustomObject({ ...kp, limit: 1 });
      return true;
    });
    try {
      await createPool('eks', { maxNodeCount: 2, eksNodePool: { instanceType: 'p5.48xlarge', spot: true } });
      const name = `hearth-${ACCOUNT}-eks`;
      type K = { spec: { limits?: Record<string, string>; template: { metadata: { labels: Record<string, string> }; spec: { taints: unknown[]; requirements: unknown[] } } } };
      const written = await waitFor('the Karpenter NodePool', async () => (await custom.getClusterCustomObject({ ...kp, name }).catch(() => undefined)) as K | undefined, { timeoutMs: 20_000, dump: () => dump('eks') });
      expect(written.spec.template.metadata.labels).toEqual({ [NODE_POOL_LABELS.pool]: 'eks', [NODE_POOL_LABELS.account]: ACCOUNT });
      expect(written.spec.template.spec.taints).toEqual([{ key: 'hearth.dev/node-pool', value: 'eks', effect: 'NoSchedule' }]);
      expect(written.spec.limits?.['nvidia.com/gpu']).toBe('16');
      await waitFor('pool eks READY (minNodeCount 0)', async () => (await pool('eks'))?.status?.state === 'READY', { timeoutMs: 20_000, dump: () => dump('eks') });
      await custom.patchNamespacedCustomObject({ ...pools, name: 'eks', body: { spec: { maxNodeCount: 4 } } }, mergePatch);
      await waitFor('the Karpenter NodePool updated with the pool', async () => ((await custom.getClusterCustomObject({ ...kp, name })) as K).spec.limits?.['nvidia.com/gpu'] === '32', { timeoutMs: 20_000, dump: () => dump('eks') });
      await deletePool('eks');
      await waitFor('the Karpenter NodePool gone with the pool', async () => (await custom.getClusterCustomObject({ ...kp, name }).then(() => false, () => true)) && (await pool('eks')) === undefined, { timeoutMs: 20_000, dump: () => dump('eks') });
    } finally {
      await removeKarpenterCrds();
    }
  });

  it('deleting a pool an environment is connected to waits (DELETING, naming it), then removes the nodes it created', async () => {
    await createPool('busy', { minNodeCount: 1, maxNodeCount: 1, fakeNodePool: { machineType: 'n2-standard-32' } });
    await waitFor('pool busy READY', async () => (await pool('busy'))?.status?.state === 'READY', { timeoutMs: 30_000, dump: () => dump('busy') });
    const envs = { group: GROUP, version: VERSION, namespace: NS, plural: 'environments' };
    await custom.createNamespacedCustomObject({ ...envs, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Environment', metadata: { name: 'dev' }, spec: { connection: { nodePoolId: 'busy', numRanks: 1 } } } });
    await waitFor('environment counted in the pool stats', async () => (await pool('busy'))?.status?.nodePoolStats?.environmentCount === 1, { timeoutMs: 20_000, dump: () => dump('busy') });
    await deletePool('busy');
    const p = await waitFor('pool busy DELETING and in use', async () => ((await pool('busy'))?.status?.status?.code === 'FAILED_PRECONDITION' ? pool('busy') : undefined), { timeoutMs: 20_000, dump: () => dump('busy') });
    expect(p?.status?.state).toBe('DELETING');
    expect(p?.status?.status?.message).toContain('environment dev');
    expect(await nodesOf('busy')).toHaveLength(1);
    // The environment goes (no environment controller here: remove any finalizer so it can).
    await custom.patchNamespacedCustomObject({ ...envs, name: 'dev', body: { metadata: { finalizers: null } } }, mergePatch).catch(() => undefined);
    await custom.deleteNamespacedCustomObject({ ...envs, name: 'dev' });
    await waitFor('the pool and its node gone', async () => (await pool('busy')) === undefined && (await nodesOf('busy')).length === 0, { timeoutMs: 30_000, dump: () => dump('busy') });
  });
});
