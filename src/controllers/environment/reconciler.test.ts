// The Environment reconciler against the runtime's recording fake API, in-memory users/bindings and
// node zones: "given these objects, expect exactly these writes", then a second pass that writes
// nothing. Time from a FakeClock.
import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { EnvironmentSpecInput, EnvironmentStatus } from '../../crds/environment.js';
import { ANNOTATIONS, API_VERSION } from '../../crds/group.js';
import type { NodePoolSpecInput } from '../../crds/node-pool.js';
import { FakeClock } from '../../util/fake-clock.js';
import type { HearthObject } from '../runtime/writer.js';
import { EnvironmentCluster, MemoryPoolAccess, MemoryZones } from './fake-cluster.js';
import { DEFAULT_IMAGE, EnvironmentReconciler, REFUSED_RETRY_MS } from './reconciler.js';
import { TEST_SEAL } from '../../../test/support/tenancy.js';

type Env = HearthObject<'Environment'>;
type Pool = HearthObject<'NodePool'>;

const NS = 'acct-acme';
const KEY = `${NS}/dev`;
const T0 = Date.parse('2026-12-06T08:00:00Z');
const ENV = 'Environment/hearth acct-acme/dev';
const ALICE = 'alice@acme.test';
const BOB = 'bob@acme.test';
const ADMIN = 'root@acme.test';

const namespace: V1Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'hearth.dev/account': 'acme' } } };

function env(spec: Partial<EnvironmentSpecInput> = {}, o: { status?: Partial<EnvironmentStatus>; annotations?: Record<string, string> } = {}): Env {
  return {
    apiVersion: API_VERSION,
    kind: 'Environment',
    metadata: { name: 'dev', namespace: NS, uid: 'uid-dev', generation: 1, resourceVersion: '1', annotations: o.annotations ?? { [ANNOTATIONS.createdBy]: ALICE } },
    spec: { baseImageRef: 'ghcr.io/acme/dev:1', ...spec },
    ...(o.status ? { status: o.status as EnvironmentStatus } : {}),
  } as Env;
}

function pool(name: string, spec: Partial<NodePoolSpecInput> = {}, deleting = false): Pool {
  return {
    apiVersion: API_VERSION,
    kind: 'NodePool',
    metadata: { name, namespace: NS, uid: `uid-${name}`, resourceVersion: '1', ...(deleting ? { deletionTimestamp: new Date(T0) } : {}) },
    spec: { minNodeCount: 0, maxNodeCount: 4, overprovisionNodeCount: 0, ...spec },
  } as Pool;
}

const GPU_POOL = pool('gpu', { fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 8 } });
const CPU_POOL = pool('cpu', { fakeNodePool: { machineType: 'cpu-8' } });
const connect = (nodePoolId: string, more: Partial<NonNullable<EnvironmentSpecInput['connection']>> = {}) => ({ connection: { nodePoolId, numRanks: 2, ...more } });

function setup(o: { envs?: Env[]; pools?: Pool[]; bindings?: string[] } = {}) {
  const cluster = new EnvironmentCluster({ environments: o.envs ?? [env()], nodePools: o.pools ?? [GPU_POOL, CPU_POOL], namespaces: [namespace] });
  const access = new MemoryPoolAccess(new Map([[ALICE, 'user'], [BOB, 'user'], [ADMIN, 'admin']]), new Set(o.bindings ?? [`${ALICE}/gpu`, `${ALICE}/cpu`]));
  const clock = new FakeClock(T0);
  const r = new EnvironmentReconciler({ listers: cluster.listers, writer: cluster, access, zones: new MemoryZones({ 'node-a': 'us-east-1a' }), clock });
  const log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as never;
  const pass = async (key = KEY) => {
    const res = await r.reconcile(key, { log, signal: new AbortController().signal });
    return { res, writes: cluster.take() };
  };
  const pods = () => cluster.listers.pods.list(NS).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  return { cluster, access, clock, r, pass, pods, status: (key = KEY) => cluster.status(key) };
}

