// The DeployedModel reconciler against the runtime's recording fake API and fake model servers:
// "given these objects, expect exactly these writes and these adapter calls", then a second pass
// that changes nothing. Time from a FakeClock.
import { describe, expect, it } from 'vitest';
import type { DeployedModel, ReplicaAdapter } from '../../crds/deployed-model.js';
import type { Deployment } from '../../crds/deployment.js';
import { ANNOTATIONS, FINALIZER } from '../../crds/group.js';
import { FakeClock } from '../../util/fake-clock.js';
import { DeployedModelCluster, FakeServers, MemoryLoraQuota, MemoryModels, namespace, slice } from './fake-cluster.js';
import { failedToWake } from './controller.js';
import { DEFAULT_POLL_MS, DeployedModelReconciler, localDeploymentName } from './reconciler.js';
import { MAX_LOAD_ATTEMPTS } from './status.js';
import { holderOf } from './stores.js';
import { TEST_SEAL } from '../../../test/support/tenancy.js';

const NS = 'acct-acme';
const KEY = `${NS}/lora-1`;
const DM = `DeployedModel/hearth ${KEY}`;
const T0 = Date.parse('2026-12-06T08:00:00Z');
const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const MODEL = 'accounts/acme/models/my-lora';
const PATH = '/mnt/models/acme/my-lora';

function deployment(spec: Partial<Deployment['spec']> = {}, meta: Record<string, unknown> = {}): Deployment {
  return {
    apiVersion: 'hearth.dev/v1alpha1',
    kind: 'Deployment',
    metadata: { name: 'chat', namespace: NS, uid: 'dep-uid', generation: 1, resourceVersion: '1', ...meta },
    spec: { baseModel: BASE, enableAddons: true, ...spec } as Deployment['spec'],
  };
}

function deployedModel(name = 'lora-1', spec: Partial<DeployedModel['spec']> = {}, meta: Record<string, unknown> = {}): DeployedModel {
  return {
    apiVersion: 'hearth.dev/v1alpha1',
    kind: 'DeployedModel',
    metadata: { name, namespace: NS, uid: `uid-${name}`, generation: 1, resourceVersion: '1', creationTimestamp: '2026-12-06T07:00:00Z', ...meta },
    spec: { model: MODEL, deployment: 'accounts/acme/deployments/chat', ...spec } as DeployedModel['spec'],
  } as DeployedModel;
}

interface Setup {
  deployedModels?: DeployedModel[];
  deployments?: Deployment[];
  replicas?: string[];
  quotaLimit?: number;
  modelState?: string;
  modelBase?: string;
}

function setup(o: Setup = {}) {
  const cluster = new DeployedModelCluster({
    namespaces: [namespace(NS, 'acme')],
    deployments: o.deployments ?? [deployment()],
    deployedModels: o.deployedModels ?? [deployedModel()],
    endpointSlices: [slice(NS, 'chat', o.replicas ?? ['10.0.0.1'])],
  });
  const servers = new FakeServers();
  const models = new MemoryModels(new Map([[MODEL, { state: o.modelState ?? 'READY', path: PATH, ...(o.modelBase ? { baseModel: o.modelBase } : {}) }]]));
  for (const m of ['a', 'b']) models.models.set(`accounts/acme/models/${m}`, { state: 'READY', path: `/mnt/models/acme/${m}` });
  const quota = new MemoryLoraQuota(o.quotaLimit);
  const clock = new FakeClock(T0);
  const r = new DeployedModelReconciler({ listers: cluster.listers, writer: cluster, api: servers, models, quota, clock });
  const pass = async (key = KEY) => {
    const res = await r.reconcile(key);
    return { res, writes: cluster.take(), calls: servers.take() };
  };
  return { cluster, servers, quota, clock, r, pass, status: (key = KEY) => cluster.status(key) };
}

const loaded = (ip: string): ReplicaAdapter => ({ pod: `pod-${ip}`, address: `${ip}:8000`, state: 'LOADED' });

