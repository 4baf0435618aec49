// The cross-account matrix (issue 15, "the tests that prove it"): two accounts on the simulated
// cluster and a real PostgreSQL, each with an admin and a user, each with real objects of every kind
// (deployment, deployed model, dataset, model, SFT job, batch job, batch inference job,
// environment, node pool + binding, users, API keys). For every operation the API serves — the
// table is generated from its own /openapi.json, so a new route is in it the day it is added — and
// for both roles of the other account:
// - on the owner's path (`/v1/accounts/<owner>/…` with the owner's real ids): 404, never 403,
//   and the owner's objects are all still there, unchanged, afterwards;
// - on the caller's own path with the owner's ids: exactly the answer for an id that exists nowhere.
// The gateway refuses the other account's keys for the owner's deployment and LoRA (the same 404 as
// for a model that does not exist) and does not list them. And a namespace labelled with an
// account by hand (issue 15 item 5): the Deployment controller leaves it alone with a Warning, the
// gateway routes nothing there, no quota is held and no GPU-second is billed for the account it
// claims.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { load as loadYaml } from 'js-yaml';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCrds } from '../../hack/lib/crds.js';
import { buildApp } from '../../src/api/app.js';
import { NamespaceEnsurer, accountNamespace } from '../../src/api/kube/namespaces.js';
import { KubeKindClients } from '../../src/api/kube/kind-client.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { deploymentController } from '../../src/controllers/deployment/controller.js';
import { DbQuotaLedger } from '../../src/controllers/deployment/quota-ledger.js';
import type { Runnable } from '../../src/controllers/runtime/controller.js';
import { GROUP, LABELS, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { createDataset } from '../../src/db/repositories/datasets.js';
import { updateModel } from '../../src/db/repositories/models.js';
import { quotaHolds, usageLedger } from '../../src/db/schema/index.js';
import { meteringRunnable, type Metering } from '../../src/controllers/metering/metering.js';
import { startGateway, type Gateway } from '../../src/gateway/index.js';
import { KubeClients } from '../../src/kube/client.js';
import { loadKubeConfig, type PooledKubeConfig } from '../../src/kube/config.js';
import { InformerFactory } from '../../src/kube/informer-factory.js';
import { realClock } from '../../src/util/clock.js';
import { callApi, type ApiResponse } from '../support/api.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { kubeconfigPath } from '../support/env.js';
import { servedOperations } from '../support/hearth-app.js';
import { createTestNamespace } from '../support/namespace.js';
import { TEST_SEAL } from '../support/tenancy.js';
import { waitFor } from '../support/wait.js';

const REPO_ROOT = new URL('../..', import.meta.url).pathname;
const suffix = randomBytes(3).toString('hex');
const A = `xacct-a-${suffix}`;
const B = `xacct-b-${suffix}`;
/** Labelled `hearth.dev/account=<A>` by hand: no seal. */
const CLAIMED_NS = `xacct-claim-${suffix}`;
const RUN_LABEL = 'hearth.dev/cross-account-test';
const dbName = `hearth_t_xacct_${suffix}`;
const BASE_MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const log = pino({ level: process.env.HEARTH_TEST_LOG ?? 'silent' });

let kc: PooledKubeConfig;
let database: Database;
let clients: KubeClients;
let informers: InformerFactory;
let kinds: KubeKindClients;
let app: FastifyInstance;
let gw: Gateway;
let controller: Runnable | undefined;
let meter: Metering | undefined;

/** A pod labelled like Hearth's model servers, one A100 GPU (KWOK marks it Ready on a GPU node). */
function gpuPod(name: string): V1Pod {
  return {
    metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'hearth', 'hearth.dev/deployment': 'metered' } },
    spec: {
      containers: [{ name: 'model-server', image: 'vllm/vllm-openai:fixture', resources: { limits: { 'nvidia.com/gpu': '1' }, requests: { 'nvidia.com/gpu': '1' } } }],
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'hearth.dev/accelerator-type', operator: 'In', values: ['NVIDIA_A100_80GB'] }] }],
          },
        },
      },
    },
  };
}

type Role = 'admin' | 'user';
interface Tenant {
  account: string;
  /** One letter: the prefix of this account's ids, so no id exists in both accounts. */
  l: string;
  keys: Record<Role, string>;
  userIds: Record<Role, string>;
  emails: Record<Role, string>;
  /** Path parameter → this account's real id. */
  ids: Record<string, string>;
  /** The user's API key id (apiKeys:delete takes it in the body). */
  keyId: string;
}
const tenants: Record<string, Tenant> = {};

