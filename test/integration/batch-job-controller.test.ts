// The BatchJob controller on the real (simulated) control plane and a real PostgreSQL: a job's
// ranks run as the pods of an Indexed Job on its node pool's KWOK node; KWOK's stages end them the
// way the test says (hack/kwok/stages.yaml: HEARTH_SIM_* env vars) and kwok Logs objects give them
// output (test/fixtures/kwok-sim). Success → COMPLETED; rank 2 exiting 3 → FAILED naming rank 2
// and code 3; :cancel mid-run → CANCELLED with the pods gone; the output paged through :getLogs
// after the pods are deleted (both orders, ranks, filter, startTime); a user without a binding refused over REST (403) and, for an object
// written with kubectl, by the controller (FAILED naming the pool). Independent of the NodePool
// controller: the test makes its pool's node itself.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCrds } from '../../hack/lib/crds.js';
import { buildApp } from '../../src/api/app.js';
import { KubeKindClients, type CustomObject } from '../../src/api/kube/kind-client.js';
import { NamespaceEnsurer, accountNamespace } from '../../src/api/kube/namespaces.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { batchJobController } from '../../src/controllers/batch-job/controller.js';
import type { Runnable } from '../../src/controllers/runtime/controller.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { KubeClients } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { InformerFactory } from '../../src/kube/informer-factory.js';
import { KubePodLogs } from '../../src/kube/pod-logs.js';
import { realClock } from '../../src/util/clock.js';
import { SIM_ENV, SimulatedOutput, poolNode } from '../fixtures/kwok-sim/index.js';
import { callApi } from '../support/api.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { kubeconfigPath } from '../support/env.js';
import { kubeAccess } from '../support/kube.js';
import { dumpNamespace, waitFor } from '../support/wait.js';
import { TEST_SEAL } from '../support/tenancy.js';

const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `bjctl-${suffix}`;
const NS = accountNamespace(ACCOUNT);
const NODE = `bjctl-${suffix}-n0`;
const dbName = `hearth_t_bjctl_${suffix}`;
const LINES = 250;

const kc = loadKubeConfig(kubeconfigPath());
const clients = new KubeClients(kc, { qps: 50, burst: 100 });
const core = clients.api(CoreV1Api);
const custom = clients.api(CustomObjectsApi);
const log = pino({ level: process.env.HEARTH_TEST_LOG ?? 'warn' });
const informers = new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log, backoff: { initialMs: 200, maxMs: 2000 } });

let database: Database;
let controller: Runnable;
let kinds: KubeKindClients;
let app: FastifyInstance;
let output: SimulatedOutput;
let adminKey: string;
let userKey: string;

const v1 = (path: string) => `/v1/accounts/${ACCOUNT}/${path}`;
const idOf = (name: unknown) => String(name).split('/').pop()!;

async function batchJob(name: string): Promise<CustomObject | undefined> {
  try {
    return (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'batchjobs', name })) as CustomObject;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}

async function jobPods(name: string) {
  return (await core.listNamespacedPod({ namespace: NS, labelSelector: `hearth.dev/batch-job=${name}` })).items;
}

async function dump(name: string): Promise<unknown> {
  return { batchJob: (await batchJob(name))?.status, pods: await dumpNamespace(kc, NS), fixtureErrors: output.errors.map(String) };
}

async function waitState(name: string, state: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  return waitFor(`batch job ${name} ${state}`, async () => {
    const s = (await batchJob(name))?.status;
    return s?.state === state ? s : undefined;
  }, { timeoutMs, dump: () => dump(name) });
}

async function create(body: Record<string, unknown>, key = adminKey) {
  return callApi(app, 'POST', v1('batchJobs'), key, body);
}

const sim = (duration: string, codes: Record<number, number> = {}) => ({
  [SIM_ENV.duration]: duration,
  ...Object.fromEntries(Object.entries(codes).map(([r, c]) => [SIM_ENV.exitCodeOfRank(Number(r)), String(c)])),
});

const JOB = { nodePoolId: 'pool', imageRef: 'python:3.12', shellExecutor: { command: 'python train.py' } };

