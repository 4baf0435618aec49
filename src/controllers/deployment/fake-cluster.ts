// Test doubles for the Deployment reconciler: the runtime's recording fake API with the stores the
// Deployment controller reads (its writes land there, read back as the informer caches), a tiny
// simulation of what kube-controller-manager, kube-scheduler and KWOK would do next (`settle`),
// and an in-memory quota ledger. No cluster, no database, no timers.
import type { V1Deployment, V1Namespace, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Deployment, DeploymentStatus } from '../../crds/deployment.js';
import { API_VERSION } from '../../crds/group.js';
import { ACCELERATORS, ACCELERATOR_LABEL, REGION_LABEL, type AcceleratorType } from '../../fleet/catalog.js';
import { QuotaExceededError } from '../../db/errors.js';
import { FakeCluster, type MapLister } from '../runtime/fake-cluster.js';
import { podGpus } from '../../fleet/gpus.js';
import type { GpuQuota, QuotaLedger } from './quota-ledger.js';
import type { Listers } from './reconciler.js';

const clone = <T>(o: T): T => structuredClone(o);

export interface ClusterObjects {
  deployments?: Deployment[];
  workloads?: V1Deployment[];
  services?: V1Service[];
  pods?: V1Pod[];
  nodes?: V1Node[];
  namespaces?: V1Namespace[];
}

/** The API as the Deployment reconciler sees it: listers over the fake's stores, and the fake as its writer. */
export class DeploymentCluster extends FakeCluster {
  readonly listers: Listers & {
    deployments: MapLister<Deployment>;
    workloads: MapLister<V1Deployment>;
    services: MapLister<V1Service>;
    pods: MapLister<V1Pod>;
    nodes: MapLister<V1Node>;
    namespaces: MapLister<V1Namespace>;
  };

  constructor(objs: ClusterObjects) {
    super();
    this.listers = {
      deployments: this.store({ apiVersion: API_VERSION, kind: 'Deployment' }, objs.deployments),
      workloads: this.store({ apiVersion: 'apps/v1', kind: 'Deployment' }, objs.workloads),
      services: this.store({ apiVersion: 'v1', kind: 'Service' }, objs.services),
      pods: this.store({ apiVersion: 'v1', kind: 'Pod' }, objs.pods),
      nodes: this.store({ apiVersion: 'v1', kind: 'Node' }, objs.nodes),
      namespaces: this.store({ apiVersion: 'v1', kind: 'Namespace' }, objs.namespaces),
    };
  }

  /** The last status written for `key`. */
  status(key: string): DeploymentStatus | undefined {
    return this.listers.deployments.get(key)?.status as DeploymentStatus | undefined;
  }

  /** Changes a hearth.dev Deployment as a user would (bumps generation when the spec changes). */
  edit(key: string, fn: (d: Deployment) => void): void {
    this.editObject(this.listers.deployments, key, fn);
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
export class MemoryQuotaLedger implements QuotaLedger {
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
  return pods.reduce((s, p) => s + podGpus(p, ACCELERATORS[acc].resource), 0);
}

