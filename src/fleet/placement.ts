// Where GPU work runs: a region chosen among the regions that offer the accelerator, where the
// account's quota has room and the fleet has free GPUs, with the reason as a sentence for status;
// and the free GPUs per region from the cluster's nodes and pods. Shared by the Deployment
// controller (a deployment's region, chosen once at creation) and the SFTJob controller (a
// training run's GPU type and region). Pure: the callers pass in quota and capacity.
import type { V1Node, V1Pod, V1Taint, V1Toleration } from '@kubernetes/client-node';
import {
  ACCELERATOR_LABEL,
  ACCELERATORS,
  REGION_LABEL,
  REGIONS,
  gpuQuotaName,
  isRegion,
  regionsOffering,
  type AcceleratorType,
  type Region,
} from './catalog.js';
import { gpuQuantity, podGpus } from './gpus.js';
import { multiRegionFilter } from './multi-region.js';

export interface PlacementInput {
  acceleratorType: AcceleratorType;
  /** GPUs the deployment needs to start: acceleratorCount × the replicas it must run. */
  gpusNeeded: number;
  /** GPUs of one replica, which must fit on one node; checked when `largestFreeOnNode` is given. */
  gpusPerReplica?: number;
  /** `spec.placement.region`, when the user chose. */
  requestedRegion?: string;
  /** Regions the choice is limited to (`placement.regions` or a multi-region); unset: any. */
  allowedRegions?: readonly string[];
  /** GPUs of this accelerator type the account's quota still allows in the region. */
  quotaLeft: (region: Region) => number;
  /** Free allocatable GPUs of this accelerator type in the region. */
  freeGpus: (region: Region) => number;
  /** Most free GPUs on a single node of the region (see `freeGpusByRegion`). */
  largestFreeOnNode?: (region: Region) => number;
}

export type Placement = { region: Region; reason: string } | { unplaceable: true; reason: string };

interface Candidate {
  region: Region;
  quota: number;
  free: number;
  largest: number | undefined;
  /** Position in `regionsOffering` (GA first, then catalog order): the tie-breaker. */
  rank: number;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function describe(c: Candidate, acc: AcceleratorType): string {
  const node = c.largest !== undefined ? `, at most ${plural(c.largest, 'GPU')} free on one node` : '';
  return `quota ${gpuQuotaName(acc, c.region)} has ${plural(c.quota, 'GPU')} left, ${plural(c.free, 'GPU')} free${node}`;
}

/** Why a candidate cannot take the deployment (every unmet constraint), or undefined when it can. */
function shortfall(c: Candidate, input: PlacementInput): string | undefined {
  const problems: string[] = [];
  if (c.quota < input.gpusNeeded) problems.push(`quota ${gpuQuotaName(input.acceleratorType, c.region)} has ${plural(c.quota, 'GPU')} left`);
  if (c.free < input.gpusNeeded) problems.push(`${plural(c.free, 'GPU')} free`);
  if (c.largest !== undefined && input.gpusPerReplica !== undefined && c.largest < input.gpusPerReplica) {
    problems.push(`no node has ${plural(input.gpusPerReplica, 'free GPU')} (at most ${c.largest})`);
  }
  return problems.length > 0 ? problems.join(', ') : undefined;
}

function candidate(region: Region, rank: number, input: PlacementInput): Candidate {
  return {
    region,
    quota: Math.max(0, input.quotaLeft(region)),
    free: Math.max(0, input.freeGpus(region)),
    largest: input.largestFreeOnNode ? Math.max(0, input.largestFreeOnNode(region)) : undefined,
    rank,
  };
}

/** Most free GPUs first; then GA before enterprise-only and catalog order; then the name. */
function compare(a: Candidate, b: Candidate): number {
  return b.free - a.free || a.rank - b.rank || (a.region < b.region ? -1 : a.region > b.region ? 1 : 0);
}

/**
 * The region for a deployment. A requested region is taken as is when it offers the accelerator
 * (capacity there only decides whether pods start, not where they go); otherwise the fittest
 * offering region is chosen, or none when nothing fits, with the reason for each region.
 */
export function chooseRegion(input: PlacementInput): Placement {
  const acc = input.acceleratorType;
  const offering = regionsOffering(acc);
  if (input.requestedRegion !== undefined) {
    const r = input.requestedRegion;
    if (!isRegion(r)) {
      return { unplaceable: true, reason: `region ${r} is not part of this fleet; ${acc} is offered in ${offering.join(', ') || 'no region'}` };
    }
    if (!offering.includes(r)) {
      return { unplaceable: true, reason: `region ${r} does not offer ${acc}; it is offered in ${offering.join(', ') || 'no region'}` };
    }
    const c = candidate(r, 0, input);
    return { region: r, reason: `${r} from spec.placement.region: offers ${acc}, ${describe(c, acc)}` };
  }
  if (offering.length === 0) return { unplaceable: true, reason: `no region of this fleet offers ${acc}` };
  const allowed = input.allowedRegions;
  const eligible = allowed ? offering.filter((r) => allowed.includes(r)) : offering;
  if (eligible.length === 0) {
    return {
      unplaceable: true,
      reason: `none of the allowed regions (${allowed?.join(', ') || 'none'}) offers ${acc}; it is offered in ${offering.join(', ')}`,
    };
  }
  const candidates = eligible.map((r) => candidate(r, offering.indexOf(r), input));
  const fitting = candidates.filter((c) => shortfall(c, input) === undefined).sort(compare);
  const best = fitting[0];
  if (best) {
    const tier = REGIONS[best.region].status === 'GA' ? '' : ' (enterprise region)';
    return { region: best.region, reason: `chose ${best.region}${tier}: offers ${acc}, ${describe(best, acc)}` };
  }
  const why = candidates.map((c) => `${c.region}: ${shortfall(c, input) ?? ''}`).join('; ');
  return { unplaceable: true, reason: `no region can place ${plural(input.gpusNeeded, `${acc} GPU`)}: ${why}` };
}

/**
 * The regions a placement lets the controller choose among: `regions` as listed, a multi-region's
 * regions of this fleet, or undefined for anywhere (unset placement, GLOBAL). A `region` is not
 * a choice: pass it as `requestedRegion`.
 */
export function regionsAllowedBy(placement: { multiRegion?: string; regions?: readonly string[] } | undefined): readonly string[] | undefined {
  if (placement?.regions !== undefined) return placement.regions;
  const within = multiRegionFilter(placement?.multiRegion);
  if (within === undefined) return undefined;
  return Object.keys(REGIONS).filter(within);
}

// ---- capacity ----------------------------------------------------------------------------------

export interface RegionCapacity {
  /** Free allocatable GPUs over the region's schedulable nodes of the accelerator type. */
  free: number;
  /** Most free GPUs on one such node: the largest replica that can start now. */
  largestFreeOnNode: number;
  /** Schedulable nodes counted. */
  nodes: number;
}

/**
 * The tolerations a GPU pod of `acc` carries: the vendor's GPU taint, exactly as GPU nodes have it
 * (`nvidia.com/gpu=present:NoSchedule`, `amd.com/gpu=present:NoSchedule`).
 */
export function gpuTolerations(acc: AcceleratorType): V1Toleration[] {
  return [{ key: ACCELERATORS[acc].resource, operator: 'Equal', value: 'present', effect: 'NoSchedule' }];
}

/** Whether a toleration tolerates a taint (the scheduler's matching rules). */
export function tolerates(toleration: V1Toleration, taint: V1Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.operator === 'Exists') return !toleration.key || toleration.key === taint.key;
  return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
}

