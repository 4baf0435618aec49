import { describe, expect, it } from 'vitest';
import { maxRanks, numRanksProblem, poolGpuResource, ranksPerNode } from './pool-ranks.js';

describe('pool ranks', () => {
  it('GPU pool: GPUs per node × maxNodeCount; CPU pool: one per node; EKS: unknown', () => {
    expect(maxRanks({ maxNodeCount: 2, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 4 } })).toBe(8);
    expect(maxRanks({ maxNodeCount: 3, fakeNodePool: { machineType: 'n2-standard-32' } })).toBe(3);
    expect(maxRanks({ maxNodeCount: 3, fakeNodePool: {} })).toBe(3);
    expect(maxRanks({ maxNodeCount: 3, eksNodePool: { instanceType: 'p5.48xlarge' } })).toBeUndefined();
  });

  it('a simulated pool has the nodes the NodePool controller makes for it: the machine type, else the default machine of the accelerator', () => {
    expect(ranksPerNode({ maxNodeCount: 3, fakeNodePool: { machineType: 'a3-highgpu-8g' } })).toBe(8);
    expect(maxRanks({ maxNodeCount: 3, fakeNodePool: { machineType: 'a3-highgpu-8g' } })).toBe(24);
    expect(poolGpuResource({ fakeNodePool: { machineType: 'a3-highgpu-8g' } })).toBe('nvidia.com/gpu');
    expect(poolGpuResource({ fakeNodePool: { machineType: 'mi300x.8x' } })).toBe('amd.com/gpu');
    expect(ranksPerNode({ maxNodeCount: 3, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB' } })).toBe(8);
    expect(poolGpuResource({ fakeNodePool: { machineType: 'n2-standard-32' } })).toBeUndefined();
    expect(poolGpuResource({ fakeNodePool: {} })).toBeUndefined();
    expect(poolGpuResource({})).toBeUndefined();
    // No machine fits (the NodePool controller fails such a pool): unknown, never a guess.
    expect(ranksPerNode({ maxNodeCount: 3, fakeNodePool: { machineType: 'z9.mega' } })).toBeUndefined();
  });

  it('names the field, the pool and the arithmetic', () => {
    const spec = { maxNodeCount: 1, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB' as const, acceleratorCount: 8 } };
    expect(numRanksProblem(8, 'p', spec)).toBeUndefined();
    expect(numRanksProblem(9, 'accounts/a/nodePools/p', spec)).toBe(
      '9 ranks exceed the maximum of node pool "accounts/a/nodePools/p" (8: maxNodeCount 1 × 8 per node)',
    );
  });
});