/**
 * Path parameters and whose they are. Account-scoped ones name an object of the account (the
 * second check swaps in the owner's id); shared ones (quota names, shapes) do not. A parameter not
 * listed here fails the test: a new route must say what its ids are.
 */
const ACCOUNT_SCOPED = ['userId', 'deploymentId', 'deployedModelId', 'datasetId', 'modelId', 'nodePoolId', 'environmentId', 'batchJobId', 'supervisedFineTuningJobId', 'batchInferenceJobId'];
const SHARED: Record<string, string> = { quotaId: 'h100-us-virginia-2', reservationId: 'r1', deploymentShapeId: 's1', versionId: 'v1' };
/** An id no account has (numeric where the id is a number). */
const missingId = (param: string): string => (param === 'batchJobId' ? '987654321' : `missing-${suffix}`);

const v1 = (account: string, path: string): string => `/v1/accounts/${account}/${path}`;
const idOf = (name: unknown): string => String(name).split('/').pop()!;
const call = (key: string, method: string, url: string, body?: unknown): Promise<ApiResponse> => callApi(app, method, url, key, body);

async function ok(t: Tenant, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const r = await call(t.keys.admin, method, v1(t.account, path), body);
  expect(r.status, `${t.account}: ${method} ${path} → ${JSON.stringify(r.body)}`).toBe(200);
  return r.body;
}

/** The account with an admin and a user, and one real object of every kind. */
async function makeTenant(account: string, l: string): Promise<Tenant> {
  const b = await bootstrap(database.db, { accountId: account, email: `admin@${account}.example` });
  const t: Tenant = { account, l, keys: { admin: b.apiKey!.key, user: '' }, userIds: { admin: b.admin.userId, user: '' }, emails: { admin: b.admin.email, user: `user@${account}.example` }, ids: {}, keyId: '' };
  const user = await ok(t, 'POST', `users?userId=${l}-user`, { role: 'user', email: t.emails.user });
  t.userIds.user = idOf(user.name);
  const key = await ok(t, 'POST', `users/${t.userIds.user}/apiKeys`, { apiKey: { displayName: 'k' } });
  t.keys.user = key.key as string;
  t.keyId = key.keyId as string;
  const pool = `${l}-pool`;
  await ok(t, 'POST', 'nodePools', { nodePoolId: pool, nodePool: { minNodeCount: 0, maxNodeCount: 1, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 8, region: 'US_VIRGINIA_2' } } });
  await ok(t, 'POST', 'nodePoolBindings', { principal: t.emails.user, nodePoolId: pool });
  await ok(t, 'POST', 'environments', { environmentId: `${l}-env`, environment: {} });
  const jobBody = { nodePoolId: pool, imageRef: 'busybox:1.36', shellExecutor: { command: 'echo hi' } };
  // Batch job ids are numbers counted per account: B keeps its second and deletes its first, so no
  // id is both accounts'.
  const first = l === 'b' ? await ok(t, 'POST', 'batchJobs', jobBody) : undefined;
  const job = await ok(t, 'POST', 'batchJobs', jobBody);
  if (first) await ok(t, 'DELETE', `batchJobs/${idOf(first.name)}`);
  await createDataset(database.db, { accountId: account, datasetId: `${l}-data`, state: 'READY' });
  await ok(t, 'POST', 'models', { modelId: `${l}-lora`, model: { displayName: 'lora', peftDetails: { baseModel: BASE_MODEL, r: 8, targetModules: ['q_proj', 'v_proj'] } } });
  await updateModel(database.db, account, `${l}-lora`, { state: 'READY' }); // as api-models.test.ts: its files are not the point here
  await ok(t, 'POST', `deployments?deploymentId=${l}-dep`, { baseModel: BASE_MODEL, enableAddons: true, minReplicaCount: 0, maxReplicaCount: 1 });
  const dm = await ok(t, 'POST', 'deployedModels', { model: `accounts/${account}/models/${l}-lora`, deployment: `accounts/${account}/deployments/${l}-dep` });
  await ok(t, 'POST', `supervisedFineTuningJobs?supervisedFineTuningJobId=${l}-sft`, { dataset: `accounts/${account}/datasets/${l}-data`, baseModel: BASE_MODEL });
  await ok(t, 'POST', `batchInferenceJobs?batchInferenceJobId=${l}-bij`, { model: `${BASE_MODEL}#accounts/${account}/deployments/${l}-dep`, inputDatasetId: `${l}-data` });
  t.ids = {
    userId: t.userIds.user,
    deploymentId: `${l}-dep`,
    deployedModelId: idOf(dm.name),
    datasetId: `${l}-data`,
    modelId: `${l}-lora`,
    nodePoolId: pool,
    environmentId: `${l}-env`,
    batchJobId: idOf(job.name),
    supervisedFineTuningJobId: `${l}-sft`,
    batchInferenceJobId: `${l}-bij`,
  };
  return t;
}

