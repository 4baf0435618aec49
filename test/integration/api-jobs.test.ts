// The REST facade's batchJobs and supervisedFineTuningJobs against the real (simulated) cluster and
// a real PostgreSQL. Batch jobs: concurrent creates through two API replicas (each with its own
// watch-fed cache) get distinct numeric ids; get/list from the cache; :cancel; :getLogs;
// :batchDelete all-or-nothing; a missing node pool is a 400 naming nodePoolId. SFT jobs: the
// dataset must be a READY row of the account; get/list/filter; :cancel; :resume only once the
// job is CANCELLED (the status a controller would write, written here through /status); delete.
// Another account's jobs read as missing (404) everywhere.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCrds } from '../../hack/lib/crds.js';
import { buildApp } from '../../src/api/app.js';
import { createLogger } from '../../src/log.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { NamespaceEnsurer, accountNamespace } from '../../src/api/kube/namespaces.js';
import { KubeKindClient, KubeKindClients, type CustomObject } from '../../src/api/kube/kind-client.js';
import { BATCH_JOB, NODE_POOL } from '../../src/crds/registry.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { createDataset } from '../../src/db/repositories/datasets.js';
import { loadKubeConfig, type PooledKubeConfig } from '../../src/kube/config.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { callApi } from '../support/api.js';
import { kubeconfigPath } from '../support/env.js';
import { kubeAccess } from '../support/kube.js';
import { waitFor } from '../support/wait.js';
import { TEST_SEAL } from '../support/tenancy.js';

const suffix = randomBytes(3).toString('hex');
const ACME = `api-jobs-acme-${suffix}`;
const GLOBEX = `api-jobs-globex-${suffix}`;
const dbName = `hearth_t_api_jobs_${suffix}`;
const BASE_MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
/** Concurrent creates, split over the two replicas. */
const COUNT = 20;
const JOB = { nodePoolId: 'pool', imageRef: 'busybox:1.36', shellExecutor: { command: 'echo hello' } };

let kc: PooledKubeConfig;
let database: Database;
let kinds: KubeKindClients;
/** A second API replica: its own caches of batch jobs and node pools. */
let replicaClients: KubeKindClient<CustomObject>[] = [];
let app: FastifyInstance;
let replica: FastifyInstance;
const keys: Record<string, string> = {};

interface Res {
  status: number;
  body: Record<string, unknown>;
}

async function call(method: string, url: string, account: string, payload?: unknown, target: FastifyInstance = app): Promise<Res> {
  return callApi(target, method, url, keys[account], payload);
}

const v1 = (account: string, path: string) => `/v1/accounts/${account}/${path}`;
const idOf = (name: unknown) => String(name).split('/').pop()!;
const fields = (body: Record<string, unknown>) =>
  ((body.details as { fieldViolations?: { field: string; reason?: string }[] }[] | undefined) ?? []).flatMap((d) => d.fieldViolations ?? []).map((v) => `${v.field}:${v.reason}`);

function custom(): CustomObjectsApi {
  return kc.makeApiClient(CustomObjectsApi);
}

async function clusterObject(plural: string, name: string): Promise<CustomObject | undefined> {
  try {
    return (await custom().getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: accountNamespace(ACME), plural, name })) as CustomObject;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}

