// Batch job routes with app.inject on PGlite: validation without a cluster, and the route logic
// (id assignment across a stale cache, references, PATCH, :cancel rules, :getLogs, :batchDelete)
// over an in-memory kind client that behaves like the API server where it matters (409 on a taken name,
// resourceVersions, merge patches). The real API server: test/integration/api-jobs.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { openDatabase, type Database } from '../../db/client.js';
import { buildApp } from '../app.js';
import { bootstrap } from '../../auth/bootstrap.js';
import { MemoryKindClient } from './memory-kind-client.test-helper.js';
import { createNodePoolBinding } from '../../db/repositories/node-pool-bindings.js';
import { archiveRank } from '../../db/repositories/batch-job-logs.js';
import type { JobPodLogs } from '../../kube/pod-logs.js';

const NS = 'acct-acme';
let database: Database;
let bare: FastifyInstance;
let app: FastifyInstance;
let key: string;
let jobs: MemoryKindClient;
let pools: MemoryKindClient;
let environments: MemoryKindClient;
const now = new Date('2026-01-02T04:00:00Z');

async function call(target: FastifyInstance, method: string, url: string, payload?: unknown) {
  const res = await target.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
}
const fields = (body: Record<string, unknown>) =>
  ((body.details as { fieldViolations?: { field: string; reason?: string }[] }[] | undefined) ?? []).flatMap((d) => d.fieldViolations ?? []).map((v) => `${v.field}:${v.reason}`);

const JOB = { nodePoolId: 'pool', imageRef: 'busybox:1.36', shellExecutor: { command: 'echo hi' }, displayName: 'hello' };
const base = '/v1/accounts/acme/batchJobs';

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  key = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  await bootstrap(database.db, { accountId: 'globex', email: 'hank@globex.example' });
  bare = await buildApp({ db: database.db, rateLimit: false });
  jobs = new MemoryKindClient(() => new Date('2026-01-02T03:04:05Z'));
  pools = new MemoryKindClient(() => new Date('2026-01-02T03:04:05Z'));
  environments = new MemoryKindClient(() => new Date('2026-01-02T03:04:05Z'));
  pools.put({ metadata: { name: 'pool', namespace: NS } });
  environments.put({ metadata: { name: 'env', namespace: NS } });
  app = await buildApp({ db: database.db, rateLimit: false, kinds: { batchJobs: jobs, nodePools: pools, environments }, now: () => now });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await bare?.close();
  await database?.close();
});

describe('batch jobs: validation (no cluster needed)', () => {
  it('names the field and the rule of a bad body, and answers UNAVAILABLE for a good one without a cluster', async () => {
    const cases: [unknown, string][] = [
      [{ ...JOB, nodePoolId: undefined }, 'nodePoolId:REQUIRED'],
      [{ ...JOB, nodePoolId: 'Bad_Pool' }, 'nodePoolId:INVALID'],
      [{ ...JOB, bogus: 1 }, 'bogus:UNKNOWN_FIELD'],
      [{ ...JOB, numRanks: 0 }, 'numRanks:MIN'],
      [{ ...JOB, pythonExecutor: { targetType: 'MODULE', target: 'x' } }, '(body):INVALID'],
      [{ ...JOB, environmentId: 'env' }, 'imageRef:INVALID'],
      [{ ...JOB, pythonExecutor: { targetType: 'SCRIPT', target: 'x' }, shellExecutor: undefined }, 'pythonExecutor.targetType:ENUM'],
    ];
    for (const [body, want] of cases) {
      const r = await call(bare, 'POST', base, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.code).toBe(3);
      expect(fields(r.body), JSON.stringify(r.body)).toContain(want);
    }
    const ok = await call(bare, 'POST', base, JOB);
    expect(ok.status).toBe(503);
    expect(ok.body.code).toBe(14);
    expect((await call(bare, 'GET', base)).status).toBe(503);
  });
});

