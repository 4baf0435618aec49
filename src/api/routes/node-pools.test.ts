// Node pool routes with app.inject on PGlite: validation (400 naming the field and rule, before any
// kind client is touched), 503 without a cluster, and the logic over an in-memory kind client (create wrapper,
// names under the cluster id, PATCH mask, stats from environments and batch jobs, batchDelete's
// all-or-nothing checks). test/integration/api-node-pools.test.ts runs them on a real cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { openDatabase, type Database } from '../../db/client.js';
import { buildApp } from '../app.js';
import { bootstrap } from '../../auth/bootstrap.js';
import { accountNamespace } from '../kube/namespaces.js';
import { MemoryKindClient } from './memory-kind-client.test-helper.js';

let database: Database;
let bare: FastifyInstance;
let app: FastifyInstance;
let key: string;
const nodePools = new MemoryKindClient();
const environments = new MemoryKindClient();
const batchJobs = new MemoryKindClient();
const NS = accountNamespace('acme');

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  key = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  bare = await buildApp({ db: database.db, rateLimit: false });
  app = await buildApp({ db: database.db, rateLimit: false, kinds: { nodePools, environments, batchJobs } });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await bare?.close();
  await database?.close();
});

async function call(method: string, url: string, payload?: unknown, on = app) {
  const res = await on.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
}

const fieldsOf = (body: Record<string, unknown>) =>
  ((body.details as { fieldViolations?: { field: string }[] }[]).find((d) => d.fieldViolations)?.fieldViolations ?? []).map((v) => v.field);

describe('node pools: validation (no cluster needed)', () => {
  it('rejects bad create bodies with 400 naming the field path and the rule', async () => {
    const cases: [unknown, string, string][] = [
      [{ nodePoolId: 'p1' }, 'nodePool', 'is required'],
      [{ nodePool: { fakeNodePool: {} } }, 'nodePoolId', 'is required'],
      [{ nodePool: { fakeNodePool: {}, bogus: 1 }, nodePoolId: 'p1' }, 'nodePool.bogus', 'unknown field'],
      [{ nodePool: { fakeNodePool: {}, maxNodeCount: 0 }, nodePoolId: 'p1' }, 'nodePool.maxNodeCount', ''],
      [{ nodePool: { fakeNodePool: { acceleratorType: 'NVIDIA_T4' } }, nodePoolId: 'p1' }, 'nodePool.fakeNodePool.acceleratorType', 'must be one of'],
      [{ nodePool: { fakeNodePool: {}, minNodeCount: 3, maxNodeCount: 1 }, nodePoolId: 'p1' }, 'nodePool.maxNodeCount', 'greater than or equal to minNodeCount'],
      [{ nodePool: { minNodeCount: 0 }, nodePoolId: 'p1' }, 'nodePool', 'exactly one of eksNodePool or fakeNodePool'],
      [{ nodePool: { eksNodePool: {} }, nodePoolId: 'p1' }, 'nodePool.eksNodePool.instanceType', 'is required'],
      [{ nodePool: { fakeNodePool: {}, annotations: { 'fireworks.ai/x': 'y' } }, nodePoolId: 'p1' }, 'nodePool.annotations', 'reserved prefix'],
      [{ nodePool: { fakeNodePool: {} }, nodePoolId: 'Bad_Id' }, 'nodePoolId', 'lower-case'],
      // The machine of a simulated pool must be one of the fleet catalog's (src/fleet/machine-types.ts).
      [{ nodePool: { fakeNodePool: { machineType: 'z9.mega' } }, nodePoolId: 'p1' }, 'nodePool.fakeNodePool.machineType', 'unknown machine type "z9.mega"'],
      [{ nodePool: { fakeNodePool: { acceleratorType: 'NVIDIA_L4_24GB' } }, nodePoolId: 'p1' }, 'nodePool.fakeNodePool.acceleratorType', 'no machine type of the fleet catalog has NVIDIA_L4_24GB'],
      [{ nodePool: { fakeNodePool: { machineType: 'p5.48xlarge', acceleratorType: 'NVIDIA_A100_80GB' } }, nodePoolId: 'p1' }, 'nodePool.fakeNodePool.acceleratorType', 'does not match machine type p5.48xlarge'],
      [{ nodePool: { eksNodePool: { instanceType: 'p5.48xlarge', nodeSelector: { ng: 5 } } }, nodePoolId: 'p1' }, 'nodePool.eksNodePool.nodeSelector.ng', ''],
    ];
    for (const [body, field, rule] of cases) {
      const r = await call('POST', '/v1/accounts/acme/nodePools', body, bare);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.code).toBe(3);
      expect(r.body.message, JSON.stringify(body)).toContain(field);
      expect(r.body.message, JSON.stringify(body)).toContain(rule);
    }
  });

  it('rejects bad batchDelete bodies and unknown PATCH fields with 400', async () => {
    expect((await call('POST', '/v1/accounts/acme/nodePools:batchDelete', {}, bare)).body.message).toContain('names');
    expect((await call('POST', '/v1/accounts/acme/nodePools:batchDelete', { names: [] }, bare)).status).toBe(400);
    const bad = await call('POST', '/v1/accounts/acme/nodePools:batchDelete', { names: ['nodePools/p1'] }, app);
    expect(bad.status).toBe(400);
    expect(fieldsOf(bad.body)).toEqual(['names[0]']);
    expect((await call('PATCH', '/v1/accounts/acme/nodePools/p1', { bogus: 1 }, bare)).body.message).toContain('bogus');
    expect((await call('GET', '/v1/accounts/acme/nodePools/P1', undefined, bare)).body.message).toContain('nodePoolId');
  });

  it('answers UNAVAILABLE (503) for valid requests when the API has no cluster', async () => {
    const r = await call('POST', '/v1/accounts/acme/nodePools', { nodePool: { fakeNodePool: {} }, nodePoolId: 'p1' }, bare);
    expect(r.status).toBe(503);
    expect(r.body.code).toBe(14);
    expect((await call('GET', '/v1/accounts/acme/nodePools', undefined, bare)).status).toBe(503);
  });
});

