// LoRA benchmark (issue 12), every figure beside a same-run baseline:
//
//   KUBECONFIG=… npx tsx bench/lora.ts [-- --quick]
//
//   1. DeployedModel create → DEPLOYED at 1 and at 8 replicas (p50/p99 over 50 adapters; --quick:
//      12): the DeployedModel controller on a real API server, one model-server fixture per replica.
//      Shown with: (a) create → the object's first watch event (what the API server and the watch
//      cost with no controller), (b) one adapter load answered by a fixture, direct, and (c) the
//      last replica's load answered → DEPLOYED seen (the controller's own share; goal < 2 s at 8).
//   2. A new replica Ready → all adapters loaded (20 per deployment; --quick: 8), and → every
//      DeployedModel lists it LOADED (from then on the gateway sends it adapter traffic). Shown with
//      the same loads made directly in sequence.
//   3. The gateway's added latency for an adapter request vs a base-model request (same run,
//      alternating blocks; in process, catalog fed directly): p50/p99 and the difference (goal
//      < 0.2 ms p50).
//
// Simulation: no pods. A hearth.dev Deployment object and an EndpointSlice written by the bench
// stand for the replicas (the DeployedModel controller reads exactly those), each address mapped to
// a loopback fixture by a SimulatedDialMap. Everything lives in one scratch namespace, deleted at
// the end; models and quota in an embedded PGlite database. Only the DeployedModel controller runs
// (scoped to that namespace), so a shared cluster's other objects are not touched.
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, type KubeConfig, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { NamespaceEnsurer } from '../src/api/kube/namespaces.js';
import { bootstrap } from '../src/auth/bootstrap.js';
import { deployedModelController } from '../src/controllers/deployed-model/controller.js';
import { HttpAdapterApi, type AdapterApi, type Replica } from '../src/controllers/deployed-model/model-server.js';
import type { DeployedModel } from '../src/crds/deployed-model.js';
import { GROUP, LABELS, VERSION } from '../src/crds/group.js';
import { openDatabase } from '../src/db/client.js';
import { createModel } from '../src/db/repositories/models.js';
import { startGateway } from '../src/gateway/gateway.js';
import { SimulatedDialMap } from '../src/kube/dial.js';
import { KubeClients } from '../src/kube/client.js';
import { loadKubeConfig } from '../src/kube/config.js';
import { InformerFactory } from '../src/kube/informer-factory.js';
import { realClock } from '../src/util/clock.js';
import { startModelServerFixture, type ModelServerFixture } from '../test/fixtures/model-server/index.js';
import { installCrds } from '../hack/lib/crds.js';
import { fmt, percentile } from './lib.js';
import { TEST_SEAL } from '../test/support/tenancy.js';

const { values } = parseArgs({ args: process.argv.slice(2).filter((a) => a !== '--'), options: { quick: { type: 'boolean', default: false } } });
const QUICK = values.quick === true;
const ADAPTERS = QUICK ? 12 : 50;
const PER_DEPLOYMENT = QUICK ? 8 : 20;
const NEW_REPLICAS = QUICK ? 2 : 3;
const GATEWAY_REQUESTS = QUICK ? 400 : 2000;
const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `bench-lora-${suffix}`;
const NS = `acct-${ACCOUNT}`;
const PORT = 8000;
const log = pino({ level: process.env.HEARTH_BENCH_LOG ?? 'warn' });

