// Pure: what a NodePool's spec asks for — how its nodes come to exist (Hearth makes simulated
// nodes, adopts existing nodes by label, hands provisioning to Karpenter, or cannot provision) and
// what one node is (machine type, region) — or the field that makes it impossible.
import type { NodePoolSpec } from '../../crds/node-pool.js';
import { REGION_NAMES, regionsOffering, type Region } from '../../fleet/catalog.js';
import { machineType, resolveFakeMachine, type MachineType } from '../../fleet/machine-types.js';

/**
 * - `simulated`: fakeNodePool — the controller creates and deletes KWOK nodes itself.
 * - `selected`: eksNodePool.nodeSelector — existing nodes matching it are labelled and tainted for the pool.
 * - `karpenter`: eksNodePool with the karpenter.sh/v1 NodePool API installed — Hearth writes a
 *   Karpenter NodePool and Karpenter makes the nodes.
 * - `needsProvisioner`: eksNodePool and nothing in this cluster that can make its nodes.
 */
export type Provisioning = 'simulated' | 'selected' | 'karpenter' | 'needsProvisioner';

export interface PoolShape {
  provisioning: Provisioning;
  machine: MachineType;
  region?: string;
  /** Simulated pools: fakeNodePool.numNodes, the size the pool keeps at least (within min..max). */
  baseline?: number;
}

export class InvalidPool extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

function fakeShape(f: NonNullable<NodePoolSpec['fakeNodePool']>): PoolShape {
  const r = resolveFakeMachine(f);
  if ('field' in r) throw new InvalidPool(`fakeNodePool.${r.field}`, r.message);
  const region = f.region ?? defaultRegion(r.machine);
  return { provisioning: 'simulated', machine: r.machine, region, ...(f.numNodes !== undefined ? { baseline: f.numNodes } : {}) };
}

function defaultRegion(m: MachineType): Region {
  return (m.acceleratorType ? regionsOffering(m.acceleratorType)[0] : undefined) ?? REGION_NAMES[0]!;
}

/** The pool's shape; `karpenter`: whether the karpenter.sh/v1 NodePool API is installed. Throws InvalidPool. */
export function poolShape(spec: NodePoolSpec, karpenter: boolean): PoolShape {
  if (spec.minNodeCount > spec.maxNodeCount) throw new InvalidPool('maxNodeCount', 'must be greater than or equal to minNodeCount');
  if (spec.fakeNodePool) return fakeShape(spec.fakeNodePool);
  const eks = spec.eksNodePool;
  if (!eks) throw new InvalidPool('spec', 'exactly one of eksNodePool or fakeNodePool must be set');
  // An EC2 type outside the catalog is still a valid request to Karpenter; its shape is then unknown (0 GPUs).
  const machine = machineType(eks.instanceType) ?? { name: eks.instanceType, acceleratorCount: 0, cpu: 0, memoryGiB: 0 };
  const provisioning: Provisioning = eks.nodeSelector && Object.keys(eks.nodeSelector).length > 0 ? 'selected' : karpenter ? 'karpenter' : 'needsProvisioner';
  return { provisioning, machine };
}