describe('node pools over a store', () => {
  it('creates from the {nodePool, nodePoolId} wrapper and names the pool under the cluster', async () => {
    const r = await call('POST', '/v1/accounts/acme/nodePools', {
      nodePool: { displayName: 'GPUs', maxNodeCount: 4, fakeNodePool: { numNodes: 2, acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 8 }, state: 'READY' },
      nodePoolId: 'gpu',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      name: 'accounts/acme/clusters/default/nodePools/gpu',
      displayName: 'GPUs',
      maxNodeCount: 4,
      state: 'CREATING',
      nodePoolStats: { nodeCount: 0, ranksPerNode: 8, environmentCount: 0, environmentRanks: 0 },
    });
    expect(r.body.createTime).toMatch(/^2026-/);
    expect((await nodePools.get(NS, 'gpu'))?.spec).toEqual({ displayName: 'GPUs', maxNodeCount: 4, fakeNodePool: { numNodes: 2, acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 8 } });
    const again = await call('POST', '/v1/accounts/acme/nodePools', { nodePool: { fakeNodePool: {} }, nodePoolId: 'gpu' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe(6);
  });

  it('gets, lists, reads with a readMask and 404s a missing pool by its path', async () => {
    expect((await call('GET', '/v1/accounts/acme/nodePools/gpu?readMask=name,state')).body).toEqual({ name: 'accounts/acme/clusters/default/nodePools/gpu', state: 'CREATING' });
    const list = await call('GET', '/v1/accounts/acme/nodePools');
    expect(list.body).toMatchObject({ nodePools: [{ name: 'accounts/acme/clusters/default/nodePools/gpu' }], totalSize: 1 });
    const missing = await call('GET', '/v1/accounts/acme/nodePools/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('nodePool "accounts/acme/nodePools/nope" not found');
  });

  it('patches only the fields in the body; the spec rules still hold', async () => {
    const r = await call('PATCH', '/v1/accounts/acme/nodePools/gpu', { minNodeCount: 1, name: 'ignored' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ minNodeCount: 1, maxNodeCount: 4, displayName: 'GPUs' });
    const bad = await call('PATCH', '/v1/accounts/acme/nodePools/gpu', { minNodeCount: 9 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('maxNodeCount');
    const cleared = await call('PATCH', '/v1/accounts/acme/nodePools/gpu?updateMask=displayName', {});
    expect(cleared.body.displayName).toBeUndefined();
  });

  it('computes stats from the pool, its connected environments and its batch jobs by state', async () => {
    environments.seed({ apiVersion: 'hearth.dev/v1alpha1', kind: 'Environment', metadata: { name: 'e1', namespace: NS }, spec: { connection: { nodePoolId: 'gpu', numRanks: 2 } } });
    environments.seed({ apiVersion: 'hearth.dev/v1alpha1', kind: 'Environment', metadata: { name: 'e2', namespace: NS }, spec: {}, status: { state: 'CONNECTED', connection: { nodePoolId: 'gpu', numRanks: 1 } } });
    environments.seed({ apiVersion: 'hearth.dev/v1alpha1', kind: 'Environment', metadata: { name: 'e3', namespace: NS }, spec: { connection: { nodePoolId: 'other' } } });
    for (const [name, state, numRanks] of [['j1', 'RUNNING', 4], ['j2', 'RUNNING', undefined], ['j3', undefined, 2]] as const) {
      batchJobs.seed({ apiVersion: 'hearth.dev/v1alpha1', kind: 'BatchJob', metadata: { name, namespace: NS }, spec: { nodePoolId: 'gpu', ...(numRanks ? { numRanks } : {}) }, ...(state ? { status: { state } } : {}) });
    }
    const stats = await call('GET', '/v1/accounts/acme/nodePools/gpu:getStats');
    expect(stats.status).toBe(200);
    expect(stats.body).toEqual({
      nodeCount: 0,
      ranksPerNode: 8,
      environmentCount: 2,
      environmentRanks: 3,
      batchJobCount: { RUNNING: 2, CREATING: 1 },
      batchJobRanks: { RUNNING: 5, CREATING: 2 },
    });
    expect((await call('GET', '/v1/accounts/acme/nodePools/gpu:getStats?readMask=environmentCount')).body).toEqual({ environmentCount: 2 });
    expect((await call('GET', '/v1/accounts/acme/nodePools/gpu')).body.nodePoolStats).toEqual(stats.body);
  });

  it('counts no batch jobs when the API has no batch-job cache', async () => {
    const noJobs = await buildApp({ db: database.db, rateLimit: false, kinds: { nodePools, environments } });
    try {
      const r = await noJobs.inject({ method: 'GET', url: '/v1/accounts/acme/nodePools/gpu:getStats', headers: { authorization: `Bearer ${key}` } });
      expect(JSON.parse(r.body)).toEqual({ nodeCount: 0, ranksPerNode: 8, environmentCount: 2, environmentRanks: 3 });
    } finally {
      await noJobs.close();
    }
  });

  it('batchDelete checks every name first: a missing, foreign or in-use one deletes nothing', async () => {
    await call('POST', '/v1/accounts/acme/nodePools', { nodePool: { fakeNodePool: {} }, nodePoolId: 'cpu' });
    await call('POST', '/v1/accounts/acme/nodePools', { nodePool: { fakeNodePool: {} }, nodePoolId: 'spare' });
    const missing = await call('POST', '/v1/accounts/acme/nodePools:batchDelete', { names: ['accounts/acme/clusters/default/nodePools/cpu', 'accounts/acme/clusters/default/nodePools/nope'] });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('nodePool "accounts/acme/clusters/default/nodePools/nope" not found');
    const foreign = await call('POST', '/v1/accounts/acme/nodePools:batchDelete', { names: ['accounts/acme/nodePools/cpu', 'accounts/globex/clusters/default/nodePools/cpu'] });
    expect(foreign.status).toBe(404);
    const inUse = await call('POST', '/v1/accounts/acme/nodePools:batchDelete', { names: ['accounts/acme/nodePools/cpu', 'accounts/acme/nodePools/gpu'] });
    expect(inUse.status).toBe(400);
    expect(inUse.body.code).toBe(9);
    expect(inUse.body.message).toContain('e1');
    expect((await call('GET', '/v1/accounts/acme/nodePools')).body.totalSize).toBe(3);

    const ok = await call('POST', '/v1/accounts/acme/nodePools:batchDelete', { names: ['accounts/acme/clusters/default/nodePools/cpu', 'accounts/acme/nodePools/cpu', 'accounts/acme/nodePools/spare'] });
    expect(ok).toEqual({ status: 200, body: {} });
    expect(((await call('GET', '/v1/accounts/acme/nodePools')).body.nodePools as { name: string }[]).map((p) => p.name)).toEqual(['accounts/acme/clusters/default/nodePools/gpu']);
  });

  it('refuses to delete a pool environments are connected to or batch jobs run on, naming them, then deletes it once they are gone', async () => {
    const r = await call('DELETE', '/v1/accounts/acme/nodePools/gpu');
    expect(r.status).toBe(400);
    expect(r.body.code).toBe(9);
    expect(r.body.message).toContain('environment e1');
    for (const e of ['e1', 'e2', 'e3']) await environments.delete(NS, e);
    const jobs = await call('DELETE', '/v1/accounts/acme/nodePools/gpu');
    expect(jobs.status).toBe(400);
    expect(jobs.body.code).toBe(9);
    expect(jobs.body.message).toContain('3 running batch job(s) (batchJob j1, batchJob j2, batchJob j3)');
    for (const j of ['j1', 'j2', 'j3']) await batchJobs.delete(NS, j);
    expect(await call('DELETE', '/v1/accounts/acme/nodePools/gpu')).toEqual({ status: 200, body: {} });
    expect((await call('DELETE', '/v1/accounts/acme/nodePools/gpu')).status).toBe(404);
  });
});
