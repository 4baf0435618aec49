// Test doubles for the NodePool reconciler: the runtime's recording fake API with the stores it
// reads, what KWOK and the scheduler would do next (nodes become Ready, pods bind or wait), an
// in-memory Karpenter API and selected-node client. No cluster, no timers.
import type { KubernetesObject, V1Deployment, V1Namespace, V1Node, V1Pod, V1Taint } from '@kubernetes/client-node';
import { API_VERSION, LABELS } from '../../crds/group.js';
import type { NodePoolSpecInput, NodePoolStatus } from '../../crds/node-pool.js';
import { nodePoolPodLabels, nodePoolScheduling } from '../../fleet/node-pools.js';
import { FakeCluster, conflict, type MapLister } from '../runtime/fake-cluster.js';
import type { HearthObject } from '../runtime/writer.js';
import type { KarpenterApi, KarpenterNodePool } from './karpenter.js';
import type { SelectedNodesApi } from './nodes-api.js';
import type { Listers } from './reconciler.js';

type NodePool = HearthObject<'NodePool'>;

export const NS = 'acct-ns';
export const ACCOUNT = 'acme';

export function namespace(name = NS, account = ACCOUNT): V1Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [LABELS.account]: account } } };
}

export function nodePool(name: string, spec: Partial<NodePoolSpecInput>, extra: Partial<NodePool['metadata']> = {}): NodePool {
  return {
    apiVersion: API_VERSION,
    kind: 'NodePool',
    metadata: { name, namespace: NS, uid: `uid-${name}`, generation: 1, resourceVersion: '1', ...extra },
    spec: { minNodeCount: 0, maxNodeCount: 1, overprovisionNodeCount: 0, ...spec },
  } as NodePool;
}

export class NodePoolCluster extends FakeCluster {
  readonly listers: Listers & {
    nodePools: MapLister<NodePool>;
    namespaces: MapLister<V1Namespace>;
    nodes: MapLister<V1Node>;
    pods: MapLister<V1Pod>;
    workloads: MapLister<V1Deployment>;
    environments: MapLister<HearthObject<'Environment'>>;
    batchJobs: MapLister<HearthObject<'BatchJob'>>;
    priorityClasses: MapLister<KubernetesObject>;
  };

