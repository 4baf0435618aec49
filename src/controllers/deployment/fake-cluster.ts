// Test doubles for the Deployment reconciler: a recording fake of the API (its writes land in
// in-memory stores the reconciler reads back as its informer caches), a tiny simulation of what
// kube-controller-manager, kube-scheduler and KWOK would do next (`settle`), and an in-memory
// quota store. No cluster, no database, no timers.
import type { KubernetesObject, V1Deployment, V1Namespace, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Deployment, DeploymentStatus } from '../../crds/deployment.js';
import { ACCELERATORS, ACCELERATOR_LABEL, REGION_LABEL, type AcceleratorType } from '../../fleet/catalog.js';
import { QuotaExceededError } from '../../db/errors.js';
import { objectKey } from '../../kube/keys.js';
import { podGpuRequest } from './placement.js';
import type { GpuQuota, QuotaStore } from './quota-store.js';
import type { Listers, Store } from './reconciler.js';
import type { DeploymentEvent, DeploymentWriter, ObjectRef } from './writer.js';

const clone = <T>(o: T): T => structuredClone(o);

export class MapStore<T extends KubernetesObject> implements Store<T> {
  readonly items = new Map<string, T>();

  constructor(objs: readonly T[] = []) {
    for (const o of objs) this.put(o);
  }

