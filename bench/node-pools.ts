// Node pool scale-up time (issue 13, bench/jobs): from an unschedulable pod to a Ready node of the
// pool, on the simulated cluster (KUBECONFIG; this script never starts or stops a cluster). Each run
// creates an empty pool (minNodeCount 0), waits for READY, then creates one pod asking for a whole
// node's GPUs and measures pod created → the pool's node Ready (the NodePool controller sees the
// Unschedulable pod, creates a KWOK node, KWOK makes it Ready) and → the pod Running. The
// controller runs in this process, reconciling only the bench's namespace.
//
//   KUBECONFIG=/work/main/.hearth/kubeconfig npm run bench:node-pools [-- --runs 5]
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { nodePoolController } from '../src/controllers/node-pool/controller.js';
import { KubeClients } from '../src/controllers/runtime/index.js';
import { GROUP, VERSION } from '../src/crds/group.js';
import { NODE_POOL_LABELS, nodePoolPodLabels, nodePoolScheduling } from '../src/fleet/node-pools.js';
import { InformerFactory } from '../src/kube/informer-factory.js';
import { loadKubeConfig } from '../src/kube/config.js';
import { realClock } from '../src/util/clock.js';
import { fmt, percentile } from './lib.js';
import { TEST_SEAL } from '../test/support/tenancy.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Math.max(1, Math.min(20, Number(values.runs) || 5));
const kubeconfig = process.env.KUBECONFIG;
if (!kubeconfig) throw new Error('set KUBECONFIG to the simulated cluster (this benchmark does not start one)');

const suffix = randomBytes(3).toString('hex');
const NS = `npbench-${suffix}`;
const ACCOUNT = `npb${suffix}`;
const kc = loadKubeConfig(kubeconfig);
const clients = new KubeClients(kc, { qps: 100, burst: 200 });
const core = clients.api(CoreV1Api);
const custom = clients.api(CustomObjectsApi);
const log = pino({ level: process.env.HEARTH_BENCH_LOG ?? 'warn' });
const informers = new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log });
const pools = { group: GROUP, version: VERSION, namespace: NS, plural: 'nodepools' };

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function pod(pool: string): V1Pod {
  return {
    metadata: { name: `${pool}-rank-0`, namespace: NS, labels: nodePoolPodLabels(pool) },
    spec: {
      ...nodePoolScheduling(ACCOUNT, pool),
      terminationGracePeriodSeconds: 0,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{ name: 'rank', image: 'registry.example/rank:1', resources: { requests: { 'nvidia.com/gpu': '8' }, limits: { 'nvidia.com/gpu': '8' } }, securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    },
  };
}

async function main(): Promise<void> {
  await core.createNamespace({ body: { metadata: { name: NS, labels: { 'hearth.dev/account': ACCOUNT } } } });
  await until('the default ServiceAccount', () => core.readNamespacedServiceAccount({ namespace: NS, name: 'default' }).then(() => true, () => false));
  const controller = nodePoolController({ clients, informers, clock: realClock, log, namespace: NS, idleWindowMs: 1_000 });
  await controller.start();
  const toNode: number[] = [];
  const toRunning: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const name = `bench-${i}`;
      await custom.createNamespacedCustomObject({ ...pools, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'NodePool', metadata: { name }, spec: { minNodeCount: 0, maxNodeCount: 1, fakeNodePool: { machineType: 'a3-highgpu-8g' } } } });
      await until(`${name} READY`, async () => ((await custom.getNamespacedCustomObject({ ...pools, name })) as { status?: { state?: string } }).status?.state === 'READY');
      const t0 = performance.now();
      await core.createNamespacedPod({ namespace: NS, body: pod(name) });
      await until(`a Ready node of ${name}`, async () => {
        const nodes = await core.listNode({ labelSelector: `${NODE_POOL_LABELS.pool}=${name},${NODE_POOL_LABELS.account}=${ACCOUNT}` });
        return nodes.items.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      });
      toNode.push(performance.now() - t0);
      await until(`the pod of ${name} Running`, async () => (await core.readNamespacedPod({ namespace: NS, name: `${name}-rank-0` })).status?.phase === 'Running');
      toRunning.push(performance.now() - t0);
      process.stderr.write(`run ${i + 1}/${runs}: node Ready ${fmt(toNode.at(-1)!, 0)} ms, pod Running ${fmt(toRunning.at(-1)!, 0)} ms\n`);
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
    }).catch(() => process.stderr.write('cleanup: pools or nodes left behind\n'));
    await controller.stop(5_000);
    await informers.stop();
    await core.deleteNamespace({ name: NS }).catch(() => undefined);
  }
  const s = (a: number[]) => [...a].sort((x, y) => x - y);
  console.log(`node pool scale-up, ${runs} runs (unschedulable 8-GPU pod created → …)`);
  console.log(`  → pool node Ready:  p50 ${fmt(percentile(s(toNode), 50), 0)} ms  max ${fmt(Math.max(...toNode), 0)} ms`);
  console.log(`  → pod Running:      p50 ${fmt(percentile(s(toRunning), 50), 0)} ms  max ${fmt(Math.max(...toRunning), 0)} ms`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