  constructor(objs: { pools?: NodePool[]; nodes?: V1Node[]; pods?: V1Pod[]; environments?: HearthObject<'Environment'>[]; batchJobs?: HearthObject<'BatchJob'>[] }) {
    super();
    this.listers = {
      nodePools: this.store({ apiVersion: API_VERSION, kind: 'NodePool' }, objs.pools),
      environments: this.store({ apiVersion: API_VERSION, kind: 'Environment' }, objs.environments),
      batchJobs: this.store({ apiVersion: API_VERSION, kind: 'BatchJob' }, objs.batchJobs),
      namespaces: this.store({ apiVersion: 'v1', kind: 'Namespace' }, [namespace()]),
      nodes: this.store({ apiVersion: 'v1', kind: 'Node' }, objs.nodes),
      pods: this.store({ apiVersion: 'v1', kind: 'Pod' }, objs.pods),
      workloads: this.store({ apiVersion: 'apps/v1', kind: 'Deployment' }, []),
      priorityClasses: this.store({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass' }, []),
    };
  }

  status(name: string): NodePoolStatus | undefined {
    return this.listers.nodePools.get(`${NS}/${name}`)?.status as NodePoolStatus | undefined;
  }

  editPool(name: string, fn: (p: NodePool) => void): void {
    this.editObject(this.listers.nodePools, `${NS}/${name}`, fn);
  }

  /** KWOK: every node becomes Ready. */
  readyNodes(): void {
    for (const n of this.listers.nodes.list()) {
      if (n.status?.conditions?.some((c) => c.type === 'Ready')) continue;
      this.listers.nodes.put({ ...n, status: { ...n.status, conditions: [{ type: 'Ready', status: 'True' }] } });
    }
  }

  nodeNames(): string[] {
    return this.listers.nodes
      .list()
      .map((n) => n.metadata?.name ?? '')
      .sort();
  }

  /** A pod of the pool: bound to `node`, or pending and (per the scheduler) Unschedulable. */
  pod(name: string, pool: string, gpus: number, node?: string, opts: { placeholder?: boolean; phase?: string } = {}): void {
    const sched = nodePoolScheduling(ACCOUNT, pool);
    this.listers.pods.put({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NS, labels: { ...nodePoolPodLabels(pool), ...(opts.placeholder ? { 'hearth.dev/overprovisioning': pool } : {}) } },
      spec: { ...(node ? { nodeName: node } : {}), nodeSelector: sched.nodeSelector, containers: [{ name: 'c', resources: { requests: { 'nvidia.com/gpu': String(gpus), cpu: '1' } } }] },
      status: { phase: opts.phase ?? (node ? 'Running' : 'Pending'), conditions: [{ type: 'PodScheduled', status: node ? 'True' : 'False', ...(node ? {} : { reason: 'Unschedulable' }) }] },
    });
  }

  removePod(name: string): void {
    this.listers.pods.delete(`${NS}/${name}`);
  }
}

export class MemoryKarpenter implements KarpenterApi {
  isInstalled = true;
  readonly objects = new Map<string, KarpenterNodePool>();
  readonly calls: string[] = [];
  #rv = 0;
  async installed(): Promise<boolean> {
    return this.isInstalled;
  }
  async get(name: string): Promise<KarpenterNodePool | undefined> {
    const o = this.objects.get(name);
    return o && structuredClone(o);
  }
  async create(obj: KarpenterNodePool): Promise<void> {
    this.calls.push(`create ${obj.metadata.name}`);
    if (this.objects.has(obj.metadata.name)) throw conflict('exists');
    this.objects.set(obj.metadata.name, { ...structuredClone(obj), metadata: { ...obj.metadata, resourceVersion: String(++this.#rv) } });
  }
  async replace(obj: KarpenterNodePool): Promise<void> {
    this.calls.push(`replace ${obj.metadata.name}`);
    if (this.objects.get(obj.metadata.name)?.metadata.resourceVersion !== obj.metadata.resourceVersion) throw conflict('changed');
    this.objects.set(obj.metadata.name, { ...structuredClone(obj), metadata: { ...obj.metadata, resourceVersion: String(++this.#rv) } });
  }
  async delete(name: string): Promise<void> {
    this.calls.push(`delete ${name}`);
    this.objects.delete(name);
  }
}

/** Existing nodes selected by label: patches land in the cluster's node store. */
export class MemorySelectedNodes implements SelectedNodesApi {
  readonly calls: string[] = [];
  /** The controller's RBAC has no patch on nodes: every patch is 403. */
  forbidden = false;
  constructor(private readonly nodes: MapLister<V1Node>) {}
  async list(selector: Record<string, string>): Promise<V1Node[]> {
    return this.nodes.list().filter((n) => Object.entries(selector).every(([k, v]) => n.metadata?.labels?.[k] === v));
  }
  async patch(node: V1Node, labels: Record<string, string | null>, taints: V1Taint[] | undefined): Promise<void> {
    const name = node.metadata?.name ?? '';
    this.calls.push(`patch ${name}`);
    if (this.forbidden) throw Object.assign(new Error('nodes is forbidden'), { code: 403 });
    const cur = structuredClone(this.nodes.get(name)!);
    const l = { ...cur.metadata!.labels };
    for (const [k, v] of Object.entries(labels)) {
      if (v === null) delete l[k];
      else l[k] = v;
    }
    cur.metadata!.labels = l;
    if (taints) cur.spec = { ...cur.spec, taints };
    this.nodes.put(cur);
  }
}
