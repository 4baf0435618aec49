// The BatchJob reconciler against the runtime's recording fake API, memory bindings and a memory
// log archive: "given these objects, expect exactly these writes", then a second pass that writes
// nothing. Time from a FakeClock; pods change state the way the Job controller and KWOK change them.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { BatchJobSpecInput, BatchJobStatus } from '../../crds/batch-job.js';
import { API_VERSION, FINALIZER } from '../../crds/group.js';
import { FakeClock } from '../../util/fake-clock.js';
import type { HearthObject } from '../runtime/writer.js';
import { BatchJobCluster, MemoryLogArchive, MemoryPoolAccess, namespace } from './fake-cluster.js';
import { BatchJobReconciler, DEFAULT_POLL_MS } from './reconciler.js';
import { TEST_SEAL } from '../../../test/support/tenancy.js';

type BatchJob = HearthObject<'BatchJob'>;

const NS = 'acct-acme';
const KEY = `${NS}/bj-1`;
const T0 = Date.parse('2026-12-06T08:00:00Z');
const BJ = 'BatchJob/hearth acct-acme/bj-1';
const JOB = 'Job/batch acct-acme/bj-1';

function batchJob(spec: Partial<BatchJobSpecInput> = {}, o: { status?: Partial<BatchJobStatus>; annotations?: Record<string, string>; finalizers?: string[] } = {}): BatchJob {
  return {
    apiVersion: API_VERSION,
    kind: 'BatchJob',
    metadata: { name: 'bj-1', namespace: NS, uid: 'uid-bj-1', generation: 1, resourceVersion: '1', ...(o.finalizers ? { finalizers: o.finalizers } : {}), ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: { nodePoolId: 'train', numRanks: 4, imageRef: 'python:3.12', shellExecutor: { command: 'python train.py' }, ...spec },
    ...(o.status ? { status: o.status as BatchJobStatus } : {}),
  } as BatchJob;
}

const pool = (spec: Record<string, unknown> = {}): HearthObject<'NodePool'> =>
  ({
    apiVersion: API_VERSION,
    kind: 'NodePool',
    metadata: { name: 'train', namespace: NS, uid: 'uid-train', resourceVersion: '1' },
    spec: { minNodeCount: 0, maxNodeCount: 1, overprovisionNodeCount: 0, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 8 }, ...spec },
    status: { state: 'READY' },
  }) as HearthObject<'NodePool'>;

const env = (name: string, spec: Record<string, unknown>, status?: Record<string, unknown>): HearthObject<'Environment'> =>
  ({ apiVersion: API_VERSION, kind: 'Environment', metadata: { name, namespace: NS, uid: `uid-${name}`, resourceVersion: '1' }, spec, ...(status ? { status } : {}) }) as HearthObject<'Environment'>;

function pod(rank: number, phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed', exitCode?: number): V1Pod {
  const terminated = phase === 'Succeeded' || phase === 'Failed' ? { exitCode: exitCode ?? (phase === 'Failed' ? 1 : 0), reason: phase === 'Failed' ? 'Error' : 'Completed' } : undefined;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `bj-1-${rank}-x`,
      namespace: NS,
      uid: `pod-${rank}`,
      labels: { 'hearth.dev/batch-job': 'bj-1' },
      annotations: { 'batch.kubernetes.io/job-completion-index': String(rank) },
    },
    status: {
      phase,
      ...(phase === 'Pending' ? { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] } : {}),
      containerStatuses: [{ name: 'rank', ready: phase === 'Running', restartCount: 0, image: '', imageID: '', state: terminated ? { terminated } : phase === 'Running' ? { running: {} } : { waiting: {} } }],
    },
  };
}

function setup(o: { batchJobs?: BatchJob[]; pools?: HearthObject<'NodePool'>[]; environments?: HearthObject<'Environment'>[] } = {}) {
  const cluster = new BatchJobCluster({ batchJobs: o.batchJobs ?? [batchJob()], nodePools: o.pools ?? [pool()], environments: o.environments ?? [], namespaces: [namespace(NS, 'acme')] });
  const access = new MemoryPoolAccess();
  const logs = new MemoryLogArchive();
  const clock = new FakeClock(T0);
  const r = new BatchJobReconciler({ listers: cluster.listers, writer: cluster, access, logs, clock });
  const log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as never;
  const pass = async () => {
    const res = await r.reconcile(KEY, { log, signal: new AbortController().signal });
    return { res, writes: cluster.take() };
  };
  const setPods = (...pods: V1Pod[]) => {
    for (const p of cluster.listers.pods.list()) cluster.listers.pods.delete(`${NS}/${p.metadata?.name}`);
    for (const p of pods) cluster.listers.pods.put(p);
  };
  return { cluster, access, logs, clock, pass, setPods, status: () => cluster.status(KEY) };
}

