// Dedicated compute end to end (issue 13), over REST, wired as mode `all` wires it (one client, one
// informer cache, the controller manager with the NodePool, Environment and BatchJob controllers,
// the pod log reader of mode `api`, a real PostgreSQL): an admin creates a node pool (its KWOK node
// made by the NodePool controller) and binds a user; the user creates an environment, connects it,
// runs a batch job in it, reads its logs; then everything is deleted, the pool last.
//
// The job's rank pod is simulated (test/fixtures/kwok-sim): KWOK's stages end it after
// HEARTH_SIM_DURATION with exit code 0 (the job's envVars), and SimulatedOutput gives it the output
// lines :getLogs must serve. Every controller is scoped to this run's namespace: other runs share
// the cluster.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountNamespace } from '../../src/api/kube/namespaces.js';
import { loadKubeConfig, type PooledKubeConfig } from '../../src/kube/config.js';
import { KubePodLogs } from '../../src/kube/pod-logs.js';
import { SIM_ENV, SimulatedOutput } from '../fixtures/kwok-sim/index.js';
import { callApi } from '../support/api.js';
import { startClusterHearth, type ClusterHearth } from '../support/cluster-hearth.js';
import { kubeconfigPath } from '../support/env.js';
import { dumpNamespace, waitFor } from '../support/wait.js';

const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `compute-${suffix}`;
const NS = accountNamespace(ACCOUNT);
const POOL = 'train';
const dbName = `hearth_t_compute_${suffix}`;
const BOB = `bob@${ACCOUNT}.example`;
const CAROL = `carol@${ACCOUNT}.example`;
/** Lines each rank of a job "prints" (the simulated output; the job's name and rank in each). */
const LINES = 5;
const outputOf = (job: string, rank: number): string[] => Array.from({ length: LINES }, (_, i) => `${job} rank ${rank} step ${i}`);

const log = pino({ level: process.env.HEARTH_TEST_LOG ?? 'warn' });
let kc: PooledKubeConfig;
let hearth: ClusterHearth;
let app: FastifyInstance;
let output: SimulatedOutput;
let adminKey = '';
let bobKey = '';
let carolKey = '';

const rest = (key: string, method: string, path: string, body?: unknown) => callApi(app, method, `/v1/accounts/${ACCOUNT}/${path}`, key, body);
const admin = (method: string, path: string, body?: unknown) => rest(adminKey, method, path, body);

const dump = async (): Promise<unknown> => ({
  pool: (await admin('GET', `nodePools/${POOL}`)).body,
  environments: (await admin('GET', 'environments')).body,
  batchJobs: (await admin('GET', 'batchJobs')).body,
  ...((await dumpNamespace(kc, NS)) as object),
});

async function waitWire(key: string, path: string, field: string, values: string[], timeoutMs = 60_000): Promise<Record<string, unknown>> {
  return waitFor(`${path} ${field} in ${values.join(' or ')}`, async () => {
    const r = await rest(key, 'GET', path);
    return values.includes(r.body[field] as string) ? r.body : undefined;
  }, { timeoutMs, intervalMs: 200, dump });
}

async function userKey(userId: string, email: string): Promise<string> {
  expect((await admin('POST', 'users', { role: 'user', email })).status).toBe(200);
  return (await admin('POST', `users/${userId}/apiKeys`, { apiKey: {} })).body.key as string;
}

beforeAll(async () => {
  kc = loadKubeConfig(kubeconfigPath());
  output = new SimulatedOutput(kc, NS, join(tmpdir(), `hearth-compute-${suffix}`), outputOf);
  output.start();
  // The controller manager of mode `all` (metering and the Deployment controller's fleet are not
  // part of this journey), every controller of the journey scoped to this run's namespace.
  hearth = await startClusterHearth({
    kc,
    log,
    account: ACCOUNT,
    dbName,
    crdManager: 'hearth-crds-test',
    app: (clients) => ({ podLogs: new KubePodLogs(clients) }),
    manager: () => ({
      deployment: { selector: `hearth.dev/compute-test=${suffix}` },
      nodePool: {},
      environment: {},
      batchJob: { pollMs: 1000 },
    }),
  });
  ({ app, apiKey: adminKey } = hearth);
  bobKey = await userKey('bob', BOB);
  carolKey = await userKey('carol', CAROL);
}, 180_000);

afterAll(async () => {
  output?.stop();
  await hearth?.close();
  // The pool's nodes go with the pool (last test); a run that failed before may leave them.
  const core = kc?.makeApiClient(CoreV1Api);
  const left = await core?.listNode({ labelSelector: `hearth.dev/node-pool-account=${ACCOUNT}` }).catch(() => undefined);
  for (const n of left?.items ?? []) await core?.deleteNode({ name: n.metadata!.name! }).catch(() => undefined);
  kc?.destroy();
}, 60_000);

