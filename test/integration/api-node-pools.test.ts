// The REST facade's node pools, environments and node pool bindings against the real (simulated)
// cluster and a real PostgreSQL: a node pool created through REST is a NodePool object in the
// account's namespace, read back through get/list (the list from the watch-fed cache) and
// :getStats; an environment connects (spec.connection on the object), a second connect answers
// FAILED_PRECONDITION, it disconnects; bindings are created, listed and deleted in PostgreSQL;
// :batchDelete checks every name before deleting; another account gets 404 and never data.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCrds } from '../../hack/lib/crds.js';
import { buildApp } from '../../src/api/app.js';
import { createLogger } from '../../src/log.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { NamespaceEnsurer, accountNamespace } from '../../src/api/kube/namespaces.js';
import { KubeKindClients } from '../../src/api/kube/kind-client.js';
import { ENV_ANNOTATIONS } from '../../src/api/mappers/environment.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { loadKubeConfig, type PooledKubeConfig } from '../../src/kube/config.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { callApi } from '../support/api.js';
import { kubeconfigPath } from '../support/env.js';
import { kubeAccess } from '../support/kube.js';
import { waitFor } from '../support/wait.js';
import { TEST_SEAL } from '../support/tenancy.js';

const suffix = randomBytes(3).toString('hex');
const ACME = `np-acme-${suffix}`;
const GLOBEX = `np-globex-${suffix}`;
const dbName = `hearth_t_api_node_pools_${suffix}`;

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

const v1 = (account: string, rest: string) => `/v1/accounts/${account}/${rest}`;
const poolName = (account: string, id: string) => `accounts/${account}/clusters/default/nodePools/${id}`;
const envName = (account: string, id: string) => `accounts/${account}/clusters/default/environments/${id}`;

async function clusterObject(plural: string, account: string, name: string): Promise<Record<string, unknown> | undefined> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  try {
    return (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: accountNamespace(account), plural, name })) as Record<string, unknown>;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}

async function dump(account: string): Promise<unknown> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const ns = accountNamespace(account);
  const out: Record<string, unknown> = {};
  for (const plural of ['nodepools', 'environments']) {
    const list = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural })) as { items: { metadata: { name: string }; spec: unknown }[] };
    out[plural] = list.items.map((o) => ({ name: o.metadata.name, spec: o.spec }));
  }
  out.cachedPools = kinds.others.nodePools.list(ns).map((o) => o.metadata.name);
  out.cachedEnvironments = kinds.others.environments.list(ns).map((o) => o.metadata.name);
  return out;
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
  expect((await call('POST', v1(ACME, 'users'), ACME, { role: 'user', email: `bob@${ACME}.example` })).status).toBe(200);
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

