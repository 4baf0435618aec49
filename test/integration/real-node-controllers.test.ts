// The job and environment controllers on real pods (issue 18 item 5): a BatchJob and an
// Environment whose node pool is the real node run under containerd and runc, not KWOK.
// - BatchJob: `echo hello` runs, and :getLogs returns it, read from the kubelet's log endpoint like
//   on a real cluster (no kwok Logs object is involved).
// - Environment: :connect → CONNECTED with a running container (the controller's pod spec as is:
//   restricted security context, its keep-alive command, busybox as the base image); the shell command its
//   status reports (`kubectl exec -it … -- /bin/sh`) runs a script through the kubelet; :disconnect
//   removes the pod, within the grace period (the container ends on SIGTERM).
// The real node joins a CPU node pool the way an existing node is adopted into one: the pool's
// labels and taint; its own taint (hearth.dev/real-node) is swapped for the pool's during the
// test, so only this pool's pods can land on it, and put back afterwards.
// Skips loudly (never passes) without a Ready real node.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCrds } from '../../hack/lib/crds.js';
import { BUSYBOX_IMAGE } from '../../hack/lib/node-images.js';
import { REAL_NODE_NAME } from '../../hack/lib/real-node.js';
import { buildApp } from '../../src/api/app.js';
import { KubeKindClients, type CustomObject } from '../../src/api/kube/kind-client.js';
import { NamespaceEnsurer, accountNamespace } from '../../src/api/kube/namespaces.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { batchJobController } from '../../src/controllers/batch-job/controller.js';
import { environmentController } from '../../src/controllers/environment/controller.js';
import { LABEL_ENVIRONMENT } from '../../src/controllers/environment/pods.js';
import type { Runnable } from '../../src/controllers/runtime/controller.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { KubeClients } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { InformerFactory } from '../../src/kube/informer-factory.js';
import { KubePodLogs } from '../../src/kube/pod-logs.js';
import { realClock } from '../../src/util/clock.js';
import { callApi } from '../support/api.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { kubeconfigPath } from '../support/env.js';
import { kubeAccess } from '../support/kube.js';
import { adoptRealNodeIntoPool, cachedKubectl, realNodeReady } from '../support/real-node.js';
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

const ready = await realNodeReady(core, 'the BatchJob and Environment controllers on the real node', 'test/integration/real-node-controllers.test.ts');

let database: Database;
let controllers: Runnable[] = [];
let kinds: KubeKindClients;
let app: FastifyInstance;
let adminKey: string;
let giveBack: (() => Promise<void>) | undefined;

const v1 = (path: string) => `/v1/accounts/${ACCOUNT}/${path}`;
const idOf = (name: unknown) => String(name).split('/').pop()!;

async function batchJobStatus(name: string): Promise<Record<string, unknown> | undefined> {
  const bj = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'batchjobs', name }).catch(() => undefined)) as CustomObject | undefined;
  return bj?.status as Record<string, unknown> | undefined;
}

/** Runs `command` (a shell command line of plain words, as an environment reports it) with `stdin`; its stdout, stderr and exit code. */
function runCommandLine(command: string, stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [program, ...args] = command.split(/\s+/);
  expect(program).toBe('kubectl');
  return new Promise((resolve, reject) => {
    const child = spawn(cachedKubectl(), args, { env: { ...process.env, KUBECONFIG: kubeconfigPath() }, timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe.runIf(ready)('the BatchJob and Environment controllers on the real node', () => {
  beforeAll(async () => {
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
    giveBack = await adoptRealNodeIntoPool(core, ACCOUNT, POOL);
    controllers = [
      batchJobController({ clients, informers, db: database.db, clock: realClock, log, settings: { logRetentionMs: 24 * 3600_000, pollMs: 1000, namespace: NS } }),
      environmentController({ clients, informers, db: database.db, clock: realClock, log, namespace: NS }),
    ];
    for (const c of controllers) await c.start();
  }, 180_000);

  afterAll(async () => {
    await giveBack?.().catch((e: unknown) => console.error(`could not give ${REAL_NODE_NAME} its taint back: ${String(e)}`));
    for (const c of controllers) await c.stop(2000);
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

  it('connects an Environment to a running container, execs into it with the shell command it reports, and disconnects', { timeout: 180_000 }, async () => {
    const t0 = Date.now();
    const made = await callApi(app, 'POST', v1('environments'), adminKey, { environment: { baseImageRef: BUSYBOX_IMAGE }, environmentId: 'dev' });
    expect(made.status).toBe(200);
    const connect = await callApi(app, 'POST', v1('environments/dev:connect'), adminKey, { connection: { nodePoolId: POOL } });
    expect(connect.status).toBe(200);
    const get = async () => (await callApi(app, 'GET', v1('environments/dev'), adminKey)).body;
    const dump = async () => ({ environment: await get(), ns: await dumpNamespace(kc, NS) });
    const connected = await waitFor('environment dev to be CONNECTED', async () => ((await get()).state === 'CONNECTED' ? await get() : undefined), { timeoutMs: 120_000, dump });

    const connectedMs = Date.now() - t0;

    const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: `${LABEL_ENVIRONMENT}=dev` })).items;
    expect(pods.map((p) => [p.metadata?.name, p.spec?.nodeName, p.status?.phase])).toEqual([['dev-rank-0', REAL_NODE_NAME, 'Running']]);
    // A real container (containerd's id), not KWOK's simulated status.
    expect(pods[0]?.status?.containerStatuses?.[0]).toMatchObject({ name: 'environment', ready: true, started: true, containerID: expect.stringMatching(/^containerd:\/\//) });
    const message = (connected.status as { message: string }).message;
    expect(message).toBe(`connected; open a shell in rank 0 with: kubectl exec -it -n ${NS} dev-rank-0 -c environment -- /bin/sh`);
    const shell = message.slice(message.indexOf('kubectl '));

    // The reported command as a user types it; the script comes on stdin (no terminal here, so
    // kubectl says it cannot use a TTY and runs the shell without one).
    const run = await runCommandLine(shell, 'echo "exec-ok $(hostname) uid=$(id -u) $HEARTH_ENVIRONMENT rank=$HEARTH_RANK"\nexit 3\n');
    expect(run.stdout).toBe('exec-ok dev-rank-0 uid=1000 dev rank=0\n');
    // The shell's exit code comes back through the kubelet's exec stream.
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 3, stderr: expect.stringContaining('command terminated with exit code 3') });

    const t1 = Date.now();
    const disconnect = await callApi(app, 'POST', v1('environments/dev:disconnect'), adminKey, {});
    expect(disconnect.status).toBe(200);
    await waitFor(
      'environment dev to be DISCONNECTED with its pod gone',
      async () => (await get()).state === 'DISCONNECTED' && (await core.listNamespacedPod({ namespace: NS, labelSelector: `${LABEL_ENVIRONMENT}=dev` })).items.length === 0,
      { timeoutMs: 60_000, dump },
    );
    const disconnectedMs = Date.now() - t1;
    console.error(`[real-node-environment] ${JSON.stringify({ connectedMs, execMs: t1 - t0 - connectedMs, disconnectedMs })}`);
    // The container ends on SIGTERM (src/controllers/environment/pods.ts KEEP_ALIVE): the pod goes
    // without waiting out its grace period, as it did when a bare `sleep` was PID 1 (~7 s here).
    expect(disconnectedMs).toBeLessThan((pods[0]?.spec?.terminationGracePeriodSeconds ?? 0) * 1000);
  });
});