/** What a controller would write: status through the /status subresource. */
async function writeStatus(plural: string, name: string, status: Record<string, unknown>): Promise<void> {
  await custom().patchNamespacedCustomObjectStatus(
    { group: GROUP, version: VERSION, namespace: accountNamespace(ACME), plural, name, body: { status } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

async function dump(): Promise<unknown> {
  const ns = accountNamespace(ACME);
  const out: Record<string, unknown> = {};
  for (const plural of ['batchjobs', 'sftjobs', 'nodepools']) {
    const list = (await custom().listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural })) as { items: CustomObject[] };
    out[plural] = list.items.map((o) => ({ name: o.metadata.name, annotations: o.metadata.annotations, status: o.status }));
  }
  out.cachedBatchJobs = kinds.others.batchJobs.list(ns).map((o) => o.metadata.name);
  out.cachedSftJobs = kinds.others.supervisedFineTuningJobs.list(ns).map((o) => o.metadata.name);
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
  const ensureNamespace = (a: string) => namespaces.ensure(a);
  app = await buildApp({ db: database.db, deployments: kinds.deployments, kinds: kinds.others, ensureNamespace, logger: log, rateLimit: false });
  // Another replica: another process, with its own watches and caches.
  const other = kubeAccess(kc, { log });
  const [batchJobs, nodePools] = [new KubeKindClient<CustomObject>(other, BATCH_JOB, { log }), new KubeKindClient<CustomObject>(other, NODE_POOL, { log })];
  replicaClients = [batchJobs, nodePools];
  await Promise.all(replicaClients.map((s) => s.start()));
  replica = await buildApp({ db: database.db, kinds: { batchJobs, nodePools }, ensureNamespace, logger: log, rateLimit: false });
  // The node pool the jobs run on, made the way kubectl would.
  await custom().createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: accountNamespace(ACME),
    plural: 'nodepools',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'NodePool', metadata: { name: 'pool' }, spec: { fakeNodePool: { numNodes: 0 } } },
  });
  await createDataset(database.db, { accountId: ACME, datasetId: 'chat', state: 'READY' });
  await createDataset(database.db, { accountId: ACME, datasetId: 'raw' });
  await createDataset(database.db, { accountId: GLOBEX, datasetId: 'secret', state: 'READY' });
}, 180_000);

afterAll(async () => {
  await app?.close();
  await replica?.close();
  await kinds?.stop();
  await Promise.all(replicaClients.map((s) => s.stop()));
  const core = kc.makeApiClient(CoreV1Api);
  for (const a of [ACME, GLOBEX]) await core.deleteNamespace({ name: accountNamespace(a) }).catch(() => undefined);
  await database?.close();
  await dropScratchDatabase(dbName).catch(() => undefined);
  kc?.destroy();
});

