// Models (PostgreSQL) and deployedModels (custom resources) through REST against the real (simulated)
// cluster and a real PostgreSQL: a model, a deployment and a deployedModel made over REST; the
// DeployedModel object in the account's namespace in the shape the gateway reads; get and list
// (the list from the watch-fed cache); the model's deployedModelRefs; references to missing or
// foreign deployments and models; another account 404; the `loras` quota (429 naming it, never
// oversubscribed under concurrent creates, released on delete); replaceMergedAddon.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCrds } from '../../hack/lib/crds.js';
import { buildApp } from '../../src/api/app.js';
import { createLogger } from '../../src/log.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { KubeKindClients } from '../../src/api/kube/kind-client.js';
import { NamespaceEnsurer, accountNamespace } from '../../src/api/kube/namespaces.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import { Catalog, type ObjectLike } from '../../src/gateway/catalog.js';
import type { Database } from '../../src/db/client.js';
import { updateModel } from '../../src/db/repositories/models.js';
import { loadKubeConfig, type PooledKubeConfig } from '../../src/kube/config.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { callApi } from '../support/api.js';
import { kubeconfigPath } from '../support/env.js';
import { kubeAccess } from '../support/kube.js';
import { waitFor } from '../support/wait.js';
import { TEST_SEAL } from '../support/tenancy.js';

const suffix = randomBytes(3).toString('hex');
const ACME = `api-models-acme-${suffix}`;
const GLOBEX = `api-models-globex-${suffix}`;
const dbName = `hearth_t_api_models_${suffix}`;
const BASE_MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const OTHER_BASE = 'accounts/fireworks/models/qwen2p5-7b-instruct';

let kc: PooledKubeConfig;
let database: Database;
let kinds: KubeKindClients;
let app: FastifyInstance;
const keys: Record<string, string> = {};

interface Res {
  status: number;
  body: Record<string, unknown>;
}

async function call(method: string, url: string, account: string, payload?: unknown): Promise<Res> {
  return callApi(app, method, url, keys[account], payload);
}

const A = (account: string) => `/v1/accounts/${account}`;
const DM = (account: string, id = '') => `${A(account)}/deployedModels${id ? `/${id}` : ''}`;
const modelName = (account: string, id: string) => `accounts/${account}/models/${id}`;
const deploymentName = (account: string, id: string) => `accounts/${account}/deployments/${id}`;
const idOf = (name: unknown) => String(name).split('/').pop()!;
const lora = (modelId: string, baseModel = BASE_MODEL) => ({ modelId, model: { displayName: modelId, peftDetails: { baseModel, r: 8, targetModules: ['q_proj', 'v_proj'] } } });

async function clusterObjects(account: string): Promise<{ metadata: { name: string; labels?: Record<string, string> }; spec: Record<string, unknown> }[]> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const list = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: accountNamespace(account), plural: 'deployedmodels' })) as {
    items: { metadata: { name: string; labels?: Record<string, string> }; spec: Record<string, unknown> }[];
  };
  return list.items;
}

async function dump(account: string): Promise<unknown> {
  return {
    cached: kinds.others.deployedModels.list(accountNamespace(account)).map((o) => ({ name: o.metadata.name, spec: o.spec })),
    cluster: (await clusterObjects(account)).map((o) => ({ name: o.metadata.name, spec: o.spec })),
    quota: (await call('GET', `${A(account)}/quotas/loras`, account)).body,
  };
}

async function lorasUsage(account: string): Promise<unknown> {
  return (await call('GET', `${A(account)}/quotas/loras`, account)).body.usage;
}

beforeAll(async () => {
  kc = loadKubeConfig(kubeconfigPath());
  await installCrds(kc, 'hearth-crds-test');
  database = await createScratchDatabase(dbName);
  const namespaces = new NamespaceEnsurer(kc, { seal: TEST_SEAL });
  for (const a of [ACME, GLOBEX]) {
    keys[a] = (await bootstrap(database.db, { accountId: a, email: `admin@${a}.example` })).apiKey!.key;
    await namespaces.ensure(a);
  }
  const log = createLogger({ level: 'silent' });
  kinds = new KubeKindClients(kubeAccess(kc, { log }), { log });
  await kinds.start();
  app = await buildApp({ db: database.db, deployments: kinds.deployments, kinds: kinds.others, ensureNamespace: (a) => namespaces.ensure(a), logger: log, rateLimit: false });
  // Each account: a LoRA model and a deployment of its base model that accepts addons.
  for (const a of [ACME, GLOBEX]) {
    const m = await call('POST', `${A(a)}/models`, a, lora('support-lora'));
    if (m.status !== 200) throw new Error(`model: ${JSON.stringify(m.body)}`);
    // Only a READY adapter can be loaded (issue 12). TODO(issue 12 items 1-2): upload its files
    // through :getUploadEndpoint and :validateUpload once the artifact store is on main.
    await updateModel(database.db, a, 'support-lora', { state: 'READY' });
    const d = await call('POST', `${A(a)}/deployments?deploymentId=base`, a, { baseModel: BASE_MODEL, enableAddons: true, minReplicaCount: 0, maxReplicaCount: 1 });
    if (d.status !== 200) throw new Error(`deployment: ${JSON.stringify(d.body)}`);
  }
}, 120_000);

