// The Deployment reconciler against a recording fake API: "given these objects, expect exactly
// these writes" (sample-controller's fixture, Knative's TableTest), time from a FakeClock.
import type { V1Deployment, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Deployment, DeploymentSpecInput, DeploymentStatus } from '../../crds/deployment.js';
import { FINALIZER } from '../../crds/group.js';
import { FakeClock } from '../../util/fake-clock.js';
import { DeploymentCluster, MemoryQuotaLedger, gpuHog, gpuNode, type ClusterObjects } from './fake-cluster.js';
import {
  DEFAULT_CAPACITY_RETRY_MS,
  DEFAULT_QUOTA_RETRY_MS,
  DEFAULT_RETENTION_MS,
  DeploymentReconciler,
  SOFT_DELETE_ANNOTATION,
  UNDELETE_TIME_ANNOTATION,
  accountOf,
  footprintOf,
  type DesiredReplicas,
  type ReplicaDecision,
} from './reconciler.js';
import { ANNOTATION_TEMPLATE_HASH } from './children/labels.js';
import { DEFAULT_PROGRESS_INTERVAL_MS, eventsFor } from './status.js';
import { hearthDeployment } from './testing.js';
import { loadModelServerConfig, type ModelServerConfig } from './model-server-config.js';
import { TEST_SEAL } from '../../../test/support/tenancy.js';

const NS = 'acct-acme';
const KEY = `${NS}/chat`;
const T0 = Date.parse('2026-11-26T08:00:00Z');
const WORKLOAD = 'Deployment/apps acct-acme/chat-server';
const SERVICE = 'Service acct-acme/chat-server';
const HEARTH = 'Deployment/hearth acct-acme/chat';

const namespace: V1Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'hearth.dev/account': 'acme' } } };
const fleet = [
  gpuNode('va2-h100-0', 'US_VIRGINIA_2', 'NVIDIA_H100_80GB'),
  gpuNode('va2-h100-1', 'US_VIRGINIA_2', 'NVIDIA_H100_80GB'),
  gpuNode('tokyo-h100-0', 'AP_TOKYO_1', 'NVIDIA_H100_80GB'),
  gpuNode('il2-a100-0', 'US_ILLINOIS_2', 'NVIDIA_A100_80GB'),
  gpuNode('va2-mi300x-0', 'US_VIRGINIA_2', 'AMD_MI300X_192GB'),
];

/** A hearth.dev Deployment as the API server returns it: generation, resourceVersion, uid. */
function dep(spec: Partial<DeploymentSpecInput> = {}, meta: Record<string, unknown> = {}, status?: Partial<DeploymentStatus>): Deployment {
  const d = hearthDeployment({ acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 1, replicaCount: 2, placement: { region: 'US_VIRGINIA_2' }, ...spec });
  d.metadata = { ...d.metadata, generation: 1, resourceVersion: '1', ...meta };
  if (status) d.status = status as DeploymentStatus;
  return d;
}

function setup(objs: ClusterObjects & { limits?: Record<string, number>; desiredReplicas?: DesiredReplicas; exists?: (key: string) => Promise<boolean>; modelServerConfig?: ModelServerConfig }) {
  const cluster = new DeploymentCluster({ namespaces: [namespace], nodes: fleet, ...objs });
  const quotas = new MemoryQuotaLedger(objs.limits);
  const clock = new FakeClock(T0);
  const r = new DeploymentReconciler({ listers: cluster.listers, writer: cluster, quotas, clock, retentionMs: DEFAULT_RETENTION_MS, desiredReplicas: objs.desiredReplicas, exists: objs.exists, modelServerConfig: objs.modelServerConfig });
  const pass = async () => {
    const res = await r.reconcile(KEY);
    return { res, writes: cluster.take() };
  };
  return { cluster, quotas, clock, r, pass, status: () => cluster.status(KEY), workload: () => cluster.listers.workloads.get(`${NS}/chat-server`) };
}

function cond(s: DeploymentStatus | undefined, type: string) {
  const c = s?.conditions?.find((x) => x.type === type);
  return c && { status: c.status, reason: c.reason };
}

/** A model server that cannot load its model: crash loop, the load error in its last words. */
function crashLoop(p: V1Pod): void {
  p.status = {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'False' }],
    containerStatuses: [
      {
        name: 'model-server',
        image: 'x',
        imageID: '',
        ready: false,
        restartCount: 4,
        state: { waiting: { reason: 'CrashLoopBackOff' } },
        lastState: { terminated: { exitCode: 1, message: 'Traceback …\nOSError: meta-llama/x: repository not found' } },
      },
    ],
  };
}

function notOwnedWorkload(): V1Deployment {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { namespace: NS, name: 'chat-server', uid: 'theirs', resourceVersion: '7' }, spec: { replicas: 1, selector: {}, template: {} } };
}

