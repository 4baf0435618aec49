// Where a training run goes (pure): the GPU type and region, from the base model's size, the
// account's quota and the fleet's free GPUs. The training GPU types are tried cheapest first
// (A100 → H100 → H200, src/fleet/training.ts); within one, the region is chosen by the same rule
// as a deployment's (src/fleet/placement.ts chooseRegion: quota left, free GPUs, one node with a
// pod's GPUs; most free first, GA first). Nothing fits → the reason for each GPU type, so the job
// waits PENDING saying why (as a deployment waiting on capacity does).
//
// Free GPUs are the cluster's (freeGpusByRegion over the GPU nodes and their bound pods) less
// what other jobs were given and have not bound yet (`claims`): placements made in the moment
// between creating a Job and the scheduler binding its pods must not all take the same room.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { ACCELERATORS, gpuQuotaName, type AcceleratorType, type Region } from '../../fleet/catalog.js';
import { podGpus } from '../../fleet/gpus.js';
import { chooseRegion, freeGpusByRegion, type RegionCapacity } from '../../fleet/placement.js';
import { TRAINING_ACCELERATORS, trainingShape, type TrainingShape } from '../../fleet/training.js';

/** GPUs given to a training run whose pods may not all be bound yet. */
export interface Claim {
  acceleratorType: AcceleratorType;
  region: string;
  /** GPUs of the whole run (per pod × pods). */
  gpus: number;
  /** Its pods (to subtract the GPUs already bound, which freeGpusByRegion counts). */
  pods: V1Pod[];
}

export interface TrainingPlacementInput {
  model: { parametersB: number };
  /** GPUs the account's quota still allows this job, by quota name (`a100-us-illinois-2`). */
  quotaLeft: (quotaName: string) => number;
  nodes: V1Node[];
  pods: V1Pod[];
  /** Other runs' GPUs not bound yet. */
  claims: Claim[];
}

export type TrainingPlacement =
  | { placed: true; shape: TrainingShape; region: Region; quotaName: string; reason: string }
  | { placed: false; reason: string };

const bound = (p: V1Pod): boolean => !!p.spec?.nodeName && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';

/** Free GPUs of `acc` per region, less the unbound part of every claim on it. */
export function trainingCapacity(nodes: V1Node[], pods: V1Pod[], claims: readonly Claim[], acc: AcceleratorType): Map<string, RegionCapacity> {
  const free = freeGpusByRegion(nodes, pods, acc);
  const resource = ACCELERATORS[acc].resource;
  for (const c of claims) {
    if (c.acceleratorType !== acc) continue;
    const cap = free.get(c.region);
    if (!cap) continue;
    const onNodes = c.pods.filter(bound).reduce((s, p) => s + podGpus(p, resource), 0);
    const pending = Math.max(0, c.gpus - onNodes);
    // The largest node figure stays an upper bound: which node the scheduler picks is not known yet.
    free.set(c.region, { ...cap, free: Math.max(0, cap.free - pending) });
  }
  return free;
}

/**
 * The first training GPU type with a region that has the quota and the free GPUs for the run;
 * else not placed, with every type's reason. A run of several nodes needs its GPUs free in the
 * region and one node with a pod's GPUs free; how its pods spread over nodes is the scheduler's.
 */
export function chooseTrainingPlacement(input: TrainingPlacementInput): TrainingPlacement {
  const whys: string[] = [];
  for (const acc of TRAINING_ACCELERATORS) {
    const shape = trainingShape(input.model, acc);
    const cap = trainingCapacity(input.nodes, input.pods, input.claims, acc);
    const p = chooseRegion({
      acceleratorType: acc,
      gpusNeeded: shape.acceleratorCount * shape.nodes,
      gpusPerReplica: shape.acceleratorCount,
      quotaLeft: (r) => input.quotaLeft(gpuQuotaName(acc, r)),
      freeGpus: (r) => cap.get(r)?.free ?? 0,
      largestFreeOnNode: (r) => cap.get(r)?.largestFreeOnNode ?? 0,
    });
    if ('region' in p) return { placed: true, shape, region: p.region, quotaName: gpuQuotaName(acc, p.region), reason: p.reason };
    whys.push(p.reason);
  }
  return { placed: false, reason: whys.join('; ') };
}