describe('dedicated compute over REST: pool → binding → environment → job → logs → delete', () => {
  it('an admin creates a node pool and binds a user', async () => {
    const created = await admin('POST', 'nodePools', {
      nodePoolId: POOL,
      nodePool: { displayName: 'Training', minNodeCount: 1, maxNodeCount: 2, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 8, region: 'US_VIRGINIA_2' } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    // The NodePool controller makes the floor's KWOK node; READY once it is Ready.
    await waitWire(adminKey, `nodePools/${POOL}`, 'state', ['READY'], 90_000);
    const nodes = await kc.makeApiClient(CoreV1Api).listNode({ labelSelector: `hearth.dev/node-pool-account=${ACCOUNT},hearth.dev/node-pool=${POOL}` });
    expect(nodes.items).toHaveLength(1);
    const bound = await admin('POST', 'nodePoolBindings', { principal: BOB, nodePoolId: POOL });
    expect(bound.status, JSON.stringify(bound.body)).toBe(200);
  }, 120_000);

  it('a user without a binding may not connect to the pool (PERMISSION_DENIED naming it)', async () => {
    expect((await rest(carolKey, 'POST', 'environments', { environmentId: 'carols', environment: {} })).status).toBe(200);
    const r = await rest(carolKey, 'POST', 'environments/carols:connect', { connection: { nodePoolId: POOL } });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain(`node pool "accounts/${ACCOUNT}/clusters/default/nodePools/${POOL}"`);
    expect((await rest(carolKey, 'DELETE', 'environments/carols')).status).toBe(200);
  });

  it('the bound user creates an environment and connects it: CONNECTED, with the shell command', async () => {
    const created = await rest(bobKey, 'POST', 'environments', { environmentId: 'work', environment: { baseImageRef: 'ghcr.io/acme/train:1' } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    await waitWire(bobKey, 'environments/work', 'state', ['DISCONNECTED']);
    expect((await rest(bobKey, 'GET', 'environments/work')).body.imageRef).toBe('ghcr.io/acme/train:1');
    expect((await rest(bobKey, 'POST', 'environments/work:connect', { connection: { nodePoolId: POOL, numRanks: 1 } })).status).toBe(200);
    const connected = await waitWire(bobKey, 'environments/work', 'state', ['CONNECTED'], 90_000);
    // The zone of rank 0's node: the NodePool controller labels its nodes `<region>-a`, as the simulated fleet does (hack/lib/fleet.ts).
    expect(connected.connection).toMatchObject({ nodePoolId: POOL, numRanks: 1, zone: 'US_VIRGINIA_2-a' });
    expect((connected.status as { message?: string }).message).toContain(`kubectl exec -it -n ${NS} work-rank-0`);
    // :getStats is live: the controller's node count and ranks per node, the connected environment.
    await waitFor('the pool stats to show the node and the environment', async () => {
      const stats = (await admin('GET', `nodePools/${POOL}:getStats`)).body;
      return stats.nodeCount === 1 && stats.ranksPerNode === 8 && stats.environmentCount === 1 && stats.environmentRanks === 1 ? stats : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200, dump });
  }, 120_000);

  it('runs a batch job in the environment, on the pool: COMPLETED, and :getLogs serves its output', async () => {
    const created = await rest(bobKey, 'POST', 'batchJobs', {
      displayName: 'hello',
      nodePoolId: POOL,
      environmentId: 'work',
      shellExecutor: { command: 'python train.py' },
      envVars: { [SIM_ENV.duration]: '2s', [SIM_ENV.exitCode]: '0' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const id = (created.body.name as string).split('/').pop()!;
    const job = `bj-${id}`;
    const done = await waitWire(bobKey, `batchJobs/${id}`, 'state', ['COMPLETED', 'FAILED', 'CANCELLED'], 120_000);
    expect(done, JSON.stringify(await dump())).toMatchObject({ state: 'COMPLETED', status: 'all 1 ranks exited with code 0' });
    // The job in the pool's stats by state, on :getStats and on the pool itself.
    await waitFor('the completed job in the pool stats', async () => {
      const stats = (await admin('GET', `nodePools/${POOL}:getStats`)).body as { batchJobCount?: Record<string, number>; batchJobRanks?: Record<string, number> };
      return stats.batchJobCount?.COMPLETED === 1 && stats.batchJobRanks?.COMPLETED === 1 ? stats : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200, dump });
    expect((await admin('GET', `nodePools/${POOL}`)).body.nodePoolStats).toMatchObject({ nodeCount: 1, batchJobCount: { COMPLETED: 1 } });
    // Oldest first: every line the rank printed, in order, archived before its pod went.
    const logs = await waitFor('the job\'s output archived', async () => {
      const r = await rest(bobKey, 'GET', `batchJobs/${id}:getLogs?startFromHead=true`);
      return r.status === 200 && (r.body.entries as unknown[]).length >= LINES ? r.body : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500, dump });
    const entries = logs.entries as { rank: number; message: string; logTime: string }[];
    expect(entries.map((e) => e.message)).toEqual(outputOf(job, 0));
    expect(entries.every((e) => e.rank === 0 && !Number.isNaN(Date.parse(e.logTime)))).toBe(true);
    // Newest first, filtered: the server-side filter and order.
    const last = await rest(bobKey, 'GET', `batchJobs/${id}:getLogs?pageSize=1&filter=${encodeURIComponent('step')}`);
    expect((last.body.entries as { message: string }[]).map((e) => e.message)).toEqual([`${job} rank 0 step ${LINES - 1}`]);
    expect((await rest(bobKey, 'DELETE', `batchJobs/${id}`)).status).toBe(200);
    await waitFor('the batch job gone', async () => (await rest(bobKey, 'GET', `batchJobs/${id}`)).status === 404, { timeoutMs: 30_000, dump });
  }, 180_000);

  it('deletes everything, the pool last: disconnect → DISCONNECTED, environment gone, pool gone', async () => {
    expect((await rest(bobKey, 'POST', 'environments/work:disconnect', {})).status).toBe(200);
    await waitWire(bobKey, 'environments/work', 'state', ['DISCONNECTED'], 60_000);
    expect((await rest(bobKey, 'DELETE', 'environments/work')).status).toBe(200);
    await waitFor('the environment gone', async () => (await rest(bobKey, 'GET', 'environments/work')).status === 404, { timeoutMs: 30_000, dump });
    expect((await admin('DELETE', `nodePools/${POOL}`)).status).toBe(200);
    await waitFor('the node pool gone', async () => (await admin('GET', `nodePools/${POOL}`)).status === 404, { timeoutMs: 60_000, dump });
  }, 150_000);
});
