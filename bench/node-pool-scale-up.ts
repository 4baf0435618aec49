// Node pool scale-up time (issue 13, bench/jobs), shared by `bench:node-pools` and `bench:jobs`: from
// an unschedulable pod to a Ready node of the pool, on the simulated cluster. Each run creates an
// empty pool (minNodeCount 0), waits for READY, then creates one pod asking for a whole node's GPUs
// and measures pod created → the pool's node Ready (the NodePool controller sees the Unschedulable
// pod, creates a KWOK node, KWOK makes it Ready) and → the pod Running. The controller runs in this
// process, reconciling only the run's own namespace, which is removed at the end with its pools and
// nodes.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { nodePoolController } from '../src/controllers/node-pool/controller.js';
import { KubeClients } from '../src/controllers/runtime/index.js';
import { GROUP, VERSION } from '../src/crds/group.js';
import { NODE_POOL_LABELS, nodePoolPodLabels, nodePoolScheduling } from '../src/fleet/node-pools.js';
import { InformerFactory } from '../src/kube/informer-factory.js';
import { realClock } from '../src/util/clock.js';
import { createTestNamespace } from '../test/support/namespace.js';
import { TEST_SEAL } from '../test/support/tenancy.js';

export interface ScaleUpTimes {
  /** Per run: the unschedulable pod created → the pool's node Ready (ms). */
  toNode: number[];
  /** Per run: the pod created → Running on that node (ms). */
  toRunning: number[];
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function measureNodePoolScaleUp(kc: KubeConfig, o: { runs: number; log: Logger; progress?: (line: string) => void }): Promise<ScaleUpTimes> {
  const suffix = randomBytes(3).toString('hex');
  const NS = `npbench-${suffix}`;
  const ACCOUNT = `npb${suffix}`;
  const clients = new KubeClients(kc, { qps: 100, burst: 200 });
  const core = clients.api(CoreV1Api);
  const custom = clients.api(CustomObjectsApi);
  const informers = new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log: o.log });
  const pools = { group: GROUP, version: VERSION, namespace: NS, plural: 'nodepools' };
  const pod = (pool: string): V1Pod => ({
    metadata: { name: `${pool}-rank-0`, namespace: NS, labels: nodePoolPodLabels(pool) },
    spec: {
      ...nodePoolScheduling(ACCOUNT, pool),
      terminationGracePeriodSeconds: 0,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{ name: 'rank', image: 'registry.example/rank:1', resources: { requests: { 'nvidia.com/gpu': '8' }, limits: { 'nvidia.com/gpu': '8' } }, securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    },
  });

  // Sealed for the account as Hearth's API seals it: the controller ignores a namespace labelled by hand.
  await createTestNamespace(kc, NS, { 'hearth.dev/account': ACCOUNT });
  const controller = nodePoolController({ clients, informers, clock: realClock, log: o.log, namespace: NS, idleWindowMs: 1_000 });
  await controller.start();
  const out: ScaleUpTimes = { toNode: [], toRunning: [] };
  try {
    for (let i = 0; i < o.runs; i++) {
      const name = `bench-${i}`;
      await custom.createNamespacedCustomObject({ ...pools, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'NodePool', metadata: { name }, spec: { minNodeCount: 0, maxNodeCount: 1, fakeNodePool: { machineType: 'a3-highgpu-8g' } } } });
      await until(`${name} READY`, async () => ((await custom.getNamespacedCustomObject({ ...pools, name })) as { status?: { state?: string } }).status?.state === 'READY');
      const t0 = performance.now();
      await core.createNamespacedPod({ namespace: NS, body: pod(name) });
      await until(`a Ready node of ${name}`, async () => {
        const nodes = await core.listNode({ labelSelector: `${NODE_POOL_LABELS.pool}=${name},${NODE_POOL_LABELS.account}=${ACCOUNT}` });
        return nodes.items.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      });
      out.toNode.push(performance.now() - t0);
      await until(`the pod of ${name} Running`, async () => (await core.readNamespacedPod({ namespace: NS, name: `${name}-rank-0` })).status?.phase === 'Running');
      out.toRunning.push(performance.now() - t0);
      o.progress?.(`node pool scale-up run ${i + 1}/${o.runs}: node Ready ${out.toNode.at(-1)!.toFixed(0)} ms, pod Running ${out.toRunning.at(-1)!.toFixed(0)} ms`);
      await core.deleteNamespacedPod({ namespace: NS, name: `${name}-rank-0`, gracePeriodSeconds: 0 });
      await custom.deleteNamespacedCustomObject({ ...pools, name });
    }
  } finally {
    await core.deleteCollectionNamespacedPod({ namespace: NS, gracePeriodSeconds: 0 }).catch(() => undefined);
    const list = (await custom.listNamespacedCustomObject(pools)) as { items: { metadata: { name: string } }[] };
    for (const p of list.items) await custom.deleteNamespacedCustomObject({ ...pools, name: p.metadata.name }).catch(() => undefined);
    await until('the bench pools and nodes gone', async () => {
      const left = (await custom.listNamespacedCustomObject(pools)) as { items: unknown[] };
      const nodes = await core.listNode({ labelSelector: `${NODE_POOL_LABELS.account}=${ACCOUNT}` });
      return left.items.length === 0 && nodes.items.length === 0;
    }).catch(() => o.progress?.('cleanup: node pool bench pools or nodes left behind'));
    await controller.stop(5_000);
    await informers.stop();
    await core.deleteNamespace({ name: NS }).catch(() => undefined);
  }
  return out;
}
