import type { V1Node, V1Pod, V1Taint } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ACCELERATOR_LABEL, REGION_LABEL, type AcceleratorType, type Region } from '../../fleet/catalog.js';
import {
  chooseRegion,
  freeGpusByRegion,
  isSchedulableFor,
  regionsAllowedBy,
  tolerates,
  type PlacementInput,
} from './placement.js';

type Table = Partial<Record<Region, number>>;
const from = (t: Table, fallback = 0) => (r: Region): number => t[r] ?? fallback;

function input(over: Partial<PlacementInput> & { quota?: Table; free?: Table; largest?: Table }): PlacementInput {
  const { quota = {}, free = {}, largest, ...rest } = over;
  return {
    acceleratorType: 'NVIDIA_H100_80GB',
    gpusNeeded: 8,
    quotaLeft: from(quota, 8),
    freeGpus: from(free),
    ...(largest ? { largestFreeOnNode: from(largest) } : {}),
    ...rest,
  };
}

describe('chooseRegion', () => {
  it.each<{ name: string; in: PlacementInput; want: Region }>([
    {
      name: 'the only region with room',
      in: input({ free: { US_VIRGINIA_2: 16 } }),
      want: 'US_VIRGINIA_2',
    },
    {
      name: 'most free GPUs wins',
      in: input({ free: { US_VIRGINIA_2: 8, AP_TOKYO_1: 8, US_IOWA_1: 12 } }),
      want: 'US_IOWA_1',
    },
    {
      name: 'tie: GA before enterprise-only',
      in: input({ free: { AP_TOKYO_1: 16, US_VIRGINIA_2: 16 } }),
      want: 'US_VIRGINIA_2',
    },
    {
      name: 'tie among enterprise regions: catalog order',
      in: input({ free: { US_ARIZONA_1: 8, EU_FRANKFURT_1: 8, AP_TOKYO_1: 8 } }),
      want: 'AP_TOKYO_1',
    },
    {
      name: 'quota full where capacity is largest',
      in: input({ free: { US_VIRGINIA_2: 16, US_IOWA_1: 8 }, quota: { US_VIRGINIA_2: 4 } }),
      want: 'US_IOWA_1',
    },
    {
      name: 'fragmented region skipped when a replica fits no node',
      in: input({ gpusNeeded: 4, gpusPerReplica: 4, free: { US_VIRGINIA_2: 6, US_IOWA_1: 4 }, largest: { US_VIRGINIA_2: 3, US_IOWA_1: 4 } }),
      want: 'US_IOWA_1',
    },
    {
      name: 'limited to placement.regions',
      in: input({ allowedRegions: ['US_IOWA_1', 'EU_PARIS_1'], free: { US_VIRGINIA_2: 16, US_IOWA_1: 8 } }),
      want: 'US_IOWA_1',
    },
    {
      name: 'limited to a multi-region',
      in: input({ allowedRegions: regionsAllowedBy({ multiRegion: 'EUROPE' }), free: { US_VIRGINIA_2: 16, EU_FRANKFURT_1: 8 } }),
      want: 'EU_FRANKFURT_1',
    },
    {
      name: 'other accelerator: its own regions',
      in: input({ acceleratorType: 'NVIDIA_A100_80GB', gpusNeeded: 1, free: { US_ILLINOIS_2: 1 } }),
      want: 'US_ILLINOIS_2',
    },
  ])('$name → $want', ({ in: i, want }) => {
    const p = chooseRegion(i);
    expect(p).toMatchObject({ region: want });
    expect('region' in p && p.reason.startsWith(`chose ${want}`)).toBe(true);
  });

  it('explains the choice in a sentence for status', () => {
    expect(chooseRegion(input({ free: { US_VIRGINIA_2: 16 } }))).toEqual({
      region: 'US_VIRGINIA_2',
      reason: 'chose US_VIRGINIA_2: offers NVIDIA_H100_80GB, quota h100-us-virginia-2 has 8 GPUs left, 16 GPUs free',
    });
    expect(chooseRegion(input({ free: { AP_TOKYO_1: 9 } }))).toMatchObject({
      reason: 'chose AP_TOKYO_1 (enterprise region): offers NVIDIA_H100_80GB, quota h100-ap-tokyo-1 has 8 GPUs left, 9 GPUs free',
    });
  });

  it('is deterministic whatever order the callbacks are asked in', () => {
    const i = input({ free: { US_ARIZONA_1: 8, EU_FRANKFURT_1: 8 } });
    expect(chooseRegion(i)).toEqual(chooseRegion(i));
    expect(chooseRegion(i)).toMatchObject({ region: 'EU_FRANKFURT_1' });
  });

  it.each<{ name: string; in: PlacementInput; reason: RegExp }>([
    {
      name: 'no capacity anywhere',
      in: input({}),
      reason: /^no region can place 8 NVIDIA_H100_80GB GPUs: US_VIRGINIA_2: 0 GPUs free; AP_TOKYO_1: 0 GPUs free;/,
    },
    {
      name: 'no quota anywhere',
      in: input({ quota: {}, quotaLeft: () => 0, free: { US_VIRGINIA_2: 16 } }),
      reason: /US_VIRGINIA_2: quota h100-us-virginia-2 has 0 GPUs left/,
    },
    {
      name: 'not enough in any single region',
      in: input({ gpusNeeded: 16, free: { US_VIRGINIA_2: 8, US_IOWA_1: 8 } }),
      reason: /^no region can place 16 NVIDIA_H100_80GB GPUs: US_VIRGINIA_2: quota h100-us-virginia-2 has 8 GPUs left, 8 GPUs free;/,
    },
    {
      name: 'allowed regions do not offer the accelerator',
      in: input({ allowedRegions: ['EU_PARIS_1'], free: { US_VIRGINIA_2: 16 } }),
      reason: /^none of the allowed regions \(EU_PARIS_1\) offers NVIDIA_H100_80GB; it is offered in US_VIRGINIA_2, /,
    },
    {
      name: 'allowed region offers it but has no room',
      in: input({ allowedRegions: ['US_IOWA_1'], free: { US_VIRGINIA_2: 16 } }),
      reason: /^no region can place 8 NVIDIA_H100_80GB GPUs: US_IOWA_1: 0 GPUs free$/,
    },
    {
      name: 'accelerator offered nowhere',
      in: input({ acceleratorType: 'NOPE' as AcceleratorType }),
      reason: /^no region of this fleet offers NOPE$/,
    },
  ])('unplaceable: $name', ({ in: i, reason }) => {
    const p = chooseRegion(i);
    expect(p).toMatchObject({ unplaceable: true });
    expect(p.reason).toMatch(reason);
  });

  describe('region from the spec', () => {
    it('is taken as is when it offers the accelerator, even without room (pods wait there)', () => {
      expect(chooseRegion(input({ requestedRegion: 'AP_TOKYO_1', free: { US_VIRGINIA_2: 16 } }))).toEqual({
        region: 'AP_TOKYO_1',
        reason: 'AP_TOKYO_1 from spec.placement.region: offers NVIDIA_H100_80GB, quota h100-ap-tokyo-1 has 8 GPUs left, 0 GPUs free',
      });
    });

    it.each([
      { name: 'region without the accelerator', region: 'US_ILLINOIS_2', reason: /^region US_ILLINOIS_2 does not offer NVIDIA_H100_80GB; it is offered in US_VIRGINIA_2, AP_TOKYO_1/ },
      { name: 'region not in the fleet', region: 'US_TEXAS_1', reason: /^region US_TEXAS_1 is not part of this fleet/ },
      { name: 'not a region', region: 'mars', reason: /^region mars is not part of this fleet/ },
    ])('is refused: $name', ({ region, reason }) => {
      const p = chooseRegion(input({ requestedRegion: region, free: { US_VIRGINIA_2: 16 } }));
      expect(p).toMatchObject({ unplaceable: true });
      expect(p.reason).toMatch(reason);
    });
  });
});

