// The DeployedModel reconciler with the replicas' model-files sidecars: an adapter's files are put
// into the pod (signed URLs of exactly its files) before every load, a refusal is recorded like a
// refused load, an unreachable source is retried, and the files go after the last unload.
import { describe, expect, it } from 'vitest';
import type { DeployedModel } from '../../crds/deployed-model.js';
import { FileUrlSigner } from '../../artifacts/signed-url.js';
import { FakeClock } from '../../util/fake-clock.js';
import { DeployedModelCluster, FakeServers, MemoryLoraQuota, MemoryModels, namespace, slice } from './fake-cluster.js';
import { signedModelFileUrls } from './model-files.js';
import { DEFAULT_POLL_MS, DeployedModelReconciler } from './reconciler.js';
import { MAX_LOAD_ATTEMPTS } from './status.js';

const NS = 'acct-acme';
const KEY = `${NS}/lora-1`;
const T0 = Date.parse('2026-12-06T08:00:00Z');
const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const MODEL = 'accounts/acme/models/my-lora';
const PATH = '/mnt/models/acme/my-lora';
const SIZES = { 'adapter_config.json': 120, 'adapter_model.safetensors': 4096 };
const SOURCE = 'http://hearth-api.hearth-system.svc:8080';
const SECRET = 'a-secret-of-at-least-16-characters';

function deployedModel(name = 'lora-1'): DeployedModel {
  return {
    apiVersion: 'hearth.dev/v1alpha1',
    kind: 'DeployedModel',
    metadata: { name, namespace: NS, uid: `uid-${name}`, generation: 1, resourceVersion: '1', creationTimestamp: '2026-12-06T07:00:00Z' },
    spec: { model: MODEL, deployment: 'chat' },
  } as DeployedModel;
}

function setup(o: { replicas?: string[]; deployedModels?: DeployedModel[] } = {}) {
  const cluster = new DeployedModelCluster({
    namespaces: [namespace(NS, 'acme')],
    deployments: [{ apiVersion: 'hearth.dev/v1alpha1', kind: 'Deployment', metadata: { name: 'chat', namespace: NS, uid: 'd', generation: 1 }, spec: { baseModel: BASE, enableAddons: true } } as never],
    deployedModels: o.deployedModels ?? [deployedModel()],
    endpointSlices: [slice(NS, 'chat', o.replicas ?? ['10.0.0.1'])],
  });
  const servers = new FakeServers();
  const models = new MemoryModels(new Map([[MODEL, { state: 'READY', path: PATH, files: { account: 'acme', model: 'my-lora', sizes: SIZES } }]]));
  const clock = new FakeClock(T0);
  const urls = signedModelFileUrls({ sourceUrl: SOURCE, secret: SECRET, clock });
  const r = new DeployedModelReconciler({ listers: cluster.listers, writer: cluster, api: servers, models, quota: new MemoryLoraQuota(), clock, files: { api: servers, urls } });
  const pass = async (key = KEY) => {
    const res = await r.reconcile(key);
    return { res, writes: cluster.take(), calls: servers.take() };
  };
  return { cluster, servers, clock, pass, status: () => cluster.status(KEY) };
}