const stats = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${fmt(percentile(s, 50))} ms  p99 ${fmt(percentile(s, 99))} ms  (n=${s.length})`;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what: string, probe: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Records when each replica's load of each adapter was answered (ms since epoch). */
class TimedApi implements AdapterApi {
  readonly answered = new Map<string, number>();
  constructor(private readonly inner: AdapterApi) {}
  listAdapters(r: Replica, signal?: AbortSignal) {
    return this.inner.listAdapters(r, signal);
  }
  async load(r: Replica, name: string, path: string, signal?: AbortSignal) {
    const res = await this.inner.load(r, name, path, signal);
    if (res.ok) this.answered.set(`${r.address}|${name}`, Date.now());
    return res;
  }
  unload(r: Replica, name: string, signal?: AbortSignal) {
    return this.inner.unload(r, name, signal);
  }
}

async function main(): Promise<void> {
  // Hearth's production client (keep-alive TLS, src/kube/config.ts): client-node's own KubeConfig
  // makes a new https.Agent, so a TCP and TLS handshake, for every request.
  const kc = loadKubeConfig(process.env.KUBECONFIG);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  // This tree's CRDs (the DeployedModel status the controller writes and the gateway routes on).
  await installCrds(kc, 'hearth-bench-lora');
  const database = await openDatabase();
  await database.migrate();
  await bootstrap(database.db, { accountId: ACCOUNT, email: `bench@${ACCOUNT}.example` });
  const totalAdapters = Math.max(ADAPTERS, PER_DEPLOYMENT);
  for (let i = 0; i < totalAdapters; i++) {
    await createModel(database.db, { accountId: ACCOUNT, modelId: `a${i}`, kind: 'HF_PEFT_ADDON', state: 'READY', spec: { peftDetails: { baseModel: BASE, r: 8 } } });
  }
  // As Hearth makes an account's namespace (sealed): a namespace only labelled by hand is ignored.
  await new NamespaceEnsurer(kc, { seal: TEST_SEAL }).ensure(ACCOUNT);
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    await run(kc, custom, discovery, database, cleanups);
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    // Nothing runs the finalizers any more: drop them so the namespace can go.
    for (const plural of ['deployedmodels', 'deployments']) {
      const list = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural }).catch(() => ({ items: [] }))) as { items: KubernetesObject[] };
      for (const o of list.items) {
        await custom
          .patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural, name: o.metadata?.name ?? '', body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
          .catch(() => undefined);
      }
    }
    await core.deleteNamespace({ name: NS }).catch(() => undefined);
    await database.close();
  }
}

async function run(kc: KubeConfig, custom: CustomObjectsApi, discovery: DiscoveryV1Api, database: Awaited<ReturnType<typeof openDatabase>>, cleanups: Array<() => Promise<unknown>>): Promise<void> {

  const fixtures: ModelServerFixture[] = [];
  cleanups.push(async () => {
    for (const f of fixtures) await f.close();
  });
  const map = new SimulatedDialMap();
  const addresses: string[] = [];
  const addReplica = async (): Promise<string> => {
    const f = await startModelServerFixture({ model: BASE });
    fixtures.push(f);
    const address = `10.250.${Math.floor(addresses.length / 250)}.${(addresses.length % 250) + 1}`;
    addresses.push(address);
    map.set(`${address}:${PORT}`, `127.0.0.1:${f.port}`);
    return address;
  };
  for (let i = 0; i < 8; i++) await addReplica();

  const clients = new KubeClients(kc, { qps: 200, burst: 400 }, realClock);
  const informers = new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log });
  const api = new TimedApi(new HttpAdapterApi(map.dial));
  const controller = deployedModelController({ clients, informers, db: database.db, clock: realClock, log, namespace: NS, api, pollMs: 30_000, workers: 8 });
  // When each DeployedModel was first seen DEPLOYED, and first seen at all (the watch baseline).
  const dmInformer = informers.informer<DeployedModel>({ group: GROUP, version: VERSION, plural: 'deployedmodels', namespace: NS });
  const seen = new Map<string, number>();
  const deployed = new Map<string, number>();
  const note = (o: DeployedModel) => {
    const n = o.metadata.name ?? '';
    if (!seen.has(n)) seen.set(n, Date.now());
    if (o.status?.state === 'DEPLOYED' && !deployed.has(n)) deployed.set(n, Date.now());
  };
  dmInformer.addEventHandler({ add: note, update: (_o, o) => note(o), delete: () => undefined });
  informers.start();
  await controller.start();
  cleanups.push(() => informers.stop());
  cleanups.push(() => controller.stop(5000));

  const slice = (addrs: string[]) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'bench-replicas', namespace: NS, labels: { [LABELS.deployment]: 'bench' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: PORT, protocol: 'TCP' }],
    endpoints: addrs.map((a) => ({ addresses: [a], conditions: { ready: true }, targetRef: { kind: 'Pod', name: `pod-${a}`, namespace: NS, uid: `uid-${a}` } })),
  });
  const setReplicas = async (addrs: string[]) => {
    await discovery.replaceNamespacedEndpointSlice({ name: 'bench-replicas', namespace: NS, body: slice(addrs) as never }).catch(async (e: { code?: number }) => {
      if (e.code !== 404) throw e;
      await discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(addrs) as never });
    });
  };
  const dmBody = (name: string, model: string): KubernetesObject & Record<string, unknown> => ({
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'DeployedModel',
    metadata: { name },
    spec: { model, deployment: 'bench' },
  });
  const target = { group: GROUP, version: VERSION, namespace: NS, plural: 'deployedmodels' };
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: NS,
    plural: 'deployments',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', metadata: { name: 'bench' }, spec: { baseModel: BASE, enableAddons: true, numPeftDeviceCached: 64 } },
  });
  const deleteAll = async (names: string[]) => {
    for (const n of names) await custom.deleteNamespacedCustomObject({ ...target, name: n });
    await waitUntil('DeployedModels gone', () => names.every((n) => dmInformer.get(`${NS}/${n}`) === undefined));
  };

  console.log(`LoRA benchmark${QUICK ? ' (--quick)' : ''}: ${ADAPTERS} adapters per run, namespace ${NS}`);

  // ---- baseline (b): one load, direct ------------------------------------------------------------
  const direct = await startModelServerFixture({ model: BASE });
  const directLoads: number[] = [];
  for (let i = 0; i < ADAPTERS; i++) {
    const t = performance.now();
    const r = await fetch(`${direct.url}/v1/load_lora_adapter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lora_name: `x${i}`, lora_path: `/m/${i}` }) });
    await r.text();
    directLoads.push(performance.now() - t);
  }
  await direct.close();

  // ---- 1. create → DEPLOYED at 1 and at 8 replicas ---------------------------------------------
  const results: Array<{ replicas: number; toDeployed: number[]; toSeen: number[]; afterLoads: number[] }> = [];
  for (const replicas of [1, 8]) {
    await setReplicas(addresses.slice(0, replicas));
    await sleep(500);
    const names = Array.from({ length: ADAPTERS }, (_, i) => `r${replicas}-a${i}`);
    const created = new Map<string, number>();
    // Paced one by one: a p99 of a burst would measure the queue, not the path.
    for (let i = 0; i < ADAPTERS; i++) {
      created.set(names[i]!, Date.now());
      await custom.createNamespacedCustomObject({ ...target, body: dmBody(names[i]!, `accounts/${ACCOUNT}/models/a${i}`) });
      await waitUntil(`${names[i]} DEPLOYED`, () => deployed.has(names[i]!));
    }
    const toDeployed = names.map((n) => deployed.get(n)! - created.get(n)!);
    const toSeen = names.map((n) => seen.get(n)! - created.get(n)!);
    const afterLoads = names.map((n, i) => {
      const lastLoad = Math.max(...addresses.slice(0, replicas).map((a) => api.answered.get(`${a}|accounts/${ACCOUNT}/models/a${i}`) ?? 0));
      return deployed.get(n)! - lastLoad;
    });
    results.push({ replicas, toDeployed, toSeen, afterLoads });
    await deleteAll(names);
  }
  console.log('\n1. DeployedModel create → DEPLOYED (controller on a real API server, paced one at a time)');
  console.log(`   baseline: create → first watch event        ${stats(results.flatMap((r) => r.toSeen))}`);
  console.log(`   baseline: one adapter load, direct          ${stats(directLoads)}`);
  for (const r of results) {
    console.log(`   ${r.replicas} replica${r.replicas === 1 ? ' ' : 's'}: create → DEPLOYED             ${stats(r.toDeployed)}`);
    console.log(`   ${r.replicas} replica${r.replicas === 1 ? ' ' : 's'}: last load answered → DEPLOYED ${stats(r.afterLoads)}${r.replicas === 8 ? `   goal < 2000 ms: ${percentile([...r.afterLoads].sort((a, b) => a - b), 99) < 2000 ? 'met' : 'NOT met'} (p99)` : ''}`);
  }

  // ---- 2. a new replica Ready → all adapters loaded --------------------------------------------
  await setReplicas(addresses.slice(0, 1));
  const names = Array.from({ length: PER_DEPLOYMENT }, (_, i) => `n-a${i}`);
  for (let i = 0; i < PER_DEPLOYMENT; i++) await custom.createNamespacedCustomObject({ ...target, body: dmBody(names[i]!, `accounts/${ACCOUNT}/models/a${i}`) });
  await waitUntil('all DEPLOYED on one replica', () => names.every((n) => deployed.has(n)));
  const toLoaded: number[] = [];
  const toRoutable: number[] = [];
  const live = addresses.slice(0, 1);
  for (let k = 0; k < NEW_REPLICAS; k++) {
    const fresh = await addReplica();
    live.push(fresh);
    const t0 = Date.now();
    await setReplicas(live);
    await waitUntil('every adapter loaded on the new replica', () => names.every((_, i) => api.answered.has(`${fresh}|accounts/${ACCOUNT}/models/a${i}`)));
    toLoaded.push(Math.max(...names.map((_, i) => api.answered.get(`${fresh}|accounts/${ACCOUNT}/models/a${i}`)!)) - t0);
    const addr = `${fresh}:${PORT}`;
    await waitUntil('every DeployedModel to list the new replica LOADED', () =>
      names.every((n) => (dmInformer.get(`${NS}/${n}`)?.status?.replicas ?? []).some((r) => r.address === addr && r.state === 'LOADED')),
    );
    toRoutable.push(Date.now() - t0);
  }
  const seqBaseline: number[] = [];
  for (let k = 0; k < NEW_REPLICAS; k++) {
    const f = await startModelServerFixture({ model: BASE });
    const t = performance.now();
    for (let i = 0; i < PER_DEPLOYMENT; i++) await (await fetch(`${f.url}/v1/load_lora_adapter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lora_name: `y${i}`, lora_path: `/m/${i}` }) })).text();
    seqBaseline.push(performance.now() - t);
    await f.close();
  }
  console.log(`\n2. A new replica Ready → its ${PER_DEPLOYMENT} adapters (EndpointSlice written → …)`);
  console.log(`   baseline: ${PER_DEPLOYMENT} loads, direct, one after another ${stats(seqBaseline)}`);
  console.log(`   → all ${PER_DEPLOYMENT} loads answered                  ${stats(toLoaded)}`);
  console.log(`   → every DeployedModel lists it LOADED (routable) ${stats(toRoutable)}`);
  await deleteAll(names);

  // ---- 3. gateway: adapter vs base-model routing ---------------------------------------------------
  const fx = await startModelServerFixture({ model: BASE });
  await fetch(`${fx.url}/v1/load_lora_adapter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lora_name: `accounts/${ACCOUNT}/models/a0`, lora_path: '/m/0' }) }).then((r) => r.text());
  const gw = await startGateway(
    { host: '127.0.0.1', port: 0, processMetrics: false },
    { authenticate: async () => ({ ok: true, accountId: ACCOUNT }), loadReporter: { report: () => undefined }, log, dialTarget: () => ({ host: '127.0.0.1', port: fx.port }) },
  );
  const { catalog, upstreams } = gw.core;
  catalog.upsertNamespace({ metadata: { name: NS, labels: { [LABELS.account]: ACCOUNT } } });
  catalog.upsertDeployment({ metadata: { namespace: NS, name: 'bench' }, spec: { baseModel: BASE } });
  // 8 replicas, the adapter loaded on 4 of them: the filter has work to do.
  upstreams.setSlice(`${NS}/bench`, 's', addresses.slice(0, 8).map((address) => ({ address, port: PORT })));
  catalog.upsertDeployedModel({
    metadata: { namespace: NS, name: 'a0' },
    spec: { model: `accounts/${ACCOUNT}/models/a0`, deployment: 'bench', default: true },
    status: { state: 'DEPLOYED', replicas: addresses.slice(0, 4).map((a, i) => ({ pod: `p${i}`, address: `${a}:${PORT}`, state: 'LOADED' })) },
  });
  const call = (model: string, url: string) =>
    new Promise<number>((resolve, reject) => {
      const t = performance.now();
      const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer x' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(performance.now() - t));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ model, prompt: 'hi', max_tokens: 1 }));
    });
  const lat = { base: [] as number[], adapter: [] as number[], direct: [] as number[] };
  const baseId = `${BASE}#accounts/${ACCOUNT}/deployments/bench`;
  const adapterId = `accounts/${ACCOUNT}/models/a0`;
  for (let i = 0; i < 100; i++) await call(i % 2 ? baseId : adapterId, `${gw.url}/inference/v1/completions`); // warm-up
  const BLOCK = 50;
  for (let b = 0; b < GATEWAY_REQUESTS / BLOCK; b++) {
    for (let i = 0; i < BLOCK; i++) lat.base.push(await call(baseId, `${gw.url}/inference/v1/completions`));
    for (let i = 0; i < BLOCK; i++) lat.adapter.push(await call(adapterId, `${gw.url}/inference/v1/completions`));
    for (let i = 0; i < BLOCK / 5; i++) lat.direct.push(await call(BASE, `${fx.url}/v1/completions`));
  }
  const p = (xs: number[], q: number) => percentile([...xs].sort((a, b) => a - b), q);
  console.log(`\n3. Gateway routing, adapter vs base model (${GATEWAY_REQUESTS} each, alternating blocks of ${BLOCK}, closed loop)`);
  console.log(`   baseline: direct to the fixture      ${stats(lat.direct)}`);
  console.log(`   base model through the gateway      ${stats(lat.base)}`);
  console.log(`   adapter through the gateway         ${stats(lat.adapter)}`);
  const diff = p(lat.adapter, 50) - p(lat.base, 50);
  console.log(`   adapter − base: p50 ${fmt(diff, 3)} ms, p99 ${fmt(p(lat.adapter, 99) - p(lat.base, 99), 3)} ms   goal p50 < 0.2 ms: ${diff < 0.2 ? 'met' : 'NOT met'}`);
  await gw.close(1000);
  await fx.close();

}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
