import { describe, expect, it } from 'vitest';
import { ACCELERATORS, gpuQuotaName, regionsOffering } from './catalog.js';

describe('fleet catalog', () => {
  it('names GPU quotas as the docs do', () => {
    expect(gpuQuotaName('NVIDIA_H100_80GB', 'US_IOWA_1')).toBe('h100-us-iowa-1');
    expect(gpuQuotaName('AMD_MI300X_192GB', 'US_VIRGINIA_2')).toBe('mi300x-us-virginia-2');
  });

  it('lists the regions offering an accelerator, GA first', () => {
    const h100 = regionsOffering('NVIDIA_H100_80GB');
    expect(h100[0]).toBe('US_VIRGINIA_2');
    expect(h100).toHaveLength(7);
    expect(regionsOffering('NVIDIA_H200_141GB')).toEqual(['EU_PARIS_1']);
  });

  it('maps each vendor to its extended resource', () => {
    expect(ACCELERATORS.AMD_MI300X_192GB.resource).toBe('amd.com/gpu');
    expect(ACCELERATORS.NVIDIA_H200_141GB.resource).toBe('nvidia.com/gpu');
    expect(Object.values(ACCELERATORS).filter((a) => a.fp8)).toHaveLength(1);
  });
});