describe('batch jobs over a store', () => {
  it('assigns 1, 2, … and moves past an id taken by a create the cache has not seen', async () => {
    const a = await call(app, 'POST', base, { ...JOB, state: 'COMPLETED', createTime: 'ignored' });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body).toMatchObject({ name: 'accounts/acme/clusters/default/batchJobs/1', state: 'CREATING', createdBy: 'ann@acme.example', displayName: 'hello', nodePoolId: 'pool' });
    expect(jobs.objects.get(`${NS}/bj-1`)?.metadata.labels).toEqual({ 'hearth.dev/account': 'acme' });
    // Another replica just made bj-2 and bj-3; this replica's cache does not show them yet.
    jobs.put({ metadata: { name: 'bj-2', namespace: NS } });
    jobs.put({ metadata: { name: 'bj-3', namespace: NS } });
    jobs.hidden.add('bj-2').add('bj-3');
    const b = await call(app, 'POST', base, JOB);
    expect(b.body.name).toBe('accounts/acme/clusters/default/batchJobs/4');
    jobs.hidden.clear();
    jobs.objects.delete(`${NS}/bj-2`);
    jobs.objects.delete(`${NS}/bj-3`);
    const [c, d] = await Promise.all([call(app, 'POST', base, JOB), call(app, 'POST', base, JOB)]);
    expect(new Set([c.body.name, d.body.name]).size).toBe(2);
  });

  it('rejects a node pool or environment the account does not have: 404 naming the field', async () => {
    const r = await call(app, 'POST', base, { ...JOB, nodePoolId: 'nope' });
    expect(r.status).toBe(404);
    expect(r.body.code).toBe(5);
    expect(fields(r.body)).toEqual(['nodePoolId:NOT_FOUND']);
    expect(r.body.message).toBe('nodePoolId: nodePool "accounts/acme/clusters/default/nodePools/nope" not found');
    const e = await call(app, 'POST', base, { ...JOB, imageRef: undefined, environmentId: 'nope' });
    expect(e.status).toBe(404);
    expect(fields(e.body)).toEqual(['environmentId:NOT_FOUND']);
    expect((await call(app, 'POST', base, { ...JOB, imageRef: undefined, environmentId: 'env' })).status).toBe(200);
  });

  it("takes nodePoolId and environmentId as ids or full names (stored as ids); another account's name reads as missing", async () => {
    const full = await call(app, 'POST', base, { ...JOB, nodePoolId: 'accounts/acme/nodePools/pool', imageRef: undefined, environmentId: 'accounts/acme/clusters/default/environments/env' });
    expect(full.status, JSON.stringify(full.body)).toBe(200);
    expect(full.body).toMatchObject({ nodePoolId: 'pool', environmentId: 'env' });
    const foreign = await call(app, 'POST', base, { ...JOB, nodePoolId: 'accounts/globex/nodePools/pool' });
    expect(foreign.status).toBe(404);
    expect(fields(foreign.body)).toEqual(['nodePoolId:NOT_FOUND']);
    expect(foreign.body.message).toBe('nodePoolId: nodePool "accounts/globex/nodePools/pool" not found');
    const otherCluster = await call(app, 'POST', base, { ...JOB, nodePoolId: 'accounts/acme/clusters/c2/nodePools/pool' });
    expect(otherCluster.status).toBe(404);
    expect(fields(otherCluster.body)).toEqual(['nodePoolId:NOT_FOUND']);
  });

  it('refuses at create what the controller would fail (issue 13 Bad input): numRanks beyond the pool, a pool being deleted, an environment on another pool', async () => {
    pools.put({ metadata: { name: 'small', namespace: NS }, spec: { maxNodeCount: 2, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 4 } } });
    const tooMany = await call(app, 'POST', base, { ...JOB, nodePoolId: 'small', numRanks: 9 });
    expect(tooMany.status).toBe(400);
    expect(fields(tooMany.body)).toEqual(['numRanks:TOO_MANY_RANKS']);
    expect(tooMany.body.message).toBe('numRanks: 9 ranks exceed the maximum of node pool "accounts/acme/clusters/default/nodePools/small" (8: maxNodeCount 2 × 4 per node)');
    expect((await call(app, 'POST', base, { ...JOB, nodePoolId: 'small', numRanks: 8 })).status).toBe(200);

    pools.put({ metadata: { name: 'going', namespace: NS, deletionTimestamp: '2026-01-02T03:00:00Z' } });
    const going = await call(app, 'POST', base, { ...JOB, nodePoolId: 'going' });
    expect(going.status).toBe(400);
    expect(going.body).toMatchObject({ code: 9, message: 'nodePoolId: node pool "accounts/acme/clusters/default/nodePools/going" is being deleted' });

    environments.put({ metadata: { name: 'elsewhere', namespace: NS }, spec: { connection: { nodePoolId: 'small', numRanks: 1 } } });
    const other = await call(app, 'POST', base, { ...JOB, imageRef: undefined, environmentId: 'elsewhere' });
    expect(other.status).toBe(400);
    expect(other.body.code).toBe(9);
    expect(other.body.message).toBe('environmentId: environment "accounts/acme/clusters/default/environments/elsewhere" is connected to node pool "small", not "pool": run the job on that pool, or disconnect the environment first');
    expect((await call(app, 'POST', base, { ...JOB, nodePoolId: 'small', imageRef: undefined, environmentId: 'elsewhere' })).status).toBe(200);
    environments.put({ metadata: { name: 'was-connected', namespace: NS }, status: { state: 'DISCONNECTED', connection: { nodePoolId: 'small' } } });
    expect((await call(app, 'POST', base, { ...JOB, imageRef: undefined, environmentId: 'was-connected' })).status).toBe(200);
  });

  it('gets by numeric id, lists newest first, and answers 404 for ids no job has', async () => {
    expect((await call(app, 'GET', `${base}/1?readMask=name,state`)).body).toEqual({ name: 'accounts/acme/clusters/default/batchJobs/1', state: 'CREATING' });
    for (const id of ['999', 'bj-1', '01', 'Nope']) expect((await call(app, 'GET', `${base}/${id}`)).status, id).toBe(404);
    const list = await call(app, 'GET', `${base}?pageSize=2`);
    expect(list.body.totalSize).toBeGreaterThanOrEqual(4);
    expect((list.body.batchJobs as unknown[]).length).toBe(2);
    expect(list.body.nextPageToken).toBeTruthy();
    const filtered = await call(app, 'GET', `${base}?filter=${encodeURIComponent('name = "accounts/acme/clusters/default/batchJobs/1"')}`);
    expect(filtered.body.totalSize).toBe(1);
  });

  it('PATCH changes displayName, annotations and shared; what runs where is fixed', async () => {
    const ok = await call(app, 'PATCH', `${base}/1`, { displayName: 'renamed', shared: true, state: 'RUNNING' });
    expect(ok.body).toMatchObject({ displayName: 'renamed', shared: true, state: 'CREATING' });
    const same = await call(app, 'PATCH', `${base}/1`, { nodePoolId: 'pool' });
    expect(same.status).toBe(200);
    // The whole resource sent back, keys in another order: nothing fixed changed.
    const whole = { ...Object.fromEntries(Object.entries(ok.body).reverse()), shellExecutor: { command: 'echo hi' } };
    expect((await call(app, 'PATCH', `${base}/1`, whole)).status).toBe(200);
    const bad = await call(app, 'PATCH', `${base}/1`, { nodePoolId: 'other', numRanks: 2 });
    expect(bad.status).toBe(400);
    expect(fields(bad.body)).toEqual(['nodePoolId:IMMUTABLE', 'numRanks:IMMUTABLE']);
  });

  it(':cancel moves a running job to CANCELLING, is idempotent, and refuses finished jobs', async () => {
    expect((await call(app, 'POST', `${base}/1:cancel`, {})).body).toEqual({});
    expect((await call(app, 'GET', `${base}/1`)).body.state).toBe('CANCELLING');
    expect(jobs.objects.get(`${NS}/bj-1`)?.metadata.annotations?.['hearth.dev/cancel-requested']).toBe('2026-01-02T04:00:00Z');
    expect((await call(app, 'POST', `${base}/1:cancel`, {})).status).toBe(200);
    jobs.objects.get(`${NS}/bj-4`)!.status = { state: 'COMPLETED' };
    const done = await call(app, 'POST', `${base}/4:cancel`, {});
    expect(done.status).toBe(400);
    expect(done.body).toMatchObject({ code: 9, message: 'batch job "accounts/acme/clusters/default/batchJobs/4" is COMPLETED; only CREATING, QUEUED, PENDING, RUNNING jobs can be cancelled' });
    expect((await call(app, 'POST', `${base}/1:cancel`, { force: true })).status).toBe(400);
  });

  it(':getLogs answers the documented shape: no lines yet, a token bound to the query', async () => {
    const r = await call(app, 'GET', `${base}/1:getLogs?ranks=0&ranks=1&pageSize=50`);
    expect(r.status).toBe(200);
    expect(r.body.entries).toEqual([]);
    const token = r.body.nextPageToken as string;
    expect(token).toBeTruthy();
    expect((await call(app, 'GET', `${base}/1:getLogs?ranks=0&ranks=1&pageToken=${encodeURIComponent(token)}`)).status).toBe(200);
    expect((await call(app, 'GET', `${base}/1:getLogs?ranks=0&pageToken=${encodeURIComponent(token)}`)).status).toBe(400);
    for (const q of ['ranks=-1', 'ranks=x', 'pageSize=-1', 'startTime=yesterday', 'readMask=bogus', 'pageToken=garbage']) {
      const bad = await call(app, 'GET', `${base}/1:getLogs?${q}`);
      expect(bad.status, q).toBe(400);
      expect(bad.body.code, q).toBe(3);
    }
    expect((await call(app, 'GET', `${base}/999:getLogs`)).status).toBe(404);
  });

  it(':batchDelete deletes all or nothing', async () => {
    const before = [...jobs.objects.keys()].length;
    const missing = await call(app, 'POST', `${base}:batchDelete`, { names: ['accounts/acme/clusters/default/batchJobs/4', 'accounts/acme/clusters/default/batchJobs/999'] });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('batchJob "accounts/acme/clusters/default/batchJobs/999" not found');
    const foreign = await call(app, 'POST', `${base}:batchDelete`, { names: ['accounts/globex/clusters/default/batchJobs/4'] });
    expect(foreign.status).toBe(404);
    const malformed = await call(app, 'POST', `${base}:batchDelete`, { names: ['accounts/acme/clusters/default/batchJobs/4', 'batchJobs/4'] });
    expect(malformed.status).toBe(400);
    expect(fields(malformed.body)).toEqual(['names[1]:FORMAT']);
    expect((await call(app, 'POST', `${base}:batchDelete`, { names: [] })).status).toBe(400);
    expect([...jobs.objects.keys()].length).toBe(before);
    const ok = await call(app, 'POST', `${base}:batchDelete`, { names: ['accounts/acme/clusters/default/batchJobs/4', 'accounts/acme/batchJobs/1', 'accounts/acme/batchJobs/1'] });
    expect(ok).toEqual({ status: 200, body: {} });
    expect(jobs.objects.has(`${NS}/bj-1`) || jobs.objects.has(`${NS}/bj-4`)).toBe(false);
    expect((await call(app, 'DELETE', `${base}/1`)).status).toBe(404);
  });

  it('DELETE removes one job', async () => {
    const id = ((await call(app, 'POST', base, JOB)).body.name as string).split('/').pop()!;
    expect(await call(app, 'DELETE', `${base}/${id}`)).toEqual({ status: 200, body: {} });
    expect((await call(app, 'GET', `${base}/${id}`)).status).toBe(404);
  });
});

