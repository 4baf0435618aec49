import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { deploymentGpus, gpuQuantity, podGpus, requiredGpus } from './gpus.js';

const NV = 'nvidia.com/gpu';
const AMD = 'amd.com/gpu';
const c = (name: string, resources: V1Container['resources'], restartPolicy?: string): V1Container => ({ name, resources, ...(restartPolicy ? { restartPolicy } : {}) });
const both = (n: number, r = NV): V1Container['resources'] => ({ requests: { [r]: String(n) }, limits: { [r]: String(n) } });
const pod = (containers: V1Container[], initContainers?: V1Container[]): V1Pod => ({ spec: { containers, ...(initContainers ? { initContainers } : {}) } });

describe('podGpus: GPUs a pod uses, one rule for placement, quota footprint and metering', () => {
  it.each([
    { name: 'no spec', pod: {} as V1Pod, want: 0 },
    { name: 'no GPUs', pod: pod([c('a', { requests: { cpu: '8' } })]), want: 0 },
    { name: 'request = limit (what the API server accepts)', pod: pod([c('a', both(4))]), want: 4 },
    { name: 'a limit alone (the request defaults to it)', pod: pod([c('a', { limits: { [NV]: '2' } })]), want: 2 },
    { name: 'a request alone (never validated): still counts', pod: pod([c('a', { requests: { [NV]: '3' } })]), want: 3 },
    { name: 'the limit wins over a differing request', pod: pod([c('a', { requests: { [NV]: '1' }, limits: { [NV]: '2' } })]), want: 2 },
    { name: 'containers add up', pod: pod([c('a', both(1)), c('b', both(2))]), want: 3 },
    {
      name: 'a plain init container larger than the containers',
      pod: pod([c('a', { requests: { [NV]: '1' } }), c('b', { requests: { [NV]: '1' } })], [c('warm', { requests: { [NV]: '4' } })]),
      want: 4,
    },
    { name: 'a sidecar runs beside the containers', pod: pod([c('a', { requests: { [NV]: '2' } })], [c('side', { requests: { [NV]: '1' } }, 'Always')]), want: 3 },
    { name: 'a plain init container after a sidecar runs with it', pod: pod([c('a', both(1))], [c('side', both(1), 'Always'), c('init', both(3))]), want: 4 },
    { name: 'both vendors count without a resource', pod: pod([c('a', both(1)), c('b', both(8, AMD))]), want: 9 },
    { name: 'one vendor with a resource', pod: pod([c('a', both(1)), c('b', both(8, AMD))]), resource: AMD, want: 8 },
    { name: 'a malformed quantity is 0', pod: pod([c('a', { limits: { [NV]: '1.5' } }), c('b', both(1))]), want: 1 },
  ])('$name → $want', ({ pod: p, resource, want }) => {
    expect(podGpus(p, resource)).toBe(want);
  });
});

describe('gpuQuantity', () => {
  it.each([
    { q: '2', want: 2 },
    { q: 2, want: 2 },
    { q: '0', want: 0 },
    { q: undefined, want: 0 },
    { q: '500m', want: 0 },
    { q: -1, want: 0 },
    { q: 1.5, want: 0 },
  ])('$q → $want', ({ q, want }) => {
    expect(gpuQuantity(q)).toBe(want);
  });
});

describe('GPUs a deployment needs', () => {
  it('is replicas × GPUs per replica', () => {
    expect(deploymentGpus(3, 2)).toBe(6);
    expect(deploymentGpus(0, 8)).toBe(0);
  });

  it.each([
    { name: 'fixed replicaCount', spec: { minReplicaCount: 0, replicaCount: 2, acceleratorCount: 4 }, want: 8 },
    { name: 'autoscaled: the minimum', spec: { minReplicaCount: 1, maxReplicaCount: 5, acceleratorCount: 2 }, want: 2 },
    { name: 'acceleratorCount unset: 1 per replica', spec: { minReplicaCount: 3 }, want: 3 },
    { name: 'scale to zero', spec: { minReplicaCount: 0, maxReplicaCount: 2, acceleratorCount: 8 }, want: 0 },
  ])('requiredGpus (the least the spec can run on): $name → $want', ({ spec, want }) => {
    expect(requiredGpus(spec)).toBe(want);
  });
});