describe('DeploymentReconciler: writes per pass', () => {
  const rows: Array<{
    name: string;
    objects: () => ClusterObjects & { limits?: Record<string, number> };
    key?: string;
    wantWrites: string[];
    wantState?: string;
    wantConditions?: Record<string, { status: string; reason: string }>;
    wantRequeue?: number;
  }> = [
    {
      name: 'a key whose object is gone: nothing to do',
      objects: () => ({}),
      wantWrites: [],
    },
    {
      name: 'a new deployment: workload, Service, one status write (CREATING); no finalizer',
      objects: () => ({ deployments: [dep()] }),
      wantWrites: [`create ${WORKLOAD}`, `create ${SERVICE}`, `status ${HEARTH}`],
      wantState: 'CREATING',
      wantConditions: {
        Ready: { status: 'False', reason: 'Reconciling' },
        Progressing: { status: 'True', reason: 'Reconciling' },
        Degraded: { status: 'False', reason: 'AsExpected' },
      },
    },
    {
      name: 'a workload of that name we do not control: left alone, NotOwned reported',
      objects: () => ({ deployments: [dep()], workloads: [notOwnedWorkload()] }),
      wantWrites: [`create ${SERVICE}`, `status ${HEARTH}`, `event Warning/NotOwned ${KEY}`],
      wantState: 'CREATING',
      wantConditions: {
        Ready: { status: 'False', reason: 'NotOwned' },
        Progressing: { status: 'False', reason: 'NotOwned' },
        Degraded: { status: 'True', reason: 'NotOwned' },
      },
    },
    {
      name: 'no region has a free GPU: CREATING, WaitingForCapacity, look again later',
      objects: () => ({
        deployments: [dep({ placement: undefined })],
        pods: fleet.filter((n) => n.metadata?.labels?.['hearth.dev/accelerator-type'] === 'NVIDIA_H100_80GB').map((n) => gpuHog(n.metadata!.name!, 8)),
      }),
      wantWrites: [`status ${HEARTH}`],
      wantState: 'CREATING',
      wantConditions: {
        Ready: { status: 'False', reason: 'WaitingForCapacity' },
        Progressing: { status: 'False', reason: 'WaitingForCapacity' },
        Degraded: { status: 'False', reason: 'AsExpected' },
      },
      wantRequeue: DEFAULT_CAPACITY_RETRY_MS,
    },
    {
      name: 'an accelerator the requested region does not offer: FAILED (will not fix itself)',
      objects: () => ({ deployments: [dep({ acceleratorType: 'NVIDIA_A100_80GB', precision: 'FP16' })] }),
      wantWrites: [`status ${HEARTH}`, `event Warning/InvalidPlacement ${KEY}`],
      wantState: 'FAILED',
      wantConditions: {
        Ready: { status: 'False', reason: 'InvalidPlacement' },
        Progressing: { status: 'False', reason: 'InvalidPlacement' },
        Degraded: { status: 'True', reason: 'InvalidPlacement' },
      },
    },
    {
      name: 'a spec the runtime cannot serve (acceleratorCount beyond a node): FAILED with the reason',
      objects: () => ({ deployments: [dep({ acceleratorCount: 16 })] }),
      wantWrites: [`status ${HEARTH}`, `event Warning/TooManyAccelerators ${KEY}`],
      wantState: 'FAILED',
      wantConditions: {
        Ready: { status: 'False', reason: 'TooManyAccelerators' },
        Progressing: { status: 'False', reason: 'TooManyAccelerators' },
        Degraded: { status: 'True', reason: 'TooManyAccelerators' },
      },
    },
    {
      name: 'over quota: the workload runs what the quota allows, QuotaExceeded reported',
      objects: () => ({ deployments: [dep({ replicaCount: 4, acceleratorCount: 4 })], limits: { 'h100-us-virginia-2': 8 } }),
      wantWrites: [`create ${WORKLOAD}`, `create ${SERVICE}`, `status ${HEARTH}`, `event Warning/QuotaExceeded ${KEY}`],
      wantState: 'CREATING',
      wantConditions: {
        Ready: { status: 'False', reason: 'Reconciling' },
        Progressing: { status: 'True', reason: 'Reconciling' },
        Degraded: { status: 'True', reason: 'QuotaExceeded' },
      },
      wantRequeue: DEFAULT_QUOTA_RETRY_MS,
    },
  ];

  it.each(rows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const t = setup(row.objects());
    const { res, writes } = await t.pass();
    expect(writes).toEqual(row.wantWrites);
    if (row.wantState) expect(t.status()?.state).toBe(row.wantState);
    for (const [type, want] of Object.entries(row.wantConditions ?? {})) expect(cond(t.status(), type), type).toEqual(want);
    expect(res.requeueAfter).toBe(row.wantRequeue);
    // Every row: the status carries the generation it describes, on the status and each condition.
    if (t.status()) {
      expect(t.status()?.observedGeneration).toBe(1);
      for (const c of t.status()?.conditions ?? []) expect(c.observedGeneration).toBe(1);
    }
    // …and a second pass over the result writes nothing (idempotence).
    expect((await t.pass()).writes, 'second pass').toEqual([]);
  });
});

