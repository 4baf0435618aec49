// GPU arithmetic every process agrees on: how many GPUs a pod uses (the controller's free-GPU
// accounting and quota footprint, metering's GPU-hours) and how many a deployment needs (the API's
// quota check, the controller's quota clamp and holds). One rule each, here.
import type { V1PodSpec } from '@kubernetes/client-node';
import { replicaBounds, type DeploymentSpec } from '../crds/deployment.js';

/** The extended resources Hearth counts as GPUs (device plugins of the two vendors in the catalog). */
export const GPU_RESOURCES = ['nvidia.com/gpu', 'amd.com/gpu'] as const;

/** A GPU quantity as a whole number ('2' or 2); anything else (absent, fractional, malformed) is 0. */
export function gpuQuantity(q: unknown): number {
  if (typeof q === 'number') return Number.isInteger(q) && q > 0 ? q : 0;
  return typeof q === 'string' && /^\d+$/.test(q) ? Number(q) : 0;
}

type Container = V1PodSpec['containers'][number];

/**
 * GPUs of one container: its limit, else its request. Kubernetes never overcommits extended
 * resources: the API server requires a limit, a request must equal it, and a limit alone sets
 * the request — so on any pod the API server accepted, limit = request = what the scheduler
 * reserves. The request is read only when there is no limit (objects that never passed validation,
 * e.g. hand-written test pods), so that such a pod still counts.
 */
function containerGpus(c: Container, resources: readonly string[]): number {
  return resources.reduce((sum, r) => sum + gpuQuantity(c.resources?.limits?.[r] ?? c.resources?.requests?.[r]), 0);
}

/**
 * GPUs a pod uses, as the scheduler counts them: its containers plus its restartable init
 * containers (sidecars, which run beside them), or the largest plain init container (with the
 * sidecars started before it) if that is more. `resource` picks one vendor's GPUs (the node's
 * accelerator); without it, every GPU resource counts.
 */
export function podGpus(pod: { spec?: Pick<V1PodSpec, 'containers' | 'initContainers'> }, resource?: string): number {
  const spec = pod.spec;
  if (!spec) return 0;
  const resources = resource === undefined ? GPU_RESOURCES : [resource];
  let sidecars = 0;
  let initPeak = 0;
  for (const c of spec.initContainers ?? []) {
    if (c.restartPolicy === 'Always') sidecars += containerGpus(c, resources);
    else initPeak = Math.max(initPeak, sidecars + containerGpus(c, resources));
  }
  const running = spec.containers.reduce((sum, c) => sum + containerGpus(c, resources), 0) + sidecars;
  return Math.max(running, initPeak);
}

/** GPUs a deployment needs: each replica holds the same number of GPUs. */
export function deploymentGpus(replicas: number, gpusPerReplica: number): number {
  return replicas * gpusPerReplica;
}

/**
 * The least a deployment can run on, from its spec alone (the API's quota check): the replicas it
 * must keep (minReplicaCount, or the fixed replicaCount) × acceleratorCount, 1 when unset (the
 * controller may resolve more from the model's size; it then holds what it runs).
 */
export function requiredGpus(spec: Pick<DeploymentSpec, 'minReplicaCount' | 'maxReplicaCount' | 'replicaCount' | 'acceleratorCount'>): number {
  return deploymentGpus(replicaBounds(spec).min, spec.acceleratorCount ?? 1);
}
