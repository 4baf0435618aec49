// Environment routes with app.inject on PGlite: validation (400 naming the field and rule), 503
// without a cluster, and the logic over an in-memory kind client: the {environment, environmentId}
// wrapper, createdBy, :connect recording spec.connection (FAILED_PRECONDITION when one is pending,
// NOT_FOUND for a missing node pool), :disconnect, derived states, :batchDelete.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { openDatabase, type Database } from '../../db/client.js';
import { buildApp } from '../app.js';
import { bootstrap } from '../../auth/bootstrap.js';
import { accountNamespace } from '../kube/namespaces.js';
import { ENV_ANNOTATIONS } from '../mappers/environment.js';
import { MemoryKindClient } from './memory-kind-client.test-helper.js';

let database: Database;
let bare: FastifyInstance;
let app: FastifyInstance;
let key: string;
const nodePools = new MemoryKindClient();
const environments = new MemoryKindClient();
const NS = accountNamespace('acme');
const clock = { now: new Date('2026-11-26T10:30:00Z') };

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  key = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  bare = await buildApp({ db: database.db, rateLimit: false });
  app = await buildApp({ db: database.db, rateLimit: false, kinds: { nodePools, environments }, now: () => clock.now });
  nodePools.seed({ apiVersion: 'hearth.dev/v1alpha1', kind: 'NodePool', metadata: { name: 'gpu', namespace: NS }, spec: { fakeNodePool: {} } });
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

const E = '/v1/accounts/acme/environments';

describe('environments: validation (no cluster needed)', () => {
  it('rejects bad bodies with 400 naming the field path and the rule', async () => {
    const cases: [string, string, unknown, string][] = [
      ['POST', E, { environmentId: 'e1' }, 'environment: is required'],
      ['POST', E, { environment: {} }, 'environmentId: is required'],
      ['POST', E, { environment: { imageRef: 'ignored (output only)', bogus: 1 }, environmentId: 'e1' }, 'environment.bogus: unknown field'],
      ['POST', E, { environment: { displayName: 'x'.repeat(64) }, environmentId: 'e1' }, 'environment.displayName'],
      ['POST', E, { environment: {}, environmentId: '9lives' }, 'environmentId: must not start with a digit'],
      ['POST', `${E}/e1:connect`, {}, 'connection: is required'],
      ['POST', `${E}/e1:connect`, { connection: {} }, 'connection.nodePoolId: is required'],
      ['POST', `${E}/e1:connect`, { connection: { nodePoolId: 'gpu', numRanks: 0 } }, 'connection.numRanks'],
      ['POST', `${E}/e1:connect`, { connection: { nodePoolId: 'GPU' } }, 'connection.nodePoolId'],
      ['POST', `${E}/e1:disconnect`, { force: 'yes' }, 'force'],
      ['PATCH', `${E}/e1`, { shared: 'no' }, 'shared'],
      ['POST', `${E}:batchDelete`, { names: 'e1' }, 'names'],
    ];
    for (const [method, url, body, message] of cases) {
      const r = await call(method, url, body, bare);
      expect(r.status, `${method} ${url} ${JSON.stringify(body)}`).toBe(400);
      expect(r.body.code).toBe(3);
      expect(r.body.message, `${method} ${url} ${JSON.stringify(body)}`).toContain(message);
    }
  });

  it('answers UNAVAILABLE (503) for valid requests when the API has no cluster', async () => {
    expect((await call('POST', E, { environment: {}, environmentId: 'e1' }, bare)).status).toBe(503);
    expect((await call('POST', `${E}/e1:connect`, { connection: { nodePoolId: 'gpu' } }, bare)).status).toBe(503);
  });
});

