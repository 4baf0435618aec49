// Handing provisioning to Karpenter: when the cluster serves karpenter.sh/v1 NodePools (found in
// the API's resource list, re-checked every few minutes), an eksNodePool pool gets a Karpenter
// NodePool whose nodes carry the pool's labels and taint (src/fleet/node-pools.ts), of the pool's
// instance type, bounded by its maxNodeCount. Karpenter then makes nodes for the pool's pending
// pods (the overprovisioning placeholders included) and removes them when empty.
import { ApisApi, CustomObjectsApi } from '@kubernetes/client-node';
import type { NodePoolSpec } from '../../crds/node-pool.js';
import { LABELS, MANAGED_BY } from '../../crds/group.js';
import { gpuResource, type MachineType } from '../../fleet/machine-types.js';
import { nodePoolNodeLabels, nodePoolTaint } from '../../fleet/node-pools.js';
import type { KubeClients } from '../../kube/client.js';
import type { Clock } from '../../util/clock.js';
import { isNotFound } from '../runtime/result.js';
import { INSTANCE_TYPE_LABEL, ZONE_LABEL, type PoolRef } from './builders.js';

export const KARPENTER_GROUP = 'karpenter.sh';
export const KARPENTER_VERSION = 'v1';
export const KARPENTER_PLURAL = 'nodepools';
/** The EC2NodeClass Karpenter NodePools refer to (the AWS provider's; created with Karpenter). */
export const DEFAULT_NODE_CLASS = 'default';

export interface KarpenterNodePool {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; resourceVersion?: string; uid?: string };
  spec: Record<string, unknown>;
}

export function karpenterName(pool: PoolRef): string {
  return `hearth-${pool.account}-${pool.name}`;
}

/** The Karpenter NodePool for a Hearth pool (karpenter.sh/v1). */
export function karpenterNodePool(pool: PoolRef, spec: NodePoolSpec, machine: MachineType, opts: { nodeClass?: string; idleWindowMs: number }): KarpenterNodePool {
  const eks = spec.eksNodePool;
  const requirements: Array<Record<string, unknown>> = [
    { key: INSTANCE_TYPE_LABEL, operator: 'In', values: [eks?.instanceType ?? machine.name] },
    { key: 'karpenter.sh/capacity-type', operator: 'In', values: [eks?.spot ? 'spot' : 'on-demand'] },
  ];
  if (eks?.zone) requirements.push({ key: ZONE_LABEL, operator: 'In', values: [eks.zone] });
  const limits: Record<string, string> = {};
  if (machine.cpu > 0) limits.cpu = String(machine.cpu * spec.maxNodeCount);
  if (machine.memoryGiB > 0) limits.memory = `${machine.memoryGiB * spec.maxNodeCount}Gi`;
  const gpu = gpuResource(machine);
  if (gpu && machine.acceleratorCount > 0) limits[gpu] = String(machine.acceleratorCount * spec.maxNodeCount);
  return {
    apiVersion: `${KARPENTER_GROUP}/${KARPENTER_VERSION}`,
    kind: 'NodePool',
    metadata: { name: karpenterName(pool), labels: { [LABELS.managedBy]: MANAGED_BY, ...nodePoolNodeLabels(pool.account, pool.name) } },
    spec: {
      template: {
        metadata: { labels: nodePoolNodeLabels(pool.account, pool.name) },
        spec: {
          nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: opts.nodeClass ?? DEFAULT_NODE_CLASS },
          taints: [nodePoolTaint(pool.name)],
          requirements,
        },
      },
      ...(Object.keys(limits).length ? { limits } : {}),
      disruption: { consolidationPolicy: 'WhenEmpty', consolidateAfter: `${Math.max(0, Math.round(opts.idleWindowMs / 1000))}s` },
    },
  };
}

/** True when what Karpenter holds already says what we want (its defaults added are not a difference). */
export function karpenterUpToDate(have: KarpenterNodePool, want: KarpenterNodePool): boolean {
  return contains(have.spec, want.spec) && contains(have.metadata.labels ?? {}, want.metadata.labels ?? {});
}

function contains(have: unknown, want: unknown): boolean {
  if (Array.isArray(want)) return Array.isArray(have) && have.length === want.length && want.every((w, i) => contains(have[i], w));
  if (want !== null && typeof want === 'object') {
    if (have === null || typeof have !== 'object') return false;
    return Object.entries(want).every(([k, v]) => contains((have as Record<string, unknown>)[k], v));
  }
  return have === want;
}

/** The Karpenter API as the reconciler uses it (a seam: unit tests use an in-memory one). */
export interface KarpenterApi {
  /** Whether karpenter.sh/v1 nodepools is served. */
  installed(): Promise<boolean>;
  get(name: string): Promise<KarpenterNodePool | undefined>;
  create(obj: KarpenterNodePool): Promise<void>;
  replace(obj: KarpenterNodePool): Promise<void>;
  delete(name: string): Promise<void>;
}

/** On a real API server. Discovery is cached for `discoveryTtlMs` (default 2 min). */
export class KubeKarpenterApi implements KarpenterApi {
  readonly #custom: CustomObjectsApi;
  readonly #apis: ApisApi;
  #known: { at: number; installed: boolean } | undefined;
  readonly #ref = { group: KARPENTER_GROUP, version: KARPENTER_VERSION, plural: KARPENTER_PLURAL };

  constructor(
    clients: KubeClients,
    private readonly clock: Clock,
    private readonly discoveryTtlMs = 120_000,
  ) {
    this.#custom = clients.api(CustomObjectsApi);
    this.#apis = clients.api(ApisApi);
  }

  async installed(): Promise<boolean> {
    const now = this.clock.now();
    if (this.#known && now - this.#known.at < this.discoveryTtlMs) return this.#known.installed;
    const groups = await this.#apis.getAPIVersions();
    const g = groups.groups.find((x) => x.name === KARPENTER_GROUP);
    let installed = false;
    if (g?.versions.some((v) => v.version === KARPENTER_VERSION)) {
      const list = await this.#custom.getAPIResources({ group: KARPENTER_GROUP, version: KARPENTER_VERSION }).catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
      installed = list?.resources.some((r) => r.name === KARPENTER_PLURAL) ?? false;
    }
    this.#known = { at: now, installed };
    return installed;
  }

  /** Forget the cached discovery (tests installing or removing the CRDs). */
  forget(): void {
    this.#known = undefined;
  }

  async get(name: string): Promise<KarpenterNodePool | undefined> {
    try {
      return (await this.#custom.getClusterCustomObject({ ...this.#ref, name })) as KarpenterNodePool;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async create(obj: KarpenterNodePool): Promise<void> {
    await this.#custom.createClusterCustomObject({ ...this.#ref, body: obj });
  }

  async replace(obj: KarpenterNodePool): Promise<void> {
    await this.#custom.replaceClusterCustomObject({ ...this.#ref, name: obj.metadata.name, body: obj });
  }

  async delete(name: string): Promise<void> {
    try {
      await this.#custom.deleteClusterCustomObject({ ...this.#ref, name });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