describe('batch jobs through REST', () => {
  let ids: string[] = [];

  it('rejects a node pool the account does not have: 404 naming nodePoolId', async () => {
    const r = await call('POST', v1(ACME, 'batchJobs'), ACME, { ...JOB, nodePoolId: 'nope' });
    expect(r.status).toBe(404);
    expect(fields(r.body)).toEqual(['nodePoolId:NOT_FOUND']);
    // GLOBEX has no pool named `pool`: ACME's is not visible to it, by id or by its full name.
    const foreign = await call('POST', v1(GLOBEX, 'batchJobs'), GLOBEX, JOB);
    expect(foreign.status).toBe(404);
    expect(fields(foreign.body)).toEqual(['nodePoolId:NOT_FOUND']);
    const byName = await call('POST', v1(GLOBEX, 'batchJobs'), GLOBEX, { ...JOB, nodePoolId: `accounts/${ACME}/nodePools/pool` });
    expect(byName.status).toBe(404);
    expect(fields(byName.body)).toEqual(['nodePoolId:NOT_FOUND']);
  });

  it('gives 20 concurrent creates on two replicas distinct numeric ids, each an object bj-<id> in the namespace', async () => {
    const results = await Promise.all(
      Array.from({ length: COUNT }, (_, i) => call('POST', v1(ACME, 'batchJobs'), ACME, { ...JOB, displayName: `job ${i}` }, i % 2 === 0 ? app : replica)),
    );
    for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(200);
    ids = results.map((r) => idOf(r.body.name));
    expect(new Set(ids).size).toBe(COUNT);
    for (const id of ids) expect(id).toMatch(/^[1-9][0-9]*$/);
    expect(results[0]!.body).toMatchObject({ state: 'CREATING', nodePoolId: 'pool', createdBy: `admin@${ACME}.example` });
    expect(String(results[0]!.body.name)).toMatch(new RegExp(`^accounts/${ACME}/clusters/default/batchJobs/\\d+$`));
    const obj = await clusterObject('batchjobs', `bj-${ids[0]}`);
    expect(obj).toMatchObject({ metadata: { labels: { 'hearth.dev/account': ACME } }, spec: { nodePoolId: 'pool', imageRef: 'busybox:1.36' } });
  });

  it('gets and lists them from the cache; another account gets 404', async () => {
    const got = await call('GET', `${v1(ACME, 'batchJobs')}/${ids[1]}?readMask=name,state,displayName`, ACME);
    expect(got.body).toEqual({ name: `accounts/${ACME}/clusters/default/batchJobs/${ids[1]}`, state: 'CREATING', displayName: 'job 1' });
    await waitFor(
      `all ${COUNT} jobs in the list of the first replica`,
      async () => {
        const list = await call('GET', v1(ACME, 'batchJobs'), ACME);
        return list.body.totalSize === COUNT && list;
      },
      { timeoutMs: 15_000, dump },
    );
    const page = await call('GET', `${v1(ACME, 'batchJobs')}?pageSize=4&filter=${encodeURIComponent('state = CREATING')}`, ACME);
    expect((page.body.batchJobs as unknown[]).length).toBe(4);
    expect(page.body.nextPageToken).toBeTruthy();
    for (const [m, path, body] of [
      ['GET', `batchJobs/${ids[0]}`, undefined],
      ['POST', `batchJobs/${ids[0]}:cancel`, {}],
      ['GET', `batchJobs/${ids[0]}:getLogs`, undefined],
      ['DELETE', `batchJobs/${ids[0]}`, undefined],
    ] as const) {
      const r = await call(m, v1(ACME, path), GLOBEX, body);
      expect(r.status, `${m} ${path}`).toBe(404);
      expect(r.body.code).toBe(5);
    }
    const foreign = await call('POST', v1(GLOBEX, 'batchJobs:batchDelete'), GLOBEX, { names: [`accounts/${ACME}/clusters/default/batchJobs/${ids[0]}`] });
    expect(foreign.status).toBe(404);
    expect((await call('GET', `${v1(GLOBEX, 'batchJobs')}/${ids[0]}`, GLOBEX)).status).toBe(404);
  });

  it('PATCH renames a job in the cluster; what runs where stays fixed', async () => {
    const url = `${v1(ACME, 'batchJobs')}/${ids[2]}`;
    const renamed = await call('PATCH', url, ACME, { displayName: 'renamed', annotations: { team: 'ml' } });
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
    expect(renamed.body).toMatchObject({ displayName: 'renamed', annotations: { team: 'ml' }, nodePoolId: 'pool' });
    expect((await clusterObject('batchjobs', `bj-${ids[2]}`))?.spec).toMatchObject({ displayName: 'renamed', annotations: { team: 'ml' } });
    const fixed = await call('PATCH', url, ACME, { imageRef: 'alpine:3' });
    expect(fixed.status).toBe(400);
    expect(fields(fixed.body)).toEqual(['imageRef:IMMUTABLE']);
    expect((await call('PATCH', url, GLOBEX, { displayName: 'x' })).status).toBe(404);
  });

  it(':cancel marks a job CANCELLING; a finished job answers FAILED_PRECONDITION', async () => {
    expect(await call('POST', `${v1(ACME, 'batchJobs')}/${ids[0]}:cancel`, ACME, {})).toEqual({ status: 200, body: {} });
    expect((await call('GET', `${v1(ACME, 'batchJobs')}/${ids[0]}`, ACME)).body.state).toBe('CANCELLING');
    expect((await clusterObject('batchjobs', `bj-${ids[0]}`))?.metadata.annotations?.['hearth.dev/cancel-requested']).toMatch(/^\d{4}-/);
    await writeStatus('batchjobs', `bj-${ids[1]}`, { state: 'COMPLETED', endTime: '2026-01-02T03:04:05Z' });
    await waitFor('job 1 reads COMPLETED', async () => (await call('GET', `${v1(ACME, 'batchJobs')}/${ids[1]}`, ACME)).body.state === 'COMPLETED', { timeoutMs: 15_000, dump });
    const done = await call('POST', `${v1(ACME, 'batchJobs')}/${ids[1]}:cancel`, ACME, {});
    expect(done.status).toBe(400);
    expect(done.body.code).toBe(9);
  });

  it(':getLogs answers entries (none: no controller runs jobs yet) and a nextPageToken', async () => {
    const r = await call('GET', `${v1(ACME, 'batchJobs')}/${ids[0]}:getLogs?ranks=0&startFromHead=true`, ACME);
    expect(r.status).toBe(200);
    expect(r.body.entries).toEqual([]);
    expect(typeof r.body.nextPageToken).toBe('string');
    const next = await call('GET', `${v1(ACME, 'batchJobs')}/${ids[0]}:getLogs?ranks=0&startFromHead=true&pageToken=${encodeURIComponent(String(r.body.nextPageToken))}`, ACME);
    expect(next.status).toBe(200);
  });

  it(':batchDelete deletes nothing when one name is missing, then all named', async () => {
    const named = ids.slice(0, 4).map((id) => `accounts/${ACME}/clusters/default/batchJobs/${id}`);
    const missing = await call('POST', v1(ACME, 'batchJobs:batchDelete'), ACME, { names: [...named, `accounts/${ACME}/clusters/default/batchJobs/999999`] });
    expect(missing.status).toBe(404);
    for (const id of ids) expect(await clusterObject('batchjobs', `bj-${id}`), id).toBeDefined();
    expect(await call('POST', v1(ACME, 'batchJobs:batchDelete'), ACME, { names: named })).toEqual({ status: 200, body: {} });
    for (const id of ids.slice(0, 4)) expect(await clusterObject('batchjobs', `bj-${id}`), id).toBeUndefined();
    expect((await call('GET', `${v1(ACME, 'batchJobs')}/${ids[0]}`, ACME)).status).toBe(404);
    expect(await call('DELETE', `${v1(ACME, 'batchJobs')}/${ids[4]}`, ACME)).toEqual({ status: 200, body: {} });
    const list = await call('GET', `${v1(ACME, 'batchJobs')}?pageSize=200`, ACME);
    expect(new Set((list.body.batchJobs as { name: string }[]).map((j) => idOf(j.name)))).toEqual(new Set(ids.slice(5)));
  });
});