afterAll(async () => {
  await app?.close();
  await kinds?.stop();
  const core = kc.makeApiClient(CoreV1Api);
  for (const a of [ACME, GLOBEX]) await core.deleteNamespace({ name: accountNamespace(a) }).catch(() => undefined);
  await database?.close();
  await dropScratchDatabase(dbName).catch(() => undefined);
  kc?.destroy();
});

describe('deployedModels through REST', () => {
  let first = '';

  it('loads a LoRA: the object is in the account namespace in the gateway’s shape, visible through get and list at once', async () => {
    const created = await call('POST', DM(ACME), ACME, {
      model: modelName(ACME, 'support-lora'),
      deployment: deploymentName(ACME, 'base'),
      displayName: 'Support',
      state: 'DEPLOYED', // output only: ignored
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toMatchObject({
      model: modelName(ACME, 'support-lora'),
      deployment: deploymentName(ACME, 'base'),
      displayName: 'Support',
      default: true, // the first deployment of a model is its default
      state: 'DEPLOYING',
    });
    expect(created.body.name).toMatch(new RegExp(`^accounts/${ACME}/deployedModels/[a-z][a-z0-9]{11}$`));
    expect(created.body.createTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    first = idOf(created.body.name);

    const objects = await clusterObjects(ACME);
    expect(objects.map((o) => o.metadata.name)).toEqual([first]);
    expect(objects[0]).toMatchObject({
      metadata: { labels: { 'hearth.dev/account': ACME } },
      spec: { model: modelName(ACME, 'support-lora'), deployment: deploymentName(ACME, 'base'), default: true, displayName: 'Support' },
    });

    expect((await call('GET', DM(ACME, first), ACME)).body).toEqual(created.body);
    const listed = await call('GET', DM(ACME), ACME);
    expect(listed.body).toMatchObject({ totalSize: 1, deployedModels: [{ name: created.body.name }] });
    expect((await call('GET', `${DM(ACME, first)}?readMask=name,state`, ACME)).body).toEqual({ name: created.body.name, state: 'DEPLOYING' });
    expect(await lorasUsage(ACME)).toBe(1);

    // The gateway routes the model to the base deployment from exactly these objects.
    const catalog = new Catalog();
    catalog.upsertNamespace(await kc.makeApiClient(CoreV1Api).readNamespace({ name: accountNamespace(ACME) }));
    const custom = kc.makeApiClient(CustomObjectsApi);
    catalog.upsertDeployment((await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: accountNamespace(ACME), plural: 'deployments', name: 'base' })) as ObjectLike);
    catalog.upsertDeployedModel(objects[0] as ObjectLike);
    expect(catalog.resolve(modelName(ACME, 'support-lora'), ACME)).toMatchObject({ key: `${accountNamespace(ACME)}/base`, upstreamModel: modelName(ACME, 'support-lora') });
    expect(catalog.resolve(`accounts/${ACME}/deployedModels/${first}`, ACME)).toMatchObject({ key: `${accountNamespace(ACME)}/base` });
    expect(catalog.resolve(modelName(ACME, 'support-lora'), GLOBEX)).toBeUndefined();

    const model = await call('GET', `${A(ACME)}/models/support-lora`, ACME);
    // READY: only a READY adapter can be loaded (issue 12); the setup marks it so.
    expect(model.body).toMatchObject({ state: 'READY', deployedModelRefs: [{ name: created.body.name, deployment: deploymentName(ACME, 'base'), state: 'DEPLOYING', default: true }] });
  });

  it('keeps one default per model; PATCH derives the mask from the body and keeps model and deployment immutable', async () => {
    const second = await call('POST', DM(ACME), ACME, { model: modelName(ACME, 'support-lora'), deployment: deploymentName(ACME, 'base'), public: true });
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body).toMatchObject({ public: true, default: false }); // not the model's first deployment
    const id = idOf(second.body.name);

    const made = await call('PATCH', DM(ACME, id), ACME, { default: true, description: 'canary', updateTime: 'ignored' });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    expect(made.body).toMatchObject({ default: true, description: 'canary', public: true });
    expect((await call('GET', DM(ACME, first), ACME)).body).toMatchObject({ default: false });

    const immutable = await call('PATCH', DM(ACME, id), ACME, { model: modelName(ACME, 'other') });
    expect(immutable.status).toBe(400);
    expect(immutable.body.message).toContain('model is immutable');
    expect((await call('PATCH', `${DM(ACME, id)}?updateMask=description`, ACME, {})).body).not.toHaveProperty('description');
    expect((await call('PATCH', DM(ACME, id), ACME, { serverless: true })).status).toBe(400);

    // The docs: the default cannot be deleted while another deployed model of the model is not one.
    const refused = await call('DELETE', DM(ACME, id), ACME);
    expect(refused.status).toBe(400);
    expect(refused.body.message).toContain(`default: "${DM(ACME, id).replace(/^\/v1\//, '')}" is the default deployed model`);
    expect((await call('PATCH', DM(ACME, first), ACME, { default: true })).status).toBe(200);
    expect(await call('DELETE', DM(ACME, id), ACME)).toEqual({ status: 200, body: {} });
    expect((await call('GET', DM(ACME, id), ACME)).status).toBe(404);
    expect((await clusterObjects(ACME)).map((o) => o.metadata.name)).toEqual([first]);
    expect(await lorasUsage(ACME)).toBe(1);
    expect((await call('DELETE', DM(ACME, id), ACME)).status).toBe(404);
  });

  it('lists objects made with kubectl too (the cache is fed by the watch), with filter and orderBy', async () => {
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: accountNamespace(ACME),
      plural: 'deployedmodels',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'DeployedModel', metadata: { name: 'from-kubectl' }, spec: { model: 'accounts/fireworks/models/some-lora', deployment: 'base' } },
    });
    await waitFor('the kubectl-made deployedModel in the REST list', async () => {
      const r = await call('GET', `${DM(ACME)}?filter=${encodeURIComponent('model = "accounts/fireworks/models/some-lora"')}`, ACME);
      return r.body.totalSize === 1;
    }, { timeoutMs: 15_000, dump: () => dump(ACME) });
    const desc = await call('GET', `${DM(ACME)}?orderBy=name%20desc`, ACME);
    const names = (desc.body.deployedModels as { name: string }[]).map((d) => d.name);
    expect(names).toEqual([...names].sort().reverse());
    expect(names).toContain(`accounts/${ACME}/deployedModels/from-kubectl`);
    await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: accountNamespace(ACME), plural: 'deployedmodels', name: 'from-kubectl' });
    await waitFor('the kubectl-deleted deployedModel gone from the REST list', async () => (await call('GET', DM(ACME, 'from-kubectl'), ACME)).status === 404 && (await call('GET', DM(ACME), ACME)).body.totalSize === 1, {
      timeoutMs: 15_000,
      dump: () => dump(ACME),
    });
  });

  it('checks references: missing or foreign deployments and models are NOT_FOUND; shared models are taken by name', async () => {
    const base = { model: modelName(ACME, 'support-lora'), deployment: deploymentName(ACME, 'base') };
    const missingDep = await call('POST', DM(ACME), ACME, { ...base, deployment: deploymentName(ACME, 'nope') });
    expect(missingDep.status).toBe(404);
    expect(missingDep.body).toMatchObject({ code: 5, message: `deployment "${deploymentName(ACME, 'nope')}" not found` });
    const foreignDep = await call('POST', DM(ACME), ACME, { ...base, deployment: deploymentName(GLOBEX, 'base') });
    expect(foreignDep.status).toBe(404);
    expect(foreignDep.body.message).toBe(`deployment "${deploymentName(GLOBEX, 'base')}" not found`);
    // Issue 16 item 2: the spec's bare id is the caller's deployment (stored as the full name);
    // this create is undone at once so the counts below are unchanged.
    const bare = await call('POST', DM(ACME), ACME, { ...base, deployment: 'base' });
    expect(bare.status, JSON.stringify(bare.body)).toBe(200);
    expect(bare.body.deployment).toBe(deploymentName(ACME, 'base'));
    expect((await call('DELETE', DM(ACME, String(bare.body.name).split('/').pop()), ACME)).status).toBe(200);
    expect((await call('POST', DM(ACME), ACME, { ...base, deployment: 'accounts/acme/deployedModels/base' })).status).toBe(400);

    const missingModel = await call('POST', DM(ACME), ACME, { ...base, model: modelName(ACME, 'nope') });
    expect(missingModel.status).toBe(404);
    expect(missingModel.body.message).toBe(`model "${modelName(ACME, 'nope')}" not found`);
    const foreignModel = await call('POST', DM(ACME), ACME, { ...base, model: modelName(GLOBEX, 'support-lora') });
    expect(foreignModel.status).toBe(404);
    expect(foreignModel.body.message).toBe(`model "${modelName(GLOBEX, 'support-lora')}" not found`);

    // FAILED_PRECONDITION (400, code 9): an addon of another base model; a base model; a deployment without addons.
    expect((await call('POST', `${A(ACME)}/models`, ACME, lora('qwen-lora', OTHER_BASE))).status).toBe(200);
    const mismatch = await call('POST', DM(ACME), ACME, { ...base, model: modelName(ACME, 'qwen-lora') });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body).toMatchObject({ code: 9 });
    expect(mismatch.body.message).toContain(OTHER_BASE);
    expect((await call('POST', `${A(ACME)}/models`, ACME, { modelId: 'a-base', model: { kind: 'HF_BASE_MODEL', baseModelDetails: {} } })).status).toBe(200);
    expect((await call('POST', DM(ACME), ACME, { ...base, model: modelName(ACME, 'a-base') })).body).toMatchObject({ code: 9 });
    expect((await call('POST', `${A(ACME)}/deployments?deploymentId=plain`, ACME, { baseModel: BASE_MODEL })).status).toBe(200);
    const plain = await call('POST', DM(ACME), ACME, { ...base, deployment: deploymentName(ACME, 'plain') });
    expect(plain.body).toMatchObject({ code: 9 });
    expect(plain.body.message).toContain('enableAddons');

    // A shared base model is no adapter: loading it would make this account a route for its traffic (issue 15 item 1).
    const shared = await call('POST', DM(ACME), ACME, { ...base, model: 'accounts/fireworks/models/some-lora' });
    expect(shared.body).toMatchObject({ code: 9 });
    expect(shared.body.message).toContain('is a shared base model, not an adapter model');
    expect(await lorasUsage(ACME)).toBe(1);
  });

  it('answers another account with 404, never data', async () => {
    for (const [m, u, p] of [
      ['GET', DM(ACME, first), undefined],
      ['PATCH', DM(ACME, first), { displayName: 'x' }],
      ['DELETE', DM(ACME, first), undefined],
      ['GET', DM(ACME), undefined],
      ['POST', DM(ACME), { model: modelName(ACME, 'support-lora'), deployment: deploymentName(ACME, 'base') }],
      ['GET', `${A(ACME)}/models/support-lora`, undefined],
    ] as const) {
      const r = await call(m, u, GLOBEX, p);
      expect(r.status, `${m} ${u}`).toBe(404);
      expect(JSON.stringify(r.body)).not.toContain('Support');
    }
    // Globex's own list does not show acme's objects, and acme's one is still there.
    expect((await call('GET', DM(GLOBEX), GLOBEX)).body.totalSize).toBe(0);
    expect((await call('GET', DM(ACME, first), ACME)).status).toBe(200);
  });

  it('refuses to delete a model that is loaded, and deletes it once unloaded', async () => {
    const busy = await call('DELETE', `${A(ACME)}/models/support-lora`, ACME);
    expect(busy.status).toBe(400);
    expect(busy.body).toMatchObject({ code: 9 });
    expect(busy.body.message).toContain(`accounts/${ACME}/deployedModels/${first}`);
    expect((await call('DELETE', DM(ACME, first), ACME)).status).toBe(200);
    expect(await lorasUsage(ACME)).toBe(0);
    expect((await call('DELETE', `${A(ACME)}/models/support-lora`, ACME)).status).toBe(200);
  });
});

