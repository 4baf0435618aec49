// npm run demo — the simulated multi-region GPU fleet with Hearth on it.
//
//   1. brings up the fleet (a real control plane + KWOK GPU nodes in 9 regions) and Hearth's CRDs;
//   2. starts Hearth in mode `all` (controller, REST API, gateway) on embedded PGlite, with a first
//      account and admin API key;
//   3. creates deployments over the Fireworks-style REST API and shows the controller placing
//      them: region chosen by accelerator, quota and free GPUs, pods bound by kube-scheduler;
//   4. scale from zero: one chat completion through the gateway to `idle-a100` (0 replicas) is
//      held, the autoscaler scales it to 1 at once, the reply comes back; after the (shortened)
//      scale-to-zero window it is at 0 again;
//   5. leaves Hearth running and prints curl commands that work (Ctrl-C stops Hearth; the fleet
//      stays up until `npm run cluster:down`). `--exit` stops after step 4.
//
// Every step is visible in the web console (printed at step 2: http://127.0.0.1:8080/console/, sign in with the
// admin key): the deployments of step 3 in its list and fleet map, step 4's scale from zero and
// back on idle-a100's autoscaling timeline (samples every 2 s here: HEARTH_HISTORY_SAMPLE_INTERVAL).
//
// Simulation, stated in the output: KWOK pods have no pod network, so Hearth runs with
// HEARTH_GATEWAY_SIMULATED_UPSTREAM pointing at the model-server TEST FIXTURE (a GPU-free stand-in
// speaking vLLM's protocol, started in this process on a free loopback port): every replica
// endpoint the gateway picks is dialled there. HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE shortens the
// scale-to-zero window (the CRD keeps it ≥ 5m) so the way back to zero fits in the demo.
//
// `npm run demo -- --helm` runs Hearth the way a cluster runs it (issue 18 item 3): `helm install`
// of charts/hearth-crds and charts/hearth (mode split: two controller replicas electing a leader,
// the API, the gateway) as real containers on the real node, from the image assembled here
// (hack/lib/helm-real.ts), on PostgreSQL (database hearth_demo, kept across runs: its tenancy
// secret sealed the demo's account namespace). The host
// reaches the pods at their IPs; 127.0.0.1:8080/8081 are forwarded there, so the URLs below stay
// the same. Step 4 then kills the leading controller and shows the other take over; step 5 is
// scale from zero for real, on a CPU deployment (the chart's modelServerConfig gives the operator's
// CPU runtime: the model-server fixture's image on the real node), reached by the gateway pod at
// its replica's pod IP: no simulated upstream. Ctrl-C (or --exit) deletes the demo's deployments
// while the controller still runs, then uninstalls both releases.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import pg from 'pg';
import { clusterUp, ensureBinaries, kubeConfigFrom, portFree, ROOT, run } from './lib/cluster.js';
import { installCrds } from './lib/crds.js';
import { ACCELERATOR_LABEL, REGION_LABEL } from './lib/fleet.js';
import { helmInstallReal, LEASE_NAME, PORTS, realNodeAddress, realNodeCpuRuntime, type HelmRealInstall } from './lib/helm-real.js';

import { forwardTcp, type HostForward } from './lib/host-forward.js';
import { ensurePostgres } from './lib/postgres.js';
import { bootstrap } from '../src/auth/bootstrap.js';
import { openDatabase } from '../src/db/client.js';
import { startModelServerFixture, type ModelServerFixture } from '../test/fixtures/model-server/index.js';