describe('DeploymentReconciler: lifecycle', () => {
  describe('acceleratorType CPU', () => {
    const cpuDep = () => hearthDeployment({ acceleratorType: 'CPU', replicaCount: 2 });
    const withCpu = loadModelServerConfig({ servers: { cpu: { image: 'registry.local/vllm-cpu:v1', cpu: '1', memory: '2Gi', nodeSelector: { 'hearth.dev/node-kind': 'cpu' } } } });

    it('on the CPU runtime: no region, no GPU quota held, READY once the pods are, and a second pass changes nothing', async () => {
      const d = cpuDep();
      d.metadata = { ...d.metadata, generation: 1, resourceVersion: '1' };
      // No GPU quota at all: a CPU deployment needs none.
      const t = setup({ deployments: [d], modelServerConfig: withCpu, limits: { 'h100-us-virginia-2': 0, 'a100-us-illinois-2': 0 } });
      expect((await t.pass()).writes).toEqual([`create ${WORKLOAD}`, `create ${SERVICE}`, `status ${HEARTH}`]);
      const w = t.workload();
      expect(w?.spec?.replicas).toBe(2);
      expect(w?.spec?.template.spec?.nodeSelector).toEqual({ 'hearth.dev/node-kind': 'cpu' });
      expect(footprintOf(w!)).toEqual({});
      expect(t.quotas.holds.get('deployment/chat') ?? {}).toEqual({});

      t.cluster.settle();
      expect((await t.pass()).writes).toEqual([`status ${HEARTH}`, `event Normal/Ready ${KEY}`]);
      const s = t.status();
      expect(s).toMatchObject({ state: 'READY', replicaCount: 2, status: { code: 'OK', message: 'served by the CPU runtime (no accelerator, no region)' } });
      expect(s?.region).toBeUndefined();
      t.clock.advance(60_000);
      expect((await t.pass()).writes, 'second pass').toEqual([]);
    });

    it('without a CPU runtime configured: FAILED UnsupportedAcceleratorType, no children', async () => {
      const t = setup({ deployments: [cpuDep()] });
      expect((await t.pass()).writes).toEqual([`status ${HEARTH}`, `event Warning/UnsupportedAcceleratorType ${KEY}`]);
      expect(t.status()).toMatchObject({ state: 'FAILED', status: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('servers.cpu') } });
      expect((await t.pass()).writes, 'second pass').toEqual([]);
    });
  });

  it('creates, becomes READY once the pods are, and a second pass changes nothing', async () => {
    const t = setup({ deployments: [dep()] });
    await t.pass();
    const w = t.workload();
    expect(w?.spec?.replicas).toBe(2);
    expect(w?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'chat', controller: true });
    expect(t.quotas.holds.get('deployment/chat')).toEqual({ 'h100-us-virginia-2': 2 });

    t.cluster.settle({ ready: false });
    // Progress alone (pods scheduled, starting) waits for the progress interval (status.ts
    // statusWriteDue): written then, or with the next change that matters, whichever is first.
    const waiting = await t.pass();
    expect(waiting.writes, 'progress alone waits').toEqual([]);
    expect(waiting.res.requeueAfter).toBe(DEFAULT_PROGRESS_INTERVAL_MS);
    t.clock.advance(DEFAULT_PROGRESS_INTERVAL_MS);
    expect((await t.pass()).writes).toEqual([`status ${HEARTH}`]);
    expect(t.status()).toMatchObject({ state: 'CREATING', replicaCount: 2, replicaStats: { initializingReplicaCount: 2, readyReplicaCount: 0 } });

    t.cluster.settle();
    expect((await t.pass()).writes).toEqual([`status ${HEARTH}`, `event Normal/Ready ${KEY}`]);
    const s = t.status();
    expect(s).toMatchObject({
      state: 'READY',
      region: 'US_VIRGINIA_2',
      replicaCount: 2,
      desiredReplicaCount: 2,
      replicaStats: { pendingSchedulingReplicaCount: 0, downloadingModelReplicaCount: 0, initializingReplicaCount: 0, readyReplicaCount: 2 },
      labelSelector: 'app.kubernetes.io/managed-by=hearth,hearth.dev/deployment=chat',
      observedGeneration: 1,
      status: { code: 'OK' },
    });
    expect(s?.status?.message).toContain('US_VIRGINIA_2 from spec.placement.region');
    expect(cond(s, 'Ready')).toEqual({ status: 'True', reason: 'Ready' });
    expect(cond(s, 'Progressing')).toEqual({ status: 'False', reason: 'Complete' });

    t.clock.advance(60_000);
    expect((await t.pass()).writes, 'no-op pass').toEqual([]);
  });

  it('chooses a region once, says why, and keeps it when capacity moves', async () => {
    const t = setup({ deployments: [dep({ placement: undefined, replicaCount: 1 })], pods: [gpuHog('va2-h100-0', 8), gpuHog('va2-h100-1', 4)] });
    await t.pass();
    // Tokyo (8 free) beats Virginia 2 (4 free): most free GPUs first.
    expect(t.status()?.region).toBe('AP_TOKYO_1');
    expect(t.status()?.status?.message).toMatch(/^chose AP_TOKYO_1 \(enterprise region\): offers NVIDIA_H100_80GB/);
    expect(t.workload()?.spec?.template.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]?.matchExpressions?.[0]).toEqual({
      key: 'topology.kubernetes.io/region',
      operator: 'In',
      values: ['AP_TOKYO_1'],
    });
    // Tokyo fills up, Virginia empties: the region stays.
    t.cluster.listers.pods.delete('other/hog-va2-h100-0');
    t.cluster.listers.pods.delete('other/hog-va2-h100-1');
    t.cluster.listers.pods.put(gpuHog('tokyo-h100-0', 8));
    t.cluster.settle();
    await t.pass();
    expect(t.status()?.region).toBe('AP_TOKYO_1');
    expect(t.status()?.status?.message).toMatch(/^chose AP_TOKYO_1/);
    expect((await t.pass()).writes).toEqual([]);
  });

  it('no region fits: CREATING until capacity appears, then placed', async () => {
    const hogs = [gpuHog('va2-h100-0', 8), gpuHog('va2-h100-1', 8), gpuHog('tokyo-h100-0', 8)];
    const t = setup({ deployments: [dep({ placement: undefined, replicaCount: 1 })], pods: hogs });
    const first = await t.pass();
    expect(first.res.requeueAfter).toBe(DEFAULT_CAPACITY_RETRY_MS);
    expect(t.status()?.status).toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
    expect(t.status()?.status?.message).toMatch(/^no region can place 1 NVIDIA_H100_80GB GPU: US_VIRGINIA_2: 0 GPUs free.*; AP_TOKYO_1: 0 GPUs free/);
    expect(t.workload()).toBeUndefined();

    t.cluster.listers.pods.delete('other/hog-va2-h100-1');
    t.clock.advance(DEFAULT_CAPACITY_RETRY_MS);
    const second = await t.pass();
    expect(second.writes).toEqual([`create ${WORKLOAD}`, `create ${SERVICE}`, `status ${HEARTH}`]);
    expect(t.status()?.region).toBe('US_VIRGINIA_2');
    expect(second.res.requeueAfter).toBeUndefined();
  });

  it('quota: clamps to what is left after other holders, holds it, and grows when room appears', async () => {
    const t = setup({ deployments: [dep({ replicaCount: 5 })], limits: { 'h100-us-virginia-2': 8 } });
    t.quotas.holds.set('deployment/other', { 'h100-us-virginia-2': 5 });
    const { res } = await t.pass();
    expect(t.workload()?.spec?.replicas).toBe(3);
    expect(t.quotas.holds.get('deployment/chat')).toEqual({ 'h100-us-virginia-2': 3 });
    expect(t.status()).toMatchObject({ desiredReplicaCount: 3 });
    const degraded = t.status()?.conditions?.find((c) => c.type === 'Degraded');
    expect(degraded?.reason).toBe('QuotaExceeded');
    expect(degraded?.message).toBe('5 replica(s) of 1 GPU(s) need 5 GPUs of quota h100-us-virginia-2 of account acme, which has 3 of 8 left: running 3');
    expect(res.requeueAfter).toBe(DEFAULT_QUOTA_RETRY_MS);

    // Clamped but converged: READY with the replicas it has, still Degraded.
    t.cluster.settle();
    await t.pass();
    expect(t.status()?.state).toBe('READY');
    expect(cond(t.status(), 'Degraded')).toEqual({ status: 'True', reason: 'QuotaExceeded' });

    t.quotas.holds.delete('deployment/other');
    t.clock.advance(DEFAULT_QUOTA_RETRY_MS);
    const grown = await t.pass();
    expect(grown.writes).toEqual([`update ${WORKLOAD}`, `status ${HEARTH}`, `event Normal/Reconciling ${KEY}`]);
    expect(t.workload()?.spec?.replicas).toBe(5);
    expect(t.quotas.holds.get('deployment/chat')).toEqual({ 'h100-us-virginia-2': 5 });
    expect(cond(t.status(), 'Degraded')).toEqual({ status: 'False', reason: 'AsExpected' });
    expect(grown.res.requeueAfter).toBeUndefined();
  });

  it('quota lowered below what runs: the child shrinks to fit, holding only what it will run', async () => {
    const t = setup({ deployments: [dep({ replicaCount: 5 })] });
    await t.pass();
    t.cluster.settle();
    await t.pass();
    // The hold is lost (say, restored from a backup) and the quota lowered to 3.
    t.quotas.holds.delete('deployment/chat');
    t.quotas.limits['h100-us-virginia-2'] = 3;
    expect((await t.pass()).writes).toEqual([`update ${WORKLOAD}`, `status ${HEARTH}`, `event Normal/Reconciling ${KEY}`, `event Warning/QuotaExceeded ${KEY}`]);
    expect(t.workload()?.spec?.replicas).toBe(3);
    expect(t.quotas.holds.get('deployment/chat')).toEqual({ 'h100-us-virginia-2': 3 });
  });

  it('a pass with nothing to change does not touch the quota holds either', async () => {
    const t = setup({ deployments: [dep()] });
    await t.pass();
    t.cluster.settle();
    await t.pass();
    const calls = t.quotas.calls.length;
    expect((await t.pass()).writes).toEqual([]);
    expect(t.quotas.calls.length).toBe(calls);
  });

  it('monthly GPU-hours spent: no scaling up (running replicas stay), reported; scaling down still works', async () => {
    const t = setup({ deployments: [dep({ replicaCount: 2 })] });
    await t.pass();
    t.cluster.settle();
    await t.pass();
    t.quotas.gpuHoursMessage = 'the monthly GPU-hours quota of account acme is spent (2000 of 2000 hours)';
    t.cluster.edit(KEY, (d) => {
      d.spec.replicaCount = 4;
    });
    expect((await t.pass()).writes).toEqual([`status ${HEARTH}`, `event Warning/QuotaExceeded ${KEY}`]);
    expect(t.workload()?.spec?.replicas).toBe(2);
    expect(t.status()?.conditions?.find((c) => c.type === 'Degraded')?.message).toBe(
      'the monthly GPU-hours quota of account acme is spent (2000 of 2000 hours): not scaling up beyond 2 replica(s)',
    );
    t.cluster.edit(KEY, (d) => {
      d.spec.replicaCount = 1;
    });
    await t.pass();
    expect(t.workload()?.spec?.replicas).toBe(1);
  });

  it('quota exhausted by others: 0 replicas, not READY, QuotaExceeded', async () => {
    const t = setup({ deployments: [dep({ replicaCount: 1 })] });
    t.quotas.holds.set('deployment/other', { 'h100-us-virginia-2': 8 });
    await t.pass();
    expect(t.workload()?.spec?.replicas).toBe(0);
    expect(t.quotas.holds.has('deployment/chat')).toBe(false);
    t.cluster.settle();
    await t.pass();
    expect(t.status()?.state).toBe('CREATING');
    expect(cond(t.status(), 'Ready')).toEqual({ status: 'False', reason: 'QuotaExceeded' });
  });

  it('scaled to zero is READY with 0 replicas', async () => {
    const t = setup({ deployments: [dep({ replicaCount: undefined, minReplicaCount: 0, maxReplicaCount: 4 })] });
    await t.pass();
    t.cluster.settle();
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'READY', replicaCount: 0, desiredReplicaCount: 0 });
    expect(cond(t.status(), 'Ready')).toEqual({ status: 'True', reason: 'ScaledToZero' });
    expect(t.quotas.holds.has('deployment/chat')).toBe(false);
  });

  it('a new accelerator type is a new pod template: the workload is applied, UPDATING, then READY', async () => {
    const t = setup({ deployments: [dep()] });
    await t.pass();
    t.cluster.settle();
    await t.pass();
    const oldHash = t.workload()?.metadata?.annotations?.[ANNOTATION_TEMPLATE_HASH];
    t.cluster.edit(KEY, (d) => {
      d.spec.acceleratorType = 'AMD_MI300X_192GB';
    });
    const { writes } = await t.pass();
    expect(writes).toEqual([`update ${WORKLOAD}`, `status ${HEARTH}`, `event Normal/Reconciling ${KEY}`]);
    const w = t.workload();
    expect(w?.metadata?.annotations?.[ANNOTATION_TEMPLATE_HASH]).not.toBe(oldHash);
    expect(w?.spec?.template.spec?.containers[0]?.resources?.limits).toMatchObject({ 'amd.com/gpu': '1' });
    expect(t.status()).toMatchObject({ state: 'UPDATING', observedGeneration: 2 });
    // During the switch the hold covers both footprints; once the child runs the new spec, only the new one.
    expect(t.quotas.holds.get('deployment/chat')).toEqual({ 'h100-us-virginia-2': 2, 'mi300x-us-virginia-2': 2 });
    t.cluster.settle();
    expect((await t.pass()).writes).toEqual([`status ${HEARTH}`, `event Normal/Ready ${KEY}`]);
    expect(t.status()?.state).toBe('READY');
    expect(t.quotas.holds.get('deployment/chat')).toEqual({ 'mi300x-us-virginia-2': 2 });
  });

  it('someone scales the child by hand: the reconciler puts replicas back', async () => {
    const t = setup({ deployments: [dep()] });
    await t.pass();
    t.cluster.settle();
    await t.pass();
    const w = t.workload()!;
    t.cluster.listers.workloads.put({ ...w, spec: { ...w.spec!, replicas: 7 }, metadata: { ...w.metadata, resourceVersion: t.cluster.nextVersion() } });
    expect((await t.pass()).writes).toEqual([`update ${WORKLOAD}`, `status ${HEARTH}`, `event Normal/Reconciling ${KEY}`]);
    expect(t.workload()?.spec?.replicas).toBe(2);
  });

  it('a model that cannot load (crash loop with a load error): FAILED with the reason', async () => {
    const t = setup({ deployments: [dep()] });
    await t.pass();
    t.cluster.settle({ ready: false, mutatePod: crashLoop });
    await t.pass();
    const s = t.status();
    expect(s?.state).toBe('FAILED');
    expect(s?.status?.code).toBe('FAILED_PRECONDITION');
    expect(s?.status?.message).toContain('repository not found');
    expect(cond(s, 'Degraded')).toEqual({ status: 'True', reason: 'ModelLoadFailed' });
  });

  it('undelete of a FAILED deployment (REST :undelete sets hearth.dev/undelete-time) starts fresh pods', async () => {
    const t = setup({ deployments: [dep()] });
    await t.pass();
    t.cluster.settle({ ready: false, mutatePod: crashLoop });
    await t.pass();
    expect(t.status()?.state).toBe('FAILED');
    t.cluster.edit(KEY, (d) => {
      d.metadata.annotations = { [UNDELETE_TIME_ANNOTATION]: '2026-11-26T09:00:00Z' };
    });
    expect((await t.pass()).writes).toEqual([`update ${WORKLOAD}`, `status ${HEARTH}`]);
    expect(t.workload()?.spec?.template.metadata?.annotations?.[UNDELETE_TIME_ANNOTATION]).toBe('2026-11-26T09:00:00Z');
    expect(t.status()?.state).toBe('UPDATING');
    t.cluster.settle();
    await t.pass();
    expect(t.status()?.state).toBe('READY');
    expect((await t.pass()).writes).toEqual([]);
  });

  it('soft delete → DELETING → DELETED (pods released, quota given back) → undelete → READY', async () => {
    const t = setup({ deployments: [dep()] });
    await t.pass();
    t.cluster.settle();
    await t.pass();
    expect(t.status()?.state).toBe('READY');

    t.clock.advance(1000);
    const requested = new Date(t.clock.now()).toISOString();
    t.cluster.edit(KEY, (d) => {
      d.metadata.annotations = { [SOFT_DELETE_ANNOTATION]: requested };
    });
    const del = await t.pass();
    expect(del.writes).toEqual([`delete ${WORKLOAD}`, `status ${HEARTH}`, `event Normal/SoftDeleting ${KEY}`]);
    expect(t.quotas.holds.has('deployment/chat')).toBe(false);
    const deleting = t.status();
    expect(deleting?.state).toBe('DELETING');
    expect(deleting?.deleteTime).toBe('2026-11-26T08:00:01Z');
    expect(deleting?.purgeTime).toBe('2026-12-03T08:00:01Z');
    expect(del.res.requeueAfter).toBe(DEFAULT_RETENTION_MS);

    t.cluster.settle(); // the pods of the deleted workload are gone
    expect((await t.pass()).writes).toEqual([`status ${HEARTH}`]);
    expect(t.status()).toMatchObject({ state: 'DELETED', replicaCount: 0, desiredReplicaCount: 0 });
    expect(cond(t.status(), 'Ready')).toEqual({ status: 'False', reason: 'SoftDeleted' });
    expect(t.cluster.listers.services.get(`${NS}/chat-server`)).toBeDefined();
    expect((await t.pass()).writes, 'DELETED is stable').toEqual([]);

    t.clock.advance(3_600_000);
    t.cluster.edit(KEY, (d) => {
      d.metadata.annotations = {};
    });
    const undel = await t.pass();
    expect(undel.writes).toEqual([`create ${WORKLOAD}`, `status ${HEARTH}`]);
    expect(t.status()?.state).toBe('UPDATING');
    expect(t.status()?.deleteTime).toBeUndefined();
    expect(t.status()?.purgeTime).toBeUndefined();
    t.cluster.settle();
    await t.pass();
    expect(t.status()?.state).toBe('READY');
    expect(t.status()?.region).toBe('US_VIRGINIA_2');
  });

  it('a soft-deleted deployment is purged (deleted for real) when its retention ends', async () => {
    const t = setup({ deployments: [dep({}, { annotations: { [SOFT_DELETE_ANNOTATION]: new Date(T0).toISOString() } })] });
    await t.pass();
    expect(t.status()?.state).toBe('DELETED');
    t.clock.advance(DEFAULT_RETENTION_MS);
    expect((await t.pass()).writes).toEqual([`delete ${HEARTH}`]);
  });

  it('kubectl delete: no finalizer holds it; once it has left the cache and the API server says it is gone, the holds are given back', async () => {
    const gone = new Set<string>();
    const t = setup({ deployments: [dep()], exists: async (k) => !gone.has(k) });
    await t.pass();
    expect(t.quotas.holds.has('deployment/chat')).toBe(true);
    expect(t.cluster.listers.deployments.get(KEY)?.metadata.finalizers).toBeUndefined();
    t.cluster.listers.deployments.delete(KEY); // the API server deleted it at once; the informer's delete
    gone.add(KEY);
    expect((await t.pass()).writes).toEqual([]);
    expect(t.quotas.holds.has('deployment/chat')).toBe(false);
    expect(t.quotas.calls.at(-1)).toBe('releaseAll acme deployment/chat');
    const calls = t.quotas.calls.length;
    expect((await t.pass()).writes, 'second pass').toEqual([]);
    expect(t.quotas.calls.length, 'released once').toBe(calls);
  });

  it('a deployment that left the cache but still exists (moved to another shard, or re-created): its holds stay', async () => {
    const t = setup({ deployments: [dep()], exists: async () => true });
    await t.pass();
    t.cluster.listers.deployments.delete(KEY);
    expect((await t.pass()).writes).toEqual([]);
    expect(t.quotas.holds.get('deployment/chat')).toEqual({ 'h100-us-virginia-2': 2 });
    expect(t.quotas.calls.filter((c) => c.startsWith('releaseAll'))).toEqual([]);
  });

  it('a key this reconciler never found in its cache (another shard\'s pod event): nothing released, nothing asked', async () => {
    let asked = 0;
    const t = setup({ exists: async () => (asked++, false) });
    t.quotas.holds.set('deployment/chat', { 'h100-us-virginia-2': 2 });
    expect((await t.pass()).writes).toEqual([]);
    expect(t.quotas.holds.has('deployment/chat')).toBe(true);
    expect(asked).toBe(0);
  });

  it('being deleted (another finalizer, or foreground deletion keeps it a while): holds given back at once', async () => {
    const t = setup({ deployments: [dep()] });
    await t.pass();
    t.cluster.edit(KEY, (d) => {
      d.metadata.deletionTimestamp = new Date(T0).toISOString();
      d.metadata.finalizers = ['foregroundDeletion'];
    });
    expect((await t.pass()).writes).toEqual([]);
    expect(t.quotas.holds.has('deployment/chat')).toBe(false);
  });

  it('a deployment an older version gave the finalizer: kubectl delete gives back the holds and removes it, nothing else', async () => {
    const t = setup({ deployments: [dep({}, { finalizers: [FINALIZER] })] });
    await t.pass();
    expect(t.cluster.take(), 'a normal pass leaves it').toEqual([]);
    expect(t.quotas.holds.has('deployment/chat')).toBe(true);
    t.cluster.edit(KEY, (d) => {
      d.metadata.deletionTimestamp = new Date(T0).toISOString();
    });
    expect((await t.pass()).writes).toEqual([`finalizers ${HEARTH}`]);
    expect(t.quotas.holds.has('deployment/chat')).toBe(false);
    expect(t.quotas.calls.at(-1)).toBe('releaseAll acme deployment/chat');
    expect(t.cluster.listers.deployments.get(KEY)).toBeUndefined();
  });

  it('writes the status once per pass however much changed, and not at all when it did not', async () => {
    const t = setup({ deployments: [dep()] });
    const statusWrites = () => t.cluster.writes.filter((w) => w.verb === 'status').length;
    await t.r.reconcile(KEY);
    expect(statusWrites()).toBe(1);
    t.cluster.settle();
    t.cluster.take();
    await t.r.reconcile(KEY);
    expect(statusWrites()).toBe(1);
    t.cluster.take();
    await t.r.reconcile(KEY);
    expect(statusWrites()).toBe(0);
  });

  it('reads its own writes while the cache lags behind them: no conflict, nothing written twice; the cache wins once it moves', async () => {
    const t = setup({ deployments: [dep()] });
    const real = t.cluster.listers.deployments;
    let lag: Deployment | undefined = real.get(KEY); // what the informer still serves
    const listers = { ...t.cluster.listers, deployments: { get: (k: string) => lag ?? real.get(k), list: (ns?: string) => real.list(ns) } };
    const r = new DeploymentReconciler({ listers, writer: t.cluster, quotas: t.quotas, clock: t.clock });
    await r.reconcile(KEY);
    expect(t.cluster.take()).toEqual([`create ${WORKLOAD}`, `create ${SERVICE}`, `status ${HEARTH}`]);
    const firstStatusVersion = real.get(KEY)!.metadata.resourceVersion;
    // A child event runs the next pass before the cache has seen the status.
    await r.reconcile(KEY);
    expect(t.cluster.take(), 'no status written again').toEqual([]);
    t.cluster.settle();
    await r.reconcile(KEY); // a guarded write on the old resourceVersion would fail with 409
    expect(t.cluster.take()).toEqual([`status ${HEARTH}`, `event Normal/Ready ${KEY}`]);
    expect(t.status()?.state).toBe('READY');
    // The cache catches up half-way (the first status write, not the second): still behind.
    lag = { ...real.get(KEY)!, status: undefined, metadata: { ...real.get(KEY)!.metadata, resourceVersion: firstStatusVersion } };
    await r.reconcile(KEY);
    expect(t.cluster.take()).toEqual([]);
    // Someone else writes: the cache shows a version we did not make, and it wins.
    lag = undefined;
    t.cluster.edit(KEY, (d) => (d.spec = { ...d.spec, replicaCount: 1 }));
    await r.reconcile(KEY);
    expect(t.cluster.take()).toEqual([`update ${WORKLOAD}`, `status ${HEARTH}`, `event Normal/Reconciling ${KEY}`]);
  });

  it('a stale read (the object changed since the cache saw it) fails the pass with a conflict, for a retry', async () => {
    const t = setup({ deployments: [dep()] });
    const stale = t.cluster.listers.deployments.get(KEY)!;
    const real = t.cluster.listers.deployments;
    // The cache serves the old version; the API server has a newer one.
    const listers = { ...t.cluster.listers, deployments: { get: () => stale, list: () => [stale] } };
    real.put({ ...stale, metadata: { ...stale.metadata, resourceVersion: '2' } });
    const r = new DeploymentReconciler({ listers, writer: t.cluster, quotas: t.quotas, clock: t.clock });
    await expect(r.reconcile(KEY)).rejects.toMatchObject({ code: 409 });
  });
});