describe('DeployedModelReconciler with model-files sidecars', () => {
  it('puts the files into each replica before loading, with signed download URLs of exactly those files; a second pass changes nothing', async () => {
    const { pass, servers, status } = setup({ replicas: ['10.0.0.1', '10.0.0.2'] });
    const first = await pass();
    expect(first.calls).toEqual(['list 10.0.0.1', 'list 10.0.0.2', 'files put acme/my-lora 10.0.0.1', 'files put acme/my-lora 10.0.0.2', `load ${MODEL} 10.0.0.1`, `load ${MODEL} 10.0.0.2`]);
    expect(status()).toMatchObject({ state: 'DEPLOYED', adapterPath: PATH });
    const put = servers.files.get('10.0.0.1')?.get('acme/my-lora');
    expect(Object.keys(put ?? {})).toEqual(Object.keys(SIZES));
    // The URLs verify with the API's signer (what :getDownloadEndpoint signs and the file route checks).
    const signer = new FileUrlSigner(SECRET);
    for (const [fileName, f] of Object.entries(put ?? {})) {
      const u = new URL(f.url);
      expect(`${u.origin}`).toBe(SOURCE);
      expect(u.pathname).toBe(`/v1-files/models/acme/my-lora/${fileName}`);
      expect(f.size).toBe(SIZES[fileName as keyof typeof SIZES]);
      const grant = signer.verify({ op: 'download', collection: 'models', accountId: 'acme', resourceId: 'my-lora', fileName, size: u.searchParams.get('size') ?? '', expires: u.searchParams.get('expires') ?? '', signature: u.searchParams.get('signature') ?? '' }, T0);
      expect(grant).toMatchObject({ fileName, size: f.size });
    }
    const second = await pass();
    expect(second.writes).toEqual([]);
    expect(second.calls).toEqual([]);
  });

  it('a restarted server (adapter lost, files still in the pod) is given the files again (a no-op for the sidecar) and reloaded', async () => {
    const { pass, servers, clock, status } = setup();
    await pass();
    servers.restart('10.0.0.1');
    clock.advance(DEFAULT_POLL_MS);
    expect((await pass()).calls).toEqual(['list 10.0.0.1', 'files put acme/my-lora 10.0.0.1', `load ${MODEL} 10.0.0.1`]);
    expect(status()?.state).toBe('DEPLOYED');
  });

  it('a sidecar that refuses: no load; the reason in status like a refused load, FAILED after MAX_LOAD_ATTEMPTS', async () => {
    const { pass, servers, status } = setup();
    servers.refuseFiles.set('10.0.0.1', [502, 'adapter_model.safetensors: the source sent 12 bytes; 4096 were expected']);
    const results = [];
    for (let i = 0; i < MAX_LOAD_ATTEMPTS; i++) results.push(await pass());
    expect(results.flatMap((r) => r.calls).filter((c) => c.startsWith('load'))).toEqual([]);
    expect(status()?.state).toBe('FAILED');
    expect(status()?.replicas?.[0]).toMatchObject({ state: 'FAILED', attempts: 3 });
    expect(status()?.replicas?.[0]?.message).toBe(`502: the model-files sidecar could not put the adapter's files into ${PATH}: adapter_model.safetensors: the source sent 12 bytes; 4096 were expected`);
    expect(status()?.status?.message).toContain('the source sent 12 bytes');
  });

  it('a sidecar that cannot reach the API (503) or is unreachable: retried, not counted as a refusal', async () => {
    const { pass, servers, status } = setup();
    servers.refuseFiles.set('10.0.0.1', [503, 'adapter_config.json: the source is unreachable (ECONNREFUSED)']);
    for (let i = 0; i < MAX_LOAD_ATTEMPTS + 1; i++) await pass();
    expect(status()?.replicas?.[0]).toMatchObject({ state: 'LOADING', message: 'model server unreachable: model-files sidecar: adapter_config.json: the source is unreachable (ECONNREFUSED)' });
    expect(status()?.replicas?.[0]?.attempts).toBeUndefined();
    servers.refuseFiles.delete('10.0.0.1');
    await pass();
    expect(status()?.state).toBe('DEPLOYED');
  });

  it('an unreachable sidecar: the replica entry names it; retried, not counted', async () => {
    const { pass, servers, status } = setup();
    const put = servers.put.bind(servers);
    let down = true;
    servers.put = async (...args) => {
      if (down) throw Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
      return put(...args);
    };
    await pass();
    expect(status()?.replicas?.[0]).toMatchObject({ state: 'LOADING', message: 'model server unreachable: model-files sidecar: ECONNREFUSED' });
    expect(status()?.replicas?.[0]?.attempts).toBeUndefined();
    down = false;
    await pass();
    expect(status()?.state).toBe('DEPLOYED');
  });

  it('deleted: unloads, then removes the files from every replica', async () => {
    const { pass, cluster, servers } = setup({ replicas: ['10.0.0.1', '10.0.0.2'] });
    await pass();
    cluster.editDeployedModel(KEY, (d) => void (d.metadata.deletionTimestamp = '2026-12-06T08:01:00Z' as unknown as Date));
    const del = await pass();
    expect(del.calls.filter((c) => c.endsWith('10.0.0.1'))).toEqual([`unload ${MODEL} 10.0.0.1`, 'files remove acme/my-lora 10.0.0.1']);
    expect(del.calls.filter((c) => c.endsWith('10.0.0.2'))).toEqual([`unload ${MODEL} 10.0.0.2`, 'files remove acme/my-lora 10.0.0.2']);
    expect(servers.files.get('10.0.0.1')?.size).toBe(0);
  });

  it('deleted while another DeployedModel of the same adapter on the deployment lives: neither unloaded nor its files removed', async () => {
    const { pass, cluster, servers } = setup({ deployedModels: [deployedModel('lora-1'), deployedModel('lora-2')] });
    await pass();
    await pass(`${NS}/lora-2`);
    cluster.editDeployedModel(KEY, (d) => void (d.metadata.deletionTimestamp = '2026-12-06T08:01:00Z' as unknown as Date));
    expect((await pass()).calls).toEqual([]);
    expect(servers.files.get('10.0.0.1')?.has('acme/my-lora')).toBe(true);
  });
});