describe('BatchJobReconciler: what the job names is checked before anything runs', () => {
  const refusals: Array<[string, Parameters<typeof setup>[0], string]> = [
    ['node pool missing', { pools: [] }, 'NOT_FOUND: nodePoolId: node pool train not found'],
    ['more ranks than the pool can hold', { batchJobs: [batchJob({ numRanks: 9 })] }, 'INVALID_ARGUMENT: numRanks: 9 exceeds the maximum of node pool train: 8 (maxNodeCount 1 × 8 ranks per node)'],
    ['environment missing', { batchJobs: [batchJob({ imageRef: undefined, environmentId: 'dev' })] }, 'NOT_FOUND: environmentId: environment dev not found'],
    ['environment without an image', { batchJobs: [batchJob({ imageRef: undefined, environmentId: 'dev' })], environments: [env('dev', {})] }, 'FAILED_PRECONDITION: environmentId: environment dev has no image yet (its baseImageRef is not pinned)'],
    [
      'environment connected to another pool',
      { batchJobs: [batchJob({ imageRef: undefined, environmentId: 'dev' })], environments: [env('dev', { baseImageRef: 'img' }, { state: 'CONNECTED', connection: { nodePoolId: 'other' } })] },
      'FAILED_PRECONDITION: environmentId: environment dev is connected to node pool other, not train',
    ],
    ['a snapshot', { batchJobs: [batchJob({ imageRef: undefined, environmentId: 'dev', snapshotId: 's1' })], environments: [env('dev', { baseImageRef: 'img' })] }, 'FAILED_PRECONDITION: snapshotId: environment snapshots are not supported'],
    [
      'a creator without a binding to the pool',
      { batchJobs: [batchJob({}, { annotations: { 'hearth.dev/created-by': 'bob@acme.test' } })] },
      'PERMISSION_DENIED: nodePoolId: bob@acme.test may not run jobs on node pool train (no node pool binding)',
    ],
  ];
  it.each(refusals)('%s → FAILED naming the field, no Job; a second pass writes nothing', async (_, objs, message) => {
    const t = setup(objs);
    const first = await t.pass();
    expect(first.writes).toEqual([`status ${BJ}`, `event Warning/Failed ${NS}/bj-1`]);
    expect(t.status()).toMatchObject({ state: 'FAILED', status: message, endTime: '2026-12-06T08:00:00Z' });
    expect(t.status()?.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'False', reason: 'Failed' });
    expect((await t.pass()).writes).toEqual([]);
  });

  it('a bound creator, an admin, or no creator (written with Kubernetes credentials) may run it', async () => {
    for (const [who, grant] of [
      ['bound@acme.test', (a: MemoryPoolAccess) => a.bindings.add('acme/train/bound@acme.test')],
      ['all@acme.test', (a: MemoryPoolAccess) => a.bindings.add('acme/*/all@acme.test')],
      ['admin@acme.test', (a: MemoryPoolAccess) => a.admins.add('admin@acme.test')],
    ] as const) {
      const t = setup({ batchJobs: [batchJob({}, { annotations: { 'hearth.dev/created-by': who } })] });
      grant(t.access);
      expect((await t.pass()).writes).toEqual([`create ${JOB}`]);
    }
    const t = setup();
    expect((await t.pass()).writes).toEqual([`create ${JOB}`]);
  });

  it("a job in another user's environment runs only when it is shared (or the creator is an admin); refused → FAILED naming environmentId", async () => {
    const bobs = (shared: boolean) => env('dev', { baseImageRef: 'img', shared }, { state: 'DISCONNECTED', imageRef: 'img@sha256:abc' });
    const ownedByBob = (o: ReturnType<typeof bobs>) => ({ ...o, metadata: { ...o.metadata, annotations: { 'hearth.dev/created-by': 'bob@acme.test' } } }) as HearthObject<'Environment'>;
    const job = batchJob({ imageRef: undefined, environmentId: 'dev' }, { annotations: { 'hearth.dev/created-by': 'eve@acme.test' } });
    const t = setup({ batchJobs: [job], environments: [ownedByBob(bobs(false))] });
    t.access.bindings.add('acme/train/eve@acme.test');
    expect((await t.pass()).writes).toEqual([`status ${BJ}`, `event Warning/Failed ${NS}/bj-1`]);
    expect(t.status()).toMatchObject({
      state: 'FAILED',
      status: 'PERMISSION_DENIED: environmentId: environment "accounts/acme/environments/dev" is not shared: only its creator bob@acme.test and account admins may connect it or run jobs in it (set shared: true to let every user of the account)',
    });
    expect((await t.pass()).writes).toEqual([]);
    for (const [grant, shared] of [[(a: MemoryPoolAccess) => a.bindings.add('acme/train/eve@acme.test'), true], [(a: MemoryPoolAccess) => a.admins.add('eve@acme.test'), false]] as const) {
      const ok = setup({ batchJobs: [job], environments: [ownedByBob(bobs(shared))] });
      grant(ok.access);
      expect((await ok.pass()).writes).toEqual([`create ${JOB}`]);
    }
  });

  it("a job in an environment runs the environment's pinned image", async () => {
    const t = setup({ batchJobs: [batchJob({ imageRef: undefined, environmentId: 'dev' })], environments: [env('dev', { baseImageRef: 'img:latest' }, { state: 'DISCONNECTED', imageRef: 'img@sha256:abc' })] });
    await t.pass();
    expect(t.cluster.listers.jobs.get(`${NS}/bj-1`)?.spec?.template.spec?.containers[0]?.image).toBe('img@sha256:abc');
  });
});

