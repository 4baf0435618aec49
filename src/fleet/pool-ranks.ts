// How many ranks a node pool can ever hold at once (issue 13 "Bad input": `numRanks` beyond the
// pool's maximum is refused naming the field, over REST and as a condition). A rank is one GPU on a
// GPU pool and one host on a CPU pool, so the maximum is maxNodeCount × ranks per node.
import type { NodePoolSpec } from '../crds/node-pool.js';
import { isAcceleratorType } from './catalog.js';

type PoolSpec = Pick<NodePoolSpec, 'maxNodeCount' | 'fakeNodePool' | 'eksNodePool'>;

/** Ranks one node of the pool provides: its GPUs on a GPU pool, 1 on a CPU pool; undefined when unknown. */
export function ranksPerNode(spec: PoolSpec): number | undefined {
  const fake = spec.fakeNodePool;
  if (!fake) return undefined; // an EKS instance type is not mapped to a GPU count here
  if (fake.acceleratorType && isAcceleratorType(fake.acceleratorType)) return fake.acceleratorCount;
  return 1;
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
