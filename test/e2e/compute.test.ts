// Dedicated compute end to end (issue 13), over REST, wired as mode `all` wires it (one client, one
// informer cache, the controller manager, a real PostgreSQL): an admin creates a node pool and binds
// a user; the user creates an environment, connects it, runs a batch job in it, reads its logs;
// then everything is deleted, the pool last.
//
// SKELETON — parts depend on controllers written in parallel (issue 13 items 1, 4, 5):
// - NODE POOL: until a `node-pool` controller is registered by `registrations()`, the test makes the
//   pool's KWOK nodes itself (labels and taint of src/fleet/node-pools.ts) and does not wait for
//   READY; once it is, the pool must become READY by itself and the test makes no node.
// - JOB + LOGS: the step "run a job in it → read its logs" runs only when a `batch-job` controller
//   is registered (it.skipIf below); until then it is reported as skipped, not passed.
// Both are detected by registration name ('node-pool', 'batch-job'): adjust NAMES if the merged
// controllers register under other names or need an option in MANAGER_OPTIONS to be registered.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type V1Node } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCrds } from '../../hack/lib/crds.js';
import { buildApp } from '../../src/api/app.js';
import { NamespaceEnsurer, accountNamespace } from '../../src/api/kube/namespaces.js';
import { KubeKindClients } from '../../src/api/kube/kind-client.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { controllerManager, registrations, type ControllerManagerOptions } from '../../src/controllers/manager.js';
import type { Manager } from '../../src/controllers/runtime/index.js';
import type { Database, Db } from '../../src/db/client.js';
import { nodePoolNodeLabels, nodePoolTaint } from '../../src/fleet/node-pools.js';
import { KubeClients } from '../../src/kube/client.js';
import { loadKubeConfig, type PooledKubeConfig } from '../../src/kube/config.js';
import { InformerFactory } from '../../src/kube/informer-factory.js';
import { realClock } from '../../src/util/clock.js';
import { callApi } from '../support/api.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { kubeconfigPath } from '../support/env.js';
import { dumpNamespace, waitFor } from '../support/wait.js';

const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `compute-${suffix}`;
const NS = accountNamespace(ACCOUNT);
const POOL = 'train';
const dbName = `hearth_t_compute_${suffix}`;
const BOB = `bob@${ACCOUNT}.example`;
const CAROL = `carol@${ACCOUNT}.example`;
const NAMES = { nodePool: 'node-pool', batchJob: 'batch-job' } as const;

const log = pino({ level: process.env.HEARTH_TEST_LOG ?? 'warn' });
let kc: PooledKubeConfig;
let database: Database;
let clients: KubeClients;
let informers: InformerFactory;
let kinds: KubeKindClients;
let manager: Manager;
let app: FastifyInstance;
let adminKey = '';
let bobKey = '';
let carolKey = '';
const madeNodes: string[] = [];

/**
 * The controller manager of mode `all` (metering and the Deployment controller's fleet are not part
 * of this journey), scoped to this run's namespace: other runs share the cluster.
 */
const managerOptions = (db: Db): ControllerManagerOptions => ({ clients, informers, db, log, shutdownTimeoutMs: 5000, metering: false, deployment: { selector: `hearth.dev/compute-test=${suffix}` }, environment: { namespace: NS } });
/** Whether the manager runs controller `name` (asked at collection time: nothing is connected yet). */
const registered = (name: string): boolean => registrations(managerOptions(undefined as unknown as Db)).some((r) => r.name === name);

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

/** Until the NodePool controller makes them: one KWOK node of the pool (8 H100s). */
function poolNode(name: string): V1Node {
  const resources = { cpu: '96', memory: '1Ti', pods: '110', 'nvidia.com/gpu': '8' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { ...nodePoolNodeLabels(ACCOUNT, POOL), 'kubernetes.io/hostname': name, type: 'kwok', 'topology.kubernetes.io/region': 'US_VIRGINIA_2', 'topology.kubernetes.io/zone': 'us-virginia-2-a' },
    },
    spec: { taints: [nodePoolTaint(POOL)] },
    status: { capacity: resources, allocatable: resources },
  };
}