describe('events', () => {
  const st = (state: string, ready: string, reason: string, degraded?: string): DeploymentStatus =>
    ({
      state,
      conditions: [
        { type: 'Ready', status: ready, reason, message: 'm', lastTransitionTime: '2026-11-26T08:00:00Z' },
        { type: 'Degraded', status: degraded ? 'True' : 'False', reason: degraded ?? 'AsExpected', message: 'd', lastTransitionTime: '2026-11-26T08:00:00Z' },
      ],
    }) as DeploymentStatus;
  it.each([
    ['first status, not ready yet: no news', undefined, st('CREATING', 'False', 'Reconciling'), []],
    ['becomes ready', st('CREATING', 'False', 'Reconciling'), st('READY', 'True', 'Ready'), ['Normal/Ready']],
    ['a rollout starts', st('READY', 'True', 'Ready'), st('UPDATING', 'False', 'Reconciling'), ['Normal/Reconciling']],
    ['fails', st('CREATING', 'False', 'Reconciling'), st('FAILED', 'False', 'ModelLoadFailed', 'ModelLoadFailed'), ['Warning/ModelLoadFailed']],
    ['becomes degraded while ready', st('READY', 'True', 'Ready'), st('READY', 'True', 'Ready', 'QuotaExceeded'), ['Warning/QuotaExceeded']],
    ['stays degraded', st('READY', 'True', 'Ready', 'QuotaExceeded'), st('READY', 'True', 'Ready', 'QuotaExceeded'), []],
  ] as const)('%s', (_name, prev, next, want) => {
    expect(eventsFor(prev, next).map((e) => `${e.type}/${e.reason}`)).toEqual(want);
  });

  it('the pass does not wait for its events (sent after the status write, like client-go\'s recorder)', async () => {
    const t = setup({ deployments: [dep({ acceleratorCount: 16 })] });
    let sent = 0;
    t.cluster.event = () => {
      sent++;
      return new Promise<void>(() => {}); // an API server that never answers
    };
    await expect(t.r.reconcile(KEY)).resolves.toEqual({});
    expect(sent).toBe(1);
    expect(t.status()?.state).toBe('FAILED');
  });

  it('an event the API refuses does not fail the pass', async () => {
    const t = setup({ deployments: [dep({ acceleratorCount: 16 })] });
    t.cluster.event = async () => {
      throw new Error('events are forbidden');
    };
    await expect(t.r.reconcile(KEY)).resolves.toEqual({});
    expect(t.status()?.state).toBe('FAILED');
  });
});

