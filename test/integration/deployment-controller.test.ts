// The Deployment controller on the simulated cluster (real kube-apiserver, scheduler, controller
// manager; KWOK GPU nodes) with a real PostgreSQL for quotas. Each run uses its own namespaces,
// accounts, database and a label selector, so it neither sees nor touches other runs' objects.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1Pod,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { installCrds as installHearthCrds } from '../../hack/lib/crds.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EVENT_SOURCE, deploymentController } from '../../src/controllers/deployment/controller.js';
import { DbQuotaLedger } from '../../src/controllers/deployment/quota-ledger.js';
import { controllerManager } from '../../src/controllers/manager.js';
import { KubeClients, KubeLeaseClient, KubeWriter, Manager, type LeaseClient, type ObjectWriter, type Runnable } from '../../src/controllers/runtime/index.js';
import { InformerFactory } from '../../src/kube/informer-factory.js';
import type { Deployment, DeploymentStatus } from '../../src/crds/deployment.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { accountsRepo, quotasRepo } from '../../src/db/index.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { realClock } from '../../src/util/clock.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { kubeconfigPath } from '../support/env.js';
import { createTestNamespace } from '../support/namespace.js';
import { dumpNamespace, waitFor } from '../support/wait.js';
import { TEST_SEAL } from '../support/tenancy.js';

const REPO_ROOT = new URL('../..', import.meta.url).pathname;
const suffix = randomBytes(3).toString('hex');
const RUN_LABEL = 'hearth.dev/deployment-controller-test';
const kc = loadKubeConfig(kubeconfigPath());
const clients = new KubeClients(kc, { qps: 50, burst: 100 });
const core = clients.api(CoreV1Api);
const apps = clients.api(AppsV1Api);
const custom = clients.api(CustomObjectsApi);
const log = pino({ level: process.env.HEARTH_TEST_LOG ?? 'warn' });
// This process's one informer cache, as main.ts has it: every controller and manager below shares it.
const informers = new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log, backoff: { initialMs: 200, maxMs: 2000 } });
const dbName = `hearth_t_depctl_${suffix}`;
let database: Database;
let quotas: DbQuotaLedger;
const namespaces: string[] = [];
const managers: Manager[] = [];
const runnables: Runnable[] = [];

const FAST = { capacityRetryMs: 2000, quotaRetryMs: 2000 };

async function installCrds(): Promise<void> {
  await installHearthCrds(kc, 'hearth-crds-test');
  await waitFor('deployments.hearth.dev to be served', async () => {
    await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: 'deployments', limit: 1 });
    return true;
  });
}

/** A namespace of this run for one account (label hearth.dev/account), with the account in the database. */
async function accountNamespace(tag: string): Promise<{ ns: string; account: string }> {
  const ns = `depctl-${suffix}-${tag}`;
  const account = `acct-${suffix}-${tag}`;
  await accountsRepo.createAccount(database.db, { accountId: account, email: `owner@${account}.example` });
  await quotasRepo.ensureDefaultQuotas(database.db, account);
  await createTestNamespace(kc, ns, { 'hearth.dev/account': account });
  namespaces.push(ns);
  return { ns, account };
}