describe('DeployedModelReconciler', () => {
  it('loads the adapter into the Ready replica, holds one loras unit, DEPLOYED; a second pass changes nothing', async () => {
    const { pass, status, quota, servers } = setup();
    const first = await pass();
    expect(first.writes).toEqual([`finalizers ${DM}`, `status ${DM}`, `event Normal/Deployed ${KEY}`]);
    expect(first.calls).toEqual(['list 10.0.0.1', `load ${MODEL} 10.0.0.1`]);
    expect(first.res).toEqual({ requeueAfter: DEFAULT_POLL_MS });
    expect(status()).toMatchObject({ state: 'DEPLOYED', status: { code: 'OK' }, replicas: [loaded('10.0.0.1')], adapterPath: PATH, observedGeneration: 1 });
    expect([...quota.holders]).toEqual([`acme/${holderOf('lora-1')}`]);
    expect(servers.loaded.get('10.0.0.1')).toEqual(new Set([MODEL]));

    const second = await pass();
    expect(second.writes).toEqual([]);
    expect(second.calls).toEqual([]); // the replica's list is fresh: not asked again before pollMs
  });

  it.each([
    { name: 'no such deployment', o: { deployments: [] }, state: 'DEPLOYING', reason: 'DeploymentNotFound', requeue: true },
    { name: 'a soft-deleted deployment', o: { deployments: [deployment({}, { annotations: { [ANNOTATIONS.softDeleteRequested]: '2026-12-06T07:00:00Z' } })] }, state: 'DEPLOYING', reason: 'DeploymentNotFound', requeue: true },
    { name: 'addons disabled', o: { deployments: [deployment({ enableAddons: false })] }, state: 'FAILED', reason: 'AddonsDisabled', requeue: false },
    { name: 'the model is not READY', o: { modelState: 'UPLOADING' }, state: 'DEPLOYING', reason: 'ModelNotReady', requeue: true },
    { name: 'an adapter of another base model', o: { modelBase: 'accounts/fireworks/models/qwen2p5-0p5b-instruct' }, state: 'FAILED', reason: 'BaseModelMismatch', requeue: false },
    { name: 'the loras quota is spent', o: { quotaLimit: 0 }, state: 'FAILED', reason: 'QuotaExceeded', requeue: false },
  ])('blocked ($name): $state, reason in status, nothing loaded; a second pass changes nothing', async ({ o, state, reason, requeue }) => {
    const { pass, status, quota } = setup(o as Setup);
    const first = await pass();
    expect(first.calls).toEqual([]);
    // Waiting (it may still load) holds its loras unit; FAILED for bad input holds none.
    expect([...quota.holders]).toEqual(state === 'FAILED' ? [] : [`acme/${holderOf('lora-1')}`]);
    expect(status()?.state).toBe(state);
    expect(status()?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason });
    expect(status()?.status?.message).toBeTruthy();
    expect(first.res).toEqual(requeue ? { requeueAfter: 5_000 } : {});
    expect((await pass()).writes).toEqual([]);
  });

  it('more DeployedModels than the deployment’s --max-loras: the newest ones FAILED (TooManyAdapters), the oldest loaded', async () => {
    const dms = [
      deployedModel('a', { model: 'accounts/acme/models/a' }, { creationTimestamp: '2026-12-06T07:00:00Z' }),
      deployedModel('b', { model: 'accounts/acme/models/b' }, { creationTimestamp: '2026-12-06T07:01:00Z' }),
    ];
    const { pass, status } = setup({ deployments: [deployment({ numPeftDeviceCached: 1 })], deployedModels: dms });
    expect((await pass(`${NS}/a`)).calls).toEqual(['list 10.0.0.1', 'load accounts/acme/models/a 10.0.0.1']);
    expect(status(`${NS}/a`)?.state).toBe('DEPLOYED');
    expect((await pass(`${NS}/b`)).calls).toEqual([]);
    expect(status(`${NS}/b`)).toMatchObject({ state: 'FAILED', status: { code: 'RESOURCE_EXHAUSTED' } });
    expect(status(`${NS}/b`)?.status?.message).toContain('at most 1 adapters');
  });

  it('two made in the same second (creationTimestamp has one-second resolution): the one already DEPLOYED keeps the slot, though the newcomer’s name sorts first', async () => {
    const same = { creationTimestamp: '2026-12-06T07:00:00Z' };
    const dms = [
      deployedModel('z-serving', { model: 'accounts/acme/models/b' }, same),
      deployedModel('a-newcomer', { model: 'accounts/acme/models/a' }, same),
    ];
    // Alone on the deployment when it was made, z-serving loaded; the newcomer arrives in its second.
    dms[0]!.status = { state: 'DEPLOYED' } as DeployedModel['status'];
    const { pass, status } = setup({ deployments: [deployment({ numPeftDeviceCached: 1 })], deployedModels: dms });
    expect((await pass(`${NS}/a-newcomer`)).calls).toEqual([]);
    expect(status(`${NS}/a-newcomer`)).toMatchObject({ state: 'FAILED', status: { code: 'RESOURCE_EXHAUSTED' } });
    await pass(`${NS}/z-serving`);
    expect(status(`${NS}/z-serving`)?.state).toBe('DEPLOYED');
  });

  it('the slot is freed (the older DeployedModel deleted, e.g. by replaceMergedAddon): the FAILED one is woken and loaded', async () => {
    const dms = [
      deployedModel('a', { model: 'accounts/acme/models/a' }, { creationTimestamp: '2026-12-06T07:00:00Z' }),
      deployedModel('b', { model: 'accounts/acme/models/b' }, { creationTimestamp: '2026-12-06T07:01:00Z' }),
    ];
    const { pass, status, cluster, servers } = setup({ deployments: [deployment({ enableAddons: false, enableHotReloadLatestAddon: true })], deployedModels: dms });
    await pass(`${NS}/a`);
    await pass(`${NS}/b`);
    expect(status(`${NS}/b`)?.state).toBe('FAILED');
    const wake = failedToWake(cluster.listers.deployedModels);
    expect(wake(cluster.listers.deployedModels.get(`${NS}/a`)!)).toEqual([]); // not being deleted: nothing to wake
    cluster.editDeployedModel(`${NS}/a`, (d) => void (d.metadata.deletionTimestamp = '2026-12-06T08:01:00Z' as unknown as Date));
    const deleting = cluster.listers.deployedModels.get(`${NS}/a`)!;
    expect(wake(deleting)).toEqual([`${NS}/b`]);
    await pass(`${NS}/a`); // unloaded, finalizer dropped: gone
    expect(wake(deleting)).toEqual([`${NS}/b`]); // the delete event wakes it too
    const woken = await pass(`${NS}/b`);
    expect(woken.calls).toEqual([`load accounts/acme/models/b 10.0.0.1`]);
    expect(status(`${NS}/b`)?.state).toBe('DEPLOYED');
    expect(servers.loaded.get('10.0.0.1')).toEqual(new Set(['accounts/acme/models/b']));
    expect((await pass(`${NS}/b`)).writes).toEqual([]);
  });

  it('a hot-reload deployment (enableHotReloadLatestAddon alone) takes one addon: the first loaded, the next FAILED', async () => {
    const dms = [
      deployedModel('a', { model: 'accounts/acme/models/a' }, { creationTimestamp: '2026-12-06T07:00:00Z' }),
      deployedModel('b', { model: 'accounts/acme/models/b' }, { creationTimestamp: '2026-12-06T07:01:00Z' }),
    ];
    const { pass, status } = setup({ deployments: [deployment({ enableAddons: false, enableHotReloadLatestAddon: true })], deployedModels: dms });
    await pass(`${NS}/a`);
    expect(status(`${NS}/a`)?.state).toBe('DEPLOYED');
    await pass(`${NS}/b`);
    expect(status(`${NS}/b`)).toMatchObject({ state: 'FAILED', status: { code: 'RESOURCE_EXHAUSTED' } });
  });

  it('a replica that refuses: the reason in status, retried with backoff, FAILED after MAX_LOAD_ATTEMPTS; the other replica keeps it', async () => {
    const { pass, status, servers } = setup({ replicas: ['10.0.0.1', '10.0.0.2'] });
    servers.refuse.set('10.0.0.2', [404, `Loading lora ${MODEL} failed: No adapter found for ${PATH}`]);
    const results = [];
    for (let i = 0; i < MAX_LOAD_ATTEMPTS; i++) results.push(await pass());
    expect(results.map((r) => r.res)).toEqual([{ requeueAfter: 2_000 }, { requeueAfter: 4_000 }, { requeueAfter: DEFAULT_POLL_MS }]);
    expect(results[0]!.calls).toEqual(['list 10.0.0.1', 'list 10.0.0.2', `load ${MODEL} 10.0.0.1`, `load ${MODEL} 10.0.0.2`]);
    expect(status()?.state).toBe('FAILED');
    expect(status()?.replicas).toEqual([
      loaded('10.0.0.1'),
      { pod: 'pod-10.0.0.2', address: '10.0.0.2:8000', state: 'FAILED', attempts: 3, message: `404: Loading lora ${MODEL} failed: No adapter found for ${PATH}` },
    ]);
    expect(status()?.status?.message).toContain('No adapter found');
    // FAILED is not retried on the same pod.
    const again = await pass();
    expect(again.writes).toEqual([]);
    expect(again.calls).toEqual([]);
  });

  it('an unreachable replica is retried without counting as a refusal', async () => {
    const { pass, status, servers } = setup();
    servers.unreachable.add('10.0.0.1');
    const first = await pass();
    expect(first.res).toEqual({ requeueAfter: 1_000 });
    expect(status()?.replicas?.[0]).toMatchObject({ state: 'LOADING', message: 'model server unreachable: ECONNREFUSED' });
    expect(status()?.replicas?.[0]?.attempts).toBeUndefined();
    servers.unreachable.delete('10.0.0.1');
    await pass();
    expect(status()?.state).toBe('DEPLOYED');
  });

  it('scale-out: a new Ready replica gets the adapter (UPDATING while it loads is skipped when the load answers at once)', async () => {
    const { pass, status, cluster, servers } = setup();
    await pass();
    cluster.setReplicas(NS, 'chat', ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    const next = await pass();
    expect(next.calls).toEqual(['list 10.0.0.2', 'list 10.0.0.3', `load ${MODEL} 10.0.0.2`, `load ${MODEL} 10.0.0.3`]);
    expect(status()?.replicas).toEqual([loaded('10.0.0.1'), loaded('10.0.0.2'), loaded('10.0.0.3')]);
    expect(status()?.state).toBe('DEPLOYED');
    expect(servers.loaded.get('10.0.0.3')).toEqual(new Set([MODEL]));
  });

  it('scale-out while the new replica refuses at first: UPDATING, then DEPLOYED', async () => {
    const { pass, status, cluster, servers } = setup();
    await pass();
    cluster.setReplicas(NS, 'chat', ['10.0.0.1', '10.0.0.2']);
    servers.refuse.set('10.0.0.2', [400, 'engine busy']);
    await pass();
    expect(status()?.state).toBe('UPDATING');
    servers.refuse.delete('10.0.0.2');
    await pass();
    expect(status()?.state).toBe('DEPLOYED');
  });

  it('a restarted server that lost the adapter is loaded again at the next poll', async () => {
    const { pass, clock, servers, status } = setup();
    await pass();
    servers.restart('10.0.0.1');
    expect((await pass()).calls).toEqual([]); // within pollMs: not asked
    clock.advance(DEFAULT_POLL_MS);
    const polled = await pass();
    expect(polled.calls).toEqual(['list 10.0.0.1', `load ${MODEL} 10.0.0.1`]);
    expect(polled.writes).toEqual([]); // it was LOADED and is again
    expect(servers.loaded.get('10.0.0.1')).toEqual(new Set([MODEL]));
    expect(status()?.state).toBe('DEPLOYED');
  });

  it('a replica that left the Ready set and came back (a restart its readiness probe showed) is asked at once, not trusted from before', async () => {
    const { pass, cluster, servers, status } = setup({ replicas: ['10.0.0.1', '10.0.0.2'] });
    await pass();
    cluster.setReplicas(NS, 'chat', ['10.0.0.1']); // 10.0.0.2 not Ready: its server restarts
    await pass();
    expect(status()?.replicas).toEqual([loaded('10.0.0.1')]);
    servers.restart('10.0.0.2');
    cluster.setReplicas(NS, 'chat', ['10.0.0.1', '10.0.0.2']); // Ready again well within pollMs
    const back = await pass();
    expect(back.calls).toEqual(['list 10.0.0.2', `load ${MODEL} 10.0.0.2`]);
    expect(servers.loaded.get('10.0.0.2')).toEqual(new Set([MODEL]));
    expect(status()?.replicas).toEqual([loaded('10.0.0.1'), loaded('10.0.0.2')]);
    expect((await pass()).writes).toEqual([]);
  });

  it('a rescheduled pod at the same address (new uid) is asked at once', async () => {
    const { pass, cluster, servers } = setup();
    await pass();
    servers.restart('10.0.0.1');
    const s = slice(NS, 'chat', ['10.0.0.1']);
    s.endpoints![0]!.targetRef!.uid = 'uid-new-pod';
    cluster.listers.endpointSlices.put(s);
    expect((await pass()).calls).toEqual(['list 10.0.0.1', `load ${MODEL} 10.0.0.1`]);
  });

  it('deleted (kubectl delete or REST): unloads from every Ready replica, releases the quota, drops the finalizer', async () => {
    const { pass, cluster, quota, servers } = setup({ replicas: ['10.0.0.1', '10.0.0.2'] });
    await pass();
    expect(quota.holders.size).toBe(1);
    cluster.editDeployedModel(KEY, (d) => void (d.metadata.deletionTimestamp = '2026-12-06T08:01:00Z' as unknown as Date));
    const del = await pass();
    expect(del.calls).toEqual([`unload ${MODEL} 10.0.0.1`, `unload ${MODEL} 10.0.0.2`]);
    expect(del.writes).toEqual([`status ${DM}`, `finalizers ${DM}`]); // UNDEPLOYING while it unloads
    expect(quota.holders.size).toBe(0);
    expect(cluster.listers.deployedModels.get(KEY)).toBeUndefined();
    expect(servers.loaded.get('10.0.0.1')).toEqual(new Set());
    expect((await pass()).writes).toEqual([]);
  });

  it('deleted while a replica refuses the unload: UNDEPLOYING in status, the finalizer and the loras unit kept, retried', async () => {
    const { pass, cluster, quota, servers, status } = setup();
    await pass();
    cluster.editDeployedModel(KEY, (d) => void (d.metadata.deletionTimestamp = '2026-12-06T08:01:00Z' as unknown as Date));
    servers.refuseUnload.set('10.0.0.1', [500, 'engine busy']);
    await expect(pass()).rejects.toThrow(/unloading .* failed on pod-10.0.0.1: 500 engine busy/);
    expect(cluster.take()).toEqual([`status ${DM}`]);
    expect(status()).toMatchObject({ state: 'UNDEPLOYING', replicas: [loaded('10.0.0.1')] });
    expect(status()?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'Undeploying' });
    expect(quota.holders.size).toBe(1);
    servers.refuseUnload.delete('10.0.0.1');
    const done = await pass();
    expect(done.writes).toEqual([`finalizers ${DM}`]); // status already UNDEPLOYING: not written again
    expect(quota.holders.size).toBe(0);
    expect(cluster.listers.deployedModels.get(KEY)).toBeUndefined();
  });

  it('a DeployedModel that held its loras unit and then turns FAILED (addons turned off) gives it back; it holds one again when it loads', async () => {
    const { pass, cluster, quota, status } = setup();
    await pass();
    expect(quota.holders.size).toBe(1);
    cluster.listers.deployments.put(deployment({ enableAddons: false }));
    await pass();
    expect(status()?.state).toBe('FAILED');
    expect(quota.holders.size).toBe(0);
    cluster.listers.deployments.put(deployment({ enableAddons: true }));
    await pass();
    expect(status()?.state).toBe('DEPLOYED');
    expect(quota.holders.size).toBe(1);
  });

  it('deleted while another DeployedModel of the same adapter on the same deployment lives: not unloaded', async () => {
    const { pass, cluster, servers } = setup({ deployedModels: [deployedModel('lora-1'), deployedModel('lora-2')] });
    await pass();
    await pass(`${NS}/lora-2`);
    cluster.editDeployedModel(KEY, (d) => void (d.metadata.deletionTimestamp = '2026-12-06T08:01:00Z' as unknown as Date));
    expect((await pass()).calls).toEqual([]);
    expect(servers.loaded.get('10.0.0.1')).toEqual(new Set([MODEL]));
  });

  it('a finalizer is added before anything is loaded', async () => {
    const { pass, cluster } = setup();
    await pass();
    expect(cluster.listers.deployedModels.get(KEY)?.metadata.finalizers).toEqual([FINALIZER]);
  });

  it('sharded (HEARTH_CONTROLLER_SELECTOR): a DeployedModel whose deployment is not in this shard is left untouched', async () => {
    const cluster = new DeployedModelCluster({ namespaces: [namespace(NS, 'acme')], deployments: [], deployedModels: [deployedModel()], endpointSlices: [slice(NS, 'chat', ['10.0.0.1'])] });
    const servers = new FakeServers();
    const r = new DeployedModelReconciler({ listers: cluster.listers, writer: cluster, api: servers, models: new MemoryModels(), quota: new MemoryLoraQuota(), clock: new FakeClock(T0), sharded: true });
    expect(await r.reconcile(KEY)).toEqual({});
    expect(cluster.take()).toEqual([]);
    expect(servers.take()).toEqual([]);
  });

  it('sharded: a deleted DeployedModel of another shard’s deployment is left to that shard while the deployment has Ready replicas; with none left, any shard lets it go', async () => {
    const dm = deployedModel('lora-1', {}, { deletionTimestamp: '2026-12-06T08:01:00Z', finalizers: [FINALIZER] });
    const cluster = new DeployedModelCluster({ namespaces: [namespace(NS, 'acme')], deployments: [], deployedModels: [dm], endpointSlices: [slice(NS, 'chat', ['10.0.0.1'])] });
    const servers = new FakeServers();
    const quota = new MemoryLoraQuota();
    const r = new DeployedModelReconciler({ listers: cluster.listers, writer: cluster, api: servers, models: new MemoryModels(), quota, clock: new FakeClock(T0), sharded: true });
    expect(await r.reconcile(KEY)).toEqual({});
    expect(cluster.take()).toEqual([]); // not this shard's: its own shard unloads (it dials those replicas)
    expect(servers.take()).toEqual([]);
    cluster.setReplicas(NS, 'chat', []); // the deployment is gone: nothing left to unload anywhere
    await r.reconcile(KEY);
    expect(cluster.take()).toEqual([`status ${DM}`, `finalizers ${DM}`]);
    expect(cluster.listers.deployedModels.get(KEY)).toBeUndefined();
  });

  it('localDeploymentName: a name, or the own account’s full name; another account’s is refused', () => {
    expect(localDeploymentName('chat', 'acme')).toBe('chat');
    expect(localDeploymentName('accounts/acme/deployments/chat', 'acme')).toBe('chat');
    expect(localDeploymentName('accounts/globex/deployments/chat', 'acme')).toBeUndefined();
  });
});

describe('DeployedModelReconciler: a namespace labelled with an account by hand (issue 15 item 5)', () => {
  it('loads nothing, holds no loras quota, adds no finalizer: a NamespaceNotVerified Warning; a second pass neither', async () => {
    const t = setup();
    t.cluster.listers.namespaces.put(TEST_SEAL.project({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'hearth.dev/account': 'acme' } } }));
    const first = await t.pass();
    expect(first.writes).toEqual([`event Warning/NamespaceNotVerified ${KEY}`]);
    expect(first.calls).toEqual([]);
    const second = await t.pass();
    expect(second.writes.filter((w) => !w.startsWith('event '))).toEqual([]);
    expect(second.calls).toEqual([]);
    expect(t.status()).toBeUndefined();
  });
});
