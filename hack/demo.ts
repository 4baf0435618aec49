// npm run demo — the simulated multi-region GPU fleet with Hearth on it.
//
//   1. brings up the fleet (a real control plane + KWOK GPU nodes in 9 regions) and Hearth's CRDs;
//   2. starts Hearth in mode `all` (controller, REST API, gateway) on embedded PGlite, with a first
//      account and admin API key;
//   3. creates deployments over the Fireworks-style REST API and shows the controller placing
//      them: region chosen by accelerator, quota and free GPUs, pods bound by kube-scheduler;
//   4. leaves Hearth running and prints curl commands that work (Ctrl-C stops Hearth; the fleet
//      stays up until `npm run cluster:down`). `--exit` stops after step 3.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { clusterUp, kubeConfigFrom, portFree, ROOT } from './lib/cluster.js';
import { installCrds } from './lib/crds.js';
import { ACCELERATOR_LABEL, REGION_LABEL } from './lib/fleet.js';

const ACCOUNT = 'demo';
const NAMESPACE = `acct-${ACCOUNT}`;
const API_PORT = Number(process.env.HEARTH_DEMO_API_PORT ?? 8080);
const GATEWAY_PORT = Number(process.env.HEARTH_DEMO_GATEWAY_PORT ?? 8081);
const API = `http://127.0.0.1:${API_PORT}`;
const exitAfter = process.argv.includes('--exit');