describe('batch jobs: node pool bindings (issue 13 item 2)', () => {
  it('a user who is not bound to the pool gets PERMISSION_DENIED naming the pool; bound (to it or to every pool), the job is created', async () => {
    expect((await call(app, 'POST', '/v1/accounts/acme/users', { role: 'user', email: 'una@acme.example' })).status).toBe(200);
    const userKey = (await call(app, 'POST', '/v1/accounts/acme/users/una/apiKeys', { apiKey: {} })).body.key as string;
    const asUser = async () => {
      const res = await app.inject({ method: 'POST', url: base, headers: { authorization: `Bearer ${userKey}` }, payload: JOB });
      return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
    };
    const refused = await asUser();
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 7, message: 'nodePoolId: una@acme.example may not run batch jobs on node pool "accounts/acme/clusters/default/nodePools/pool": no node pool binding (ask an account admin to bind you)' });
    await createNodePoolBinding(database.db, { accountId: 'acme', nodePoolId: 'pool', principal: 'una@acme.example', createdBy: 'ann@acme.example' });
    const created = await asUser();
    expect(created.status).toBe(200);
    expect(created.body.createdBy).toBe('una@acme.example');
  });

  it("a bound user may run a job in an environment only when it is theirs or shared (issue 13 item 3: shared); another account's pool is 404", async () => {
    expect((await call(app, 'POST', '/v1/accounts/acme/users', { role: 'user', email: 'vic@acme.example' })).status).toBe(200);
    const vicKey = (await call(app, 'POST', '/v1/accounts/acme/users/vic/apiKeys', { apiKey: {} })).body.key as string;
    await createNodePoolBinding(database.db, { accountId: 'acme', nodePoolId: 'pool', principal: 'vic@acme.example', createdBy: 'ann@acme.example' });
    const asVic = async (body: unknown) => {
      const res = await app.inject({ method: 'POST', url: base, headers: { authorization: `Bearer ${vicKey}` }, payload: body as object });
      return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
    };
    environments.put({ metadata: { name: 'unas', namespace: NS, annotations: { 'hearth.dev/created-by': 'una@acme.example' } }, spec: {} });
    const inEnv = { ...JOB, imageRef: undefined, environmentId: 'unas' };
    const refused = await asVic(inEnv);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      code: 7,
      message: 'environmentId: environment "accounts/acme/clusters/default/environments/unas" is not shared: only its creator una@acme.example and account admins may connect it or run jobs in it (set shared: true to let every user of the account)',
    });
    environments.put({ metadata: { name: 'unas', namespace: NS, annotations: { 'hearth.dev/created-by': 'una@acme.example' } }, spec: { shared: true } });
    expect((await asVic(inEnv)).status).toBe(200);
    // Admins may use any environment of the account.
    environments.put({ metadata: { name: 'unas', namespace: NS, annotations: { 'hearth.dev/created-by': 'una@acme.example' } }, spec: {} });
    expect((await call(app, 'POST', base, inEnv)).status).toBe(200);
    // Another account's pool: NOT_FOUND, never PERMISSION_DENIED.
    const foreign = await asVic({ ...JOB, nodePoolId: 'accounts/globex/clusters/default/nodePools/pool' });
    expect(foreign.status).toBe(404);
    expect(foreign.body.message).toBe('nodePoolId: nodePool "accounts/globex/nodePools/pool" not found');
  });
});