describe('BatchJobReconciler: the lifecycle', () => {
  it('creates the Job and writes nothing more while its pods are on their way (the wire reads CREATING); unschedulable → PENDING; all running → RUNNING; a second pass writes nothing', async () => {
    const t = setup();
    const first = await t.pass();
    expect(first.writes).toEqual([`create ${JOB}`]);
    expect(first.res).toEqual({ requeueAfter: DEFAULT_POLL_MS });
    expect(t.status()).toBeUndefined();
    expect((await t.pass()).writes).toEqual([]);

    const scheduled = { ...pod(1, 'Pending'), status: { phase: 'Pending' } } as V1Pod;
    t.setPods(pod(0, 'Running'), scheduled);
    expect((await t.pass()).writes).toEqual([]);

    t.setPods(pod(0, 'Running'), pod(1, 'Pending'), pod(2, 'Pending'), pod(3, 'Pending'));
    t.clock.advance(1000);
    expect((await t.pass()).writes).toEqual([`status ${BJ}`, `event Normal/Pending ${NS}/bj-1`]);
    expect(t.status()).toMatchObject({ state: 'PENDING', status: 'waiting for capacity: 1 of 4 ranks started (no node of the pool has room for the rest yet)' });
    expect(t.status()?.startTime).toBeUndefined();

    t.setPods(pod(0, 'Running'), pod(1, 'Running'), pod(2, 'Running'), pod(3, 'Running'));
    t.clock.advance(1000);
    expect((await t.pass()).writes).toEqual([`status ${BJ}`]);
    expect(t.status()).toMatchObject({ state: 'RUNNING', startTime: '2026-12-06T08:00:02Z' });
    expect((await t.pass()).writes).toEqual([]);
  });

  it('rank 2 fails with exit code 3 → FAILED naming rank 2 and its code; its output is archived; then every rank is archived and the Job deleted', async () => {
    const t = setup({ batchJobs: [batchJob({}, { status: { state: 'RUNNING', startTime: '2026-12-06T07:59:00Z' } })] });
    await t.cluster.create({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'bj-1', namespace: NS, ownerReferences: [{ apiVersion: API_VERSION, kind: 'BatchJob', name: 'bj-1', uid: 'uid-bj-1', controller: true }] } });
    t.cluster.take();
    t.setPods(pod(0, 'Succeeded'), pod(1, 'Running'), pod(2, 'Failed', 3), pod(3, 'Running'));
    const first = await t.pass();
    expect(first.writes).toEqual([`status ${BJ}`, `event Warning/Failed ${NS}/bj-1`]);
    expect(t.status()).toMatchObject({ state: 'FAILED', status: 'rank 2 failed with exit code 3 (Error)', startTime: '2026-12-06T07:59:00Z', endTime: '2026-12-06T08:00:00Z' });
    expect(t.logs.reads).toEqual(['bj-1/0 bj-1-0-x', 'bj-1/2 bj-1-2-x']);

    const second = await t.pass();
    expect(second.writes).toEqual([`delete ${JOB}`]);
    expect([...(await t.logs.archived('uid-bj-1'))].sort()).toEqual([0, 1, 2, 3]);
    t.setPods();
    expect((await t.pass()).writes).toEqual([]);
  });

  it('every rank exits 0 → COMPLETED; the Job is deleted once the output is archived', async () => {
    const t = setup({ batchJobs: [batchJob({ numRanks: 2 }, { status: { state: 'RUNNING', startTime: '2026-12-06T07:59:00Z' } })] });
    await t.cluster.create({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'bj-1', namespace: NS, ownerReferences: [{ apiVersion: API_VERSION, kind: 'BatchJob', name: 'bj-1', uid: 'uid-bj-1', controller: true }] } });
    t.cluster.take();
    t.setPods(pod(0, 'Succeeded'), pod(1, 'Succeeded'));
    expect((await t.pass()).writes).toEqual([`status ${BJ}`, `event Normal/Completed ${NS}/bj-1`]);
    expect(t.status()).toMatchObject({ state: 'COMPLETED', status: 'all 2 ranks exited with code 0' });
    expect(t.status()?.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'True' });
    expect((await t.pass()).writes).toEqual([`delete ${JOB}`]);
    expect((await t.pass()).writes).toEqual([]);
  });

  it('ranks that end before RUNNING was seen → COMPLETED with a startTime', async () => {
    const t = setup({ batchJobs: [batchJob({ numRanks: 1 })] });
    await t.cluster.create({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'bj-1', namespace: NS, ownerReferences: [{ apiVersion: API_VERSION, kind: 'BatchJob', name: 'bj-1', uid: 'uid-bj-1', controller: true }] } });
    t.setPods(pod(0, 'Succeeded'));
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'COMPLETED', startTime: '2026-12-06T08:00:00Z', endTime: '2026-12-06T08:00:00Z' });
  });

  it('the Job deleted by someone else while running → FAILED saying so', async () => {
    const t = setup({ batchJobs: [batchJob({}, { status: { state: 'RUNNING' } })] });
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'FAILED', status: 'the Job bj-1 that ran the ranks was deleted' });
  });
});