// ---- capacity ----------------------------------------------------------------------------------

const GPU_TAINT = (resource: string): V1Taint => ({ key: resource, value: 'present', effect: 'NoSchedule' });

function node(
  name: string,
  region: string,
  acc: AcceleratorType,
  over: { gpus?: string; ready?: string; unschedulable?: boolean; taints?: V1Taint[] } = {},
): V1Node {
  const resource = acc.startsWith('AMD') ? 'amd.com/gpu' : 'nvidia.com/gpu';
  return {
    metadata: { name, labels: { [REGION_LABEL]: region, [ACCELERATOR_LABEL]: acc } },
    spec: { unschedulable: over.unschedulable, taints: over.taints ?? [GPU_TAINT(resource)] },
    status: {
      allocatable: { cpu: '192', [resource]: over.gpus ?? '8' },
      conditions: [{ type: 'Ready', status: over.ready ?? 'True' }],
    },
  };
}

function pod(nodeName: string | undefined, gpus: number, over: { phase?: string; resource?: string; limitsOnly?: boolean } = {}): V1Pod {
  const resource = over.resource ?? 'nvidia.com/gpu';
  const q = { [resource]: String(gpus) };
  return {
    spec: { nodeName, containers: [{ name: 'c', resources: over.limitsOnly ? { limits: q } : { requests: q, limits: q } }] },
    status: { phase: over.phase ?? 'Running' },
  };
}