  put(o: T): void {
    this.items.set(objectKey(o), o);
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(namespace?: string): T[] {
    const all = [...this.items.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  delete(key: string): void {
    this.items.delete(key);
  }
}

export interface ClusterObjects {
  deployments?: Deployment[];
  workloads?: V1Deployment[];
  services?: V1Service[];
  pods?: V1Pod[];
  nodes?: V1Node[];
  namespaces?: V1Namespace[];
}

/** One recorded API write: `verb kind namespace/name`, and the object sent. */
export interface Write {
  verb: 'create' | 'update' | 'delete' | 'status' | 'finalizers' | 'event';
  kind: string;
  key: string;
  obj?: unknown;
}

/** A 409 as the API server returns it. */
function conflict(message: string): Error {
  return Object.assign(new Error(message), { code: 409 });
}

/**
 * The API as the reconciler sees it: listers over in-memory stores and a writer that records every
 * write and applies it to those stores (so the next pass reads its own writes, as it would once
 * the informers catch up). Resource versions and generations behave like the API server's.
 */
export class FakeCluster implements DeploymentWriter {
  readonly writes: Write[] = [];
  readonly listers: Listers & {
    deployments: MapStore<Deployment>;
    workloads: MapStore<V1Deployment>;
    services: MapStore<V1Service>;
    pods: MapStore<V1Pod>;
    nodes: MapStore<V1Node>;
    namespaces: MapStore<V1Namespace>;
  };
  #rv = 100;

  constructor(objs: ClusterObjects) {
    this.listers = {
      deployments: new MapStore(objs.deployments?.map(clone)),
      workloads: new MapStore(objs.workloads?.map(clone)),
      services: new MapStore(objs.services?.map(clone)),
      pods: new MapStore(objs.pods?.map(clone)),
      nodes: new MapStore(objs.nodes?.map(clone)),
      namespaces: new MapStore(objs.namespaces?.map(clone)),
    };
  }

  /** Writes as `verb kind key` lines, then forgets them. */
  take(): string[] {
    const out = this.writes.map((w) => `${w.verb} ${w.kind} ${w.key}`);
    this.writes.length = 0;
    return out;
  }

  nextVersion(): string {
    return String(++this.#rv);
  }

  #store(kind: string): MapStore<KubernetesObject> {
    const s = kind === 'Deployment/apps' ? this.listers.workloads : kind === 'Service' ? this.listers.services : kind === 'Deployment/hearth' ? this.listers.deployments : undefined;
    if (!s) throw new Error(`FakeCluster: no store for ${kind}`);
    return s as unknown as MapStore<KubernetesObject>;
  }

  #kindOf(o: { apiVersion?: string; kind?: string }): string {
    if (o.kind === 'Deployment') return o.apiVersion?.startsWith('apps/') ? 'Deployment/apps' : 'Deployment/hearth';
    return o.kind ?? '?';
  }

  async create(obj: KubernetesObject): Promise<void> {
    const kind = this.#kindOf(obj);
    this.writes.push({ verb: 'create', kind, key: objectKey(obj), obj: clone(obj) });
    const store = this.#store(kind);
    if (store.get(objectKey(obj))) throw conflict(`${kind} ${objectKey(obj)} already exists`);
    const o = clone(obj);
    o.metadata = { ...o.metadata, uid: `uid-${o.metadata?.name}`, resourceVersion: this.nextVersion(), generation: 1 };
    store.put(o);
  }

  async update(obj: KubernetesObject): Promise<void> {
    const kind = this.#kindOf(obj);
    this.writes.push({ verb: 'update', kind, key: objectKey(obj), obj: clone(obj) });
    const store = this.#store(kind);
    const cur = store.get(objectKey(obj));
    const rv = obj.metadata?.resourceVersion;
    if (rv !== undefined && cur?.metadata?.resourceVersion !== rv) throw conflict(`${kind} ${objectKey(obj)} changed`);
    const next = clone(obj) as KubernetesObject & { spec?: unknown; status?: unknown };
    const gen = (cur?.metadata?.generation ?? 0) + (JSON.stringify((cur as { spec?: unknown })?.spec) === JSON.stringify(next.spec) ? 0 : 1);
    next.metadata = { ...cur?.metadata, ...next.metadata, resourceVersion: this.nextVersion(), generation: gen };
    next.status = (cur as { status?: unknown } | undefined)?.status;
    store.put(next);
  }

  async delete(ref: ObjectRef): Promise<void> {
    const kind = this.#kindOf(ref);
    const key = `${ref.namespace}/${ref.name}`;
    this.writes.push({ verb: 'delete', kind, key });
    const store = this.#store(kind);
    const cur = store.get(key);
    if (!cur) throw Object.assign(new Error('not found'), { code: 404 });
    if (ref.uid && cur.metadata?.uid !== ref.uid) throw conflict('uid precondition failed');
    store.delete(key);
  }

  async updateStatus(dep: Deployment, status: DeploymentStatus): Promise<Deployment> {
    const key = objectKey(dep);
    this.writes.push({ verb: 'status', kind: 'Deployment/hearth', key, obj: clone(status) });
    const cur = this.listers.deployments.get(key);
    if (!cur || cur.metadata.resourceVersion !== dep.metadata.resourceVersion) throw conflict(`Deployment ${key} changed`);
    const next: Deployment = { ...clone(cur), status: clone(status) };
    next.metadata = { ...next.metadata, resourceVersion: this.nextVersion() };
    this.listers.deployments.put(next);
    return clone(next);
  }

  async setFinalizers(dep: Deployment, finalizers: string[]): Promise<Deployment> {
    const key = objectKey(dep);
    this.writes.push({ verb: 'finalizers', kind: 'Deployment/hearth', key, obj: [...finalizers] });
    const cur = this.listers.deployments.get(key);
    if (!cur || cur.metadata.resourceVersion !== dep.metadata.resourceVersion) throw conflict(`Deployment ${key} changed`);
    const next: Deployment = clone(cur);
    next.metadata = { ...next.metadata, finalizers, resourceVersion: this.nextVersion() };
    if (finalizers.length === 0 && next.metadata.deletionTimestamp) this.listers.deployments.delete(key);
    else this.listers.deployments.put(next);
    return clone(next);
  }

  async event(dep: Deployment, e: DeploymentEvent): Promise<void> {
    this.writes.push({ verb: 'event', kind: `${e.type}/${e.reason}`, key: objectKey(dep), obj: e });
  }

  /** The last status written for `key`. */
  status(key: string): DeploymentStatus | undefined {
    return this.listers.deployments.get(key)?.status as DeploymentStatus | undefined;
  }

  /** Changes a hearth.dev Deployment as a user would (bumps generation when the spec changes). */
  edit(key: string, fn: (d: Deployment) => void): void {
    const cur = this.listers.deployments.get(key);
    if (!cur) throw new Error(`no ${key}`);
    const next = clone(cur);
    fn(next);
    const gen = ((cur.metadata.generation as number | undefined) ?? 1) + (JSON.stringify(cur.spec) === JSON.stringify(next.spec) ? 0 : 1);
    next.metadata = { ...next.metadata, generation: gen, resourceVersion: this.nextVersion() };
    this.listers.deployments.put(next);
  }

  /**
   * What the rest of the cluster does next: every workload gets exactly `replicas` pods of its
   * current template, scheduled and Ready (or in `podPhase`), and reports its rollout done;
   * pods without a workload are gone.
   */
  settle(opts: { ready?: boolean; mutatePod?: (p: V1Pod) => void } = {}): void {
    const ready = opts.ready ?? true;
    const pods = this.listers.pods;
    for (const [key, p] of pods.items) if (p.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'hearth') pods.delete(key);
    for (const w of this.listers.workloads.list()) {
      const n = w.spec?.replicas ?? 1;
      const tpl = w.spec?.template;
      for (let i = 0; i < n; i++) {
        const pod: V1Pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { namespace: w.metadata?.namespace, name: `${w.metadata?.name}-${i}`, labels: { ...tpl?.metadata?.labels }, annotations: { ...tpl?.metadata?.annotations } },
          spec: { ...clone(tpl?.spec ?? { containers: [] }), nodeName: 'node-0' },
          status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
        };
        opts.mutatePod?.(pod);
        pods.put(pod);
      }
      w.status = { observedGeneration: w.metadata?.generation, replicas: n, updatedReplicas: n, readyReplicas: ready ? n : 0 };
      w.metadata = { ...w.metadata, resourceVersion: this.nextVersion() };
    }
  }
}

/** A GPU node as the simulated fleet has them: labels, 8 GPUs, the vendor taint, Ready. */
export function gpuNode(name: string, region: string, acc: AcceleratorType, gpus = 8): V1Node {
  const resource = ACCELERATORS[acc].resource;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { [REGION_LABEL]: region, [ACCELERATOR_LABEL]: acc } },
    spec: { taints: [{ key: resource, value: 'present', effect: 'NoSchedule' }] },
    status: { allocatable: { [resource]: String(gpus) }, capacity: { [resource]: String(gpus) }, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

/** A pod of another workload holding `gpus` GPUs on `node`. */
export function gpuHog(node: string, gpus: number, resource = 'nvidia.com/gpu'): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: 'other', name: `hog-${node}` },
    spec: { nodeName: node, containers: [{ name: 'c', resources: { requests: { [resource]: String(gpus) } } }] },
    status: { phase: 'Running' },
  };
}