/** `fn` over `items`, 8 at a time (nothing here can succeed, so the order does not matter). */
async function inBatches<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += 8) await Promise.all(items.slice(i, i + 8).map(fn));
}

/** What every served operation's path becomes with `ids` (throws on a parameter nobody listed). */
function fill(path: string, account: string, ids: (param: string) => string): string {
  return path.replace('{accountId}', account).replace(/\{([A-Za-z]+)\}/g, (_, p: string) => {
    if (!ACCOUNT_SCOPED.includes(p) && !(p in SHARED)) throw new Error(`path parameter {${p}} of ${path}: add it to ACCOUNT_SCOPED or SHARED in this test`);
    return ids(p);
  });
}

/** A body naming the owner's objects where the operation takes names or ids in its body. */
function bodyFor(method: string, path: string, owner: Tenant): unknown {
  if (method === 'GET' || method === 'DELETE') return undefined;
  const names = (collection: string, param: string): string[] => [`accounts/${owner.account}/${collection}/${owner.ids[param]}`];
  if (path.endsWith('nodePools:batchDelete')) return { names: names('nodePools', 'nodePoolId') };
  if (path.endsWith('environments:batchDelete')) return { names: names('environments', 'environmentId') };
  if (path.endsWith('batchJobs:batchDelete')) return { names: [`accounts/${owner.account}/clusters/default/batchJobs/${owner.ids.batchJobId}`] };
  if (path.endsWith('apiKeys:delete')) return { keyId: owner.keyId };
  if (path.endsWith('nodePoolBindings:delete')) return { principal: owner.emails.user, nodePoolId: owner.ids.nodePoolId };
  return {};
}

/** Everything of `t`'s, read back with its own admin key: all there. */
async function snapshot(t: Tenant): Promise<Record<string, unknown>> {
  const paths = [
    `users/${t.userIds.user}`,
    `users/${t.userIds.user}/apiKeys`,
    `deployments/${t.ids.deploymentId}`,
    `deployedModels/${t.ids.deployedModelId}`,
    `datasets/${t.ids.datasetId}`,
    `models/${t.ids.modelId}`,
    `nodePools/${t.ids.nodePoolId}`,
    `environments/${t.ids.environmentId}`,
    `batchJobs/${t.ids.batchJobId}`,
    `supervisedFineTuningJobs/${t.ids.supervisedFineTuningJobId}`,
    `batchInferenceJobs/${t.ids.batchInferenceJobId}`,
    'nodePoolBindings',
  ];
  const out: Record<string, unknown> = {};
  for (const p of paths) {
    const r = await call(t.keys.admin, 'GET', v1(t.account, `${p}${p.includes('?') ? '&' : '?'}readMask=name,state,displayName,deleteTime`));
    expect(r.status, `${t.account}: GET ${p} → ${JSON.stringify(r.body)}`).toBe(200);
    out[p] = p === 'users/' + t.userIds.user + '/apiKeys' || p === 'nodePoolBindings' ? r.body : { name: r.body.name, state: r.body.state, displayName: r.body.displayName, deleteTime: r.body.deleteTime };
  }
  return out;
}

beforeAll(async () => {
  kc = loadKubeConfig(kubeconfigPath());
  await installCrds(kc, 'hearth-crds-test');
  database = await createScratchDatabase(dbName, { maxConnections: 8 });
  clients = new KubeClients(kc, { qps: 50, burst: 100 }, realClock);
  informers = new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log, backoff: { initialMs: 200, maxMs: 2000 } });
  kinds = new KubeKindClients({ clients, informers }, { log });
  await kinds.start();
  const namespaces = new NamespaceEnsurer(kc, { seal: TEST_SEAL });
  app = await buildApp({ db: database.db, deployments: kinds.deployments, kinds: kinds.others, ensureNamespace: (a) => namespaces.ensure(a), logger: log, rateLimit: false });
  gw = await startGateway({ host: '127.0.0.1', port: 0, processMetrics: false }, { informers, db: database.db, log });
  tenants[A] = await makeTenant(A, 'a');
  tenants[B] = await makeTenant(B, 'b');
  await gw.synced;
}, 120_000);