/** Whether a GPU pod for `acc` (a model server, a trainer) may be scheduled on the node at all. */
export function isSchedulableFor(node: V1Node, acc: AcceleratorType): boolean {
  if (node.spec?.unschedulable === true) return false;
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') return false;
  const tolerations = gpuTolerations(acc);
  return (node.spec?.taints ?? []).every(
    (t) => t.effect === 'PreferNoSchedule' || tolerations.some((tol) => tolerates(tol, t)),
  );
}

function isTerminated(pod: V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/**
 * Free allocatable GPUs of an accelerator type, per region, from the nodes and pods of the cluster.
 * Counts only nodes a GPU pod of `acc` could land on (schedulable, Ready, no NoSchedule/NoExecute
 * taint it does not tolerate) and subtracts what bound, non-terminated pods hold there.
 */
export function freeGpusByRegion(nodes: V1Node[], pods: V1Pod[], acc: AcceleratorType): Map<string, RegionCapacity> {
  const resource = ACCELERATORS[acc].resource;
  const free = new Map<string, { region: string; free: number }>();
  for (const node of nodes) {
    const labels = node.metadata?.labels ?? {};
    const region = labels[REGION_LABEL];
    const name = node.metadata?.name;
    if (!name || !region || labels[ACCELERATOR_LABEL] !== acc || !isSchedulableFor(node, acc)) continue;
    free.set(name, { region, free: gpuQuantity(node.status?.allocatable?.[resource]) });
  }
  for (const pod of pods) {
    const slot = pod.spec?.nodeName ? free.get(pod.spec.nodeName) : undefined;
    if (!slot || isTerminated(pod)) continue;
    slot.free -= podGpus(pod, resource);
  }
  const byRegion = new Map<string, RegionCapacity>();
  for (const { region, free: f } of free.values()) {
    const nodeFree = Math.max(0, f);
    const cur = byRegion.get(region) ?? { free: 0, largestFreeOnNode: 0, nodes: 0 };
    byRegion.set(region, {
      free: cur.free + nodeFree,
      largestFreeOnNode: Math.max(cur.largestFreeOnNode, nodeFree),
      nodes: cur.nodes + 1,
    });
  }
  return byRegion;
}