/** Quotas in memory: limits by quota name (default 8), holds by holder, every setHolds recorded. */
export class MemoryQuotaStore implements QuotaStore {
  readonly tracksHolds = true;
  readonly holds = new Map<string, Record<string, number>>();
  readonly calls: string[] = [];

  constructor(readonly limits: Record<string, number> = {}) {}

  async gpuQuota(_account: string, quotaName: string, holder: string): Promise<GpuQuota> {
    let others = 0;
    for (const [h, t] of this.holds) if (h !== holder) others += t[quotaName] ?? 0;
    return { limit: this.limits[quotaName] ?? 8, heldByOthers: others, mine: { ...this.holds.get(holder) } };
  }

  async setHolds(account: string, holder: string, targets: Record<string, number>): Promise<void> {
    this.calls.push(`setHolds ${account} ${holder} ${JSON.stringify(targets)}`);
    for (const [q, n] of Object.entries(targets)) {
      const others = (await this.gpuQuota(account, q, holder)).heldByOthers;
      const limit = this.limits[q] ?? 8;
      if (others + n > limit && n > (this.holds.get(holder)?.[q] ?? 0)) throw new QuotaExceededError(q, n, others, limit);
    }
    const kept = Object.fromEntries(Object.entries(targets).filter(([, n]) => n > 0));
    if (Object.keys(kept).length === 0) this.holds.delete(holder);
    else this.holds.set(holder, kept);
  }

  async releaseAll(account: string, holder: string): Promise<void> {
    this.calls.push(`releaseAll ${account} ${holder}`);
    this.holds.delete(holder);
  }

  /** Set to make the month's GPU-hours spent. */
  gpuHoursMessage: string | undefined;

  async gpuHoursSpent(): Promise<string | undefined> {
    return this.gpuHoursMessage;
  }
}

/** GPUs a set of pods holds of `acc` (for assertions). */
export function gpusOf(pods: readonly V1Pod[], acc: AcceleratorType): number {
  return pods.reduce((s, p) => s + podGpuRequest(p, ACCELERATORS[acc].resource), 0);
}