describe('helpers', () => {
  it('accountOf: the namespace label, else a name no account can have (never the namespace name: src/crds/account.ts)', () => {
    expect(accountOf(namespace, NS)).toBe('acme');
    expect(accountOf({ metadata: { name: 'team-x' } }, 'team-x')).toBe('namespace/team-x');
    expect(accountOf(undefined, 'team-y')).toBe('namespace/team-y');
  });

  it('footprintOf: replicas × GPUs per pod, by quota name from the template labels', async () => {
    const t = setup({ deployments: [dep({ replicaCount: 3, acceleratorCount: 2 })] });
    await t.pass();
    expect(footprintOf(t.workload()!)).toEqual({ 'h100-us-virginia-2': 6 });
    const svc: V1Service | undefined = t.cluster.listers.services.get(`${NS}/chat-server`);
    expect(svc?.spec?.selector).toEqual({ 'app.kubernetes.io/managed-by': 'hearth', 'hearth.dev/deployment': 'chat' });
  });
});

describe('DeploymentReconciler: the autoscaler seam', () => {
  it('takes a ReplicaDecision: its count drives the workload and its status fields ride on the one status write', async () => {
    const decisions = [{ time: '2026-11-26T08:00:00.000Z', fromReplicas: 0, toReplicas: 1, reason: 'ScaleFromZero', message: 'a request arrived' }];
    let answer: ReplicaDecision = { replicas: 1, status: { scalingDecisions: decisions, lastRequestTime: '2026-11-26T08:00:00Z' } };
    const t = setup({ deployments: [dep({ replicaCount: undefined, minReplicaCount: 0, maxReplicaCount: 3 })], desiredReplicas: () => answer });
    expect((await t.pass()).writes).toEqual([`create ${WORKLOAD}`, `create ${SERVICE}`, `status ${HEARTH}`]);
    expect(t.workload()?.spec?.replicas).toBe(1);
    expect(t.status()).toMatchObject({ desiredReplicaCount: 1, scalingDecisions: decisions, lastRequestTime: '2026-11-26T08:00:00Z' });
    // The same answer: nothing to write. Undefined fields keep what status has.
    expect((await t.pass()).writes).toEqual([]);
    answer = { replicas: 1, status: { scalingDecisions: undefined, lastRequestTime: undefined } };
    expect((await t.pass()).writes).toEqual([]);
    expect(t.status()).toMatchObject({ scalingDecisions: decisions, lastRequestTime: '2026-11-26T08:00:00Z' });
    // A bare count (the spec-based default's shape) keeps them too.
    answer = { replicas: 1 };
    expect((await t.pass()).writes).toEqual([]);
  });
});

