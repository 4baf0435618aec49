// How many ranks a node pool can ever hold at once (issue 13 "Bad input": `numRanks` beyond the
// pool's maximum is refused naming the field, over REST and as a condition), and what one rank
// asks of a node. A rank is one GPU on a GPU pool and one host on a CPU pool, so the maximum is
// maxNodeCount × ranks per node.
//
// A simulated pool's node is the machine the NodePool controller makes for it
// (`resolveFakeMachine`: machineType, else the default machine of acceleratorType, else a CPU
// machine; acceleratorCount overrides the GPUs), so the BatchJob and Environment builders, the REST
// checks and the stats all see the nodes the pool really has — a pool of `machineType:
// a3-highgpu-8g` is 8 H100 ranks per node. An EKS pool's nodes are not known here: unknown.
import type { NodePoolSpec } from '../crds/node-pool.js';
import { gpuResource, resolveFakeMachine, ranksPerNode as machineRanks, type MachineType } from './machine-types.js';

type PoolSpec = Pick<NodePoolSpec, 'maxNodeCount' | 'fakeNodePool' | 'eksNodePool'>;

/** The machine of a simulated pool's nodes; undefined for an EKS pool or a fakeNodePool no machine fits (the pool is FAILED). */
export function simulatedMachine(spec: Pick<PoolSpec, 'fakeNodePool'>): MachineType | undefined {
  if (!spec.fakeNodePool) return undefined;
  const r = resolveFakeMachine(spec.fakeNodePool);
  return 'machine' in r ? r.machine : undefined;
}

/** The extended resource one rank requests on the pool (`nvidia.com/gpu`, `amd.com/gpu`), or undefined on a CPU pool or an EKS pool. */
export function poolGpuResource(spec: Pick<PoolSpec, 'fakeNodePool'>): string | undefined {
  const m = simulatedMachine(spec);
  return m ? gpuResource(m) : undefined;
}

/** Ranks one node of the pool provides: its GPUs on a GPU pool, 1 on a CPU pool; undefined when unknown. */
export function ranksPerNode(spec: PoolSpec): number | undefined {
  const m = simulatedMachine(spec);
  return m ? machineRanks(m) : undefined;
}

/** The most ranks the pool can hold (maxNodeCount × ranks per node), or undefined when unknown. */
export function maxRanks(spec: PoolSpec): number | undefined {
  const per = ranksPerNode(spec);
  // The API server defaults maxNodeCount; an object without it was not read from one.
  return per === undefined || spec.maxNodeCount === undefined ? undefined : spec.maxNodeCount * per;
}

/** Why `numRanks` does not fit the pool (the rule, to follow the field's name), or undefined when it fits or the maximum is unknown. */
export function numRanksProblem(numRanks: number, poolName: string, spec: PoolSpec): string | undefined {
  const max = maxRanks(spec);
  if (max === undefined || numRanks <= max) return undefined;
  return `${numRanks} ranks exceed the maximum of node pool "${poolName}" (${max}: maxNodeCount ${spec.maxNodeCount} × ${ranksPerNode(spec)} per node)`;
}
