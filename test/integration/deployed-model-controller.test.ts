// The DeployedModel controller on the simulated cluster's real API server, with the REST facade and
// PostgreSQL, for what the LoRA e2e's deployment (enableAddons, 8 slots) does not reach: a hot-reload
// deployment (enableHotReloadLatestAddon alone: one slot) where `replaceMergedAddon` swaps the addon.
// The REST create makes the new DeployedModel while its predecessor — made with kubectl, naming the
// deployment by its bare id — still holds the one slot; REST then deletes the predecessor. The new
// one must end DEPLOYED at once (not FAILED until the resync), the old adapter unloaded, one `loras`
// unit held.
//
// No pods: the Deployment object is not reconciled (no Deployment controller runs); an EndpointSlice
// written here stands for its one Ready replica, dialled at a model-server fixture on loopback (as
// bench/lora.ts does). The DeployedModel controller is scoped to this run's namespace.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCrds } from '../../hack/lib/crds.js';
import { buildApp } from '../../src/api/app.js';
import { KubeKindClients } from '../../src/api/kube/kind-client.js';
import { NamespaceEnsurer } from '../../src/api/kube/namespaces.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { deployedModelController } from '../../src/controllers/deployed-model/controller.js';
import { KubeClients } from '../../src/controllers/runtime/index.js';
import type { Controller } from '../../src/controllers/runtime/controller.js';
import type { DeployedModel } from '../../src/crds/deployed-model.js';
import { GROUP, LABELS, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { createModel } from '../../src/db/repositories/models.js';
import { LORAS_QUOTA, getQuota } from '../../src/db/repositories/quotas.js';
import { InformerFactory } from '../../src/kube/informer-factory.js';
import { createLogger } from '../../src/log.js';
import { realClock } from '../../src/util/clock.js';
import { startModelServerFixture, type ModelServerFixture } from '../fixtures/model-server/index.js';
import { callApi } from '../support/api.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { testKubeConfig } from '../support/env.js';
import { TEST_SEAL } from '../support/tenancy.js';
import { waitFor } from '../support/wait.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `dmc-${suffix}`;
const NS = `acct-${ACCOUNT}`;
const DEP = 'hot';
const ADDRESS = '10.251.0.1';
const PORT = 8000;
const dbName = `hearth_t_dmc_${suffix}`;
const modelName = (id: string) => `accounts/${ACCOUNT}/models/${id}`;

const kc = testKubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);
const log = createLogger({ level: (process.env.HEARTH_TEST_LOG as 'warn' | undefined) ?? 'warn' });
const dmTarget = { group: GROUP, version: VERSION, namespace: NS, plural: 'deployedmodels' };

let database: Database;
let app: FastifyInstance;
let kinds: KubeKindClients;
let informers: InformerFactory;
let controller: Controller<DeployedModel>;
let fixture: ModelServerFixture;
let apiKey = '';

const rest = (method: string, path: string, body?: unknown) => callApi(app, method, `/v1/accounts/${ACCOUNT}${path}`, apiKey, body);
const getDm = async (name: string): Promise<DeployedModel | undefined> =>
  ((await custom.getNamespacedCustomObject({ ...dmTarget, name }).catch(() => undefined)) as DeployedModel | undefined);
const lorasUsage = async (): Promise<number> => (await getQuota(database.db, ACCOUNT, LORAS_QUOTA))?.usage ?? 0;
const dump = async (): Promise<unknown> => ({
  deployedModels: ((await custom.listNamespacedCustomObject(dmTarget)) as { items: DeployedModel[] }).items.map((d) => ({ name: d.metadata.name, spec: d.spec, status: d.status, deleting: d.metadata.deletionTimestamp })),
  loaded: [...fixture.adapters().keys()],
  loras: await lorasUsage(),
});