beforeAll(async () => {
  // The simulated lifecycle this test needs comes with the cluster (hack/lib/cluster.ts): say so
  // plainly on a cluster started before it existed.
  const crds = (await clients.api(ApiextensionsV1Api).listCustomResourceDefinition()).items.map((c) => c.metadata?.name);
  if (!crds.includes('logs.kwok.x-k8s.io')) {
    throw new Error('this cluster has no kwok Logs API: it was started without hack/kwok/stages.yaml and --enable-crds=Logs,ClusterLogs (hack/lib/cluster.ts); restart the simulated cluster');
  }
  await installCrds(kc, 'hearth-crds-test');
  database = await createScratchDatabase(dbName);
  adminKey = (await bootstrap(database.db, { accountId: ACCOUNT, email: `admin@${ACCOUNT}.example` })).apiKey!.key;
  await new NamespaceEnsurer(kc, { seal: TEST_SEAL }).ensure(ACCOUNT);
  kinds = new KubeKindClients(kubeAccess(kc, { log }), { log });
  await kinds.start();
  app = await buildApp({ db: database.db, kinds: kinds.others, logger: log, rateLimit: false, podLogs: new KubePodLogs(clients) });
  expect((await callApi(app, 'POST', v1('users'), adminKey, { role: 'user', email: `bob@${ACCOUNT}.example` })).status).toBe(200);
  userKey = (await callApi(app, 'POST', v1('users/bob/apiKeys'), adminKey, { apiKey: {} })).body.key as string;
  // The pool (as kubectl would make it) and its one node: 4 GPUs, so at most 4 ranks.
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: NS,
    plural: 'nodepools',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'NodePool', metadata: { name: 'pool' }, spec: { maxNodeCount: 1, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 4 } } },
  });
  await core.createNode({ body: poolNode(NODE, ACCOUNT, 'pool', 4) });
  await waitFor(`node ${NODE} Ready`, async () => (await core.readNode({ name: NODE })).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), { timeoutMs: 30_000 });
  output = new SimulatedOutput(kc, NS, join(tmpdir(), `hearth-bjctl-${suffix}`), (job, rank) => Array.from({ length: LINES }, (_, i) => `${job} rank ${rank} line ${i}`));
  output.start();
  controller = batchJobController({ clients, informers, db: database.db, clock: realClock, log, settings: { logRetentionMs: 24 * 3600_000, pollMs: 1000, namespace: NS } });
  await controller.start();
}, 180_000);

afterAll(async () => {
  output?.stop();
  await controller?.stop(2000);
  await informers.stop();
  await app?.close();
  await kinds?.stop();
  await core.deleteNamespace({ name: NS }).catch(() => undefined);
  await core.deleteNode({ name: NODE }).catch(() => undefined);
  await database?.close();
  await dropScratchDatabase(dbName);
}, 60_000);