describe('the loras quota', () => {
  it('answers 429 RESOURCE_EXHAUSTED naming the quota, never oversubscribes under concurrent creates, and delete releases', async () => {
    const body = { model: modelName(GLOBEX, 'support-lora'), deployment: deploymentName(GLOBEX, 'base') };
    expect((await call('PATCH', `${A(GLOBEX)}/quotas/loras`, GLOBEX, { value: '3' })).body).toMatchObject({ value: '3', usage: 0 });

    const results = await Promise.all(Array.from({ length: 12 }, () => call('POST', DM(GLOBEX), GLOBEX, body)));
    const codes = results.map((r) => r.status);
    expect(codes.filter((c) => c === 200), JSON.stringify(results.filter((r) => r.status !== 429).map((r) => r.body))).toHaveLength(3);
    expect(codes.filter((c) => c === 429)).toHaveLength(9);
    const refused = results.find((r) => r.status === 429)!;
    expect(refused.body).toMatchObject({ code: 8 });
    expect(refused.body.message).toContain(`accounts/${GLOBEX}/quotas/loras`);
    expect(await lorasUsage(GLOBEX)).toBe(3);
    expect(await clusterObjects(GLOBEX)).toHaveLength(3);
    expect((await call('GET', DM(GLOBEX), GLOBEX)).body.totalSize).toBe(3);

    const loaded = results.filter((r) => r.status === 200).map((r) => idOf(r.body.name));
    // A non-default one (the default of a model others serve cannot be deleted first; the docs).
    const defaults = await Promise.all(loaded.map(async (id) => ({ id, isDefault: (await call('GET', DM(GLOBEX, id), GLOBEX)).body.default === true })));
    const victim = defaults.find((x) => !x.isDefault)?.id ?? loaded[0]!;
    expect((await call('DELETE', DM(GLOBEX, victim), GLOBEX)).status).toBe(200);
    expect(await lorasUsage(GLOBEX)).toBe(2);
    const again = await call('POST', DM(GLOBEX), GLOBEX, body);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect((await call('POST', DM(GLOBEX), GLOBEX, body)).status).toBe(429);
  });

  it('replaceMergedAddon: a hot-reload deployment requires it, and the new addon unloads the others (their quota released)', async () => {
    expect((await call('PATCH', `${A(GLOBEX)}/quotas/loras`, GLOBEX, { value: '100' })).status).toBe(200);
    expect((await call('POST', `${A(GLOBEX)}/deployments?deploymentId=hot`, GLOBEX, { baseModel: BASE_MODEL, enableHotReloadLatestAddon: true })).status).toBe(200);
    const body = { model: modelName(GLOBEX, 'support-lora'), deployment: deploymentName(GLOBEX, 'hot') };
    const without = await call('POST', DM(GLOBEX), GLOBEX, body);
    expect(without.status).toBe(400);
    expect(without.body.message).toContain('replaceMergedAddon');
    const one = await call('POST', `${DM(GLOBEX)}?replaceMergedAddon=true`, GLOBEX, body);
    expect(one.status, JSON.stringify(one.body)).toBe(200);
    const before = (await lorasUsage(GLOBEX)) as number;
    const two = await call('POST', `${DM(GLOBEX)}?replaceMergedAddon=true`, GLOBEX, body);
    expect(two.status, JSON.stringify(two.body)).toBe(200);
    expect((await call('GET', DM(GLOBEX, idOf(one.body.name)), GLOBEX)).status).toBe(404);
    expect(await lorasUsage(GLOBEX)).toBe(before);
    const onHot = (await clusterObjects(GLOBEX)).filter((o) => o.spec.deployment === deploymentName(GLOBEX, 'hot'));
    expect(onHot.map((o) => o.metadata.name)).toEqual([idOf(two.body.name)]);
  });

  it('a hard-deleted deployment unloads its LoRAs and gives their quota back; a soft delete keeps them', async () => {
    expect((await call('POST', `${A(GLOBEX)}/deployments?deploymentId=gone`, GLOBEX, { baseModel: BASE_MODEL, enableAddons: true, minReplicaCount: 0 })).status).toBe(200);
    const body = { model: modelName(GLOBEX, 'support-lora'), deployment: deploymentName(GLOBEX, 'gone') };
    const made = await Promise.all([call('POST', DM(GLOBEX), GLOBEX, body), call('POST', DM(GLOBEX), GLOBEX, body)]);
    for (const m of made) expect(m.status, JSON.stringify(m.body)).toBe(200);
    const before = (await lorasUsage(GLOBEX)) as number;
    const onGone = async () => (await clusterObjects(GLOBEX)).filter((o) => o.spec.deployment === deploymentName(GLOBEX, 'gone')).length;

    expect((await call('DELETE', `${A(GLOBEX)}/deployments/gone`, GLOBEX)).status).toBe(200);
    expect(await onGone()).toBe(2);
    expect(await lorasUsage(GLOBEX)).toBe(before);

    expect((await call('DELETE', `${A(GLOBEX)}/deployments/gone?hard=true`, GLOBEX)).status).toBe(200);
    expect(await onGone()).toBe(0);
    expect(await lorasUsage(GLOBEX)).toBe(before - 2);
    for (const m of made) expect((await call('GET', DM(GLOBEX, idOf(m.body.name)), GLOBEX)).status).toBe(404);
  });
});
