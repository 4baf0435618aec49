// Test doubles for the DeployedModel reconciler: the runtime's recording fake API with the stores
// it reads, fake model servers (per replica: what is loaded, what they refuse), and in-memory
// model and quota stores. No cluster, no database, no HTTP, no timers.
import type { KubernetesObject, V1Namespace } from '@kubernetes/client-node';
import type { DeployedModel, DeployedModelStatus } from '../../crds/deployed-model.js';
import type { Deployment } from '../../crds/deployment.js';
import { API_VERSION, LABELS } from '../../crds/group.js';
import type { EndpointSliceLike } from '../../kube/endpoint-slices.js';
import { FakeCluster, type MapLister } from '../runtime/fake-cluster.js';
import type { FileSource, FilesResult, ModelFilesApi, ModelRef } from './model-files.js';
import type { AdapterApi, LoadResult, Replica, UnloadResult } from './model-server.js';
import type { Listers } from './reconciler.js';
import type { AdapterModel, AdapterModels, LoraQuota, QuotaOutcome } from './stores.js';

type Slice = EndpointSliceLike & KubernetesObject;

export class DeployedModelCluster extends FakeCluster {
  readonly listers: Listers & {
    deployedModels: MapLister<DeployedModel>;
    deployments: MapLister<Deployment>;
    endpointSlices: MapLister<Slice>;
    namespaces: MapLister<V1Namespace>;
  };

  constructor(objs: { deployedModels?: DeployedModel[]; deployments?: Deployment[]; endpointSlices?: Slice[]; namespaces?: V1Namespace[] }) {
    super();
    this.listers = {
      deployedModels: this.store({ apiVersion: API_VERSION, kind: 'DeployedModel' }, objs.deployedModels),
      deployments: this.store({ apiVersion: API_VERSION, kind: 'Deployment' }, objs.deployments),
      endpointSlices: this.store({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' }, objs.endpointSlices),
      namespaces: this.store({ apiVersion: 'v1', kind: 'Namespace' }, objs.namespaces),
    };
  }

  status(key: string): DeployedModelStatus | undefined {
    return this.listers.deployedModels.get(key)?.status as DeployedModelStatus | undefined;
  }

  editDeployedModel(key: string, fn: (d: DeployedModel) => void): void {
    this.editObject(this.listers.deployedModels, key, fn);
  }

  /** The deployment's Ready replicas are now exactly `addresses` (`ip`, port 8000, pod `<dep>-<i>`). */
  setReplicas(namespace: string, deployment: string, addresses: string[]): void {
    this.listers.endpointSlices.put(slice(namespace, deployment, addresses));
  }
}

export function namespace(name: string, account: string): V1Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [LABELS.account]: account } } };
}

export function slice(namespace: string, deployment: string, addresses: string[]): Slice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${deployment}-slice`, namespace, labels: { [LABELS.deployment]: deployment } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8000 }],
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true }, targetRef: { kind: 'Pod', name: `pod-${a}`, uid: `uid-${a}` } })),
  };
}

/**
 * Model servers by address: what each has loaded, and the loads it refuses; and their pods'
 * model-files sidecars (which model directories each pod has, the puts they refuse).
 */
export class FakeServers implements AdapterApi, ModelFilesApi {
  /** address → `<account>/<model>` directories with their files' URLs. */
  readonly files = new Map<string, Map<string, Record<string, FileSource>>>();
  /** address → [status, message] every put answers. */
  readonly refuseFiles = new Map<string, [number, string]>();
  readonly loaded = new Map<string, Set<string>>();
  /** address → [status, message] every load answers. */
  readonly refuse = new Map<string, [number, string]>();
  /** address → [status, message] every unload answers. */
  readonly refuseUnload = new Map<string, [number, string]>();
  readonly unreachable = new Set<string>();
  readonly calls: string[] = [];

  #of(r: Replica): Set<string> {
    const s = this.loaded.get(r.address) ?? new Set<string>();
    this.loaded.set(r.address, s);
    return s;
  }

  #reach(r: Replica, what: string): void {
    this.calls.push(`${what} ${r.address}`);
    if (this.unreachable.has(r.address)) throw Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
  }

  async listAdapters(r: Replica): Promise<Set<string>> {
    this.#reach(r, 'list');
    return new Set(this.#of(r));
  }

  async load(r: Replica, name: string): Promise<LoadResult> {
    this.#reach(r, `load ${name}`);
    const refused = this.refuse.get(r.address);
    if (refused) return { ok: false, status: refused[0], message: refused[1] };
    this.#of(r).add(name);
    return { ok: true };
  }

  async unload(r: Replica, name: string): Promise<UnloadResult> {
    this.#reach(r, `unload ${name}`);
    const refused = this.refuseUnload.get(r.address);
    if (refused) return { ok: false, status: refused[0], message: refused[1] };
    this.#of(r).delete(name);
    return { ok: true };
  }

  async put(r: Replica, { account, model }: ModelRef, files: Record<string, FileSource>): Promise<FilesResult> {
    this.#reach(r, `files put ${account}/${model}`);
    const refused = this.refuseFiles.get(r.address);
    if (refused) return { ok: false, status: refused[0], message: refused[1] };
    const dirs = this.files.get(r.address) ?? new Map<string, Record<string, FileSource>>();
    this.files.set(r.address, dirs.set(`${account}/${model}`, files));
    return { ok: true };
  }

  async remove(r: Replica, { account, model }: ModelRef): Promise<FilesResult> {
    this.#reach(r, `files remove ${account}/${model}`);
    this.files.get(r.address)?.delete(`${account}/${model}`);
    return { ok: true };
  }

  /** The server restarts: it forgets every adapter. */
  restart(address: string): void {
    this.loaded.set(address, new Set());
  }

  take(): string[] {
    const out = [...this.calls];
    this.calls.length = 0;
    return out;
  }
}

export class MemoryModels implements AdapterModels {
  constructor(readonly models: Map<string, AdapterModel> = new Map()) {}
  async get(model: string): Promise<AdapterModel | undefined> {
    return this.models.get(model);
  }
}

export class MemoryLoraQuota implements LoraQuota {
  readonly holders = new Set<string>();
  constructor(public limit = 100) {}
  async hold(account: string, holder: string): Promise<QuotaOutcome> {
    const key = `${account}/${holder}`;
    if (this.holders.has(key)) return { ok: true };
    if (this.holders.size >= this.limit) return { ok: false, message: `the account's loras quota (${this.limit}) is used up` };
    this.holders.add(key);
    return { ok: true };
  }
  async release(account: string, holder: string): Promise<void> {
    this.holders.delete(`${account}/${holder}`);
  }
}