describe('BatchJobReconciler: cancel and delete', () => {
  const owned = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'bj-1', namespace: NS, ownerReferences: [{ apiVersion: API_VERSION, kind: 'BatchJob', name: 'bj-1', uid: 'uid-bj-1', controller: true }] } };

  it(':cancel → CANCELLING, output archived and the Job deleted; pods gone → CANCELLED; a second pass writes nothing', async () => {
    const t = setup({ batchJobs: [batchJob({}, { status: { state: 'RUNNING', startTime: '2026-12-06T07:59:00Z' }, annotations: { 'hearth.dev/cancel-requested': '2026-12-06T08:00:00Z' } })] });
    await t.cluster.create(owned);
    t.cluster.take();
    t.setPods(pod(0, 'Running'), pod(1, 'Running'), pod(2, 'Running'), pod(3, 'Running'));
    expect((await t.pass()).writes).toEqual([`delete ${JOB}`, `status ${BJ}`, `event Normal/Cancelling ${NS}/bj-1`]);
    expect(t.status()).toMatchObject({ state: 'CANCELLING', status: 'stopping 4 rank pods' });
    expect(t.logs.reads).toHaveLength(4);
    t.setPods();
    expect((await t.pass()).writes).toEqual([`status ${BJ}`, `event Normal/Cancelled ${NS}/bj-1`]);
    expect(t.status()).toMatchObject({ state: 'CANCELLED', endTime: '2026-12-06T08:00:00Z' });
    expect((await t.pass()).writes).toEqual([]);
  });

  it('a cancel before the Job exists → CANCELLED at once, nothing created', async () => {
    const t = setup({ batchJobs: [batchJob({}, { annotations: { 'hearth.dev/cancel-requested': '2026-12-06T08:00:00Z' } })] });
    expect((await t.pass()).writes).toEqual([`status ${BJ}`, `event Normal/Cancelled ${NS}/bj-1`]);
  });

  it('deletion: the Job goes by GC (nothing to write); a finalizer of an earlier version is let go; once gone, its archived output is dropped', async () => {
    const t = setup({ batchJobs: [{ ...batchJob({}, { status: { state: 'RUNNING' }, finalizers: [FINALIZER] }), metadata: { ...batchJob({}, { finalizers: [FINALIZER] }).metadata, deletionTimestamp: new Date(T0) } } as BatchJob] });
    await t.cluster.create(owned);
    t.cluster.take();
    await t.logs.archive({ account: 'acme', namespace: NS, name: 'bj-1', uid: 'uid-bj-1' }, 0, 'p');
    expect((await t.pass()).writes).toEqual([`finalizers ${BJ}`]);
    expect(t.logs.dropped).toEqual([]);
    t.cluster.listers.batchJobs.delete(KEY);
    expect((await t.pass()).writes).toEqual([]);
    expect(t.logs.dropped).toEqual([KEY]);
    expect(await t.logs.archived('uid-bj-1')).toEqual(new Set());
  });
});

describe('a namespace labelled with an account by hand (issue 15 item 5)', () => {
  it('is left alone: a NamespaceNotVerified Warning and nothing else; a second pass writes nothing but the event count', async () => {
    const t = setup();
    // What the namespaces informer hands the reconciler (NamespaceSeal.project): the label is gone.
    t.cluster.listers.namespaces.put(TEST_SEAL.project({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'hearth.dev/account': 'acme' } } }));
    const first = await t.pass();
    expect(first.res).toEqual({});
    expect(first.writes).toEqual([`event Warning/NamespaceNotVerified ${KEY}`]);
    const second = await t.pass();
    expect(second.writes.filter((w) => !w.startsWith('event '))).toEqual([]);
    expect(t.status()).toBeUndefined();
  });
});