describe('BatchJob controller on the simulated cluster', () => {
  it('2 ranks that exit 0 → RUNNING → COMPLETED; the pods go; every line is paged from the archive', async () => {
    const made = await create({ ...JOB, numRanks: 2, envVars: sim('3s') });
    expect(made.status).toBe(200);
    const name = `bj-${idOf(made.body.name)}`;
    const running = await waitState(name, 'RUNNING');
    expect(running.startTime).toBeDefined();
    const done = await waitState(name, 'COMPLETED');
    expect(done).toMatchObject({ status: 'all 2 ranks exited with code 0' });
    expect(done.endTime).toBeDefined();
    await waitFor('the rank pods gone', async () => (await jobPods(name)).length === 0, { timeoutMs: 30_000, dump: () => dump(name) });

    // Oldest first, 100 a page: rank 0's and rank 1's lines, all of them, in time order.
    const seen: string[] = [];
    const times = new Map<string, string>();
    let token: string | undefined;
    for (let page = 0; page < 10; page++) {
      const q = `startFromHead=true&pageSize=100${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`;
      const r = await callApi(app, 'GET', v1(`batchJobs/${idOf(made.body.name)}:getLogs?${q}`), adminKey);
      expect(r.status).toBe(200);
      const entries = r.body.entries as { rank: number; message: string; logTime: string }[];
      if (entries.length === 0) break;
      seen.push(...entries.map((e) => e.message));
      for (const e of entries) times.set(e.message, e.logTime);
      token = r.body.nextPageToken as string;
    }
    expect(seen).toHaveLength(2 * LINES);
    for (const rank of [0, 1]) expect(seen.filter((m) => m.startsWith(`${name} rank ${rank} `))).toEqual(Array.from({ length: LINES }, (_, i) => `${name} rank ${rank} line ${i}`));
    const rank1 = await callApi(app, 'GET', v1(`batchJobs/${idOf(made.body.name)}:getLogs?ranks=1&pageSize=2&filter=line%2024`), adminKey);
    expect((rank1.body.entries as { message: string }[]).map((e) => e.message)).toEqual([`${name} rank 1 line 249`, `${name} rank 1 line 248`]);
    // startTime: rank 0 from its line 100 on, oldest first.
    const since = times.get(`${name} rank 0 line 100`)!;
    const fromTime = await callApi(app, 'GET', v1(`batchJobs/${idOf(made.body.name)}:getLogs?ranks=0&startFromHead=true&pageSize=3&startTime=${encodeURIComponent(since)}`), adminKey);
    expect(fromTime.status).toBe(200);
    expect((fromTime.body.entries as { message: string }[]).map((e) => e.message)).toEqual([100, 101, 102].map((i) => `${name} rank 0 line ${i}`));
  }, 120_000);

  it('4 ranks where rank 2 exits 3 → FAILED naming rank 2 and exit code 3', async () => {
    const made = await create({ ...JOB, numRanks: 4, envVars: sim('3s', { 2: 3 }) });
    expect(made.status).toBe(200);
    const name = `bj-${idOf(made.body.name)}`;
    const failed = await waitState(name, 'FAILED');
    expect(failed.status).toBe('rank 2 failed with exit code 3 (Error)');
    const wire = await callApi(app, 'GET', v1(`batchJobs/${idOf(made.body.name)}`), adminKey);
    expect(wire.body).toMatchObject({ state: 'FAILED', status: 'rank 2 failed with exit code 3 (Error)' });
    const logs = await callApi(app, 'GET', v1(`batchJobs/${idOf(made.body.name)}:getLogs?ranks=2&pageSize=1`), adminKey);
    expect(logs.body.entries).toEqual([expect.objectContaining({ rank: 2, message: `${name} rank 2 line ${LINES - 1}` })]);
  }, 120_000);

  it(':cancel mid-run → CANCELLING → CANCELLED, the Job and its pods gone', async () => {
    const made = await create({ ...JOB, numRanks: 2, envVars: sim('10m') });
    const id = idOf(made.body.name);
    const name = `bj-${id}`;
    await waitState(name, 'RUNNING');
    expect((await callApi(app, 'POST', v1(`batchJobs/${id}:cancel`), adminKey, {})).status).toBe(200);
    const cancelled = await waitState(name, 'CANCELLED');
    expect(cancelled.endTime).toBeDefined();
    expect(await jobPods(name)).toEqual([]);
    await waitFor('the Job gone', async () => {
      try {
        await clients.api((await import('@kubernetes/client-node')).BatchV1Api).readNamespacedJob({ namespace: NS, name });
        return false;
      } catch (e) {
        return (e as { code?: number }).code === 404;
      }
    }, { timeoutMs: 30_000 });
  }, 120_000);

  it('a job that does not fit is PENDING (waiting for capacity) until the GPUs free up', async () => {
    const big = await create({ ...JOB, numRanks: 4, envVars: sim('10m') });
    const bigName = `bj-${idOf(big.body.name)}`;
    await waitState(bigName, 'RUNNING');
    const small = await create({ ...JOB, numRanks: 2, envVars: sim('2s') });
    const smallName = `bj-${idOf(small.body.name)}`;
    const pending = await waitState(smallName, 'PENDING');
    expect(pending.status).toMatch(/^waiting for capacity: 0 of 2 ranks started/);
    expect((await callApi(app, 'POST', v1(`batchJobs/${idOf(big.body.name)}:cancel`), adminKey, {})).status).toBe(200);
    await waitState(bigName, 'CANCELLED');
    await waitState(smallName, 'COMPLETED');
  }, 120_000);

  it('a user without a binding: REST refuses with PERMISSION_DENIED naming the pool; kubectl-created, the controller fails it naming the pool', async () => {
    const refused = await create({ ...JOB, envVars: sim('1s') }, userKey);
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain(`node pool "accounts/${ACCOUNT}/clusters/default/nodePools/pool"`);
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NS,
      plural: 'batchjobs',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'BatchJob', metadata: { name: 'by-kubectl', annotations: { 'hearth.dev/created-by': `bob@${ACCOUNT}.example` } }, spec: { ...JOB, envVars: sim('1s') } },
    });
    const failed = await waitState('by-kubectl', 'FAILED');
    expect(failed.status).toBe(`PERMISSION_DENIED: nodePoolId: bob@${ACCOUNT}.example may not run jobs on node pool pool (no node pool binding)`);
    expect((failed.conditions as { type: string; status: string }[])[0]).toMatchObject({ type: 'Ready', status: 'False' });
    expect(await jobPods('by-kubectl')).toEqual([]);
  }, 60_000);

  it('more ranks than the pool holds: REST refuses naming numRanks; kubectl-created, FAILED naming numRanks and the maximum', async () => {
    const refused = await create({ ...JOB, numRanks: 5 });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe(`numRanks: 5 ranks exceed the maximum of node pool "accounts/${ACCOUNT}/clusters/default/nodePools/pool" (4: maxNodeCount 1 × 4 per node)`);
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NS,
      plural: 'batchjobs',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'BatchJob', metadata: { name: 'too-many' }, spec: { ...JOB, numRanks: 5 } },
    });
    const failed = await waitState('too-many', 'FAILED');
    expect(failed.status).toBe('INVALID_ARGUMENT: numRanks: 5 exceeds the maximum of node pool pool: 4 (maxNodeCount 1 × 4 ranks per node)');
    expect(await jobPods('too-many')).toEqual([]);
  }, 60_000);

  it("a bound user and another user's environment that is not shared: REST refuses (403 naming it); kubectl-created, FAILED naming environmentId", async () => {
    expect((await callApi(app, 'POST', v1('nodePoolBindings'), adminKey, { principal: `bob@${ACCOUNT}.example`, nodePoolId: 'pool' })).status).toBe(200);
    const envs = { group: GROUP, version: VERSION, namespace: NS, plural: 'environments' };
    await custom.createNamespacedCustomObject({
      ...envs,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Environment', metadata: { name: 'admins', annotations: { 'hearth.dev/created-by': `admin@${ACCOUNT}.example` } }, spec: { baseImageRef: 'python:3.12' } },
    });
    const inEnv = { nodePoolId: 'pool', environmentId: 'admins', shellExecutor: { command: 'python train.py' }, envVars: sim('1s') };
    const refused = await create(inEnv, userKey);
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain(`environmentId: environment "accounts/${ACCOUNT}/clusters/default/environments/admins" is not shared`);
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NS,
      plural: 'batchjobs',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'BatchJob', metadata: { name: 'not-shared', annotations: { 'hearth.dev/created-by': `bob@${ACCOUNT}.example` } }, spec: inEnv },
    });
    const failed = await waitState('not-shared', 'FAILED');
    expect(failed.status).toBe(
      `PERMISSION_DENIED: environmentId: environment "accounts/${ACCOUNT}/environments/admins" is not shared: only its creator admin@${ACCOUNT}.example and account admins may connect it or run jobs in it (set shared: true to let every user of the account)`,
    );
    expect(await jobPods('not-shared')).toEqual([]);
    // Shared: the same user's job runs.
    await custom.patchNamespacedCustomObject({ ...envs, name: 'admins', body: { spec: { shared: true } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    // The patch went to the API server, not through REST: REST decides from its cache once the watch brings it.
    await waitFor('REST sees the environment shared', async () => (await callApi(app, 'GET', v1('environments/admins'), adminKey)).body.shared === true, { timeoutMs: 10_000 });
    const ok = await create(inEnv, userKey);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    await waitState(`bj-${idOf(ok.body.name)}`, 'COMPLETED');
  }, 60_000);
});