describe('EnvironmentReconciler: creation pins the image', () => {
  const cases: Array<[string, Env, string]> = [
    ['baseImageRef given', env(), 'ghcr.io/acme/dev:1'],
    ['no baseImageRef: the default image', env({ baseImageRef: undefined }), DEFAULT_IMAGE],
  ];
  it.each(cases)('%s → DISCONNECTED with imageRef pinned; a second pass writes nothing', async (_, e, image) => {
    const t = setup({ envs: [e] });
    expect((await t.pass()).writes).toEqual([`status ${ENV}`]);
    expect(t.status()).toMatchObject({ state: 'DISCONNECTED', imageRef: image, status: { code: 'OK' }, updateTime: '2026-12-06T08:00:00Z' });
    expect(t.status()?.conditions).toEqual([
      expect.objectContaining({ type: 'Ready', status: 'True', reason: 'Disconnected' }),
      expect.objectContaining({ type: 'Snapshots', status: 'False', reason: 'NotSupported' }),
    ]);
    expect(t.status()?.snapshotImageRef).toBeUndefined();
    expect((await t.pass()).writes).toEqual([]);
  });

  it('a later baseImageRef change does not move imageRef (pods keep the pinned image)', async () => {
    const t = setup();
    await t.pass();
    t.cluster.edit(KEY, (e) => (e.spec.baseImageRef = 'ghcr.io/acme/dev:2'));
    await t.pass();
    expect(t.status()?.imageRef).toBe('ghcr.io/acme/dev:1');
    t.cluster.edit(KEY, (e) => Object.assign(e.spec, connect('gpu')));
    await t.pass();
    expect(t.pods().map((p) => p.spec?.containers[0]?.image)).toEqual(['ghcr.io/acme/dev:1', 'ghcr.io/acme/dev:1']);
  });

  it('a namespace without an account is not reconciled', async () => {
    const t = setup();
    t.cluster.listers.namespaces.put({ ...namespace, metadata: { name: NS } });
    expect((await t.pass()).writes).toEqual([]);
  });
});