describe('node pools, environments and bindings through REST', () => {
  it('creates a node pool from the {nodePool, nodePoolId} wrapper: an object in the namespace, read through get, list and getStats', async () => {
    const created = await call('POST', v1(ACME, 'nodePools'), ACME, {
      nodePoolId: 'gpu',
      nodePool: { displayName: 'H100s', minNodeCount: 0, maxNodeCount: 2, fakeNodePool: { numNodes: 1, acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 8, region: 'US_VIRGINIA_2' }, state: 'READY' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toMatchObject({ name: poolName(ACME, 'gpu'), displayName: 'H100s', maxNodeCount: 2, overprovisionNodeCount: 0, state: 'CREATING' });
    expect(created.body.createTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await clusterObject('nodepools', ACME, 'gpu')).toMatchObject({
      metadata: { name: 'gpu', namespace: accountNamespace(ACME), labels: { 'hearth.dev/account': ACME } },
      spec: { displayName: 'H100s', maxNodeCount: 2, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB' } },
    });
    expect((await call('POST', v1(ACME, 'nodePools'), ACME, { nodePoolId: 'gpu', nodePool: { fakeNodePool: {} } })).status).toBe(409);
    const bad = await call('POST', v1(ACME, 'nodePools'), ACME, { nodePoolId: 'bad', nodePool: { fakeNodePool: {}, eksNodePool: { instanceType: 'p5.48xlarge' } } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('exactly one of eksNodePool or fakeNodePool');

    expect((await call('GET', `${v1(ACME, 'nodePools/gpu')}?readMask=name,state`, ACME)).body).toEqual({ name: poolName(ACME, 'gpu'), state: 'CREATING' });
    const list = await call('GET', v1(ACME, 'nodePools'), ACME);
    expect(list.body).toMatchObject({ nodePools: [{ name: poolName(ACME, 'gpu') }], totalSize: 1 });
    const stats = await call('GET', v1(ACME, 'nodePools/gpu:getStats'), ACME);
    expect(stats).toEqual({ status: 200, body: { nodeCount: 0, ranksPerNode: 8, environmentCount: 0, environmentRanks: 0 } });

    const patched = await call('PATCH', v1(ACME, 'nodePools/gpu'), ACME, { maxNodeCount: 3 });
    expect(patched.body).toMatchObject({ maxNodeCount: 3, displayName: 'H100s' });
  });

  it('lists a node pool created with kubectl-style writes once the watch delivers it', async () => {
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: accountNamespace(ACME),
      plural: 'nodepools',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'NodePool', metadata: { name: 'cpu' }, spec: { fakeNodePool: { numNodes: 1 } } },
    });
    await waitFor(
      'the cpu pool in the REST list',
      async () => ((await call('GET', v1(ACME, 'nodePools'), ACME)).body.nodePools as { name: string }[]).some((p) => p.name === poolName(ACME, 'cpu')),
      { timeoutMs: 15_000, dump: () => dump(ACME) },
    );
  });

  it('creates, connects (spec.connection), refuses a second connect, counts it in the stats, disconnects', async () => {
    const env = await call('POST', v1(ACME, 'environments'), ACME, { environmentId: 'dev', environment: { displayName: 'Dev', baseImageRef: 'ghcr.io/acme/dev:1' } });
    expect(env.status, JSON.stringify(env.body)).toBe(200);
    expect(env.body).toMatchObject({ name: envName(ACME, 'dev'), state: 'CREATING', createdBy: `admin@${ACME}.example` });

    expect((await call('POST', v1(ACME, 'environments/dev:connect'), ACME, { connection: { nodePoolId: 'nope' } })).status).toBe(404);
    const connect = await call('POST', v1(ACME, 'environments/dev:connect'), ACME, { connection: { nodePoolId: 'gpu', numRanks: 2 }, vscodeVersion: '1.96.0' });
    expect(connect).toEqual({ status: 200, body: {} });
    expect(await clusterObject('environments', ACME, 'dev')).toMatchObject({
      metadata: { annotations: { [ENV_ANNOTATIONS.vscodeVersion]: '1.96.0' } },
      spec: { connection: { nodePoolId: 'gpu', numRanks: 2 } },
    });
    expect((await call('GET', v1(ACME, 'environments/dev'), ACME)).body).toMatchObject({ connection: { nodePoolId: 'gpu', numRanks: 2 } });

    const again = await call('POST', v1(ACME, 'environments/dev:connect'), ACME, { connection: { nodePoolId: 'gpu' } });
    expect(again.status).toBe(400);
    expect(again.body.code).toBe(9);
    expect(again.body.message).toContain('already has a connection');

    const stats = await call('GET', `${v1(ACME, 'nodePools/gpu:getStats')}?readMask=environmentCount,environmentRanks`, ACME);
    expect(stats.body).toEqual({ environmentCount: 1, environmentRanks: 2 });
    const inUse = await call('DELETE', v1(ACME, 'nodePools/gpu'), ACME);
    expect(inUse.status).toBe(400);
    expect(inUse.body.message).toContain('dev');

    expect(await call('POST', v1(ACME, 'environments/dev:disconnect'), ACME, { force: true })).toEqual({ status: 200, body: {} });
    expect((await clusterObject('environments', ACME, 'dev'))?.spec).not.toHaveProperty('connection');
    expect((await call('POST', v1(ACME, 'environments/dev:disconnect'), ACME, {})).status).toBe(400);
    expect((await call('GET', v1(ACME, 'nodePools/gpu:getStats'), ACME)).body).toMatchObject({ environmentCount: 0 });

    // Two connects at once: the resourceVersion precondition lets exactly one through.
    const racing = await Promise.all([1, 2].map((n) => call('POST', v1(ACME, 'environments/dev:connect'), ACME, { connection: { nodePoolId: 'gpu', numRanks: n } })));
    expect(racing.map((r) => r.status).sort()).toEqual([200, 400]);
    const winner = racing.findIndex((r) => r.status === 200) + 1;
    expect((await clusterObject('environments', ACME, 'dev'))?.spec).toMatchObject({ connection: { nodePoolId: 'gpu', numRanks: winner } });
    expect(await call('POST', v1(ACME, 'environments/dev:disconnect'), ACME)).toEqual({ status: 200, body: {} });
  });

  it('creates, lists and deletes node pool bindings; a binding to a missing pool is NOT_FOUND', async () => {
    const bob = `bob@${ACME}.example`;
    const wide = await call('POST', v1(ACME, 'nodePoolBindings'), ACME, { principal: bob });
    expect(wide.status, JSON.stringify(wide.body)).toBe(200);
    expect(wide.body).toMatchObject({ accountId: ACME, clusterId: 'default', principal: bob });
    const scoped = await call('POST', v1(ACME, 'nodePoolBindings'), ACME, { principal: bob, nodePoolId: 'gpu' });
    expect(scoped.body).toMatchObject({ nodePoolId: 'gpu', principal: bob });
    expect((await call('POST', v1(ACME, 'nodePoolBindings'), ACME, { principal: bob, nodePoolId: 'missing' })).status).toBe(404);
    expect((await call('POST', v1(ACME, 'nodePoolBindings'), ACME, { principal: 'stranger@example.com' })).status).toBe(400);

    const list = await call('GET', v1(ACME, 'nodePoolBindings'), ACME);
    expect(list.body.totalSize).toBe(2);
    expect((await call('GET', `${v1(ACME, 'nodePoolBindings')}?pageSize=1`, ACME)).body.nextPageToken).toBeTruthy();
    expect(await call('POST', v1(ACME, 'nodePoolBindings:delete'), ACME, { principal: bob })).toEqual({ status: 200, body: {} });
    expect((await call('POST', v1(ACME, 'nodePoolBindings:delete'), ACME, { principal: bob })).status).toBe(404);
    expect((await call('GET', v1(ACME, 'nodePoolBindings'), ACME)).body).toMatchObject({ nodePoolBindings: [{ nodePoolId: 'gpu' }], totalSize: 1 });
  });

  it("answers another account's paths with 404 and never its data", async () => {
    for (const [method, path, body] of [
      ['GET', v1(ACME, 'nodePools/gpu'), undefined],
      ['GET', v1(ACME, 'nodePools'), undefined],
      ['GET', v1(ACME, 'nodePools/gpu:getStats'), undefined],
      ['PATCH', v1(ACME, 'nodePools/gpu'), { displayName: 'mine' }],
      ['DELETE', v1(ACME, 'environments/dev'), undefined],
      ['POST', v1(ACME, 'environments/dev:connect'), { connection: { nodePoolId: 'gpu' } }],
      ['GET', v1(ACME, 'nodePoolBindings'), undefined],
      ['POST', v1(ACME, 'nodePools:batchDelete'), { names: [poolName(ACME, 'cpu')] }],
    ] as const) {
      const r = await call(method, path, GLOBEX, body);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(JSON.stringify(r.body)).not.toContain('H100s');
    }
    // ACME's names in GLOBEX's own batchDelete: they do not exist for GLOBEX, and nothing is deleted
    const foreign = await call('POST', v1(GLOBEX, 'nodePools:batchDelete'), GLOBEX, { names: [poolName(ACME, 'cpu')] });
    expect(foreign.status).toBe(404);
    expect(await clusterObject('nodepools', ACME, 'cpu')).toBeDefined();
    expect((await call('GET', v1(GLOBEX, 'nodePools'), GLOBEX)).body).toEqual({ nodePools: [], totalSize: 0 });
  });

  it('batchDelete checks every name first, then deletes environments and node pools (and the pools’ bindings)', async () => {
    const missing = await call('POST', v1(ACME, 'nodePools:batchDelete'), ACME, { names: [poolName(ACME, 'cpu'), poolName(ACME, 'ghost')] });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toContain(poolName(ACME, 'ghost'));
    expect(await clusterObject('nodepools', ACME, 'cpu')).toBeDefined();

    expect(await call('POST', v1(ACME, 'environments:batchDelete'), ACME, { names: [envName(ACME, 'dev')] })).toEqual({ status: 200, body: {} });
    expect(await call('POST', v1(ACME, 'nodePools:batchDelete'), ACME, { names: [poolName(ACME, 'cpu'), `accounts/${ACME}/nodePools/gpu`] })).toEqual({ status: 200, body: {} });
    await waitFor('the pools and the environment to leave the cluster', async () => {
      const left = await Promise.all([clusterObject('nodepools', ACME, 'cpu'), clusterObject('nodepools', ACME, 'gpu'), clusterObject('environments', ACME, 'dev')]);
      return left.every((o) => o === undefined);
    }, { timeoutMs: 15_000, dump: () => dump(ACME) });
    expect((await call('GET', v1(ACME, 'nodePools'), ACME)).body).toEqual({ nodePools: [], totalSize: 0 });
    expect((await call('GET', v1(ACME, 'environments'), ACME)).body).toEqual({ environments: [], totalSize: 0 });
    expect((await call('GET', v1(ACME, 'nodePoolBindings'), ACME)).body).toEqual({ nodePoolBindings: [], totalSize: 0 });
  });
});