describe('DeploymentReconciler: write budget (issue 11)', () => {
  // What the controller writes for a new deployment that becomes READY before the progress
  // interval ends: the two children and one status write — plus the one event a user is told of.
  // No finalizer: the quota holds in PostgreSQL are given back on the delete event (README.md).
  const created = { creationTimestamp: new Date(T0).toISOString() };

  it('create → children → READY in 3 writes, region given', async () => {
    const t = setup({ deployments: [dep({}, created)] });
    const writes: string[] = [];
    writes.push(...(await t.pass()).writes);
    t.cluster.settle({ ready: false });
    t.clock.advance(5_000);
    writes.push(...(await t.pass()).writes);
    t.cluster.settle();
    t.clock.advance(5_000);
    writes.push(...(await t.pass()).writes);
    expect(writes).toEqual([`create ${WORKLOAD}`, `create ${SERVICE}`, `status ${HEARTH}`, `event Normal/Ready ${KEY}`]);
    expect(t.status()).toMatchObject({ state: 'READY', region: 'US_VIRGINIA_2', replicaCount: 2 });
    expect((await t.pass()).writes, 'second pass').toEqual([]);
  });

  it('one more status write when the controller chooses the region: the choice and its reason are written at once', async () => {
    const t = setup({ deployments: [dep({ placement: undefined }, created)] });
    const writes = (await t.pass()).writes;
    t.cluster.settle({ ready: false });
    writes.push(...(await t.pass()).writes);
    t.cluster.settle();
    writes.push(...(await t.pass()).writes);
    expect(writes.filter((w) => !w.startsWith('event'))).toEqual([`create ${WORKLOAD}`, `create ${SERVICE}`, `status ${HEARTH}`, `status ${HEARTH}`]);
    expect(t.status()).toMatchObject({ state: 'READY', region: 'US_VIRGINIA_2' });
    expect(t.status()?.status?.message).not.toBe('placed in US_VIRGINIA_2'); // the reason of the choice survived
  });

  it('a deployment waiting on capacity says so at once', async () => {
    const t = setup({ deployments: [dep({ placement: undefined, acceleratorType: 'NVIDIA_H200_141GB' }, created)] });
    const first = await t.pass();
    expect(first.writes.filter((w) => w.startsWith('status'))).toEqual([`status ${HEARTH}`]);
    expect(t.status()?.state).toBe('CREATING');
  });
});