describe('EnvironmentReconciler: connect, disconnect, reconnect', () => {
  it('connect to a GPU pool: one pod per rank with one GPU each → CONNECTING; all Running and Ready → CONNECTED with zone, pods and the shell command', async () => {
    const t = setup({ envs: [env(connect('gpu'))] });
    let p = await t.pass();
    expect(p.writes).toEqual([`create Pod ${NS}/dev-rank-0`, `create Pod ${NS}/dev-rank-1`, `status ${ENV}`, `event Normal/Connecting ${NS}/dev`]);
    expect(p.res).toEqual({});
    expect(t.status()).toMatchObject({ state: 'CONNECTING', conditions: [expect.objectContaining({ type: 'Ready', status: 'False', reason: 'Connecting', message: '0 of 2 rank(s) running and ready on node pool gpu' }), expect.anything()] });
    expect(t.pods().map((x) => x.spec?.containers[0]?.resources?.limits)).toEqual([{ 'nvidia.com/gpu': '1' }, { 'nvidia.com/gpu': '1' }]);
    expect((await t.pass()).writes).toEqual([]);
    t.cluster.runAll('node-a');
    p = await t.pass();
    expect(p.writes).toEqual([`status ${ENV}`, `event Normal/Connected ${NS}/dev`]);
    expect(t.status()).toMatchObject({
      state: 'CONNECTED',
      status: { code: 'OK', message: `connected; open a shell in rank 0 with: kubectl exec -it -n ${NS} dev-rank-0 -c environment -- /bin/sh` },
      connection: { nodePoolId: 'gpu', numRanks: 2, zone: 'us-east-1a', pods: ['dev-rank-0', 'dev-rank-1'], shellCommand: `kubectl exec -it -n ${NS} dev-rank-0 -c environment -- /bin/sh` },
      conditions: [expect.objectContaining({ type: 'Ready', status: 'True', reason: 'Connected' }), expect.anything()],
    });
    expect((await t.pass()).writes).toEqual([]);
  });

  it('a CPU pool: no GPU, one host per rank (anti-affinity); local storage at /tmp when asked', async () => {
    const t = setup({ envs: [env(connect('cpu', { useLocalStorage: true }))] });
    await t.pass();
    const pod = t.pods()[0]!;
    expect(pod.spec?.containers[0]?.resources).toBeUndefined();
    expect(pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.[0]?.topologyKey).toBe('kubernetes.io/hostname');
    expect(pod.spec?.volumes).toEqual([{ name: 'local', emptyDir: {} }]);
    expect(pod.spec?.containers[0]?.volumeMounts).toEqual([{ name: 'local', mountPath: '/tmp' }]);
  });

  it('disconnect: the pods are deleted → DISCONNECTING; none left → DISCONNECTED, the zone of the last connection kept', async () => {
    const t = setup({ envs: [env(connect('gpu'))] });
    await t.pass();
    t.cluster.runAll();
    await t.pass();
    t.cluster.edit(KEY, (e) => delete e.spec.connection);
    let p = await t.pass();
    expect(p.writes).toEqual([`delete Pod ${NS}/dev-rank-0`, `delete Pod ${NS}/dev-rank-1`, `status ${ENV}`, `event Normal/Disconnecting ${NS}/dev`]);
    expect(t.status()?.state).toBe('DISCONNECTING');
    p = await t.pass();
    expect(p.writes).toEqual([`status ${ENV}`, `event Normal/Disconnected ${NS}/dev`]);
    expect(t.status()).toMatchObject({ state: 'DISCONNECTED', connection: { zone: 'us-east-1a' } });
    expect(t.status()?.connection?.pods).toBeUndefined();
    expect((await t.pass()).writes).toEqual([]);
  });

  it('a connected environment whose pod dies → RECONNECTING (pod recreated) → CONNECTED when it runs again', async () => {
    const t = setup({ envs: [env(connect('gpu'))] });
    await t.pass();
    t.cluster.runAll();
    await t.pass();
    t.cluster.killPod(`${NS}/dev-rank-1`);
    let p = await t.pass();
    expect(p.writes).toEqual([`create Pod ${NS}/dev-rank-1`, `status ${ENV}`, `event Warning/Reconnecting ${NS}/dev`]);
    expect(t.status()).toMatchObject({ state: 'RECONNECTING', connection: { nodePoolId: 'gpu', shellCommand: expect.any(String) as unknown } });
    expect((await t.pass()).writes).toEqual([]);
    t.cluster.runAll();
    p = await t.pass();
    expect(p.writes).toEqual([`status ${ENV}`, `event Normal/Connected ${NS}/dev`]);
    expect(t.status()?.state).toBe('CONNECTED');
  });

  it('an ended pod (Failed: evicted, node lost) is replaced', async () => {
    const t = setup({ envs: [env(connect('gpu', { numRanks: 1 }))] });
    await t.pass();
    t.cluster.runAll();
    await t.pass();
    const pod = t.cluster.listers.pods.get(`${NS}/dev-rank-0`)!;
    pod.status = { phase: 'Failed' };
    expect((await t.pass()).writes).toEqual([`delete Pod ${NS}/dev-rank-0`, `status ${ENV}`, `event Warning/Reconnecting ${NS}/dev`]);
    expect((await t.pass()).writes).toEqual([`create Pod ${NS}/dev-rank-0`]);
  });

  it('a changed connection (numRanks, under kubectl) replaces the pods of the old plan', async () => {
    const t = setup({ envs: [env(connect('gpu', { numRanks: 1 }))] });
    await t.pass();
    t.cluster.edit(KEY, (e) => (e.spec.connection!.numRanks = 2));
    expect((await t.pass()).writes).toEqual([`delete Pod ${NS}/dev-rank-0`, `create Pod ${NS}/dev-rank-1`, `status ${ENV}`]);
    expect((await t.pass()).writes).toEqual([`create Pod ${NS}/dev-rank-0`]);
    expect(t.pods().map((x) => x.spec?.containers[0]?.env?.find((v) => v.name === 'HEARTH_NUM_RANKS')?.value)).toEqual(['2', '2']);
  });

  it("another environment's pods are not ours (pods are matched by controller uid)", async () => {
    const foreign: V1Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'dev-rank-9', namespace: NS, uid: 'x', ownerReferences: [{ apiVersion: API_VERSION, kind: 'Environment', name: 'dev', uid: 'old-uid', controller: true }] } };
    const t = setup();
    t.cluster.listers.pods.put(foreign);
    expect((await t.pass()).writes).toEqual([`status ${ENV}`]);
    expect(t.status()?.state).toBe('DISCONNECTED');
  });
});

