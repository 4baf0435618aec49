// A BatchJob whose node pool is the real node (issue 18 item 5): the Job's pod runs for real under
// containerd and runc, and `echo hello` comes back through :getLogs, read from the kubelet's log
// endpoint like on a real cluster. No kwok Logs object is involved.
// The real node joins a CPU node pool the way an existing node is adopted into one: the pool's
// labels and taint; its own taint (hearth.dev/real-node) is swapped for the pool's during the
// test, so only this pool's pods can land on it, and put back afterwards.
// Skips loudly (never passes) without a Ready real node.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type V1Taint } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCrds } from '../../hack/lib/crds.js';
import { BUSYBOX_IMAGE } from '../../hack/lib/node-images.js';
import { REAL_NODE_LABEL, REAL_NODE_NAME } from '../../hack/lib/real-node.js';
import { buildApp } from '../../src/api/app.js';
import { KubeKindClients, type CustomObject } from '../../src/api/kube/kind-client.js';
import { NamespaceEnsurer, accountNamespace } from '../../src/api/kube/namespaces.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { batchJobController } from '../../src/controllers/batch-job/controller.js';
import type { Runnable } from '../../src/controllers/runtime/controller.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { nodePoolNodeLabels, nodePoolTaint } from '../../src/fleet/node-pools.js';
import { KubeClients } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { InformerFactory } from '../../src/kube/informer-factory.js';
import { KubePodLogs } from '../../src/kube/pod-logs.js';
import { realClock } from '../../src/util/clock.js';
import { callApi } from '../support/api.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { kubeconfigPath } from '../support/env.js';
import { kubeAccess } from '../support/kube.js';
import { dumpNamespace, waitFor } from '../support/wait.js';
import { TEST_SEAL } from '../support/tenancy.js';

const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `rnbj-${suffix}`;
const NS = accountNamespace(ACCOUNT);
const POOL = 'cpu';
const dbName = `hearth_t_rnbj_${suffix}`;

const kc = loadKubeConfig(kubeconfigPath());
const clients = new KubeClients(kc, { qps: 50, burst: 100 });
const core = clients.api(CoreV1Api);
const custom = clients.api(CustomObjectsApi);
const log = pino({ level: process.env.HEARTH_TEST_LOG ?? 'warn' });
const informers = new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log, backoff: { initialMs: 200, maxMs: 2000 } });
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

const node = await core.readNode({ name: REAL_NODE_NAME }).catch(() => undefined);
const ready = node?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
if (!ready) {
  const line = '!'.repeat(100);
  console.error(
    `\n${line}\n!! SKIPPED: the BatchJob on the real node (test/integration/real-node-batch-job.test.ts)\n` +
      `!! the cluster has no Ready node ${REAL_NODE_NAME}: start it with \`npm run cluster:up\` (as root) or \`tsx hack/real-node.ts up\`\n${line}\n`,
  );
}

let database: Database;
let controller: Runnable;
let kinds: KubeKindClients;
let app: FastifyInstance;
let adminKey: string;
let originalTaints: V1Taint[] = [];

const v1 = (path: string) => `/v1/accounts/${ACCOUNT}/${path}`;
const idOf = (name: unknown) => String(name).split('/').pop()!;

async function batchJobStatus(name: string): Promise<Record<string, unknown> | undefined> {
  const bj = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'batchjobs', name }).catch(() => undefined)) as CustomObject | undefined;
  return bj?.status as Record<string, unknown> | undefined;
}

/** The pool's labels and taint on the real node (or, with `adopt` false, its own again). */
async function setPoolMembership(adopt: boolean): Promise<void> {
  const labels = Object.fromEntries(Object.keys(nodePoolNodeLabels(ACCOUNT, POOL)).map((k) => [k, adopt ? nodePoolNodeLabels(ACCOUNT, POOL)[k] : null]));
  const taints = adopt ? [...originalTaints.filter((t) => t.key !== REAL_NODE_LABEL), nodePoolTaint(POOL)] : originalTaints;
  await core.patchNode({ name: REAL_NODE_NAME, body: { metadata: { labels }, spec: { taints } } }, merge);
}

describe.runIf(ready)('a BatchJob on the real node', () => {
  beforeAll(async () => {
    originalTaints = (await core.readNode({ name: REAL_NODE_NAME })).spec?.taints ?? [];
    await installCrds(kc, 'hearth-crds-test');
    database = await createScratchDatabase(dbName);
    adminKey = (await bootstrap(database.db, { accountId: ACCOUNT, email: `admin@${ACCOUNT}.example` })).apiKey!.key;
    await new NamespaceEnsurer(kc, { seal: TEST_SEAL }).ensure(ACCOUNT);
    kinds = new KubeKindClients(kubeAccess(kc, { log }), { log });
    await kinds.start();
    app = await buildApp({ db: database.db, kinds: kinds.others, logger: log, rateLimit: false, podLogs: new KubePodLogs(clients) });
    // A CPU pool (no accelerator type: one rank per host) whose one node is the real node. The
    // spec must name eksNodePool or fakeNodePool; no NodePool controller runs here to act on it.
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NS,
      plural: 'nodepools',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'NodePool', metadata: { name: POOL }, spec: { maxNodeCount: 1, fakeNodePool: { machineType: 'cpu' } } },
    });
    await setPoolMembership(true);
    controller = batchJobController({ clients, informers, db: database.db, clock: realClock, log, settings: { logRetentionMs: 24 * 3600_000, pollMs: 1000, namespace: NS } });
    await controller.start();
  }, 180_000);

  afterAll(async () => {
    if (ready) await setPoolMembership(false).catch((e: unknown) => console.error(`could not give ${REAL_NODE_NAME} its taint back: ${String(e)}`));
    await controller?.stop(2000);
    await informers.stop();
    await app?.close();
    await kinds?.stop();
    await core.deleteNamespace({ name: NS }).catch(() => undefined);
    await database?.close();
    await dropScratchDatabase(dbName).catch(() => undefined);
  }, 60_000);

  it('runs `echo hello` for real: COMPLETED, and :getLogs returns hello', { timeout: 150_000 }, async () => {
    const made = await callApi(app, 'POST', v1('batchJobs'), adminKey, { nodePoolId: POOL, imageRef: BUSYBOX_IMAGE, shellExecutor: { command: 'echo hello' } });
    expect(made.status).toBe(200);
    const name = `bj-${idOf(made.body.name)}`;
    const done = await waitFor(
      `batch job ${name} to finish`,
      async () => {
        const s = await batchJobStatus(name);
        return s?.state === 'COMPLETED' || s?.state === 'FAILED' ? s : undefined;
      },
      { timeoutMs: 120_000, dump: async () => ({ status: await batchJobStatus(name), ns: await dumpNamespace(kc, NS) }) },
    );
    expect(done.state).toBe('COMPLETED');
    const logs = await callApi(app, 'GET', v1(`batchJobs/${idOf(made.body.name)}:getLogs?startFromHead=true`), adminKey);
    expect(logs.status).toBe(200);
    expect((logs.body.entries as { message: string; rank: number }[]).map((e) => [e.rank, e.message])).toEqual([[0, 'hello']]);
  });
});
