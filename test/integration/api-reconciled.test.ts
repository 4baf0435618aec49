// REST and the Deployment controller together on the simulated cluster: a deployment created
// through REST is reconciled (region, pods on KWOK GPU nodes) and its state is visible through
// REST; a soft delete through REST is carried out by the controller (DELETED, GPUs released,
// quota usage back to 0) and undone by :undelete. The controller runs in-process, limited to this
// run's account by the `hearth.dev/account` label the facade puts on every object.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { installCrds } from '../../hack/lib/crds.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { createLogger } from '../../src/log.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { KubeDeploymentClient } from '../../src/api/kube/kind-client.js';
import { NamespaceEnsurer, accountNamespace } from '../../src/api/kube/namespaces.js';
import { deploymentController } from '../../src/controllers/deployment/controller.js';
import { DbQuotaLedger } from '../../src/controllers/deployment/quota-ledger.js';
import { KubeClients, Manager } from '../../src/controllers/runtime/index.js';
import { InformerFactory } from '../../src/kube/informer-factory.js';
import { GROUP, LABELS, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { loadKubeConfig, type PooledKubeConfig } from '../../src/kube/config.js';
import { realClock } from '../../src/util/clock.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { callApi } from '../support/api.js';
import { kubeconfigPath } from '../support/env.js';
import { kubeAccess } from '../support/kube.js';
import { dumpNamespace, waitFor } from '../support/wait.js';
import { TEST_SEAL } from '../support/tenancy.js';

const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `api-rec-${suffix}`;
const NS = accountNamespace(ACCOUNT);
const dbName = `hearth_t_api_reconciled_${suffix}`;
const BASE_MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';

let kc: PooledKubeConfig;
let database: Database;
let client: KubeDeploymentClient;
let manager: Manager;
let app: FastifyInstance;
let key = '';

async function call(method: string, url: string, payload?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return callApi(app, method, url, key, payload);
}

const url = (id = '') => `/v1/accounts/${ACCOUNT}/deployments${id ? `/${id}` : ''}`;

async function dump(): Promise<unknown> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const list = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'deployments' })) as { items: { metadata: unknown; status?: unknown }[] };
  return { deployments: list.items.map((d) => ({ metadata: d.metadata, status: d.status })), ...((await dumpNamespace(kc, NS)) as object) };
}

/** Polls GET through REST until `pred` holds for the wire resource. */
async function waitRest(id: string, what: string, pred: (d: Record<string, unknown>) => boolean, timeoutMs = 90_000): Promise<Record<string, unknown>> {
  return waitFor(
    `${id} through REST: ${what}`,
    async () => {
      const r = await call('GET', url(id));
      return r.status === 200 && pred(r.body) ? r.body : undefined;
    },
    { timeoutMs, intervalMs: 300, dump },
  );
}

beforeAll(async () => {
  kc = loadKubeConfig(kubeconfigPath());
  await installCrds(kc, 'hearth-crds-test');
  database = await createScratchDatabase(dbName);
  key = (await bootstrap(database.db, { accountId: ACCOUNT, email: `admin@${ACCOUNT}.example` })).apiKey!.key;
  const namespaces = new NamespaceEnsurer(kc, { seal: TEST_SEAL });
  await namespaces.ensure(ACCOUNT);

  const log = createLogger({ level: process.env.HEARTH_TEST_LOG ?? 'silent' });
  client = new KubeDeploymentClient(kubeAccess(kc, { log }), { log });
  await client.start();
  app = await buildApp({ db: database.db, deployments: client, ensureNamespace: (a) => namespaces.ensure(a), logger: log, rateLimit: false });

  const clients = new KubeClients(kc, { qps: 50, burst: 100 });
  const quotas = new DbQuotaLedger(database.db, realClock);
  manager = new Manager({ clock: realClock, log, shutdownTimeoutMs: 5000 });
  const informers = new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log, backoff: { initialMs: 200, maxMs: 2000 } });
  manager.add(() =>
    deploymentController({
      clients,
      informers,
      quotas,
      clock: realClock,
      log,
      selector: `${LABELS.account}=${ACCOUNT}`,
      capacityRetryMs: 2000,
      quotaRetryMs: 2000 }),
  );
  manager.start();
}, 120_000);

afterAll(async () => {
  await manager?.stop();
  await app?.close();
  await client?.stop();
  await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: NS }).catch(() => undefined);
  await database?.close();
  await dropScratchDatabase(dbName).catch(() => undefined);
  kc?.destroy();
});

describe('REST with the Deployment controller', () => {
  it('shows the reconciled state, and carries out soft delete and undelete', async () => {
    const created = await call('POST', `${url()}?deploymentId=served`, {
      baseModel: BASE_MODEL,
      acceleratorType: 'NVIDIA_A100_80GB',
      acceleratorCount: 1,
      minReplicaCount: 1,
      maxReplicaCount: 1 });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body.state).toBe('CREATING');

    const ready = await waitRest('served', 'READY with 1 replica', (d) => d.state === 'READY' && d.replicaCount === 1);
    expect(ready).toMatchObject({ region: 'US_ILLINOIS_2', acceleratorType: 'NVIDIA_A100_80GB' });
    const quota = await call('GET', `/v1/accounts/${ACCOUNT}/quotas/a100-us-illinois-2`);
    expect(quota.body).toMatchObject({ usage: 1 });

    expect((await call('DELETE', url('served'))).body).toEqual({});
    const deleted = await waitRest('served', 'DELETED', (d) => d.state === 'DELETED');
    expect(Date.parse(deleted.purgeTime as string) - Date.parse(deleted.deleteTime as string)).toBe(7 * 24 * 3600 * 1000);
    expect((await call('GET', `/v1/accounts/${ACCOUNT}/quotas/a100-us-illinois-2`)).body).toMatchObject({ usage: 0 });
    const listed = await call('GET', url());
    expect(listed.body).toMatchObject({ deployments: [], totalSize: 0 });
    expect((await call('GET', `${url()}?showDeleted=true&filter=state%3DDELETED`)).body.totalSize).toBe(1);

    const back = await call('POST', `${url('served')}:undelete`, {});
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    await waitRest('served', 'READY again after undelete', (d) => d.state === 'READY' && d.replicaCount === 1);
    expect((await call('GET', url())).body.totalSize).toBe(1);

    expect((await call('DELETE', `${url('served')}?hard=true`)).body).toEqual({});
    await waitFor('the object to be gone', async () => (await call('GET', url('served'))).status === 404, { timeoutMs: 30_000, dump });
  });
});