describe('freeGpusByRegion', () => {
  const H100 = 'NVIDIA_H100_80GB';
  const fleet = [
    node('va-0', 'US_VIRGINIA_2', H100),
    node('va-1', 'US_VIRGINIA_2', H100),
    node('va-amd-0', 'US_VIRGINIA_2', 'AMD_MI300X_192GB'),
    node('tokyo-0', 'AP_TOKYO_1', H100),
    node('ia-0', 'US_IOWA_1', H100, { ready: 'False' }),
    node('az-0', 'US_ARIZONA_1', H100, { unschedulable: true }),
    node('fr-0', 'EU_FRANKFURT_1', H100, { taints: [GPU_TAINT('nvidia.com/gpu'), { key: 'maintenance', effect: 'NoSchedule' }] }),
    node('il-0', 'US_ILLINOIS_1', H100, { taints: [GPU_TAINT('nvidia.com/gpu'), { key: 'spot', effect: 'PreferNoSchedule' }] }),
    node('va1-0', 'US_VIRGINIA_1', H100, { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }),
  ];

  it.each<{ name: string; pods: V1Pod[]; want: Record<string, { free: number; largestFreeOnNode: number; nodes: number }> }>([
    {
      name: 'empty fleet: all allocatable GPUs of schedulable, Ready, tolerated nodes',
      pods: [],
      want: {
        US_VIRGINIA_2: { free: 16, largestFreeOnNode: 8, nodes: 2 },
        AP_TOKYO_1: { free: 8, largestFreeOnNode: 8, nodes: 1 },
        US_ILLINOIS_1: { free: 8, largestFreeOnNode: 8, nodes: 1 },
      },
    },
    {
      name: 'bound pods hold GPUs; pending, terminated and other-vendor pods do not',
      pods: [
        pod('va-0', 4),
        pod('va-0', 2, { limitsOnly: true }),
        pod('va-1', 8, { phase: 'Succeeded' }),
        pod('va-1', 8, { phase: 'Failed' }),
        pod(undefined, 8, { phase: 'Pending' }),
        pod('va-amd-0', 8, { resource: 'amd.com/gpu' }),
        pod('tokyo-0', 8),
        pod('tokyo-0', 1), // over-committed by an outside actor: never below zero
      ],
      want: {
        US_VIRGINIA_2: { free: 10, largestFreeOnNode: 8, nodes: 2 },
        AP_TOKYO_1: { free: 0, largestFreeOnNode: 0, nodes: 1 },
        US_ILLINOIS_1: { free: 8, largestFreeOnNode: 8, nodes: 1 },
      },
    },
  ])('$name', ({ pods, want }) => {
    expect(Object.fromEntries(freeGpusByRegion(fleet, pods, H100))).toEqual(want);
  });

  it('counts the AMD fleet separately', () => {
    expect(Object.fromEntries(freeGpusByRegion(fleet, [pod('va-amd-0', 3, { resource: 'amd.com/gpu' })], 'AMD_MI300X_192GB'))).toEqual({
      US_VIRGINIA_2: { free: 5, largestFreeOnNode: 5, nodes: 1 },
    });
  });

  it('feeds chooseRegion', () => {
    const cap = freeGpusByRegion(fleet, [pod('va-0', 8), pod('va-1', 4)], H100);
    const p = chooseRegion({
      acceleratorType: H100,
      gpusNeeded: 8,
      gpusPerReplica: 8,
      quotaLeft: () => 8,
      freeGpus: (r) => cap.get(r)?.free ?? 0,
      largestFreeOnNode: (r) => cap.get(r)?.largestFreeOnNode ?? 0,
    });
    expect(p).toMatchObject({ region: 'AP_TOKYO_1' });
  });
});