async function userKey(userId: string, email: string): Promise<string> {
  expect((await admin('POST', 'users', { role: 'user', email })).status).toBe(200);
  return (await admin('POST', `users/${userId}/apiKeys`, { apiKey: {} })).body.key as string;
}

beforeAll(async () => {
  kc = loadKubeConfig(kubeconfigPath());
  await installCrds(kc, 'hearth-crds-test');
  database = await createScratchDatabase(dbName, { maxConnections: 8 });
  adminKey = (await bootstrap(database.db, { accountId: ACCOUNT, email: `admin@${ACCOUNT}.example` })).apiKey!.key;
  const namespaces = new NamespaceEnsurer(kc);
  await namespaces.ensure(ACCOUNT);
  clients = new KubeClients(kc, { qps: 50, burst: 100 }, realClock);
  informers = new InformerFactory(clients, { clock: realClock, log, backoff: { initialMs: 200, maxMs: 2000 } });
  kinds = new KubeKindClients({ clients, informers }, { log });
  manager = controllerManager(managerOptions(database.db));
  manager.start();
  await kinds.start();
  app = await buildApp({ db: database.db, deployments: kinds.deployments, kinds: kinds.others, ensureNamespace: (a) => namespaces.ensure(a), logger: log, rateLimit: false });
  bobKey = await userKey('bob', BOB);
  carolKey = await userKey('carol', CAROL);
}, 180_000);

afterAll(async () => {
  await manager?.stop();
  await app?.close();
  await kinds?.stop();
  await informers?.stop();
  const core = kc?.makeApiClient(CoreV1Api);
  await core?.deleteNamespace({ name: NS }).catch(() => undefined);
  for (const name of madeNodes) await core?.deleteNode({ name }).catch(() => undefined);
  await database?.close();
  await dropScratchDatabase(dbName).catch(() => undefined);
  kc?.destroy();
}, 60_000);

describe('dedicated compute over REST: pool → binding → environment → job → logs → delete', () => {
  it('an admin creates a node pool and binds a user', async () => {
    const created = await admin('POST', 'nodePools', {
      nodePoolId: POOL,
      nodePool: { displayName: 'Training', minNodeCount: 1, maxNodeCount: 2, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 8, region: 'US_VIRGINIA_2' } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    if (registered(NAMES.nodePool)) {
      await waitWire(adminKey, `nodePools/${POOL}`, 'state', ['READY'], 90_000);
    } else {
      const name = `compute-${suffix}-n0`;
      await kc.makeApiClient(CoreV1Api).createNode({ body: poolNode(name) });
      madeNodes.push(name);
    }
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
    expect(connected.connection).toMatchObject({ nodePoolId: POOL, numRanks: 1, zone: 'us-virginia-2-a' });
    expect((connected.status as { message?: string }).message).toContain(`kubectl exec -it -n ${NS} work-rank-0`);
  }, 120_000);

  // DEPENDS ON the BatchJob controller (issue 13 items 4–6): skipped until one is registered.
  it.skipIf(!registered(NAMES.batchJob))('runs a batch job in the environment and reads its logs', async () => {
    const created = await rest(bobKey, 'POST', 'batchJobs', { displayName: 'hello', nodePoolId: POOL, environmentId: 'work', shellExecutor: { command: 'echo hello from rank $HEARTH_RANK' } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const id = (created.body.name as string).split('/').pop()!;
    await waitWire(bobKey, `batchJobs/${id}`, 'state', ['JOB_STATE_COMPLETED', 'COMPLETED'], 120_000);
    const logs = await rest(bobKey, 'GET', `batchJobs/${id}:getLogs`);
    expect(logs.status).toBe(200);
    // TODO(after merge): assert the simulated output the BatchJob controller's KWOK stages produce.
    expect(logs.body.entries).toBeDefined();
    expect((await rest(bobKey, 'DELETE', `batchJobs/${id}`)).status).toBe(200);
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