describe('EnvironmentReconciler: who may connect (bindings, shared)', () => {
  const refusals: Array<[string, Env, Pool[], string[], string, string, string]> = [
    ['the pool does not exist', env(connect('nope')), [GPU_POOL], [], 'NOT_FOUND', 'NodePoolNotFound', 'connection.nodePoolId: node pool "accounts/acme/nodePools/nope" not found'],
    ['more ranks than the pool can ever hold', env(connect('gpu', { numRanks: 33 })), [GPU_POOL], [`${ALICE}/gpu`], 'INVALID_ARGUMENT', 'TooManyRanks', 'connection.numRanks: 33 ranks exceed the maximum of node pool "accounts/acme/nodePools/gpu" (32: maxNodeCount 4 × 8 per node)'],
    ['the pool is being deleted', env(connect('gpu')), [pool('gpu', {}, true)], [`${ALICE}/gpu`], 'FAILED_PRECONDITION', 'NodePoolDeleting', 'connection.nodePoolId: node pool "accounts/acme/nodePools/gpu" is being deleted'],
    ['the requester has no binding', env(connect('gpu')), [GPU_POOL], [`${ALICE}/other`], 'PERMISSION_DENIED', 'NotBound', `${ALICE} may not use node pool "accounts/acme/nodePools/gpu": no node pool binding for it (an admin creates one)`],
    ['kubectl-created without a creator', env(connect('gpu'), { annotations: {} }), [GPU_POOL], [], 'PERMISSION_DENIED', 'NoRequester', 'cannot check who may use node pool "accounts/acme/nodePools/gpu"'],
    ['the requester is not a user of the account', env(connect('gpu'), { annotations: { [ANNOTATIONS.createdBy]: 'eve@x.test' } }), [GPU_POOL], [], 'PERMISSION_DENIED', 'UnknownUser', 'eve@x.test is not a user of account "acme"'],
    ['another user connects an unshared environment', env(connect('gpu'), { annotations: { [ANNOTATIONS.createdBy]: ALICE, [ANNOTATIONS.connectedBy]: BOB } }), [GPU_POOL], [`${BOB}/gpu`], 'PERMISSION_DENIED', 'NotShared', 'environment "accounts/acme/environments/dev" is not shared'],
  ];
  it.each(refusals)('%s → no pods, DISCONNECTED naming the pool; retried later; a second pass writes nothing', async (_, e, pools, bindings, code, reason, message) => {
    const t = setup({ envs: [e], pools, bindings });
    const p = await t.pass();
    expect(p.writes).toEqual([`status ${ENV}`, `event Warning/${reason} ${NS}/dev`]);
    expect(p.res).toEqual({ requeueAfter: REFUSED_RETRY_MS });
    expect(t.pods()).toEqual([]);
    expect(t.status()).toMatchObject({ state: 'DISCONNECTED', status: { code } });
    expect(t.status()?.status?.message).toContain(message);
    expect(t.status()?.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'False', reason });
    expect((await t.pass()).writes).toEqual([]);
  });

  const allowed: Array<[string, Env, string[]]> = [
    ['the creator bound to the pool', env(connect('gpu')), [`${ALICE}/gpu`]],
    ['the creator bound to every pool of the account', env(connect('gpu')), [`${ALICE}/`]],
    ['an admin without a binding', env(connect('gpu'), { annotations: { [ANNOTATIONS.createdBy]: ADMIN } }), []],
    ['another bound user on a shared environment', env({ ...connect('gpu'), shared: true }, { annotations: { [ANNOTATIONS.createdBy]: ALICE, [ANNOTATIONS.connectedBy]: BOB } }), [`${BOB}/gpu`]],
  ];
  it.each(allowed)('%s → pods created', async (_, e, bindings) => {
    const t = setup({ envs: [e], bindings });
    await t.pass();
    expect(t.pods()).toHaveLength(2);
    expect(t.status()?.state).toBe('CONNECTING');
  });

  it('a binding removed while connected: the pods go and the environment says why', async () => {
    const t = setup({ envs: [env(connect('gpu'))] });
    await t.pass();
    t.cluster.runAll();
    await t.pass();
    t.access.bindings.clear();
    const p = await t.pass();
    expect(p.writes).toEqual([`delete Pod ${NS}/dev-rank-0`, `delete Pod ${NS}/dev-rank-1`, `status ${ENV}`, `event Warning/NotBound ${NS}/dev`]);
    expect(t.status()).toMatchObject({ state: 'DISCONNECTED', status: { code: 'PERMISSION_DENIED' } });
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