const DEPLOYMENTS = [
  { id: 'llama-8b', body: { displayName: 'Llama 3.1 8B on H100', baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', acceleratorType: 'NVIDIA_H100_80GB', minReplicaCount: 2, maxReplicaCount: 4 } },
  { id: 'qwen-paris', body: { displayName: 'Qwen in Paris', baseModel: 'accounts/fireworks/models/qwen2p5-72b-instruct', acceleratorType: 'NVIDIA_H200_141GB', acceleratorCount: 4, minReplicaCount: 1, maxReplicaCount: 2 } },
  { id: 'mixtral-mi300x', body: { displayName: 'On AMD', baseModel: 'accounts/fireworks/models/llama-v3p1-70b-instruct', acceleratorType: 'AMD_MI300X_192GB', acceleratorCount: 2, minReplicaCount: 1, maxReplicaCount: 1 } },
  { id: 'idle-a100', body: { displayName: 'Scaled to zero', baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', acceleratorType: 'NVIDIA_A100_80GB', minReplicaCount: 0, maxReplicaCount: 2 } },
];

async function rest(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${API}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Starts `src/main.ts all`; resolves with the bootstrap key it prints, once the API and gateway answer. */
async function startHearth(kubeconfig: string): Promise<{ child: ChildProcess; key: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), 'all'], {
    cwd: ROOT,
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      PORT: String(API_PORT),
      HOST: '127.0.0.1',
      HEARTH_GATEWAY_HOST: '127.0.0.1',
      HEARTH_GATEWAY_PORT: String(GATEWAY_PORT),
      HEARTH_BOOTSTRAP_ACCOUNT: ACCOUNT,
      HEARTH_BOOTSTRAP_EMAIL: 'admin@demo.example',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  let exited: number | null | undefined;
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + 90_000;
  const up = async (url: string) => fetch(url, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
  for (;;) {
    if (exited !== undefined) throw new Error(`Hearth exited with ${exited}:\n${out}`);
    const key = /(hearth_[A-Za-z0-9_]+)/.exec(out)?.[1];
    if (key && (await up(`${API}/healthz`)) && (await up(`http://127.0.0.1:${GATEWAY_PORT}/healthz`))) return { child, key };
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`Hearth did not become ready in 90 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function removePreviousDemo(kc: KubeConfig): Promise<void> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const list = (await custom
    .listNamespacedCustomObject({ group: 'hearth.dev', version: 'v1alpha1', namespace: NAMESPACE, plural: 'deployments' })
    .catch(() => ({ items: [] }))) as { items: { metadata: { name: string } }[] };
  await Promise.all(
    list.items.map((d) => custom.deleteNamespacedCustomObject({ group: 'hearth.dev', version: 'v1alpha1', namespace: NAMESPACE, plural: 'deployments', name: d.metadata.name })),
  );
  for (let i = 0; i < 120 && list.items.length > 0; i++) {
    const left = (await custom.listNamespacedCustomObject({ group: 'hearth.dev', version: 'v1alpha1', namespace: NAMESPACE, plural: 'deployments' })) as { items: unknown[] };
    if (left.items.length === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
}

function gpuCount(node: V1Node): number {
  const a = node.status?.allocatable ?? {};
  return Number(a['nvidia.com/gpu'] ?? a['amd.com/gpu'] ?? 0);
}

async function showPlacement(kc: KubeConfig): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const [pods, nodes] = await Promise.all([
    core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: 'app.kubernetes.io/managed-by=hearth' }),
    core.listNode({ labelSelector: 'hearth.dev/simulated=true' }),
  ]);
  const byName = new Map(nodes.items.map((n) => [n.metadata!.name!, n]));
  console.log('\nPods, as kube-scheduler bound them:');
  for (const p of pods.items.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!))) {
    const node = byName.get(p.spec?.nodeName ?? '');
    const gpus = Object.entries(p.spec?.containers[0]?.resources?.limits ?? {}).find(([r]) => r.endsWith('/gpu'));
    console.log(
      `  ${p.metadata!.name!.padEnd(40)} ${(gpus ? `${gpus[1]} x ${gpus[0]}` : '').padEnd(18)} -> ${(p.spec?.nodeName ?? '(pending)').padEnd(28)} ${node?.metadata?.labels?.[REGION_LABEL] ?? ''} ${node?.metadata?.labels?.[ACCELERATOR_LABEL] ?? ''} ${p.status?.phase ?? ''}`,
    );
  }
  const total = nodes.items.reduce((s, n) => s + gpuCount(n), 0);
  console.log(`  (fleet: ${nodes.items.length} GPU nodes, ${total} GPUs in ${new Set(nodes.items.map((n) => n.metadata?.labels?.[REGION_LABEL])).size} regions)`);
}

async function main(): Promise<void> {
  for (const port of [API_PORT, GATEWAY_PORT]) {
    if (!(await portFree(port))) {
      throw new Error(`port ${port} on 127.0.0.1 is in use: stop what listens there, or set HEARTH_DEMO_API_PORT / HEARTH_DEMO_GATEWAY_PORT`);
    }
  }
  const h = await clusterUp();
  const kc = kubeConfigFrom(h.kubeconfig);
  console.log(`\n1. The fleet: a real control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) with KWOK GPU nodes at ${kc.getCurrentCluster()?.server}`);
  await installCrds(kc, 'hearth-demo');

  console.log('\n2. Starting Hearth (mode all: controller + REST API + gateway) on embedded PGlite ...');
  const { child, key } = await startHearth(h.kubeconfig);
  const stop = () => {
    child.kill('SIGTERM');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(`   REST API ${API}/v1   gateway http://127.0.0.1:${GATEWAY_PORT}/inference/v1   OpenAPI ${API}/docs`);
  console.log(`   account accounts/${ACCOUNT}, admin API key (shown once): ${key}`);
  // A previous run's deployments: deleted while the controller runs, so it releases their finalizer.
  await removePreviousDemo(kc);

  console.log('\n3. Creating deployments over the REST API (POST /v1/accounts/demo/deployments?deploymentId=...):');
  for (const d of DEPLOYMENTS) {
    const r = await rest(key, 'POST', `/v1/accounts/${ACCOUNT}/deployments?deploymentId=${d.id}`, d.body);
    console.log(`   ${d.id.padEnd(16)} ${r.status} ${r.status === 200 ? String(r.json.state) : JSON.stringify(r.json)}`);
  }
  const deadline = Date.now() + 60_000;
  let rows: Record<string, unknown>[] = [];
  while (Date.now() < deadline) {
    rows = ((await rest(key, 'GET', `/v1/accounts/${ACCOUNT}/deployments`)).json.deployments as Record<string, unknown>[]) ?? [];
    if (rows.length === DEPLOYMENTS.length && rows.every((r) => r.state === 'READY')) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log('\n   GET /v1/accounts/demo/deployments:');
  console.log(`   ${'NAME'.padEnd(16)} ${'STATE'.padEnd(9)} ${'ACCELERATOR'.padEnd(18)} ${'REGION'.padEnd(15)} REPLICAS  WHY THIS REGION`);
  for (const r of rows) {
    const id = String(r.name).split('/').pop()!;
    const why = (r.status as { message?: string } | undefined)?.message ?? '';
    console.log(`   ${id.padEnd(16)} ${String(r.state).padEnd(9)} ${String(r.acceleratorType).padEnd(18)} ${String(r.region ?? '-').padEnd(15)} ${String(r.replicaCount ?? 0).padStart(8)}  ${why}`);
  }
  await showPlacement(kc);

  console.log(`
4. Hearth keeps running. Try:
   export HEARTH_API_KEY=${key}
   curl -s ${API}/v1/accounts/${ACCOUNT}/deployments -H "Authorization: Bearer $HEARTH_API_KEY"
   curl -s -X POST ${API}/v1/accounts/${ACCOUNT}/deployments/llama-8b:scale -H "Authorization: Bearer $HEARTH_API_KEY" -H 'content-type: application/json' -d '{"replicaCount": 3}'
   curl -s -X DELETE ${API}/v1/accounts/${ACCOUNT}/deployments/qwen-paris -H "Authorization: Bearer $HEARTH_API_KEY"      # soft delete
   curl -s ${API}/v1/accounts/${ACCOUNT}/quotas -H "Authorization: Bearer $HEARTH_API_KEY"
   KUBECONFIG=${h.kubeconfig} hack/kubectl get hearth -A        # the same objects, as custom resources
Ctrl-C stops Hearth; npm run cluster:down stops the fleet.`);
  if (exitAfter) stop();
  await new Promise((r) => child.once('exit', r));
}

main().catch((e: unknown) => {
  console.error(`demo: ${(e as Error).message}`);
  process.exit(1);
});