const target = (ns: string) => ({ group: GROUP, version: VERSION, namespace: ns, plural: 'deployments' });
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function createDeployment(ns: string, name: string, spec: Record<string, unknown>, run = suffix): Promise<void> {
  await custom.createNamespacedCustomObject({
    ...target(ns),
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', metadata: { name, labels: { [RUN_LABEL]: run } }, spec } });
}

async function getDeployment(ns: string, name: string): Promise<Deployment | undefined> {
  try {
    return (await custom.getNamespacedCustomObject({ ...target(ns), name })) as Deployment;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}

async function patchDeployment(ns: string, name: string, body: object): Promise<void> {
  await custom.patchNamespacedCustomObject({ ...target(ns), name, body }, mergePatch);
}

async function podsOf(ns: string, name: string): Promise<V1Pod[]> {
  const list = await core.listNamespacedPod({ namespace: ns, labelSelector: `hearth.dev/deployment=${name}` });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp);
}

async function dump(ns: string, name?: string): Promise<unknown> {
  const [pods, deps, workloads] = await Promise.all([
    dumpNamespace(kc, ns),
    custom.listNamespacedCustomObject(target(ns)).then((l) => (l as { items: Deployment[] }).items.map((d) => ({ name: d.metadata.name, gen: d.metadata.generation, finalizers: d.metadata.finalizers, status: d.status }))),
    apps.listNamespacedDeployment({ namespace: ns }).then((l) => l.items.map((w) => ({ name: w.metadata?.name, replicas: w.spec?.replicas, status: w.status }))),
  ]);
  return { focus: name, deployments: deps, workloads, ...(pods as object) };
}

/** Waits until the deployment's status satisfies `pred` (for its current generation). */
async function waitStatus(ns: string, name: string, what: string, pred: (s: DeploymentStatus, d: Deployment) => boolean, timeoutMs = 60_000): Promise<DeploymentStatus> {
  return waitFor(
    `${ns}/${name}: ${what}`,
    async () => {
      const d = await getDeployment(ns, name);
      const s = d?.status;
      return s && s.observedGeneration === d.metadata.generation && pred(s, d) ? s : undefined;
    },
    { timeoutMs, intervalMs: 300, dump: () => dump(ns, name) },
  );
}

function cond(s: DeploymentStatus, type: string): { status: string; reason: string } | undefined {
  const c = s.conditions?.find((x) => x.type === type);
  return c && { status: c.status, reason: c.reason };
}

/** Running, Ready pods of the deployment on nodes of `region` and `acc`, exactly `n` of them. */
async function waitPodsOn(ns: string, name: string, n: number, region: string, acc: string, timeoutMs = 60_000): Promise<V1Pod[]> {
  return waitFor(
    `${n} ready pod(s) of ${ns}/${name} on ${acc} nodes in ${region}`,
    async () => {
      const pods = await podsOf(ns, name);
      if (pods.length !== n) return undefined;
      for (const p of pods) {
        if (p.status?.phase !== 'Running' || !p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return undefined;
        const node = await core.readNode({ name: p.spec!.nodeName! });
        const labels = node.metadata?.labels ?? {};
        if (labels['topology.kubernetes.io/region'] !== region || labels['hearth.dev/accelerator-type'] !== acc) return undefined;
      }
      return pods;
    },
    { timeoutMs, intervalMs: 300, dump: () => dump(ns, name) },
  );
}

async function childrenOf(ns: string, name: string): Promise<{ workloads: string[]; services: string[] }> {
  const sel = `hearth.dev/deployment=${name}`;
  const [w, s] = await Promise.all([apps.listNamespacedDeployment({ namespace: ns, labelSelector: sel }), core.listNamespacedService({ namespace: ns, labelSelector: sel })]);
  return { workloads: w.items.map((x) => x.metadata!.name!), services: s.items.map((x) => x.metadata!.name!) };
}

function controllerFor(run: string, extra: { writer?: ObjectWriter; log?: typeof log; retentionMs?: number } = {}) {
  return deploymentController({ clients, informers, quotas, clock: realClock, log, selector: `${RUN_LABEL}=${run}`, ...FAST, ...extra });
}

function startManager(run: string, le?: { identity: string; lease: string }): Manager {
  const m = controllerManager({
    clients,
    informers,
    db: database.db,
    log,
    shutdownTimeoutMs: 5000,
    deployment: { selector: `${RUN_LABEL}=${run}`, ...FAST },
    // The BatchJob controller always runs; this run makes no batch job: a namespace of its own only
    // (the cluster is shared: unscoped, it would reconcile other runs' jobs).
    batchJob: { namespace: `depctl-${suffix}-batch-jobs` },
    ...(le ? { leaderElection: { namespace: namespaces[0]!, name: le.lease, identity: le.identity, leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500 } } : {}) });
  m.start();
  managers.push(m);
  return m;
}

beforeAll(async () => {
  database = await createScratchDatabase(dbName, { maxConnections: 5 });
  quotas = new DbQuotaLedger(database.db, realClock);
  await installCrds();
  startManager(suffix);
});

afterAll(async () => {
  await Promise.all(managers.map((m) => m.stop()));
  await Promise.all(runnables.map((r) => r.stop(2000)));
  await informers.stop();
  for (const ns of namespaces) {
    // Controllers are stopped: drop our finalizers so the namespaces can go.
    const list = (await custom.listNamespacedCustomObject(target(ns)).catch(() => ({ items: [] }))) as { items: Deployment[] };
    for (const d of list.items) await patchDeployment(ns, d.metadata.name!, { metadata: { finalizers: null } }).catch(() => undefined);
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  }
  await database?.close();
  await dropScratchDatabase(dbName);
  kc.destroy();
});

describe('the Deployment controller on the simulated cluster', () => {
  let ns = '';
  let account = '';
  const sample = parse(readFileSync(join(REPO_ROOT, 'manifests', 'samples', 'deployment.yaml'), 'utf8')) as KubernetesObject & { spec: Record<string, unknown> };
  const name = sample.metadata!.name!;

  beforeAll(async () => {
    ({ ns, account } = await accountNamespace('a'));
  });

  it('the published sample: READY at zero, then pods on H100 nodes in US_VIRGINIA_2 behind a Service', async () => {
    await createDeployment(ns, name, sample.spec);
    const zero = await waitStatus(ns, name, 'READY at zero replicas', (s) => s.state === 'READY');
    expect(zero).toMatchObject({ region: 'US_VIRGINIA_2', replicaCount: 0, desiredReplicaCount: 0 });
    expect(cond(zero, 'Ready')).toEqual({ status: 'True', reason: 'ScaledToZero' });

    await patchDeployment(ns, name, { spec: { replicaCount: 2 } });
    await waitPodsOn(ns, name, 2, 'US_VIRGINIA_2', 'NVIDIA_H100_80GB');
    const s = await waitStatus(ns, name, 'READY with 2 replicas', (x) => x.state === 'READY' && x.replicaStats?.readyReplicaCount === 2);
    expect(s).toMatchObject({ replicaCount: 2, desiredReplicaCount: 2, labelSelector: `app.kubernetes.io/managed-by=hearth,hearth.dev/deployment=${name}` });
    expect(cond(s, 'Degraded')).toEqual({ status: 'False', reason: 'AsExpected' });
    expect(await childrenOf(ns, name)).toEqual({ workloads: [`${name}-server`], services: [`${name}-server`] });
    const d = await getDeployment(ns, name);
    // No finalizer (issue 11's write budget): the holds go on the delete event, the orphan sweep under it.
    expect(d?.metadata.finalizers).toBeUndefined();
    expect(await quotasRepo.holdsOf(database.db, account, `deployment/${name}`)).toMatchObject([{ quotaName: 'h100-us-virginia-2', amount: 2 }]);
    // `kubectl describe` shows the transition.
    const events = await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name},involvedObject.kind=Deployment` });
    expect(events.items.some((e) => e.reason === 'Ready' && e.type === 'Normal' && e.involvedObject.apiVersion === `${GROUP}/${VERSION}`)).toBe(true);
  });

  it('changing the accelerator type rolls the pods onto the new nodes', async () => {
    await patchDeployment(ns, name, { spec: { acceleratorType: 'AMD_MI300X_192GB', precision: 'FP16' } });
    await waitPodsOn(ns, name, 2, 'US_VIRGINIA_2', 'AMD_MI300X_192GB', 90_000);
    await waitStatus(ns, name, 'READY on MI300X', (s) => s.state === 'READY' && s.replicaStats?.readyReplicaCount === 2, 60_000);
    expect(await childrenOf(ns, name)).toEqual({ workloads: [`${name}-server`], services: [`${name}-server`] });
    await waitFor('the quota hold to move to mi300x-us-virginia-2', async () => {
      const holds = await quotasRepo.holdsOf(database.db, account, `deployment/${name}`);
      return holds.length === 1 && holds[0]!.quotaName === 'mi300x-us-virginia-2' && holds[0]!.amount === 2;
    });
  });

  it('changing the region is rejected by the API server', async () => {
    const err = await patchDeployment(ns, name, { spec: { placement: { region: 'US_ILLINOIS_2' } } }).then(
      () => undefined,
      (e: unknown) => e as { code?: number; body?: unknown; message?: string },
    );
    expect(err?.code).toBe(422);
    expect(`${String(err?.body)} ${err?.message}`).toContain('placement.region is immutable once set');
  });

  it('soft delete releases the pods (DELETING → DELETED), undelete brings it back to READY', async () => {
    await patchDeployment(ns, name, { metadata: { annotations: { 'hearth.dev/soft-delete-requested': new Date().toISOString() } } });
    const deleted = await waitStatus(ns, name, 'DELETED', (s) => s.state === 'DELETED', 60_000);
    expect(deleted.deleteTime).toBeDefined();
    expect(Date.parse(deleted.purgeTime!) - Date.parse(deleted.deleteTime!)).toBe(7 * 24 * 3600 * 1000);
    expect(await podsOf(ns, name)).toEqual([]);
    expect((await childrenOf(ns, name)).workloads).toEqual([]);
    expect(await quotasRepo.holdsOf(database.db, account, `deployment/${name}`)).toEqual([]);

    await patchDeployment(ns, name, { metadata: { annotations: { 'hearth.dev/soft-delete-requested': null } } });
    await waitPodsOn(ns, name, 2, 'US_VIRGINIA_2', 'AMD_MI300X_192GB');
    const back = await waitStatus(ns, name, 'READY again', (s) => s.state === 'READY' && s.replicaStats?.readyReplicaCount === 2);
    expect(back.deleteTime).toBeUndefined();
    expect(back.purgeTime).toBeUndefined();
  });

  it('kubectl delete is a hard delete: children garbage-collected, quota released, nothing left', async () => {
    await custom.deleteNamespacedCustomObject({ ...target(ns), name });
    await waitFor(`${ns}/${name} to be gone`, async () => (await getDeployment(ns, name)) === undefined, { timeoutMs: 30_000, dump: () => dump(ns, name) });
    await waitFor(
      'no workload, Service or pod left',
      async () => {
        const c = await childrenOf(ns, name);
        return c.workloads.length === 0 && c.services.length === 0 && (await podsOf(ns, name)).length === 0;
      },
      { timeoutMs: 90_000, dump: () => dump(ns, name) },
    );
    // Released on the delete event, once the API server confirmed the object is gone.
    await waitFor('the quota holds released', async () => (await quotasRepo.holdsOf(database.db, account, `deployment/${name}`)).length === 0, {
      timeoutMs: 30_000,
      dump: async () => ({ holds: await quotasRepo.holdsOf(database.db, account, `deployment/${name}`) }),
    });
  });
});

describe('quota', () => {
  it('over quota: clamped to what the account has left and reported; grows when the quota is raised', async () => {
    const { ns, account } = await accountNamespace('q');
    await quotasRepo.setQuotaValue(database.db, account, 'h100-us-virginia-2', 2);
    await createDeployment(ns, 'big', { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 1, replicaCount: 3, placement: { region: 'US_VIRGINIA_2' } });
    await waitPodsOn(ns, 'big', 2, 'US_VIRGINIA_2', 'NVIDIA_H100_80GB');
    const s = await waitStatus(ns, 'big', 'READY, clamped to 2', (x) => x.state === 'READY' && x.desiredReplicaCount === 2);
    const degraded = s.conditions?.find((c) => c.type === 'Degraded');
    expect(degraded).toMatchObject({ status: 'True', reason: 'QuotaExceeded' });
    expect(degraded?.message).toContain(`need 3 GPUs of quota h100-us-virginia-2 of account ${account}, which has 2 of 2 left: running 2`);
    expect(await quotasRepo.holdsOf(database.db, account, 'deployment/big')).toMatchObject([{ amount: 2 }]);

    await quotasRepo.setQuotaValue(database.db, account, 'h100-us-virginia-2', 8);
    await waitPodsOn(ns, 'big', 3, 'US_VIRGINIA_2', 'NVIDIA_H100_80GB');
    const grown = await waitStatus(ns, 'big', 'READY with 3', (x) => x.state === 'READY' && x.desiredReplicaCount === 3 && x.replicaStats?.readyReplicaCount === 3);
    expect(cond(grown, 'Degraded')).toEqual({ status: 'False', reason: 'AsExpected' });
    await custom.deleteNamespacedCustomObject({ ...target(ns), name: 'big' });
  });
});

describe('kubectl users', () => {
  it('a namespace of an account the database does not know: catalog default quota; a soft delete is purged after the retention', async () => {
    const ns = `depctl-${suffix}-k`;
    await createTestNamespace(kc, ns); // no hearth.dev/account label: a namespace of no account (src/crds/account.ts)
    namespaces.push(ns);
    const run = `${suffix}-k`;
    const c = controllerFor(run, { retentionMs: 4000 });
    runnables.push(c);
    await c.start();
    await createDeployment(ns, 'solo', { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', acceleratorType: 'AMD_MI300X_192GB', acceleratorCount: 1, replicaCount: 1 }, run);
    await waitPodsOn(ns, 'solo', 1, 'US_VIRGINIA_2', 'AMD_MI300X_192GB');
    const s = await waitStatus(ns, 'solo', 'READY', (x) => x.state === 'READY');
    expect(cond(s, 'Degraded')).toEqual({ status: 'False', reason: 'AsExpected' });

    await patchDeployment(ns, 'solo', { metadata: { annotations: { 'hearth.dev/soft-delete-requested': new Date().toISOString() } } });
    await waitStatus(ns, 'solo', 'DELETED', (x) => x.state === 'DELETED');
    await waitFor('the purge', async () => (await getDeployment(ns, 'solo')) === undefined, { timeoutMs: 30_000, dump: () => dump(ns, 'solo') });
    await waitFor('no children left', async () => {
      const ch = await childrenOf(ns, 'solo');
      return ch.workloads.length === 0 && ch.services.length === 0;
    }, { timeoutMs: 60_000, dump: () => dump(ns, 'solo') });
    await c.stop(2000);
  });
});

describe('DbQuotaLedger', () => {
  it('reads limit, others\' holds and ours; an account without rows gets the catalog default, alone', async () => {
    const account = `acct-${suffix}-s`;
    await accountsRepo.createAccount(database.db, { accountId: account, email: `owner@${account}.example` });
    await quotasRepo.setQuotaValue(database.db, account, 'h100-us-iowa-1', 6, { allowMissing: true });
    await quotasRepo.setHold(database.db, account, 'h100-us-iowa-1', 'deployment/other', 2);
    await quotas.setHolds(account, 'deployment/me', { 'h100-us-iowa-1': 3 });
    expect(await quotas.gpuQuota(account, 'h100-us-iowa-1', 'deployment/me')).toEqual({ limit: 6, heldByOthers: 2, mine: { 'h100-us-iowa-1': 3 } });
    await expect(quotas.setHolds(account, 'deployment/me', { 'h100-us-iowa-1': 5 })).rejects.toMatchObject({ name: 'QuotaExceededError' });
    await quotas.releaseAll(account, 'deployment/me');
    expect(await quotasRepo.holdsOf(database.db, account, 'deployment/me')).toEqual([]);

    expect(await quotas.gpuHoursSpent(account)).toBeUndefined();
    await quotasRepo.setQuotaValue(database.db, account, quotasRepo.MONTHLY_GPU_HOURS_QUOTA, 0, { allowMissing: true });
    expect(await quotas.gpuHoursSpent(account)).toBe(`the monthly GPU-hours quota of account ${account} is spent (0 of 0 hours)`);

    const unknown = await quotas.gpuQuota(`nobody-${suffix}`, 'h100-us-iowa-1', 'deployment/me');
    expect(unknown).toMatchObject({ limit: 8, heldByOthers: 0, mine: {} });
    expect(unknown.note).toContain('has no quota records');
    await quotas.setHolds(`nobody-${suffix}`, 'deployment/me', { 'h100-us-iowa-1': 1 }); // a no-op, not a foreign-key error
  });
});

describe('restarts and replicas', () => {
  it('a controller that dies mid-reconcile, restarted, converges with no duplicate children', async () => {
    const { ns } = await accountNamespace('r');
    const run = `${suffix}-r`;
    let creates = 0;
    const real = new KubeWriter(clients, { component: EVENT_SOURCE });
    // Dies right after its first child create: before the Service and the status are written.
    const dying: ObjectWriter = {
      create: async (o) => {
        if (creates++ > 0) throw new Error('simulated crash');
        await real.create(o);
      },
      update: async () => {
        throw new Error('simulated crash');
      },
      delete: async () => {
        throw new Error('simulated crash');
      },
      updateStatus: async () => {
        throw new Error('simulated crash');
      },
      setFinalizers: (d, f) => real.setFinalizers(d, f),
      patchMetadata: (d, p) => real.patchMetadata(d, p),
      event: (d, e, series) => real.event(d, e, series) };
    // Its failures are the point: keep them out of the test output.
    const first = controllerFor(run, { writer: dying, log: log.child({}, { level: 'silent' }) });
    runnables.push(first);
    await first.start();
    // No region in the spec: the first controller chooses one (US_VIRGINIA_2, the only MI300X region).
    await createDeployment(ns, 'phoenix', { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', acceleratorType: 'AMD_MI300X_192GB', acceleratorCount: 1, replicaCount: 1 }, run);
    await waitFor('the first controller to create the workload and die', async () => creates > 1, { timeoutMs: 30_000, dump: () => dump(ns, 'phoenix') });
    await first.stop(2000);
    // (Only the workload is asserted here: a controller of another test run on this shared cluster
    // with no selector may reconcile the object too.)
    expect((await childrenOf(ns, 'phoenix')).workloads).toEqual(['phoenix-server']);

    const second = controllerFor(run);
    runnables.push(second);
    await second.start();
    const s = await waitStatus(ns, 'phoenix', 'READY after the restart', (x) => x.state === 'READY' && x.replicaStats?.readyReplicaCount === 1);
    // The region was chosen by the first controller's child (status never written): kept, not re-chosen.
    const w = await apps.readNamespacedDeployment({ namespace: ns, name: 'phoenix-server' });
    expect(s.region).toBe(w.spec?.template.metadata?.labels?.['hearth.dev/region']);
    expect(await childrenOf(ns, 'phoenix')).toEqual({ workloads: ['phoenix-server'], services: ['phoenix-server'] });
    expect(await podsOf(ns, 'phoenix')).toHaveLength(1);
    await second.stop(2000);
  });

  it('two shards (HEARTH_CONTROLLER_SELECTOR on a shard label): each reconciles only its own Deployments, never the other\'s', async () => {
    const { ns } = await accountNamespace('sh');
    const run = `${suffix}-sh`;
    const SHARD = 'hearth.dev/shard-test';
    const touched = [new Set<string>(), new Set<string>()];
    // Every write a shard makes, by the hearth.dev Deployment it is for.
    const recording = (k: number): ObjectWriter => {
      const real = new KubeWriter(clients, { component: EVENT_SOURCE });
      const of = (o: KubernetesObject): string => o.metadata?.labels?.['hearth.dev/deployment'] ?? o.metadata?.name ?? '?';
      return {
        create: async (o) => {
          touched[k]!.add(of(o));
          await real.create(o);
        },
        update: async (o) => {
          touched[k]!.add(of(o));
          await real.update(o);
        },
        delete: (r) => real.delete(r),
        updateStatus: async (d, st) => (touched[k]!.add(of(d)), real.updateStatus(d, st)),
        setFinalizers: (d, f) => real.setFinalizers(d, f),
        patchMetadata: (d, p) => real.patchMetadata(d, p),
        event: (d, e, series) => real.event(d, e, series),
      };
    };
    const shards = [0, 1].map((k) => deploymentController({ clients, informers, quotas, clock: realClock, log, selector: `${RUN_LABEL}=${run},${SHARD}=${k}`, writer: recording(k), ...FAST }));
    runnables.push(...shards);
    await Promise.all(shards.map((c) => c.start()));
    const spec = { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 1, replicaCount: 1, placement: { region: 'US_VIRGINIA_2' } };
    const names = ['s0', 's1', 's2', 's3'];
    for (const [i, name] of names.entries()) {
      await custom.createNamespacedCustomObject({ ...target(ns), body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', metadata: { name, labels: { [RUN_LABEL]: run, [SHARD]: String(i % 2) } }, spec } });
    }
    for (const name of names) await waitStatus(ns, name, `${name} READY`, (x) => x.state === 'READY' && x.replicaStats?.readyReplicaCount === 1, 90_000);
    expect([...touched[0]!].sort()).toEqual(['s0', 's2']);
    expect([...touched[1]!].sort()).toEqual(['s1', 's3']);
    for (const name of names) expect(await childrenOf(ns, name)).toEqual({ workloads: [`${name}-server`], services: [`${name}-server`] });
    await Promise.all(shards.map((c) => c.stop(2000)));
  });

  it('two controller replicas: exactly one leads; when it stops, the other takes over', async () => {
    const { ns } = await accountNamespace('l');
    const run = `${suffix}-l`;
    const lease = `hearth-deployment-${suffix}`;
    const a = startManager(run, { identity: `a-${suffix}`, lease });
    const b = startManager(run, { identity: `b-${suffix}`, lease });
    const leader = await waitFor('one leader', async () => {
      const leading = [a, b].filter((m) => m.isLeader());
      return leading.length === 1 ? leading[0] : undefined;
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect([a, b].filter((m) => m.isLeader())).toEqual([leader]);

    const spec = { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', acceleratorType: 'AMD_MI300X_192GB', acceleratorCount: 1, replicaCount: 1 };
    await createDeployment(ns, 'first', spec, run);
    await waitStatus(ns, 'first', 'READY under the first leader', (s) => s.state === 'READY' && s.replicaStats?.readyReplicaCount === 1);

    await leader.stop();
    const follower = leader === a ? b : a;
    await waitFor('the other replica to lead', async () => follower.isLeader(), { timeoutMs: 15_000 });
    await createDeployment(ns, 'second', spec, run);
    await waitStatus(ns, 'second', 'READY under the new leader', (s) => s.state === 'READY' && s.replicaStats?.readyReplicaCount === 1);
    expect(leader.isLeader()).toBe(false);
    expect(await childrenOf(ns, 'first')).toEqual({ workloads: ['first-server'], services: ['first-server'] });
  });

  it('a leader that dies without releasing the Lease (no more renewals) is replaced once the lease expires', async () => {
    const { ns } = await accountNamespace('k2');
    const run = `${suffix}-k2`;
    const name = `hearth-deployment-kill-${suffix}`;
    // A LeaseClient that can be cut off: from then on every call fails, as for a killed process.
    const cut = new Set<string>();
    const leaseClient = (id: string): LeaseClient => {
      const real = new KubeLeaseClient(clients.api(CoordinationV1Api), ns, name);
      const gate = async <T>(f: () => Promise<T>): Promise<T> => {
        if (cut.has(id)) throw new Error('killed');
        return f();
      };
      return { description: real.description, get: () => gate(() => real.get()), create: (r) => gate(() => real.create(r)), update: (r, v) => gate(() => real.update(r, v)) };
    };
    const make = (id: string): Manager => {
      const m = new Manager({
        clock: realClock,
        log: log.child({}, { level: 'silent' }), // the cut-off replica's failed renewals are the point
        shutdownTimeoutMs: 5000,
        leaderElection: { client: leaseClient(id), identity: id, leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500 } });
      m.add(() => controllerFor(run, { log: log.child({}, { level: 'silent' }) }));
      m.start();
      managers.push(m);
      return m;
    };
    const a = make(`a-${suffix}`);
    const b = make(`b-${suffix}`);
    const leader = await waitFor('one leader', async () => {
      const leading = [a, b].filter((m) => m.isLeader());
      return leading.length === 1 ? leading[0] : undefined;
    });
    const follower = leader === a ? b : a;
    cut.add(leader === a ? `a-${suffix}` : `b-${suffix}`);
    const killedAt = Date.now();
    await waitFor('the other replica to take the expired lease', async () => follower.isLeader(), { timeoutMs: 20_000 });
    // Not before the lease ran out: no two leaders at once.
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(3000);
    await waitFor('the cut-off leader to step down', async () => !leader.isLeader(), { timeoutMs: 10_000 });
    await createDeployment(ns, 'after-kill', { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', acceleratorType: 'AMD_MI300X_192GB', acceleratorCount: 1, replicaCount: 1 }, run);
    await waitStatus(ns, 'after-kill', 'READY under the new leader', (x) => x.state === 'READY' && x.replicaStats?.readyReplicaCount === 1);
  });
});