afterAll(async () => {
  await controller?.stop(2000);
  await meter?.stop(5000).catch(() => undefined);
  await gw?.close(2000);
  await app?.close();
  await kinds?.stop();
  await informers?.stop();
  const core = kc?.makeApiClient(CoreV1Api);
  for (const ns of [accountNamespace(A), accountNamespace(B), CLAIMED_NS]) {
    // Nothing runs any more: let go of finalizers so the namespaces can go.
    for (const plural of ['deployments', 'deployedmodels', 'nodepools', 'environments', 'batchjobs', 'sftjobs', 'batchinferencejobs']) {
      const list = (await kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural }).catch(() => ({ items: [] }))) as { items: KubernetesObject[] };
      for (const o of list.items) {
        if (!o.metadata?.finalizers?.length) continue;
        await kc
          .makeApiClient(CustomObjectsApi)
          .patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural, name: o.metadata.name!, body: [{ op: 'remove', path: '/metadata/finalizers' }] })
          .catch(() => undefined);
      }
    }
    await core?.deleteNamespace({ name: ns }).catch(() => undefined);
  }
  await database?.close();
  await dropScratchDatabase(dbName).catch(() => undefined);
  kc?.destroy();
}, 60_000);

describe('cross-account matrix', () => {
  it('every served operation on another account\'s path answers 404 to both roles, and touches nothing of it', async () => {
    const ops = (await servedOperations(app)).filter((o) => o.path.startsWith('/v1/accounts/{accountId}'));
    expect(ops.length).toBeGreaterThan(60);
    const before = { [A]: await snapshot(tenants[A]!), [B]: await snapshot(tenants[B]!) };
    const wrong: string[] = [];
    for (const [owner, caller] of [[tenants[A]!, tenants[B]!], [tenants[B]!, tenants[A]!]] as const) {
      for (const role of ['admin', 'user'] as const) {
        await inBatches(ops, async ({ method, path }) => {
          const url = fill(path, owner.account, (p) => owner.ids[p] ?? SHARED[p]!);
          const r = await call(caller.keys[role], method, url, bodyFor(method, path, owner));
          if (r.status !== 404 || r.body.code !== 5) wrong.push(`${caller.account} ${role}: ${method} ${url} → ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
        });
      }
    }
    expect(wrong).toEqual([]);
    expect({ [A]: await snapshot(tenants[A]!), [B]: await snapshot(tenants[B]!) }).toEqual(before);
  }, 60_000);

  it('on the caller\'s own path, the other account\'s ids answer exactly as ids that exist nowhere', async () => {
    const ops = (await servedOperations(app)).filter((o) => ACCOUNT_SCOPED.some((p) => o.path.includes(`{${p}}`)));
    expect(ops.length).toBeGreaterThan(30);
    const before = { [A]: await snapshot(tenants[A]!), [B]: await snapshot(tenants[B]!) };
    const wrong: string[] = [];
    for (const [owner, caller] of [[tenants[A]!, tenants[B]!], [tenants[B]!, tenants[A]!]] as const) {
      for (const role of ['admin', 'user'] as const) {
        await inBatches(ops, async ({ method, path }) => {
          const theirs = fill(path, caller.account, (p) => owner.ids[p] ?? SHARED[p]!);
          const nowhere = fill(path, caller.account, (p) => (ACCOUNT_SCOPED.includes(p) ? missingId(p) : SHARED[p]!));
          const body = method === 'GET' || method === 'DELETE' ? undefined : {};
          const [r, m] = [await call(caller.keys[role], method, theirs, body), await call(caller.keys[role], method, nowhere, body)];
          const seen = (x: ApiResponse): unknown => ({ status: x.status, code: x.body.code });
          if (r.status < 400 || r.status >= 500 || JSON.stringify(seen(r)) !== JSON.stringify(seen(m))) {
            wrong.push(`${caller.account} ${role}: ${method} ${theirs} → ${r.status} ${JSON.stringify(r.body).slice(0, 120)}; missing id → ${m.status}`);
          }
        });
      }
    }
    expect(wrong).toEqual([]);
    expect({ [A]: await snapshot(tenants[A]!), [B]: await snapshot(tenants[B]!) }).toEqual(before);
  }, 60_000);

  it('the gateway refuses the other account\'s keys for a deployment and a LoRA (the 404 of a model that does not exist) and does not list them', async () => {
    const post = async (key: string, model: string): Promise<{ status: number; body: string }> => {
      const res = await fetch(`${gw.url}/inference/v1/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model, prompt: 'x', max_tokens: 1 }) });
      return { status: res.status, body: await res.text() };
    };
    for (const [owner, caller] of [[tenants[A]!, tenants[B]!], [tenants[B]!, tenants[A]!]] as const) {
      const o = owner.account;
      const missing = `missing-${suffix}`;
      // [model id, the same id naming something that exists nowhere]
      const models: Array<[string, string]> = [
        [`${BASE_MODEL}#accounts/${o}/deployments/${owner.ids.deploymentId}`, `${BASE_MODEL}#accounts/${o}/deployments/${missing}`],
        [`accounts/${o}/models/${owner.ids.modelId}`, `accounts/${o}/models/${missing}`],
        [`accounts/${o}/models/${owner.ids.modelId}#accounts/${o}/deployments/${owner.ids.deploymentId}`, `accounts/${o}/models/${missing}#accounts/${o}/deployments/${owner.ids.deploymentId}`],
        [`accounts/${o}/deployedModels/${owner.ids.deployedModelId}`, `accounts/${o}/deployedModels/${missing}`],
      ];
      // The owner's own key resolves them (nothing is sent: the deployment has no replica).
      await waitFor(`${o}'s deployment and LoRA in the gateway's catalog`, async () => models.every(([m]) => gw.core.catalog.resolve(m, o) !== undefined), {
        timeoutMs: 15_000,
        dump: async () => models.map(([m]) => `${m}: ${gw.core.catalog.resolve(m, o) ? 'resolves' : 'no'}`),
      });
      for (const role of ['admin', 'user'] as const) {
        for (const [model, nowhere] of models) {
          expect(gw.core.catalog.resolve(model, caller.account), model).toBeUndefined();
          const theirs = await post(caller.keys[role], model);
          const none = await post(caller.keys[role], nowhere);
          expect(theirs.status, `${caller.account} ${role} → ${model}: ${theirs.body}`).toBe(404);
          expect(JSON.parse(theirs.body)).toEqual(JSON.parse(none.body.replaceAll(nowhere, model)));
        }
        const listed = await fetch(`${gw.url}/inference/v1/models`, { headers: { authorization: `Bearer ${caller.keys[role]}` } });
        const text = await listed.text();
        expect(listed.status, text).toBe(200);
        expect(text).not.toContain(owner.account);
      }
    }
  }, 60_000);
});