beforeAll(async () => {
  await installCrds(kc, 'hearth-dmc-test');
  database = await createScratchDatabase(dbName, { maxConnections: 8 });
  apiKey = (await bootstrap(database.db, { accountId: ACCOUNT, email: `admin@${ACCOUNT}.example` })).apiKey!.key;
  for (const id of ['first-lora', 'second-lora']) {
    await createModel(database.db, { accountId: ACCOUNT, modelId: id, kind: 'HF_PEFT_ADDON', state: 'READY', spec: { peftDetails: { baseModel: BASE, r: 8 } } });
  }
  await new NamespaceEnsurer(kc, { seal: TEST_SEAL }).ensure(ACCOUNT);
  fixture = await startModelServerFixture({ model: BASE });

  const clients = new KubeClients(kc, { qps: 50, burst: 100 }, realClock);
  informers = new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log, backoff: { initialMs: 200, maxMs: 2000 } });
  kinds = new KubeKindClients({ clients, informers }, { log });
  await kinds.start();
  app = await buildApp({ db: database.db, deployments: kinds.deployments, kinds: kinds.others, ensureNamespace: (a) => new NamespaceEnsurer(kc, { seal: TEST_SEAL }).ensure(a), logger: log, rateLimit: false });
  // A long poll: every load below must come from a watch event, not from re-reading the replica.
  controller = deployedModelController({
    clients,
    informers,
    db: database.db,
    clock: realClock,
    log,
    namespace: NS,
    pollMs: 600_000,
    dial: (address, port) => (address === ADDRESS && port === PORT ? { host: '127.0.0.1', port: fixture.port } : { host: '127.0.0.1', port: 1 }),
  });
  informers.start();
  await controller.start();

  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: NS,
    plural: 'deployments',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', metadata: { name: DEP }, spec: { baseModel: BASE, acceleratorType: 'AMD_MI300X_192GB', acceleratorCount: 1, replicaCount: 1, enableHotReloadLatestAddon: true } },
  });
  await kc.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
    namespace: NS,
    body: {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${DEP}-replicas`, labels: { [LABELS.deployment]: DEP } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: PORT, protocol: 'TCP' }],
      endpoints: [{ addresses: [ADDRESS], conditions: { ready: true }, targetRef: { kind: 'Pod', name: `${DEP}-0`, namespace: NS, uid: `uid-${suffix}` } }],
    },
  });
}, 120_000);

afterAll(async () => {
  await controller?.stop(5000);
  await app?.close();
  await kinds?.stop();
  await informers?.stop();
  await fixture?.close();
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  for (const plural of ['deployments', 'deployedmodels']) {
    const list = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural }).catch(() => ({ items: [] }))) as { items: DeployedModel[] };
    for (const o of list.items) {
      await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural, name: o.metadata.name ?? '', body: { metadata: { finalizers: null } } }, merge).catch(() => undefined);
    }
  }
  await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: NS }).catch(() => undefined);
  await database?.close();
  await dropScratchDatabase(dbName).catch(() => undefined);
}, 60_000);

describe('DeployedModel controller: replaceMergedAddon on a hot-reload deployment (one slot)', () => {
  let replacement = '';
  it('a kubectl-made addon is replaced: the new one DEPLOYED at once, the old one unloaded and gone, one loras unit held', async () => {
    // The first addon, made with kubectl (the deployment by its bare id).
    await custom.createNamespacedCustomObject({ ...dmTarget, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'DeployedModel', metadata: { name: 'applied' }, spec: { model: modelName('first-lora'), deployment: DEP } } });
    await waitFor('the kubectl-made addon DEPLOYED', async () => (await getDm('applied'))?.status?.state === 'DEPLOYED' && fixture.adapters().has(modelName('first-lora')), { timeoutMs: 30_000, dump });
    expect(await lorasUsage()).toBe(1);
    await waitFor('the API cache to have both objects', async () => (await rest('GET', `/deployments/${DEP}`)).status === 200 && (await rest('GET', '/deployedModels/applied')).status === 200, { timeoutMs: 20_000, dump });

    // Without replaceMergedAddon: the hot-reload deployment requires it.
    const refused = await rest('POST', '/deployedModels', { model: modelName('second-lora'), deployment: `accounts/${ACCOUNT}/deployments/${DEP}` });
    expect(refused.status).toBe(400);
    expect(String(refused.body.message)).toContain('replaceMergedAddon');

    const created = await rest('POST', '/deployedModels?replaceMergedAddon=true', { model: modelName('second-lora'), deployment: `accounts/${ACCOUNT}/deployments/${DEP}` });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const id = String(created.body.name).split('/').pop()!;

    // Well within the resync (10 min) and the poll (10 min here): the freed slot woke it.
    await waitFor(
      'the new addon DEPLOYED, the old one gone and unloaded',
      async () => (await getDm(id))?.status?.state === 'DEPLOYED' && (await getDm('applied')) === undefined && !fixture.adapters().has(modelName('first-lora')),
      { timeoutMs: 30_000, dump },
    );
    expect([...fixture.adapters().keys()]).toEqual([modelName('second-lora')]);
    expect(await lorasUsage()).toBe(1);
    expect((await rest('GET', `/deployedModels/${id}`)).body).toMatchObject({ state: 'DEPLOYED' });
    replacement = id;
  }, 90_000);

  it('one more addon made with kubectl: FAILED (no slot), holding no loras unit; the slot freed by a delete, it loads at once', async () => {
    await custom.createNamespacedCustomObject({ ...dmTarget, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'DeployedModel', metadata: { name: 'waiting' }, spec: { model: modelName('first-lora'), deployment: DEP } } });
    const failed = await waitFor('the extra addon FAILED', async () => {
      const d = await getDm('waiting');
      return d?.status?.state === 'FAILED' ? d : undefined;
    }, { timeoutMs: 30_000, dump });
    expect(failed.status?.status).toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
    expect(failed.status?.status?.message).toContain('--max-loras');
    expect(await lorasUsage()).toBe(1);

    expect((await rest('DELETE', `/deployedModels/${replacement}`)).status).toBe(200);
    // Resync and poll are 10 minutes away: only the deletion's event can wake it.
    await waitFor('the waiting addon DEPLOYED', async () => (await getDm('waiting'))?.status?.state === 'DEPLOYED' && fixture.adapters().has(modelName('first-lora')), { timeoutMs: 30_000, dump });
    await waitFor('the replaced one unloaded', async () => !fixture.adapters().has(modelName('second-lora')), { timeoutMs: 30_000, dump });
    expect(await lorasUsage()).toBe(1);
  }, 90_000);
});
