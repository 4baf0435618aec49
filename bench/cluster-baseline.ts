// Baseline figures of the cluster Hearth runs on, measured on this machine. Later benchmarks
// express their goals as ratios against these, measured in the same run (machines are noisy).
//
//   npm run bench:cluster-baseline [-- --configmaps 2000 --workers 32 --pods 200]
//
// 1. Raw write ceiling of the API server: ConfigMap creates/s with N concurrent workers.
// 2. Pod start rate: 200 single-GPU pods from created to Running on simulated GPU nodes
//    (kube-scheduler binds, KWOK marks them Running), pods/s and per-pod latency.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CoreV1Api, type KubeConfig, Watch, type V1Pod } from '@kubernetes/client-node';
import { clusterUp, kubeConfigFrom } from '../hack/lib/cluster.js';
import { loadKubeConfig } from '../src/kube/config.js';
import { createTestNamespace } from '../test/support/namespace.js';
import { fmt, percentile, pool } from './lib.js';

// Defaults; main() overrides them from the command line. Parsed there, not at import, so other
// benchmarks (bench/deployments.ts) can import the measurements whatever flags they take.
let CONFIGMAPS = 2000;
let WORKERS = 32;
let PODS = 200;

export interface BaselineFigures {
  configMapCreatesPerSec: number;
  podsRunningPerSec: number;
}

export async function measureWriteCeiling(kc: KubeConfig, count = CONFIGMAPS, workers = WORKERS) {
  const core = kc.makeApiClient(CoreV1Api);
  const ns = `bench-cm-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name: ns } } });
  try {
    const data = { payload: 'x'.repeat(256) };
    // Warm-up: connections, TLS sessions, the apiserver's caches.
    await pool(64, workers, (i) => core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `warm-${i}` }, data } }));
    const t0 = performance.now();
    const lat = await pool(count, workers, (i) => core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `cm-${i}` }, data } }));
    const secs = (performance.now() - t0) / 1000;
    return { perSec: count / secs, secs, p50: percentile(lat, 50), p99: percentile(lat, 99) };
  } finally {
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  }
}

const BENCH_REGION = 'BENCH_REGION_1';

export async function measurePodStart(kc: KubeConfig, count = PODS) {
  const core = kc.makeApiClient(CoreV1Api);
  const ns = `bench-pods-${randomBytes(3).toString('hex')}`;
  const nodeCount = Math.ceil(count / 8);
  // Nodes of an earlier run that was killed before its cleanup would skew the figures: remove them.
  const stale = await core.listNode({ labelSelector: 'hearth.dev/bench=cluster-baseline' });
  await Promise.all(stale.items.map((n) => core.deleteNode({ name: n.metadata!.name! }).catch(() => undefined)));
  const run = randomBytes(3).toString('hex');
  const nodeNames = Array.from({ length: nodeCount }, (_, i) => `bench-gpu-${run}-${i}`);
  const resources = { cpu: '192', memory: '2Ti', pods: '110', 'nvidia.com/gpu': '8' };
  await Promise.all(
    nodeNames.map((name) =>
      core.createNode({
        body: {
          metadata: {
            name,
            annotations: { 'kwok.x-k8s.io/node': 'fake' },
            labels: { type: 'kwok', 'hearth.dev/bench': 'cluster-baseline', 'topology.kubernetes.io/region': BENCH_REGION },
          },
          spec: { taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }] },
          status: { capacity: resources, allocatable: resources },
        },
      }),
    ),
  );
  await createTestNamespace(kc, ns);
  const created = new Map<string, number>();
  const running = new Map<string, number>();
  let resolveAll!: () => void;
  const allRunning = new Promise<void>((r) => (resolveAll = r));
  const watch = new Watch(kc);
  const req = await watch.watch(
    `/api/v1/namespaces/${ns}/pods`,
    {},
    (_type: string, pod: V1Pod) => {
      const name = pod.metadata?.name;
      if (name && pod.status?.phase === 'Running' && !running.has(name)) {
        running.set(name, performance.now());
        if (running.size === count) resolveAll();
      }
    },
    () => undefined,
  );
  try {
    // Wait until the scheduler sees the new nodes as Ready (kwok heartbeats them at once).
    const t0 = performance.now();
    await pool(count, WORKERS, async (i) => {
      const name = `p-${i}`;
      created.set(name, performance.now());
      await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name },
          spec: {
            containers: [{ name: 'c', image: 'fixture', resources: { limits: { 'nvidia.com/gpu': '1' } } }],
            tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
            nodeSelector: { 'topology.kubernetes.io/region': BENCH_REGION },
          },
        },
      });
    });
    const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`only ${running.size}/${count} pods Running after 300s`)), 300_000).unref());
    await Promise.race([allRunning, timeout]);
    const secs = (performance.now() - t0) / 1000;
    const lat = [...running].map(([n, t]) => t - created.get(n)!).sort((a, b) => a - b);
    return { perSec: count / secs, secs, p50: percentile(lat, 50), p99: percentile(lat, 99) };
  } finally {
    req.abort();
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
    await Promise.all(nodeNames.map((name) => core.deleteNode({ name }).catch(() => undefined)));
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      configmaps: { type: 'string', default: String(CONFIGMAPS) },
      workers: { type: 'string', default: String(WORKERS) },
      pods: { type: 'string', default: String(PODS) },
    },
  });
  CONFIGMAPS = Number(values.configmaps);
  WORKERS = Number(values.workers);
  PODS = Number(values.pods);
  const h = await clusterUp();
  const kc = loadKubeConfig(h.kubeconfig);
  console.log(`cluster: ${kc.getCurrentCluster()?.server} (${h.external ? 'KUBECONFIG' : 'simulated'})`);
  // The ceiling is measured with pooled keep-alive connections (what Hearth's clients use);
  // the stock client-node KubeConfig (a new TLS connection per request) is shown beside it.
  const stock = await measureWriteCeiling(kubeConfigFrom(h.kubeconfig));
  const w = await measureWriteCeiling(kc);
  console.log(
    `api write ceiling: ${fmt(w.perSec)} ConfigMap creates/s (${CONFIGMAPS} creates, ${WORKERS} workers, ${fmt(w.secs, 2)} s; latency p50 ${fmt(w.p50)} ms, p99 ${fmt(w.p99)} ms)`,
  );
  console.log(
    `  stock client-node KubeConfig (new TLS connection per request): ${fmt(stock.perSec)} creates/s, p50 ${fmt(stock.p50)} ms, p99 ${fmt(stock.p99)} ms; pooled/stock = ${fmt(w.perSec / stock.perSec, 2)}x`,
  );
  const p = await measurePodStart(kc);
  console.log(
    `pod start: ${fmt(p.perSec)} pods/s to Running (${PODS} single-GPU pods, ${fmt(p.secs, 2)} s; created→Running p50 ${fmt(p.p50)} ms, p99 ${fmt(p.p99)} ms)`,
  );
  console.log(`ratio: ${fmt(w.perSec / p.perSec, 2)} ConfigMap writes per pod started`);
  kc.destroy();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