describe('batch jobs: :getLogs (issue 13 item 5)', () => {
  const us = (s: string) => Date.parse(s) * 1000;
  /** Rank 1 still runs: its pod's output; ranks 0 and 2 are archived. */
  const pods: JobPodLogs = {
    rankPods: async () => [{ pod: 'bj-lg-1-abc', rank: 1 }, { pod: 'bj-lg-0-old', rank: 0 }],
    read: async (_ns, pod) => (pod === 'bj-lg-1-abc' ? '2026-01-02T03:00:01.5Z live one\n2026-01-02T03:00:03Z live two\n' : 'stale\n'),
  };
  let logs: FastifyInstance;
  const get = async (q: string) => {
    const res = await logs.inject({ method: 'GET', url: `${base}/lg:getLogs?${q}`, headers: { authorization: `Bearer ${key}` } });
    return { status: res.statusCode, body: JSON.parse(res.body) as { entries: { logTime?: string; message?: string; rank?: number }[]; nextPageToken?: string } };
  };

  beforeAll(async () => {
    logs = await buildApp({ db: database.db, rateLimit: false, kinds: { batchJobs: jobs, nodePools: pools, environments }, podLogs: pods, now: () => now });
    jobs.put({ metadata: { name: 'lg', namespace: NS, uid: 'uid-lg' }, spec: { ...JOB, numRanks: 3 } });
    const line = (t: string, message: string) => ({ timeMicros: us(t), message });
    await archiveRank(database.db, { jobUid: 'uid-lg', rank: 0, accountId: 'acme', jobKey: `${NS}/lg`, now, lines: [line('2026-01-02T03:00:00Z', 'zero a'), line('2026-01-02T03:00:02Z', 'zero b')] });
    await archiveRank(database.db, { jobUid: 'uid-lg', rank: 2, accountId: 'acme', jobKey: `${NS}/lg`, now, lines: [line('2026-01-02T03:00:02Z', 'two a'), line('2026-01-02T03:00:04Z', 'two b')] });
  });
  afterAll(async () => {
    await logs?.close();
  });

  it('archived ranks from PostgreSQL and running ones from their pods, in time order, paged both ways', async () => {
    const head = await get('startFromHead=true&pageSize=4');
    expect(head.status).toBe(200);
    expect(head.body.entries.map((e) => `${e.rank}:${e.message}`)).toEqual(['0:zero a', '1:live one', '0:zero b', '2:two a']);
    expect(head.body.entries[1]!.logTime).toBe('2026-01-02T03:00:01.500000Z');
    const rest = await get(`startFromHead=true&pageSize=4&pageToken=${encodeURIComponent(head.body.nextPageToken!)}`);
    expect(rest.body.entries.map((e) => `${e.rank}:${e.message}`)).toEqual(['1:live two', '2:two b']);
    const tail = await get('pageSize=2');
    expect(tail.body.entries.map((e) => `${e.rank}:${e.message}`)).toEqual(['2:two b', '1:live two']);
    const older = await get(`pageSize=2&pageToken=${encodeURIComponent(tail.body.nextPageToken!)}`);
    expect(older.body.entries.map((e) => `${e.rank}:${e.message}`)).toEqual(['2:two a', '0:zero b']);
  });

  it('ranks, filter, startTime and readMask narrow the lines', async () => {
    expect((await get('startFromHead=true&ranks=2&ranks=1')).body.entries.map((e) => e.message)).toEqual(['live one', 'two a', 'live two', 'two b']);
    expect((await get('startFromHead=true&filter=b')).body.entries.map((e) => e.message)).toEqual(['zero b', 'two b']);
    expect((await get(`startFromHead=true&startTime=${encodeURIComponent('2026-01-02T03:00:03Z')}`)).body.entries.map((e) => e.message)).toEqual(['live two', 'two b']);
    expect((await get('startFromHead=true&ranks=0&readMask=message')).body.entries).toEqual([{ message: 'zero a' }, { message: 'zero b' }]);
  });
});