describe('scheduling rules', () => {
  it.each([
    { name: 'same key, value and effect', tol: { key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }, taint: { key: 'k', value: 'v', effect: 'NoSchedule' }, want: true },
    { name: 'operator defaults to Equal', tol: { key: 'k', value: 'v' }, taint: { key: 'k', value: 'v', effect: 'NoSchedule' }, want: true },
    { name: 'other value', tol: { key: 'k', operator: 'Equal', value: 'x' }, taint: { key: 'k', value: 'v', effect: 'NoSchedule' }, want: false },
    { name: 'other effect', tol: { key: 'k', operator: 'Equal', value: 'v', effect: 'NoExecute' }, taint: { key: 'k', value: 'v', effect: 'NoSchedule' }, want: false },
    { name: 'Exists on the key', tol: { key: 'k', operator: 'Exists' }, taint: { key: 'k', value: 'v', effect: 'NoSchedule' }, want: true },
    { name: 'Exists without key tolerates all', tol: { operator: 'Exists' }, taint: { key: 'k', effect: 'NoExecute' }, want: true },
  ])('tolerates: $name → $want', ({ tol, taint, want }) => {
    expect(tolerates(tol, taint)).toBe(want);
  });

  it('a node without a Ready condition is not schedulable', () => {
    expect(isSchedulableFor({ metadata: { name: 'n' }, status: {} }, 'NVIDIA_H100_80GB')).toBe(false);
  });
});

describe('regionsAllowedBy', () => {
  it.each([
    { name: 'unset placement: anywhere', placement: undefined, want: undefined },
    { name: 'GLOBAL: anywhere', placement: { multiRegion: 'GLOBAL' }, want: undefined },
    { name: 'a list', placement: { regions: ['US_IOWA_1', 'AP_TOKYO_1'] }, want: ['US_IOWA_1', 'AP_TOKYO_1'] },
    { name: 'US', placement: { multiRegion: 'US' }, want: ['US_ILLINOIS_2', 'US_VIRGINIA_2', 'US_ILLINOIS_1', 'US_IOWA_1', 'US_VIRGINIA_1', 'US_ARIZONA_1'] },
    { name: 'EUROPE', placement: { multiRegion: 'EUROPE' }, want: ['EU_PARIS_1', 'EU_FRANKFURT_1'] },
    { name: 'APAC', placement: { multiRegion: 'APAC' }, want: ['AP_TOKYO_1'] },
  ])('$name', ({ placement, want }) => {
    expect(regionsAllowedBy(placement)).toEqual(want);
  });
});