describe('environments over a store', () => {
  it('creates from the wrapper, records the creator and names it under the cluster', async () => {
    const r = await call('POST', E, { environment: { displayName: 'Dev', baseImageRef: 'ghcr.io/acme/dev:1', shared: true, state: 'CONNECTED', connection: undefined }, environmentId: 'dev' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      name: 'accounts/acme/clusters/default/environments/dev',
      displayName: 'Dev',
      baseImageRef: 'ghcr.io/acme/dev:1',
      shared: true,
      createdBy: 'ann@acme.example',
      state: 'CREATING',
    });
    expect(r.body).not.toHaveProperty('connection');
    expect((await call('POST', E, { environment: {}, environmentId: 'dev' })).status).toBe(409);
  });

  it('connects: records spec.connection and the options, then refuses a second connect while one is pending', async () => {
    const missingPool = await call('POST', `${E}/dev:connect`, { connection: { nodePoolId: 'nope' } });
    expect(missingPool.status).toBe(404);
    expect(missingPool.body.message).toBe('nodePool "accounts/acme/clusters/default/nodePools/nope" not found');
    expect((await call('POST', `${E}/ghost:connect`, { connection: { nodePoolId: 'gpu' } })).status).toBe(404);
    nodePools.seed({ apiVersion: 'hearth.dev/v1alpha1', kind: 'NodePool', metadata: { name: 'going', namespace: NS, deletionTimestamp: '2026-11-26T10:00:00Z' }, spec: { fakeNodePool: {} } });
    const deleting = await call('POST', `${E}/dev:connect`, { connection: { nodePoolId: 'going' } });
    expect(deleting.status).toBe(400);
    expect(deleting.body.message).toContain('is being deleted');

    const ok = await call('POST', `${E}/dev:connect`, { connection: { nodePoolId: 'gpu', numRanks: 2, zone: 'ignored' }, vscodeVersion: '1.96.0' });
    expect(ok).toEqual({ status: 200, body: {} });
    const obj = (await environments.get(NS, 'dev'))!;
    expect(obj.spec.connection).toEqual({ nodePoolId: 'gpu', numRanks: 2 });
    expect(obj.metadata.annotations).toMatchObject({ [ENV_ANNOTATIONS.vscodeVersion]: '1.96.0', [ENV_ANNOTATIONS.connectTime]: '2026-11-26T10:30:00Z' });
    expect((await call('GET', `${E}/dev`)).body).toMatchObject({ connection: { nodePoolId: 'gpu', numRanks: 2 }, state: 'CREATING' });

    const again = await call('POST', `${E}/dev:connect`, { connection: { nodePoolId: 'gpu' } });
    expect(again.status).toBe(400);
    expect(again.body.code).toBe(9);
    expect(again.body.message).toContain('already has a connection');
    // Issue 16 item 2: the pool's full name is the same pool (the connection is pending: 400 as above);
    // another account's reads as missing.
    const full = await call('POST', `${E}/dev:connect`, { connection: { nodePoolId: 'accounts/acme/nodePools/gpu' } });
    expect(full.body.message).toContain('already has a connection');
    const foreign = await call('POST', `${E}/dev:connect`, { connection: { nodePoolId: 'accounts/globex/nodePools/gpu' } });
    expect(foreign.status).toBe(404);
    expect(foreign.body.message).toBe('nodePool "accounts/globex/nodePools/gpu" not found');
  });

  it('derives CONNECTING / DISCONNECTING from what the controller reports and what was requested', async () => {
    const base = { apiVersion: 'hearth.dev/v1alpha1', kind: 'Environment', metadata: { name: 'x', namespace: NS } };
    environments.seed({ ...base, metadata: { name: 'rep1', namespace: NS }, spec: { connection: { nodePoolId: 'gpu', numRanks: 1 } }, status: { state: 'DISCONNECTED' } });
    environments.seed({ ...base, metadata: { name: 'rep2', namespace: NS }, spec: {}, status: { state: 'CONNECTED', connection: { nodePoolId: 'gpu', numRanks: 1, zone: 'us-east-1a' } } });
    expect((await call('GET', `${E}/rep1`)).body.state).toBe('CONNECTING');
    expect((await call('GET', `${E}/rep2`)).body).toMatchObject({ state: 'DISCONNECTING', connection: { nodePoolId: 'gpu', zone: 'us-east-1a' } });
  });

  it('disconnects: removes spec.connection, records force/resetSnapshots; FAILED_PRECONDITION when not connected', async () => {
    expect(await call('POST', `${E}/dev:disconnect`, { force: true, resetSnapshots: true })).toEqual({ status: 200, body: {} });
    const obj = (await environments.get(NS, 'dev'))!;
    expect(obj.spec).not.toHaveProperty('connection');
    expect(obj.metadata.annotations).toMatchObject({ [ENV_ANNOTATIONS.disconnectForce]: 'true', [ENV_ANNOTATIONS.resetSnapshots]: 'true' });
    const again = await call('POST', `${E}/dev:disconnect`, {});
    expect(again.status).toBe(400);
    expect(again.body.message).toContain('is not connected');
    // connect works again after a disconnect; the body of :disconnect is optional
    expect((await call('POST', `${E}/dev:connect`, { connection: { nodePoolId: 'gpu' } })).status).toBe(200);
    expect((await environments.get(NS, 'dev'))!.metadata.annotations).not.toHaveProperty(ENV_ANNOTATIONS.vscodeVersion);
    const noBody = await app.inject({ method: 'POST', url: `${E}/dev:disconnect`, headers: { authorization: `Bearer ${key}` } });
    expect(noBody.statusCode, noBody.body).toBe(200);
  });

  it('patches the writable fields; connection is output only', async () => {
    const r = await call('PATCH', `${E}/dev`, { displayName: 'Dev 2', connection: { nodePoolId: 'gpu' } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ displayName: 'Dev 2', baseImageRef: 'ghcr.io/acme/dev:1' });
    expect((await environments.get(NS, 'dev'))!.spec).not.toHaveProperty('connection');
  });

  it('lists by name and batch-deletes all or nothing', async () => {
    const list = await call('GET', `${E}?orderBy=name%20desc&pageSize=2`);
    expect((list.body.environments as { name: string }[]).map((e) => e.name)).toEqual([
      'accounts/acme/clusters/default/environments/rep2',
      'accounts/acme/clusters/default/environments/rep1',
    ]);
    expect(list.body.totalSize).toBe(3);
    const missing = await call('POST', `${E}:batchDelete`, { names: ['accounts/acme/environments/rep1', 'accounts/acme/environments/nope'] });
    expect(missing.status).toBe(404);
    expect((await call('GET', E)).body.totalSize).toBe(3);
    expect(await call('POST', `${E}:batchDelete`, { names: ['accounts/acme/clusters/default/environments/rep1', 'accounts/acme/environments/rep2'] })).toEqual({ status: 200, body: {} });
    expect(await call('DELETE', `${E}/dev`)).toEqual({ status: 200, body: {} });
    expect((await call('GET', E)).body).toEqual({ environments: [], totalSize: 0 });
  });
});