describe('DeploymentReconciler: a namespace labelled with an account by hand (issue 15 item 5)', () => {
  it('creates nothing, holds no quota, says why once in a Warning event; a second pass changes nothing', async () => {
    // What the namespaces informer hands the reconciler (NamespaceSeal.project): the label is gone.
    const forged = TEST_SEAL.project({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'hearth.dev/account': 'acme' } } });
    const cluster = new DeploymentCluster({ namespaces: [forged], nodes: fleet, deployments: [dep()] });
    const quotas = new MemoryQuotaLedger();
    const r = new DeploymentReconciler({ listers: cluster.listers, writer: cluster, quotas, clock: new FakeClock(T0) });
    expect(await r.reconcile(KEY)).toEqual({});
    expect(cluster.take()).toEqual([`event Warning/NamespaceNotVerified ${KEY}`]);
    expect(quotas.calls).toEqual([]);
    expect(quotas.holds.size).toBe(0);
    expect(await r.reconcile(KEY)).toEqual({});
    expect(cluster.take().filter((w) => !w.startsWith('event'))).toEqual([]);
    expect(quotas.calls).toEqual([]);
  });

  it('the same namespace sealed by Hearth is reconciled as acme', async () => {
    const sealed: V1Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, ...TEST_SEAL.metadataFor(NS, 'acme') } };
    const cluster = new DeploymentCluster({ namespaces: [TEST_SEAL.project(sealed)], nodes: fleet, deployments: [dep()] });
    const r = new DeploymentReconciler({ listers: cluster.listers, writer: cluster, quotas: new MemoryQuotaLedger(), clock: new FakeClock(T0) });
    await r.reconcile(KEY);
    expect(cluster.take()).toEqual([`create ${WORKLOAD}`, `create ${SERVICE}`, `status ${HEARTH}`]);
  });
});
