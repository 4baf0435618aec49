// Pure builders of what the NodePool controller writes: a simulated (KWOK) node of the pool's
// machine type, the overprovisioning PriorityClass and placeholder Deployment (the
// cluster-autoscaler FAQ's "How can I configure overprovisioning"), and the labels/taint an
// adopted node gets. The Karpenter NodePool is in karpenter.ts.
import type { V1Deployment, V1Node, V1PodSpec, V1Taint } from '@kubernetes/client-node';
import { API_VERSION, LABELS, MANAGED_BY } from '../../crds/group.js';
import { ACCELERATOR_LABEL, REGION_LABEL } from '../../fleet/catalog.js';
import { gpuResource, machineCapacity, type MachineType } from '../../fleet/machine-types.js';
import { NODE_POOL_LABELS, NODE_POOL_TAINT_KEY, nodePoolNodeLabels, nodePoolPodLabels, nodePoolScheduling, nodePoolTaint } from '../../fleet/node-pools.js';

/** The PriorityClass of placeholder pods: below every real pod (default 0), so any of them preempts one. */
export const OVERPROVISIONING_PRIORITY_CLASS = 'hearth-overprovisioning';
export const OVERPROVISIONING_PRIORITY = -10;
/** On placeholder pods: the pool they keep headroom for. Pods without it are real work. */
export const PLACEHOLDER_LABEL = `hearth.dev/overprovisioning`;
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const INSTANCE_TYPE_LABEL = 'node.kubernetes.io/instance-type';

export interface PoolRef {
  namespace: string;
  name: string;
  uid: string;
  account: string;
}

/** `np-<account>-<pool>-<n>`: deterministic, so a create the cache has not shown yet fails with 409 instead of making a second node. */
export function nodeNameFor(account: string, pool: string, index: number): string {
  return `np-${account}-${pool}-${index}`;
}

/** The index of a node of the pool named by nodeNameFor, or undefined. */
export function nodeIndex(account: string, pool: string, name: string): number | undefined {
  const prefix = `np-${account}-${pool}-`;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9][0-9]{0,5})$/.test(rest) ? Number(rest) : undefined;
}

/** A simulated node of the pool, managed by KWOK (`kwok.x-k8s.io/node: fake`): Ready once KWOK sees it. */
export function poolNode(pool: PoolRef, machine: MachineType, region: string, index: number): V1Node {
  const name = nodeNameFor(pool.account, pool.name, index);
  const capacity = machineCapacity(machine);
  const acc = machine.acceleratorType;
  const vendor = gpuResource(machine)?.split('.')[0];
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0', [`${NODE_POOL_LABELS.pool}-namespace`]: pool.namespace },
      labels: {
        ...nodePoolNodeLabels(pool.account, pool.name),
        [LABELS.managedBy]: MANAGED_BY,
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        type: 'kwok',
        [REGION_LABEL]: region,
        [ZONE_LABEL]: `${region}-a`,
        [INSTANCE_TYPE_LABEL]: machine.name,
        ...(acc && vendor ? { [ACCELERATOR_LABEL]: acc, [`${vendor}.com/gpu.present`]: 'true', [`${vendor}.com/gpu.count`]: String(machine.acceleratorCount) } : {}),
      },
    },
    spec: { taints: [nodePoolTaint(pool.name)] },
    status: { capacity, allocatable: capacity },
  };
}

export function overprovisioningPriorityClass(): Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; labels: Record<string, string> } } {
  return {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: OVERPROVISIONING_PRIORITY_CLASS, labels: { [LABELS.managedBy]: MANAGED_BY } },
    value: OVERPROVISIONING_PRIORITY,
    globalDefault: false,
    preemptionPolicy: 'Never',
    description: 'Hearth NodePool overprovisioning placeholders: any real pod preempts them, and the pool grows for the evicted placeholder.',
  };
}

export function placeholderName(pool: string): string {
  return `${pool}-overprovisioning`;
}

/** What one placeholder holds: a whole node (all its GPUs, or all its CPU on a CPU machine). */
export function placeholderRequests(machine: MachineType): Record<string, string> {
  const res = gpuResource(machine);
  if (res && machine.acceleratorCount > 0) return { [res]: String(machine.acceleratorCount), cpu: '10m', memory: '16Mi' };
  return { cpu: machine.cpu > 0 ? String(machine.cpu) : '1', memory: '16Mi' };
}

/** A pause pod per node of headroom, at the negative priority, on the pool's nodes only, restricted security context. */
export function placeholderDeployment(pool: PoolRef, machine: MachineType, replicas: number): V1Deployment {
  const labels = { ...nodePoolPodLabels(pool.name), [PLACEHOLDER_LABEL]: pool.name, [LABELS.managedBy]: MANAGED_BY };
  const requests = placeholderRequests(machine);
  const podSpec: V1PodSpec = {
    ...nodePoolScheduling(pool.account, pool.name),
    priorityClassName: OVERPROVISIONING_PRIORITY_CLASS,
    terminationGracePeriodSeconds: 0,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: { runAsNonRoot: true, runAsUser: 65535, runAsGroup: 65535, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'pause',
        image: PAUSE_IMAGE,
        resources: { requests, limits: requests },
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
      },
    ],
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: placeholderName(pool.name),
      namespace: pool.namespace,
      labels,
      ownerReferences: [{ apiVersion: API_VERSION, kind: 'NodePool', name: pool.name, uid: pool.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      replicas,
      selector: { matchLabels: { [PLACEHOLDER_LABEL]: pool.name } },
      strategy: { type: 'Recreate' },
      template: { metadata: { labels }, spec: podSpec },
    },
  };
}

/** The labels an adopted node gets (merge patch), or null values to release it. */
export function adoptLabels(account: string, pool: string, release = false): Record<string, string | null> {
  const l = nodePoolNodeLabels(account, pool);
  return release ? Object.fromEntries(Object.keys(l).map((k) => [k, null])) : l;
}

/** A node's taints with the pool's taint added (or removed), or undefined when nothing changes. */
export function taintsWith(current: readonly V1Taint[] | undefined, pool: string, release = false): V1Taint[] | undefined {
  const list = current ?? [];
  const others = list.filter((t) => t.key !== NODE_POOL_TAINT_KEY);
  const has = list.some((t) => t.key === NODE_POOL_TAINT_KEY && t.value === pool && t.effect === 'NoSchedule');
  if (release) return others.length === list.length ? undefined : others;
  return has && others.length === list.length - 1 ? undefined : [...others, nodePoolTaint(pool)];
}