const ACCOUNT = 'demo';
const NAMESPACE = `acct-${ACCOUNT}`;
const API_PORT = Number(process.env.HEARTH_DEMO_API_PORT ?? 8080);
const GATEWAY_PORT = Number(process.env.HEARTH_DEMO_GATEWAY_PORT ?? 8081);
const API = `http://127.0.0.1:${API_PORT}`;
const GATEWAY = `http://127.0.0.1:${GATEWAY_PORT}`;
/** The demo's scale-to-zero window (HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE; demo only). */
const SCALE_TO_ZERO_WINDOW_S = 20;
/** How long step 5 waits for the way back to zero. */
const BACK_TO_ZERO_BOUND_MS = 90_000;
const BASE_MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const COLD = 'idle-a100';
/** The deployment step 4 scales from zero, and what answers it: with --helm, a CPU deployment served on the real node. */
let coldId = COLD;
let coldAnsweredBy = 'the model-server fixture (simulated GPU replica)';
let coldStep = '4.';
let tryStep = '5.';
/** --helm: the CPU deployment step 4 scales from zero, its replica a real container on the real node. */
const CPU_COLD = 'cpu-chat';
const exitAfter = process.argv.includes('--exit');
const helmMode = process.argv.includes('--helm');
/** --helm: the release, its namespace and its database. */
const HELM_NS = 'hearth-demo';
const HELM_RELEASE = 'hearth';
const HELM_CRDS_RELEASE = 'hearth-crds';
const HELM_DB = 'hearth_demo';

const DEPLOYMENTS = [
  { id: 'llama-8b', body: { displayName: 'Llama 3.1 8B on H100', baseModel: BASE_MODEL, acceleratorType: 'NVIDIA_H100_80GB', minReplicaCount: 2, maxReplicaCount: 4 } },
  { id: 'qwen-paris', body: { displayName: 'Qwen in Paris', baseModel: 'accounts/fireworks/models/qwen2p5-72b-instruct', acceleratorType: 'NVIDIA_H200_141GB', acceleratorCount: 4, minReplicaCount: 1, maxReplicaCount: 2 } },
  { id: 'mixtral-mi300x', body: { displayName: 'On AMD', baseModel: 'accounts/fireworks/models/llama-v3p1-70b-instruct', acceleratorType: 'AMD_MI300X_192GB', acceleratorCount: 2, minReplicaCount: 1, maxReplicaCount: 1 } },
  { id: COLD, body: { displayName: 'Scaled to zero', baseModel: BASE_MODEL, acceleratorType: 'NVIDIA_A100_80GB', minReplicaCount: 0, maxReplicaCount: 2 } },
];

