// Node pool binding routes with app.inject on PGlite: create (bare {principal} = every pool of the
// account; with nodePoolId = that pool, which must exist), the principal must be a user of the
// account, duplicates 409, admins only, list with paging/filter, :delete → {} or NOT_FOUND.
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
let adminKey: string;
let userKey: string;
const nodePools = new MemoryKindClient();
const B = '/v1/accounts/acme/nodePoolBindings';

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  adminKey = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  await bootstrap(database.db, { accountId: 'globex', email: 'hank@globex.example' });
  bare = await buildApp({ db: database.db, rateLimit: false });
  app = await buildApp({ db: database.db, rateLimit: false, kinds: { nodePools } });
  for (const n of ['bob', 'carol', 'dave']) {
    const r = await call('POST', '/v1/accounts/acme/users', { role: 'user', email: `${n}@acme.example` });
    expect(r.status).toBe(200);
  }
  userKey = (await call('POST', '/v1/accounts/acme/users/bob/apiKeys', { apiKey: {} })).body.key as string;
  nodePools.seed({ apiVersion: 'hearth.dev/v1alpha1', kind: 'NodePool', metadata: { name: 'gpu', namespace: accountNamespace('acme') }, spec: { fakeNodePool: {} } });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await bare?.close();
  await database?.close();
});

async function call(method: string, url: string, payload?: unknown, key = adminKey, on = app) {
  const res = await on.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
}

describe('node pool bindings', () => {
  it('validates the body: principal required and an e-mail of a user of the account', async () => {
    const cases: [unknown, string][] = [
      [{}, 'principal: is required'],
      [{ principal: 'not-an-email' }, 'principal: must be an e-mail address'],
      [{ principal: 'bob@acme.example', bogus: 1 }, 'bogus: unknown field'],
      [{ principal: 'bob@acme.example', nodePoolId: 'Bad' }, 'nodePoolId'],
      [{ principal: 'hank@globex.example' }, 'principal: must be the e-mail address of a user of account "acme"'],
    ];
    for (const [body, message] of cases) {
      const r = await call('POST', B, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.message, JSON.stringify(body)).toContain(message);
    }
  });

  it('creates an account-wide binding from the bare {principal} form, and 409 for the same again', async () => {
    const r = await call('POST', B, { principal: 'bob@acme.example', accountId: 'ignored', createTime: 'ignored' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ accountId: 'acme', clusterId: 'default', principal: 'bob@acme.example' });
    expect(r.body).not.toHaveProperty('nodePoolId');
    expect(r.body.createTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    const again = await call('POST', B, { principal: 'bob@acme.example' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe(6);
  });

  it('binds one node pool with nodePoolId; a missing pool or cluster is NOT_FOUND; without a cluster 503', async () => {
    const r = await call('POST', B, { principal: 'carol@acme.example', nodePoolId: 'gpu' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ nodePoolId: 'gpu', principal: 'carol@acme.example' });
    const missing = await call('POST', B, { principal: 'carol@acme.example', nodePoolId: 'nope' });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('nodePool "accounts/acme/clusters/default/nodePools/nope" not found');
    expect((await call('POST', B, { principal: 'carol@acme.example', nodePoolId: 'gpu', clusterId: 'other' })).status).toBe(404);
    expect((await call('POST', B, { principal: 'dave@acme.example', nodePoolId: 'gpu' }, adminKey, bare)).status).toBe(503);
    // the account-wide form needs no cluster
    expect((await call('POST', B, { principal: 'dave@acme.example' }, adminKey, bare)).status).toBe(200);
  });

  it('lets only admins create and delete bindings; every user may list them', async () => {
    expect((await call('POST', B, { principal: 'bob@acme.example', nodePoolId: 'gpu' }, userKey)).status).toBe(403);
    expect((await call('POST', `${B}:delete`, { principal: 'bob@acme.example' }, userKey)).status).toBe(403);
    expect((await call('GET', B, undefined, userKey)).status).toBe(200);
  });

  it('lists with paging, filter and orderBy', async () => {
    const all = await call('GET', B);
    expect(all.body.totalSize).toBe(3);
    expect((all.body.nodePoolBindings as Record<string, unknown>[]).map((b) => [b.nodePoolId ?? '*', b.principal])).toEqual([
      ['*', 'bob@acme.example'],
      ['*', 'dave@acme.example'],
      ['gpu', 'carol@acme.example'],
    ]);
    const first = await call('GET', `${B}?pageSize=2`);
    expect(first.body.nodePoolBindings).toHaveLength(2);
    const next = await call('GET', `${B}?pageSize=2&pageToken=${encodeURIComponent(first.body.nextPageToken as string)}`);
    expect(next.body).toMatchObject({ nodePoolBindings: [{ principal: 'carol@acme.example' }], totalSize: 3 });
    expect(next.body).not.toHaveProperty('nextPageToken');
    const filtered = await call('GET', `${B}?filter=${encodeURIComponent('nodePoolId="gpu"')}&readMask=principal`);
    expect(filtered.body).toEqual({ nodePoolBindings: [{ principal: 'carol@acme.example' }], totalSize: 1 });
    const desc = await call('GET', `${B}?orderBy=principal%20desc`);
    expect((desc.body.nodePoolBindings as { principal: string }[]).map((b) => b.principal)).toEqual(['dave@acme.example', 'carol@acme.example', 'bob@acme.example']);
    expect((await call('GET', `${B}?orderBy=__key`)).status).toBe(400);
  });

  it(':delete removes the binding ({}), NOT_FOUND when there is none', async () => {
    expect(await call('POST', `${B}:delete`, { principal: 'carol@acme.example', nodePoolId: 'gpu' })).toEqual({ status: 200, body: {} });
    const gone = await call('POST', `${B}:delete`, { principal: 'carol@acme.example', nodePoolId: 'gpu' });
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe(5);
    expect(await call('POST', `${B}:delete`, { principal: 'bob@acme.example' })).toEqual({ status: 200, body: {} });
    expect((await call('GET', B)).body.totalSize).toBe(1);
  });
});
