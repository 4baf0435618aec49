// The fleet catalog: regions, accelerator types, default quotas and the node labels placement
// relies on. From the product docs (Regions, On-demand deployments, Rate limits and quotas);
// shared by the CRD schemas, the controllers, the REST API and the simulated fleet.

import { LABELS } from '../crds/group.js';

/** Node label carrying the Fireworks region name, e.g. `US_VIRGINIA_2`. */
export const REGION_LABEL = LABELS.region;
/** Node label carrying the accelerator type, e.g. `NVIDIA_H100_80GB`. */
export const ACCELERATOR_LABEL = LABELS.acceleratorType;

export const ACCELERATOR_TYPES = ['NVIDIA_A100_80GB', 'NVIDIA_H100_80GB', 'NVIDIA_H200_141GB', 'AMD_MI300X_192GB'] as const;
export type AcceleratorType = (typeof ACCELERATOR_TYPES)[number];
export const DEFAULT_ACCELERATOR_TYPE: AcceleratorType = 'NVIDIA_A100_80GB';

export interface AcceleratorInfo {
  vendor: 'nvidia' | 'amd';
  /** The extended resource pods request and nodes advertise. */
  resource: 'nvidia.com/gpu' | 'amd.com/gpu';
  memoryGiB: number;
  /** FP8 precision is served only here. */
  fp8: boolean;
  /** Mixture-of-experts models can be served. */
  moeSupported: boolean;
  /** Short form used in quota names: `h100` in `h100-us-iowa-1`. */
  short: string;
}

export const ACCELERATORS: Record<AcceleratorType, AcceleratorInfo> = {
  NVIDIA_A100_80GB: { vendor: 'nvidia', resource: 'nvidia.com/gpu', memoryGiB: 80, fp8: false, moeSupported: true, short: 'a100' },
  NVIDIA_H100_80GB: { vendor: 'nvidia', resource: 'nvidia.com/gpu', memoryGiB: 80, fp8: true, moeSupported: true, short: 'h100' },
  NVIDIA_H200_141GB: { vendor: 'nvidia', resource: 'nvidia.com/gpu', memoryGiB: 141, fp8: false, moeSupported: true, short: 'h200' },
  AMD_MI300X_192GB: { vendor: 'amd', resource: 'amd.com/gpu', memoryGiB: 192, fp8: false, moeSupported: false, short: 'mi300x' },
};

export interface RegionInfo {
  status: 'GA' | 'ENTERPRISE';
  accelerators: AcceleratorType[];
  directRouting: boolean;
}

export const REGIONS = {
  US_ILLINOIS_2: { status: 'GA', accelerators: ['NVIDIA_A100_80GB'], directRouting: true },
  US_VIRGINIA_2: { status: 'GA', accelerators: ['NVIDIA_H100_80GB', 'AMD_MI300X_192GB'], directRouting: true },
  EU_PARIS_1: { status: 'GA', accelerators: ['NVIDIA_H200_141GB'], directRouting: true },
  AP_TOKYO_1: { status: 'ENTERPRISE', accelerators: ['NVIDIA_H100_80GB'], directRouting: true },
  EU_FRANKFURT_1: { status: 'ENTERPRISE', accelerators: ['NVIDIA_H100_80GB'], directRouting: true },
  US_ILLINOIS_1: { status: 'ENTERPRISE', accelerators: ['NVIDIA_H100_80GB'], directRouting: true },
  US_IOWA_1: { status: 'ENTERPRISE', accelerators: ['NVIDIA_H100_80GB'], directRouting: true },
  US_VIRGINIA_1: { status: 'ENTERPRISE', accelerators: ['NVIDIA_H100_80GB'], directRouting: true },
  US_ARIZONA_1: { status: 'ENTERPRISE', accelerators: ['NVIDIA_H100_80GB'], directRouting: true },
} as const satisfies Record<string, RegionInfo>;
export type Region = keyof typeof REGIONS;
export const REGION_NAMES = Object.keys(REGIONS) as Region[];

export const DEFAULT_QUOTAS = {
  /** GPUs per accelerator type per region. */
  gpusPerAcceleratorType: 8,
  gpuHoursPerMonth: 2000,
  loras: 100,
} as const;

/** Regions that offer an accelerator type, GA regions first. */
export function regionsOffering(acc: AcceleratorType): Region[] {
  return REGION_NAMES.filter((r) => (REGIONS[r].accelerators as readonly string[]).includes(acc)).sort(
    (a, b) => Number(REGIONS[a].status !== 'GA') - Number(REGIONS[b].status !== 'GA'),
  );
}

/** The per-region GPU quota's name, as the docs spell it: `h100-us-iowa-1`. */
export function gpuQuotaName(acc: AcceleratorType, region: Region | string): string {
  return `${ACCELERATORS[acc].short}-${region.toLowerCase().replaceAll('_', '-')}`;
}

export function isAcceleratorType(s: string): s is AcceleratorType {
  return (ACCELERATOR_TYPES as readonly string[]).includes(s);
}

export function isRegion(s: string): s is Region {
  return s in REGIONS;
}