async function rest(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${API}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/**
 * Starts `src/main.ts all`; resolves with the bootstrap key, once the API and gateway answer. Its
 * output is a pipe, not a terminal, so the key comes through HEARTH_BOOTSTRAP_KEY_FILE (never the log).
 */
async function startHearth(kubeconfig: string, upstream: string): Promise<{ child: ChildProcess; key: string }> {
  const keyFile = join(tmpdir(), `hearth-demo-key-${process.pid}`);
  rmSync(keyFile, { force: true });
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
      HEARTH_BOOTSTRAP_KEY_FILE: keyFile,
      // Demo/simulation only (see the header): replicas are answered by the model-server fixture…
      HEARTH_GATEWAY_SIMULATED_UPSTREAM: upstream,
      // …and an idle deployment goes back to zero after 20 s, not the CRD's minimum of 5 min.
      HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE: `${SCALE_TO_ZERO_WINDOW_S}s`,
      // The console's timeline at a fine step, so step 4's few seconds show as more than a point.
      HEARTH_HISTORY_SAMPLE_INTERVAL: '2s',
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
    const key = existsSync(keyFile) ? /(hearth_[A-Za-z0-9_]+)/.exec(readFileSync(keyFile, 'utf8'))?.[1] : undefined;
    if (key && (await up(`${API}/healthz`)) && (await up(`${GATEWAY}/readyz`))) {
      rmSync(keyFile, { force: true });
      return { child, key };
    }
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The REST view of `idle-a100` (GET /v1/accounts/demo/deployments/idle-a100). */
async function coldView(key: string): Promise<{ state: string; replicas: number; desired: number; ready: number }> {
  const j = (await rest(key, 'GET', `/v1/accounts/${ACCOUNT}/deployments/${coldId}`)).json;
  const stats = (j.replicaStats ?? {}) as { readyReplicaCount?: number };
  return { state: String(j.state), replicas: Number(j.replicaCount ?? 0), desired: Number(j.desiredReplicaCount ?? 0), ready: Number(stats.readyReplicaCount ?? 0) };
}

/** Requests the gateway holds for `idle-a100` right now (its /metrics). */
async function heldNow(): Promise<number> {
  const text = await fetch(`${GATEWAY}/metrics`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text(), () => '');
  const line = text.split('\n').find((l) => l.startsWith('hearth_gateway_held_requests{') && l.includes(`deployment="${coldId}"`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** The newest entry of the autoscaler's decision log in the custom resource's status. */
async function lastDecision(kc: KubeConfig): Promise<string> {
  const obj = (await kc
    .makeApiClient(CustomObjectsApi)
    .getNamespacedCustomObject({ group: 'hearth.dev', version: 'v1alpha1', namespace: NAMESPACE, plural: 'deployments', name: coldId })
    .catch(() => undefined)) as { status?: { scalingDecisions?: { reason?: string; fromReplicas?: number; toReplicas?: number; message?: string }[] } } | undefined;
  const d = obj?.status?.scalingDecisions?.at(-1);
  return d ? `${d.reason} ${d.fromReplicas} -> ${d.toReplicas}${d.message ? `: ${d.message}` : ''}` : '(no decision recorded)';
}

/** `idle-a100`'s pods: name -> node (region), as kube-scheduler bound them. */
async function coldPods(kc: KubeConfig): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const pods = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `hearth.dev/deployment=${coldId}` }).catch(() => ({ items: [] }));
  const shown = await Promise.all(
    pods.items.map(async (p) => {
      const node = p.spec?.nodeName ? await core.readNode({ name: p.spec.nodeName }).catch(() => undefined) : undefined;
      return `pod ${p.metadata?.name} -> ${p.spec?.nodeName ?? '(pending)'} ${node?.metadata?.labels?.[REGION_LABEL] ?? ''} ${p.status?.phase ?? ''}`.trimEnd();
    }),
  );
  return shown.join('; ') || 'no pod listed yet';
}

/** Step 4: one request to a deployment at zero replicas, held until the autoscaler brought one up; then back to zero. */
async function scaleFromZero(kc: KubeConfig, key: string): Promise<void> {
  console.log(`\n${coldStep} Scale from zero: ${coldId} has minReplicaCount 0 and no replica; its first request goes through the gateway.`);
  const atZero = Date.now() + 30_000;
  let v = await coldView(key);
  while (!(v.state === 'READY' && v.replicas === 0) && Date.now() < atZero) {
    await sleep(300);
    v = await coldView(key);
  }
  console.log(`   GET /v1/accounts/${ACCOUNT}/deployments/${coldId}: state ${v.state}, replicaCount ${v.replicas}, desiredReplicaCount ${v.desired}`);
  const model = `${BASE_MODEL}#accounts/${ACCOUNT}/deployments/${coldId}`;
  console.log(`   watch it on the console's timeline: ${API}/console/#/deployments/${coldId}`);
  console.log(`   POST ${GATEWAY}/inference/v1/chat/completions  model "${model}"`);
  const t0 = Date.now();
  const at = () => `t+${((Date.now() - t0) / 1000).toFixed(1)}s`.padEnd(8);
  let reply: { status: number; text: string; ms: number } | { error: string; ms: number } | undefined;
  void fetch(`${GATEWAY}/inference/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello from a cold start.' }], max_tokens: 12 }),
    signal: AbortSignal.timeout(120_000),
  }).then(
    async (r) => {
      const text = await r.text();
      reply = { status: r.status, text, ms: Date.now() - t0 };
    },
    (e: unknown) => (reply = { error: (e as Error).message, ms: Date.now() - t0 }),
  );
  let sawHeld = false;
  let sawDesired = false;
  let sawReplica = false;
  const upBound = Date.now() + 120_000;
  while (!reply && Date.now() < upBound) {
    const [held, now] = await Promise.all([heldNow(), coldView(key)]);
    if (!sawHeld && held > 0) {
      sawHeld = true;
      console.log(`   ${at()} held by the gateway: no ready replica (hearth_gateway_held_requests ${held}); the hold reports demand to the autoscaler at once`);
    }
    if (!sawDesired && now.desired >= 1) {
      sawDesired = true;
      console.log(`   ${at()} desiredReplicaCount ${now.desired} (${await lastDecision(kc)})`);
    }
    if (!sawReplica && now.replicas >= 1) {
      sawReplica = true;
      console.log(`   ${at()} replicaCount ${now.replicas} (ready ${now.ready}): ${await coldPods(kc)}`);
    }
    await sleep(100);
  }
  if (!reply) throw new Error(`no reply within 120 s; ${coldId} is at ${JSON.stringify(await coldView(key))}`);
  const r = reply;
  if ('error' in r) throw new Error(`the request failed after ${(r.ms / 1000).toFixed(1)} s: ${r.error}`);
  if (!sawReplica) {
    const now = await coldView(key);
    console.log(`   ${at()} replicaCount ${now.replicas} (ready ${now.ready})`);
  }
  let shown = JSON.stringify(r.text.slice(0, 120));
  try {
    const j = JSON.parse(r.text) as { choices?: { message?: { content?: string } }[]; usage?: { completion_tokens?: number } };
    const content = j.choices?.[0]?.message?.content;
    if (content !== undefined) shown = `${JSON.stringify(content.slice(0, 80))}${j.usage?.completion_tokens === undefined ? '' : ` (${j.usage.completion_tokens} tokens)`}`;
  } catch {
    // not JSON: shown as it is
  }
  console.log(`   ${`t+${(r.ms / 1000).toFixed(1)}s`.padEnd(8)} HTTP ${r.status}${sawHeld ? ', after being held,' : ''} answered by ${coldAnsweredBy}: ${shown}`);
  if (r.status !== 200) throw new Error(`expected 200 from the gateway, got ${r.status}: ${r.text.slice(0, 300)}`);

  const served = Date.now();
  console.log(`   no more requests: waiting (up to ${BACK_TO_ZERO_BOUND_MS / 1000} s) for the ${SCALE_TO_ZERO_WINDOW_S} s scale-to-zero window ...`);
  const downBound = served + BACK_TO_ZERO_BOUND_MS;
  for (;;) {
    const now = await coldView(key);
    if (now.replicas === 0 && now.desired === 0) {
      console.log(`   ${((Date.now() - served) / 1000).toFixed(1)} s idle: replicaCount 0, desiredReplicaCount 0, state ${now.state} (${await lastDecision(kc)})`);
      return;
    }
    if (Date.now() > downBound) throw new Error(`${coldId} not back at 0 replicas ${BACK_TO_ZERO_BOUND_MS / 1000} s after its last request: ${JSON.stringify(now)}; ${await lastDecision(kc)}`);
    await sleep(500);
  }
}

async function main(): Promise<void> {
  for (const port of [API_PORT, GATEWAY_PORT]) {
    if (!(await portFree(port))) {
      throw new Error(`port ${port} on 127.0.0.1 is in use: stop what listens there, or set HEARTH_DEMO_API_PORT / HEARTH_DEMO_GATEWAY_PORT`);
    }
  }
  // The replicas' stand-in: Hearth's gateway dials every endpoint here (KWOK pods have no network).
  const fixture: ModelServerFixture = await startModelServerFixture({ host: '127.0.0.1', port: 0, model: BASE_MODEL, tokenLatencyMs: 20 });
  const h = await clusterUp();
  const kc = kubeConfigFrom(h.kubeconfig);
  console.log(`\n1. The fleet: a real control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) with KWOK GPU nodes at ${kc.getCurrentCluster()?.server}`);
  await installCrds(kc, 'hearth-demo');

  console.log('\n2. Starting Hearth (mode all: controller + REST API + gateway) on embedded PGlite ...');
  const { child, key } = await startHearth(h.kubeconfig, `127.0.0.1:${fixture.port}`);
  const stop = () => {
    child.kill('SIGTERM');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const exited = new Promise((r) => child.once('exit', r)).then(() => fixture.close());
  console.log(`   REST API ${API}/v1   gateway ${GATEWAY}/inference/v1   OpenAPI ${API}/docs`);
  console.log(`   account accounts/${ACCOUNT}, admin API key (shown once): ${key}`);
  console.log(`   web console ${API}/console/  (sign in with that key: every step below shows there)`);
  console.log(`   simulation (demo only): model-server fixture (simulated GPU replica) at ${fixture.url}, serving ${BASE_MODEL};`);
  console.log(`     the gateway dials every replica endpoint there (HEARTH_GATEWAY_SIMULATED_UPSTREAM) since KWOK pods have no network;`);
  console.log(`     scale-to-zero window ${SCALE_TO_ZERO_WINDOW_S}s for every deployment (HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE; the CRD's minimum is 5m)`);
  // A previous run's deployments: deleted while the controller runs, so it releases their finalizer.
  await removePreviousDemo(kc);

  await createDeployments(kc, key);

  try {
    await scaleFromZero(kc, key);
  } catch (e) {
    stop();
    await exited;
    throw e;
  }
  printTryThis(key, h.kubeconfig, 'Ctrl-C stops Hearth; npm run cluster:down stops the fleet.');
  if (exitAfter) stop();
  await exited;
}

/** Step 3: the demo's deployments over the REST API, and where the controller placed them. */
async function createDeployments(kc: KubeConfig, key: string): Promise<void> {
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
}

function printTryThis(key: string, kubeconfig: string, stopping: string, coldStart = true): void {
  const cold = `
   curl -s ${GATEWAY}/inference/v1/chat/completions -H "Authorization: Bearer $HEARTH_API_KEY" -H 'content-type: application/json' -d '{"model": "${BASE_MODEL}#accounts/${ACCOUNT}/deployments/${coldId}", "messages": [{"role": "user", "content": "hello"}]}'   # held while ${coldId} scales from zero again`;
  console.log(`
${tryStep} Hearth keeps running. The web console: ${API}/console/ (sign in with the key below; ${coldId}'s timeline: ${API}/console/#/deployments/${coldId}). Try:
   export HEARTH_API_KEY=${key}${coldStart ? cold : ''}
   curl -s ${API}/v1/accounts/${ACCOUNT}/deployments -H "Authorization: Bearer $HEARTH_API_KEY"
   curl -s -X POST ${API}/v1/accounts/${ACCOUNT}/deployments/llama-8b:scale -H "Authorization: Bearer $HEARTH_API_KEY" -H 'content-type: application/json' -d '{"replicaCount": 3}'
   curl -s -X DELETE ${API}/v1/accounts/${ACCOUNT}/deployments/qwen-paris -H "Authorization: Bearer $HEARTH_API_KEY"      # soft delete
   curl -s ${API}/v1/accounts/${ACCOUNT}/quotas -H "Authorization: Bearer $HEARTH_API_KEY"
   KUBECONFIG=${kubeconfig} hack/kubectl get hearth -A        # the same objects, as custom resources
${stopping}`);
}

/**
 * The --helm demo's database, kept across runs: it holds the installation's tenancy secret, which
 * sealed the demo's account namespace (a new secret would disown acct-demo; see src/crds/account.ts).
 */
async function ensureDatabase(url: string, name: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const found = await c.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) await c.query(`create database ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

const isReady = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

async function leaseHolder(kc: KubeConfig): Promise<string> {
  const l = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: HELM_NS, name: LEASE_NAME }).catch(() => undefined);
  return l?.spec?.holderIdentity ?? '';
}

/** --helm step 4: the leading controller is killed; the standby takes the Lease over. */
async function leaderHandover(kc: KubeConfig, inst: HelmRealInstall): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const pods = await inst.pods('controller');
  const holds = (p: V1Pod, h: string) => h === p.metadata!.name || h.startsWith(`${p.metadata!.name}_`);
  let h = await leaseHolder(kc);
  for (let i = 0; i < 60 && !pods.some((p) => holds(p, h)); i++) {
    await sleep(500);
    h = await leaseHolder(kc);
  }
  const leader = pods.find((p) => holds(p, h));
  const standby = pods.find((p) => p !== leader);
  if (!leader || !standby) throw new Error(`expected two controller pods, one holding Lease ${LEASE_NAME}; the Lease names "${h}"`);
  console.log(`\n4. Leader election: ${pods.length} controller replicas, one Lease (${HELM_NS}/${LEASE_NAME}).`);
  console.log(`   leader  ${leader.metadata!.name} (${leader.status?.podIP}); standby ${standby.metadata!.name} (${standby.status?.podIP}) waits`);
  console.log(`   killing the leader: kubectl -n ${HELM_NS} delete pod ${leader.metadata!.name} --grace-period=0 --force`);
  const t0 = Date.now();
  await core.deleteNamespacedPod({ namespace: HELM_NS, name: leader.metadata!.name!, gracePeriodSeconds: 0 });
  for (;;) {
    h = await leaseHolder(kc);
    if (holds(standby, h)) break;
    if (Date.now() - t0 > 60_000) throw new Error(`the standby did not take Lease ${LEASE_NAME} over within 60 s (holder "${h}")`);
    await sleep(200);
  }
  console.log(`   t+${((Date.now() - t0) / 1000).toFixed(1)}s  ${standby.metadata!.name} holds the Lease and reconciles from now on`);
  const known = new Set([leader.metadata!.name, standby.metadata!.name]);
  const replacement = async () => (await inst.pods('controller')).find((p) => !known.has(p.metadata!.name) && isReady(p));
  const again = Date.now() + 120_000;
  let fresh = await replacement();
  while (!fresh && Date.now() < again) {
    await sleep(300);
    fresh = await replacement();
  }
  console.log(
    fresh
      ? `   t+${((Date.now() - t0) / 1000).toFixed(1)}s  the Deployment's replacement ${fresh.metadata!.name} is Ready and waits as the standby (Lease: ${await leaseHolder(kc)})`
      : '   the Deployment has not replaced the killed pod within 120 s',
  );
}

/** `npm run demo -- --helm`: Hearth installed with helm as real pods on the real node. */
async function mainHelm(): Promise<void> {
  for (const port of [API_PORT, GATEWAY_PORT]) {
    if (!(await portFree(port))) {
      throw new Error(`port ${port} on 127.0.0.1 is in use: stop what listens there, or set HEARTH_DEMO_API_PORT / HEARTH_DEMO_GATEWAY_PORT`);
    }
  }
  const h = await clusterUp();
  const kc = kubeConfigFrom(h.kubeconfig);
  const node = await realNodeAddress(kc);
  if ('reason' in node) {
    throw new Error(`--helm runs Hearth as real pods on the real node, and ${node.reason}: \`npm run cluster:up\` starts it where the machine can host it (root, Linux namespaces)`);
  }
  console.log(`\n1. The fleet: a real control plane with KWOK GPU nodes at ${kc.getCurrentCluster()?.server}, and the real node ${node.ip} (containerd, runc, kubelet)`);
  const helm = join(await ensureBinaries(() => undefined), 'helm');
  const postgres = await ensurePostgres(undefined, (m) => console.log(`   ${m}`));
  // A previous --helm run that did not stop cleanly: its release goes first.
  const prev = await helmInstalled(helm, h.kubeconfig);
  if (prev) {
    console.log(`   a previous demo release is installed: helm uninstall ${HELM_RELEASE} -n ${HELM_NS}`);
    await runHelm(helm, h.kubeconfig, 'uninstall', HELM_RELEASE, '-n', HELM_NS, '--wait', '--timeout', '120s');
  }
  const databaseUrl = await ensureDatabase(postgres, HELM_DB);
  // The CPU replicas of step 5 (the chart's modelServerConfig): the model-server fixture's image on the real node.
  const modelServerConfig = await realNodeCpuRuntime((m) => console.log(`   ${m}`));

  console.log(`\n2. helm install hearth-crds and hearth (mode split) into ${HELM_NS}, restricted Pod Security, on PostgreSQL database ${HELM_DB} ...`);
  const inst = await helmInstallReal({
    kc,
    kubeconfig: h.kubeconfig,
    helm,
    namespace: HELM_NS,
    release: HELM_RELEASE,
    crdsRelease: HELM_CRDS_RELEASE,
    databaseUrl,
    replicas: { controller: 2, api: 1, gateway: 1 },
    leaderElection: { leaseDuration: '5s', renewDeadline: '3s', retryPeriod: '1s' },
    // The demo's controllers reconcile only the demo account (the chart's sharding selector; the
    // namespaced controllers watch only its namespace), so the demo can run on a shared cluster.
    extraEnv: { HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE: `${SCALE_TO_ZERO_WINDOW_S}s`, HEARTH_CONTROLLER_NAMESPACE: NAMESPACE },
    extraValues: { config: { history: { sampleInterval: '2s' } }, controller: { selector: `hearth.dev/account=${ACCOUNT}` }, modelServerConfig },
    log: (m) => console.log(`   ${m}`),
  });
  const forwards: HostForward[] = [];
  const stopAll = async () => {
    console.log('\nstopping: the demo\'s deployments are deleted while the controller runs, then helm uninstall of both releases ...');
    await removePreviousDemo(kc).catch((e: unknown) => console.error(`   could not delete the demo's deployments: ${(e as Error).message}`));
    for (const f of forwards) await f.close();
    await inst.uninstall();
    await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: HELM_NS }).catch(() => undefined);
    console.log(`   uninstalled; namespace ${HELM_NS} deleted; the CRDs stay (helm.sh/resource-policy: keep)`);
  };
  try {
    console.log(`\n   ${'POD'.padEnd(44)} ${'IP'.padEnd(13)} ${'NODE'.padEnd(18)} READY`);
    for (const c of ['controller', 'api', 'gateway'] as const) {
      for (const p of await inst.pods(c)) console.log(`   ${p.metadata!.name!.padEnd(44)} ${String(p.status?.podIP).padEnd(13)} ${String(p.spec?.nodeName).padEnd(18)} ${isReady(p)}`);
    }
    const database = await openDatabase({ url: databaseUrl });
    let key: string;
    try {
      // A new key each run (the database is kept; keys are shown once).
      key = (await bootstrap(database.db, { accountId: ACCOUNT, email: 'admin@demo.example', issueKey: 'always' })).apiKey!.key;
    } finally {
      await database.close();
    }
    // The pods' IPs are reachable from this host; the usual local ports lead there.
    const api = new URL(await inst.url('api'));
    const gw = new URL(await inst.url('gateway'));
    forwards.push(await forwardTcp('127.0.0.1', { host: api.hostname, port: PORTS.api }, API_PORT));
    forwards.push(await forwardTcp('127.0.0.1', { host: gw.hostname, port: PORTS.gateway }, GATEWAY_PORT));
    console.log(`   REST API ${api.origin}/v1 (forwarded at ${API}), gateway ${gw.origin}/inference/v1 (at ${GATEWAY})`);
    console.log(`   account accounts/${ACCOUNT}, admin API key (shown once): ${key}`);
    console.log(`   web console ${API}/console/  (sign in with that key)`);
    await removePreviousDemo(kc);
    await createDeployments(kc, key);
    await leaderHandover(kc, inst);
    // Step 5: scale from zero for real, on a CPU deployment whose replica runs on the real node;
    // the gateway in its pod reaches it at its pod IP through the EndpointSlice.
    const cpu = await rest(key, 'POST', `/v1/accounts/${ACCOUNT}/deployments?deploymentId=${CPU_COLD}`, {
      displayName: 'CPU, on the real node',
      baseModel: BASE_MODEL,
      acceleratorType: 'CPU',
      minReplicaCount: 0,
      maxReplicaCount: 1,
    });
    if (cpu.status !== 200) throw new Error(`POST ${CPU_COLD}: ${cpu.status} ${JSON.stringify(cpu.json)}`);
    coldId = CPU_COLD;
    coldAnsweredBy = "a real CPU replica (the model-server fixture's container on the real node, dialled at its pod IP)";
    coldStep = '5.';
    tryStep = '6.';
    await scaleFromZero(kc, key);
    printTryThis(key, h.kubeconfig, 'Ctrl-C deletes the demo\'s deployments and uninstalls Hearth (its database forwarder lives in this process).');
  } catch (e) {
    await stopAll().catch(() => undefined);
    throw e;
  }
  if (!exitAfter) await new Promise<void>((resolve) => (process.once('SIGINT', resolve), process.once('SIGTERM', resolve)));
  await stopAll();
}

async function runHelm(helm: string, kubeconfig: string, ...args: string[]): Promise<string> {
  return run(helm, args, { env: { ...process.env, KUBECONFIG: kubeconfig } });
}

async function helmInstalled(helm: string, kubeconfig: string): Promise<boolean> {
  return (await runHelm(helm, kubeconfig, 'list', '-n', HELM_NS, '-q').catch(() => '')).split('\n').includes(HELM_RELEASE);
}

(helmMode ? mainHelm() : main()).catch((e: unknown) => {
  console.error(`demo: ${(e as Error).message}`);
  process.exit(1);
});