describe('a namespace labelled with an account by hand (issue 15 item 5)', () => {
  it('is left alone by the Deployment controller (a Warning says why), routed to by no gateway, and holds none of the account\'s quota', async () => {
    const custom = kc.makeApiClient(CustomObjectsApi);
    await createTestNamespace(kc, CLAIMED_NS, { [LABELS.account]: A }, { unsealed: true });
    const sample = loadYaml(readFileSync(join(REPO_ROOT, 'manifests/samples/deployment.yaml'), 'utf8')) as KubernetesObject & { spec: Record<string, unknown> };
    const dep = (namespace: string, name: string) => ({ ...sample, metadata: { name, namespace, labels: { [RUN_LABEL]: suffix } } });
    // One in the namespace that claims A, one in A's own (sealed) namespace: the control.
    await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: CLAIMED_NS, plural: 'deployments', body: dep(CLAIMED_NS, 'claimed') });
    await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: accountNamespace(A), plural: 'deployments', body: dep(accountNamespace(A), 'sealed') });
    controller = deploymentController({ clients, informers, quotas: new DbQuotaLedger(database.db, realClock), clock: realClock, log, selector: `${RUN_LABEL}=${suffix}` });
    await controller.start();
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const dump = async (): Promise<unknown> => ({
      events: (await core.listNamespacedEvent({ namespace: CLAIMED_NS })).items.map((e) => `${e.type}/${e.reason}: ${e.message}`),
      workloads: (await apps.listNamespacedDeployment({ namespace: CLAIMED_NS })).items.map((w) => w.metadata?.name),
    });
    // The control: in A's sealed namespace the controller makes the workload.
    await waitFor('the workload of the deployment in A\'s own namespace', async () => (await apps.listNamespacedDeployment({ namespace: accountNamespace(A), labelSelector: 'hearth.dev/deployment=sealed' })).items.length === 1, { timeoutMs: 30_000, dump });
    const warning = await waitFor(
      'a NamespaceNotVerified Warning on the deployment in the claiming namespace',
      async () => (await core.listNamespacedEvent({ namespace: CLAIMED_NS })).items.find((e) => e.reason === 'NamespaceNotVerified' && e.involvedObject.name === 'claimed'),
      { timeoutMs: 30_000, dump },
    );
    expect(warning.type).toBe('Warning');
    expect(warning.message).toContain(`hearth.dev/account=${A}`);
    // Nothing made, no status written, no finalizer, no quota held under A for it.
    expect((await apps.listNamespacedDeployment({ namespace: CLAIMED_NS })).items).toEqual([]);
    expect((await core.listNamespacedService({ namespace: CLAIMED_NS })).items).toEqual([]);
    const claimed = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: CLAIMED_NS, plural: 'deployments', name: 'claimed' })) as KubernetesObject & { status?: unknown };
    expect(claimed.status).toBeUndefined();
    expect(claimed.metadata?.finalizers ?? []).toEqual([]);
    const holds = await database.db.select().from(quotaHolds);
    expect(holds.filter((h) => h.holder.includes('claimed'))).toEqual([]);
    // The gateway: not A's, not anyone's.
    expect(gw.core.catalog.deployment(`${CLAIMED_NS}/claimed`)).toBeUndefined();
    expect(gw.core.catalog.resolve(`accounts/${A}/deployments/claimed`, A)).toBeUndefined();
    const res = await fetch(`${gw.url}/inference/v1/completions`, { method: 'POST', headers: { authorization: `Bearer ${tenants[A]!.keys.admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: `accounts/${A}/deployments/claimed`, prompt: 'x' }) });
    expect(res.status).toBe(404);
    // And the REST API never shows it as A's.
    const list = await call(tenants[A]!.keys.admin, 'GET', v1(A, 'deployments'));
    expect(JSON.stringify(list.body)).not.toContain('claimed');
  }, 60_000);

  it('bills nothing in it to the account it claims: a GPU pod there has no ledger row, while one in the account\'s own namespace does', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    meter = meteringRunnable({ informers, db: database.db, clock: realClock, log, intervalMs: 1000, flushIntervalMs: 500 });
    await meter.start();
    const uids: Record<string, string> = {};
    for (const namespace of [CLAIMED_NS, accountNamespace(A)]) {
      const created = await core.createNamespacedPod({ namespace, body: gpuPod(`meter-${suffix}`) });
      uids[namespace] = created.metadata!.uid!;
    }
    const dump = async (): Promise<unknown> => ({ meter: meter?.stats, rows: await database.db.select().from(usageLedger) });
    const rowsOf = (uid: string) => database.db.select().from(usageLedger).where(eq(usageLedger.replica, uid));
    await waitFor('ledger rows of the pod in A\'s own namespace', async () => (await rowsOf(uids[accountNamespace(A)]!)).length >= 2, { timeoutMs: 45_000, dump });
    expect((await rowsOf(uids[accountNamespace(A)]!))[0]).toMatchObject({ accountId: A });
    // The claimed pod runs as well (else this would prove nothing), and has for at least two intervals.
    await waitFor('the pod in the claiming namespace to be Ready', async () => (await core.readNamespacedPod({ namespace: CLAIMED_NS, name: `meter-${suffix}` })).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), { timeoutMs: 30_000, dump });
    await new Promise((r) => setTimeout(r, 2500));
    expect(await rowsOf(uids[CLAIMED_NS]!)).toEqual([]);
    const billedToA = await database.db.select().from(usageLedger).where(eq(usageLedger.accountId, A));
    expect(billedToA.filter((r) => r.replica === uids[CLAIMED_NS])).toEqual([]);
    for (const namespace of [CLAIMED_NS, accountNamespace(A)]) await core.deleteNamespacedPod({ namespace, name: `meter-${suffix}`, gracePeriodSeconds: 0 }).catch(() => undefined);
  }, 60_000);
});