describe('environments: who may connect (issue 13 item 2: bindings; item 3: shared)', () => {
  let bobKey: string;
  const as = async (k: string, method: string, url: string, payload?: unknown) => {
    const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${k}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
    return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
  };

  beforeAll(async () => {
    expect((await call('POST', '/v1/accounts/acme/users', { role: 'user', email: 'bob@acme.example' })).status).toBe(200);
    bobKey = (await call('POST', '/v1/accounts/acme/users/bob/apiKeys', { apiKey: {} })).body.key as string;
    expect((await call('POST', E, { environment: {}, environmentId: 'anns' })).status).toBe(200);
    expect((await call('POST', E, { environment: { shared: true }, environmentId: 'team' })).status).toBe(200);
    expect((await as(bobKey, 'POST', E, { environment: {}, environmentId: 'bobs' })).status).toBe(200);
  });

  it('a user without a binding is refused with PERMISSION_DENIED naming the pool; nothing is recorded', async () => {
    const r = await as(bobKey, 'POST', `${E}/bobs:connect`, { connection: { nodePoolId: 'gpu' } });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe(7);
    expect(r.body.message).toBe('bob@acme.example may not use node pool "accounts/acme/clusters/default/nodePools/gpu": no node pool binding for it (an admin creates one)');
    expect((await environments.get(NS, 'bobs'))!.spec).not.toHaveProperty('connection');
    // Another account's pool is still NOT_FOUND, binding or not.
    expect((await as(bobKey, 'POST', `${E}/bobs:connect`, { connection: { nodePoolId: 'accounts/globex/nodePools/gpu' } })).status).toBe(404);
  });

  it('once bound (to the pool), the user connects; the controller is told who asked', async () => {
    expect((await call('POST', '/v1/accounts/acme/nodePoolBindings', { principal: 'bob@acme.example', nodePoolId: 'gpu' })).status).toBe(200);
    expect(await as(bobKey, 'POST', `${E}/bobs:connect`, { connection: { nodePoolId: 'gpu' } })).toEqual({ status: 200, body: {} });
    expect((await environments.get(NS, 'bobs'))!.metadata.annotations).toMatchObject({ 'hearth.dev/connected-by': 'bob@acme.example', 'hearth.dev/created-by': 'bob@acme.example' });
  });

  it('more ranks than the pool can ever hold: INVALID_ARGUMENT naming connection.numRanks and the pool', async () => {
    nodePools.seed({ apiVersion: 'hearth.dev/v1alpha1', kind: 'NodePool', metadata: { name: 'small', namespace: NS }, spec: { maxNodeCount: 1, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 8 } } });
    const r = await call('POST', `${E}/anns:connect`, { connection: { nodePoolId: 'small', numRanks: 9 } });
    expect(r.status).toBe(400);
    expect(r.body.message).toBe('connection.numRanks: 9 ranks exceed the maximum of node pool "accounts/acme/clusters/default/nodePools/small" (8: maxNodeCount 1 × 8 per node)');
    expect((await environments.get(NS, 'anns'))!.spec).not.toHaveProperty('connection');
  });

  it("another user's environment: refused unless shared (connect and disconnect); admins may", async () => {
    const r = await as(bobKey, 'POST', `${E}/anns:connect`, { connection: { nodePoolId: 'gpu' } });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('environment "accounts/acme/clusters/default/environments/anns" is not shared: only its creator ann@acme.example and account admins may');
    expect((await as(bobKey, 'POST', `${E}/team:connect`, { connection: { nodePoolId: 'gpu' } })).status).toBe(200);
    expect((await call('POST', `${E}/anns:connect`, { connection: { nodePoolId: 'gpu' } })).status).toBe(200);
    expect((await as(bobKey, 'POST', `${E}/anns:disconnect`, {})).status).toBe(403);
    // An admin may disconnect (and connect) anyone's environment, bound or not.
    expect((await call('POST', `${E}/bobs:disconnect`, {})).status).toBe(200);
  });
});