describe('supervised fine-tuning jobs through REST', () => {
  const sft = (path = '') => v1(ACME, `supervisedFineTuningJobs${path}`);

  it('needs a READY dataset of the account: missing, another account’s and unfinished ones are refused', async () => {
    const missing = await call('POST', sft(), ACME, { dataset: `accounts/${ACME}/datasets/nope`, baseModel: BASE_MODEL });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toBe(`dataset: dataset "accounts/${ACME}/datasets/nope" not found`);
    const foreign = await call('POST', sft(), ACME, { dataset: `accounts/${GLOBEX}/datasets/secret`, baseModel: BASE_MODEL });
    expect(fields(foreign.body)).toEqual(['dataset:NOT_FOUND']);
    const raw = await call('POST', sft(), ACME, { dataset: 'raw', baseModel: BASE_MODEL });
    expect(raw.status).toBe(400);
    expect(raw.body.code).toBe(9);
    expect(fields((await call('POST', sft(), ACME, { dataset: 'chat' })).body)).toContain('baseModel:INVALID');
  });

  it('creates jobs the API server defaults; get, list and filter read the cache', async () => {
    const a = await call('POST', `${sft()}?supervisedFineTuningJobId=tune`, ACME, { dataset: `accounts/${ACME}/datasets/chat`, baseModel: BASE_MODEL, displayName: 'Tune', state: 'JOB_STATE_COMPLETED' });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body).toMatchObject({
      name: `accounts/${ACME}/supervisedFineTuningJobs/tune`,
      dataset: `accounts/${ACME}/datasets/chat`,
      baseModel: BASE_MODEL,
      epochs: 1,
      loraRank: 8,
      maxContextLength: 8192,
      state: 'JOB_STATE_CREATING',
      createdBy: `admin@${ACME}.example`,
    });
    const b = await call('POST', sft(), ACME, { dataset: 'chat', baseModel: BASE_MODEL, loraRank: 16, epochs: 2 }, app);
    expect(b.status, JSON.stringify(b.body)).toBe(200);
    expect((await clusterObject('sftjobs', idOf(b.body.name)))?.spec).toMatchObject({ dataset: `accounts/${ACME}/datasets/chat`, loraRank: 16 });
    expect((await call('POST', `${sft()}?supervisedFineTuningJobId=tune`, ACME, { dataset: 'chat', baseModel: BASE_MODEL })).status).toBe(409);

    expect((await call('GET', sft('/tune?readMask=name,displayName'), ACME)).body).toEqual({ name: `accounts/${ACME}/supervisedFineTuningJobs/tune`, displayName: 'Tune' });
    const list = await call('GET', sft(), ACME);
    expect(list.body.totalSize).toBe(2);
    const names = (list.body.supervisedFineTuningJobs as { name: string }[]).map((j) => j.name);
    expect(names).toEqual([...names].sort());
    const filtered = await call('GET', `${sft()}?filter=${encodeURIComponent('loraRank >= 16')}`, ACME);
    expect((filtered.body.supervisedFineTuningJobs as { name: string }[]).map((j) => j.name)).toEqual([b.body.name]);
    expect((await call('GET', v1(ACME, 'supervisedFineTuningJobs/tune'), GLOBEX)).status).toBe(404);
  });

  it(':cancel, then :resume only once the job is CANCELLED', async () => {
    expect(await call('POST', sft('/tune:cancel'), ACME, {})).toEqual({ status: 200, body: {} });
    expect((await call('GET', sft('/tune'), ACME)).body.state).toBe('JOB_STATE_CANCELLING');
    const early = await call('POST', sft('/tune:resume'), ACME, {});
    expect(early.status).toBe(400);
    expect(early.body).toMatchObject({ code: 9 });
    await writeStatus('sftjobs', 'tune', { state: 'JOB_STATE_CANCELLED', updateTime: new Date(Date.now() - 1000).toISOString() });
    await waitFor('tune reads CANCELLED', async () => (await call('GET', sft('/tune'), ACME)).body.state === 'JOB_STATE_CANCELLED', { timeoutMs: 15_000, dump });
    expect((await call('POST', sft('/tune:cancel'), ACME, {})).status).toBe(400);
    for (const verb of ['cancel', 'resume']) expect((await call('POST', sft(`/tune:${verb}`), GLOBEX, {})).status, verb).toBe(404);
    const resumed = await call('POST', sft('/tune:resume'), ACME, {});
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ name: `accounts/${ACME}/supervisedFineTuningJobs/tune`, state: 'JOB_STATE_RE_QUEUEING' });
    const annotations = (await clusterObject('sftjobs', 'tune'))?.metadata.annotations ?? {};
    expect(annotations['hearth.dev/resume-requested']).toMatch(/^\d{4}-/);
    expect(annotations['hearth.dev/cancel-requested']).toBeUndefined();
  });

  it('DELETE removes the job from the cluster; another account cannot', async () => {
    expect((await call('DELETE', sft('/tune'), GLOBEX)).status).toBe(404);
    expect(await call('DELETE', sft('/tune'), ACME)).toEqual({ status: 200, body: {} });
    expect(await clusterObject('sftjobs', 'tune')).toBeUndefined();
    expect((await call('GET', sft('/tune'), ACME)).status).toBe(404);
    expect((await call('GET', sft(), ACME)).body.totalSize).toBe(1);
  });
});
