import { describe, expect, it } from 'vitest';
import { maxRanks, numRanksProblem, ranksPerNode } from './pool-ranks.js';

describe('pool ranks', () => {
  it('GPU pool: GPUs per node × maxNodeCount; CPU pool: one per node; EKS or an unknown GPU count: unknown', () => {
    expect(maxRanks({ maxNodeCount: 2, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 8 } })).toBe(16);
    expect(maxRanks({ maxNodeCount: 3, fakeNodePool: { machineType: 'cpu' } })).toBe(3);
    expect(ranksPerNode({ maxNodeCount: 3, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB' } })).toBeUndefined();
    expect(maxRanks({ maxNodeCount: 3, eksNodePool: { instanceType: 'p5.48xlarge' } })).toBeUndefined();
  });

  it('names the field, the pool and the arithmetic', () => {
    const spec = { maxNodeCount: 1, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB' as const, acceleratorCount: 8 } };
    expect(numRanksProblem(8, 'p', spec)).toBeUndefined();
    expect(numRanksProblem(9, 'accounts/a/nodePools/p', spec)).toBe(
      '9 ranks exceed the maximum of node pool "accounts/a/nodePools/p" (8: maxNodeCount 1 × 8 per node)',
    );
  });
});
