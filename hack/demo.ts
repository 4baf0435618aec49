// npm run demo — brings up the simulated multi-region GPU fleet and shows it at work:
// one GPU workload per accelerator type, placed by kube-scheduler on the right region.
import { CoreV1Api, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { clusterUp, kubeConfigFrom } from './lib/cluster.js';
import { ACCELERATOR_LABEL, loadFleet, REGION_LABEL } from './lib/fleet.js';

const NS = 'hearth-demo';

function gpuResource(node: V1Node): [string, number] {
  const alloc = node.status?.allocatable ?? {};
  for (const r of ['nvidia.com/gpu', 'amd.com/gpu']) if (alloc[r]) return [r, Number(alloc[r])];
  return ['-', 0];
}

async function showFleet(kc: KubeConfig): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const [nodes, pods] = await Promise.all([core.listNode({ labelSelector: 'hearth.dev/simulated=true' }), core.listPodForAllNamespaces()]);
  const used = new Map<string, number>();
  for (const p of pods.items) {
    if (!p.spec?.nodeName || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    for (const c of p.spec.containers) {
      for (const [r, q] of Object.entries(c.resources?.limits ?? {})) {
        if (r.endsWith('/gpu')) used.set(p.spec.nodeName, (used.get(p.spec.nodeName) ?? 0) + Number(q));
      }
    }
  }
  const rows = new Map<string, { nodes: number; gpus: number; used: number; resource: string }>();
  for (const n of nodes.items) {
    const key = `${n.metadata!.labels![REGION_LABEL]}\t${n.metadata!.labels![ACCELERATOR_LABEL]}`;
    const [resource, gpus] = gpuResource(n);
    const row = rows.get(key) ?? { nodes: 0, gpus: 0, used: 0, resource };
    row.nodes++;
    row.gpus += gpus;
    row.used += used.get(n.metadata!.name!) ?? 0;
    rows.set(key, row);
  }
  console.log('\nREGION           ACCELERATOR         NODES  GPUS  IN USE  RESOURCE');
  for (const [key, r] of [...rows].sort()) {
    const [region, acc] = key.split('\t');
    console.log(`${region!.padEnd(17)}${acc!.padEnd(20)}${String(r.nodes).padStart(5)}${String(r.gpus).padStart(6)}${String(r.used).padStart(8)}  ${r.resource}`);
  }
}

async function main() {
  const h = await clusterUp();
  const kc = kubeConfigFrom(h.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  console.log(`\nA real control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) with KWOK GPU nodes: ${kc.getCurrentCluster()?.server}`);
  await showFleet(kc);

  await core.deleteNamespace({ name: NS }).catch(() => undefined);
  for (let i = 0; i < 60; i++) {
    try {
      await core.readNamespace({ name: NS });
      await new Promise((r) => setTimeout(r, 500));
    } catch {
      break;
    }
  }
  await core.createNamespace({ body: { metadata: { name: NS } } });
  const fleet = loadFleet();
  const seen = new Set<string>();
  const wanted: { name: string; region: string; acc: string; gpus: number }[] = [];
  for (const pool of fleet.pools) {
    if (seen.has(pool.acceleratorType) || pool.nodes === 0) continue;
    seen.add(pool.acceleratorType);
    wanted.push({ name: `demo-${pool.acceleratorType.toLowerCase().replaceAll('_', '-')}`, region: pool.region, acc: pool.acceleratorType, gpus: 4 });
  }
  console.log('\nPlacing one 4-GPU model server per accelerator type (required region + accelerator affinity) ...');
  for (const w of wanted) {
    const resource = fleet.acceleratorTypes[w.acc]!.resource;
    const pod: V1Pod = {
      metadata: { name: w.name, labels: { app: 'hearth-demo' } },
      spec: {
        containers: [{ name: 'model-server', image: 'vllm/vllm-openai:latest', resources: { limits: { [resource]: String(w.gpus) } } }],
        tolerations: [{ key: resource, operator: 'Exists', effect: 'NoSchedule' }],
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: REGION_LABEL, operator: 'In', values: [w.region] }, { key: ACCELERATOR_LABEL, operator: 'In', values: [w.acc] }] },
              ],
            },
          },
        },
      },
    };
    await core.createNamespacedPod({ namespace: NS, body: pod });
  }
  const deadline = Date.now() + 60_000;
  let pods: V1Pod[] = [];
  while (Date.now() < deadline) {
    pods = (await core.listNamespacedPod({ namespace: NS })).items;
    if (pods.length === wanted.length && pods.every((p) => p.status?.phase === 'Running')) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  for (const w of wanted) {
    const p = pods.find((x) => x.metadata?.name === w.name);
    console.log(`  ${w.name.padEnd(28)} ${w.gpus} x ${w.acc.padEnd(18)} in ${w.region.padEnd(14)} -> ${p?.spec?.nodeName ?? '(unscheduled)'} ${p?.status?.phase ?? ''}`);
  }
  await showFleet(kc);
  console.log(`
The fleet stays up. Try:
  export KUBECONFIG=${h.kubeconfig}
  hack/kubectl get nodes -L ${REGION_LABEL},${ACCELERATOR_LABEL}
  hack/kubectl -n ${NS} get pods -o wide   (or any kubectl, with KUBECONFIG above)
Stop it with: npm run cluster:down`);
}

main().catch((e: unknown) => {
  console.error(`demo: ${(e as Error).message}`);
  process.exitCode = 1;
});
