// Pure: what a NodePool's spec asks for — how its nodes come to exist (Hearth makes simulated
// nodes, adopts existing nodes by label, hands provisioning to Karpenter, or cannot provision) and
// what one node is (machine type, region) — or the field that makes it impossible.
import type { NodePoolSpec } from '../../crds/node-pool.js';
import { REGION_NAMES, regionsOffering, type Region } from '../../fleet/catalog.js';
import { DEFAULT_MACHINE_TYPE, MACHINE_TYPES, machineType, type MachineType } from '../../fleet/machine-types.js';

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

const known = (): string => Object.keys(MACHINE_TYPES).join(', ');

function fakeShape(f: NonNullable<NodePoolSpec['fakeNodePool']>): PoolShape {
  let machine: MachineType;
  if (f.machineType !== undefined) {
    const m = machineType(f.machineType);
    if (!m) throw new InvalidPool('fakeNodePool.machineType', `unknown machine type "${f.machineType}"; known: ${known()}`);
    if (f.acceleratorType !== undefined && m.acceleratorType !== f.acceleratorType) {
      throw new InvalidPool('fakeNodePool.acceleratorType', `${f.acceleratorType} does not match machine type ${m.name} (${m.acceleratorType ?? 'no accelerators'})`);
    }
    machine = m;
  } else {
    const acc = f.acceleratorType ?? 'CPU';
    const name = Object.hasOwn(DEFAULT_MACHINE_TYPE, acc) ? DEFAULT_MACHINE_TYPE[acc as keyof typeof DEFAULT_MACHINE_TYPE] : undefined;
    if (!name) throw new InvalidPool('fakeNodePool.acceleratorType', `no machine type of the fleet catalog has ${acc}; known: ${known()}`);
    machine = MACHINE_TYPES[name]!;
  }
  if (f.acceleratorCount !== undefined) {
    if (!machine.acceleratorType) throw new InvalidPool('fakeNodePool.acceleratorCount', `machine type ${machine.name} has no accelerators; set acceleratorType or a GPU machineType`);
    if (f.acceleratorCount < 1 || f.acceleratorCount > 16) throw new InvalidPool('fakeNodePool.acceleratorCount', 'must be between 1 and 16');
    machine = { ...machine, acceleratorCount: f.acceleratorCount };
  }
  const region = f.region ?? defaultRegion(machine);
  return { provisioning: 'simulated', machine, region, ...(f.numNodes !== undefined ? { baseline: f.numNodes } : {}) };
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
