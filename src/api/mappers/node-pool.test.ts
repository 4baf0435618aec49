import { describe, expect, it } from 'vitest';
import type { CustomObject } from '../kube/kind-client.js';
import { batchDeleteIds, computeNodePoolStats, indexStatsSources, parseClusterScopedName, toWire, wireState } from './node-pool.js';

const pool = (over: Partial<CustomObject> = {}): CustomObject => ({
  apiVersion: 'hearth.dev/v1alpha1',
  kind: 'NodePool',
  metadata: { name: 'p1', namespace: 'acct-acme', creationTimestamp: '2026-11-26T10:00:00Z' },
  spec: { minNodeCount: 0, maxNodeCount: 1, overprovisionNodeCount: 0, fakeNodePool: { numNodes: 1 } },
  ...over,
});

describe('node pool mapper', () => {
  it('names the pool under the single cluster and derives the state', () => {
    expect(toWire(pool(), 'acme', { environments: [] })).toMatchObject({
      name: 'accounts/acme/clusters/default/nodePools/p1',
      createTime: '2026-11-26T10:00:00Z',
      updateTime: '2026-11-26T10:00:00Z',
      state: 'CREATING',
      nodePoolStats: { nodeCount: 0, ranksPerNode: 1, environmentCount: 0, environmentRanks: 0 },
    });
    expect(wireState(pool({ status: { state: 'READY' } }))).toBe('READY');
    expect(wireState(pool({ status: { state: 'READY' }, metadata: { name: 'p1', deletionTimestamp: '2026-11-26T11:00:00Z' } }))).toBe('DELETING');
  });

  it('takes nodes and ranks per node from the controller when it reports them; EKS pools have no declared ranks', () => {
    const reported = pool({ status: { state: 'READY', nodePoolStats: { nodeCount: 3, ranksPerNode: 8 } } });
    expect(computeNodePoolStats(reported, { environments: [] })).toMatchObject({ nodeCount: 3, ranksPerNode: 8 });
    const eks = pool({ spec: { eksNodePool: { instanceType: 'p5.48xlarge' } } });
    expect(computeNodePoolStats(eks, { environments: [] })).not.toHaveProperty('ranksPerNode');
  });

  it('computes the same stats from sources indexed by pool (lists) as from the plain lists (getStats)', () => {
    const obj = (kind: string, name: string, spec: Record<string, unknown>, status?: Record<string, unknown>): CustomObject => ({ apiVersion: 'hearth.dev/v1alpha1', kind, metadata: { name }, spec, ...(status ? { status } : {}) });
    const sources = {
      environments: [obj('Environment', 'e1', { connection: { nodePoolId: 'p1', numRanks: 3 } }), obj('Environment', 'e2', {}, { connection: { nodePoolId: 'p1' } }), obj('Environment', 'e3', { connection: { nodePoolId: 'p2' } }), obj('Environment', 'e4', {})],
      batchJobs: [obj('BatchJob', 'j1', { nodePoolId: 'p1', numRanks: 2 }, { state: 'PENDING' }), obj('BatchJob', 'j2', { nodePoolId: 'p2' })],
    };
    for (const id of ['p1', 'p2', 'p3']) {
      const p = pool({ metadata: { name: id } });
      expect(computeNodePoolStats(p, indexStatsSources(sources)), id).toEqual(computeNodePoolStats(p, sources));
    }
    expect(computeNodePoolStats(pool(), indexStatsSources(sources))).toMatchObject({ environmentCount: 2, environmentRanks: 4, batchJobCount: { PENDING: 1 }, batchJobRanks: { PENDING: 2 } });
  });

  it('parses batchDelete names: full or URL form, foreign ones read as missing, malformed ones name their index', () => {
    expect(parseClusterScopedName('accounts/acme/clusters/default/nodePools/p1', 'acme', 'nodePools')).toEqual({ id: 'p1' });
    expect(parseClusterScopedName('accounts/acme/nodePools/p1', 'acme', 'nodePools')).toEqual({ id: 'p1' });
    expect(parseClusterScopedName('accounts/acme/clusters/other/nodePools/p1', 'acme', 'nodePools')).toEqual({ foreign: true });
    expect(parseClusterScopedName('accounts/globex/nodePools/p1', 'acme', 'nodePools')).toEqual({ foreign: true });
    expect(parseClusterScopedName('accounts/acme/environments/p1', 'acme', 'nodePools')).toBeUndefined();
    expect(batchDeleteIds(['accounts/acme/nodePools/p1', 'accounts/acme/clusters/default/nodePools/p1'], 'acme', 'nodePools', 'nodePool')).toEqual([{ id: 'p1', name: 'accounts/acme/nodePools/p1' }]);
    expect(() => batchDeleteIds(['accounts/acme/nodePools/p1', 'accounts/acme/nodePools/P_2'], 'acme', 'nodePools', 'nodePool')).toThrow('names[1]');
    expect(() => batchDeleteIds(['accounts/globex/nodePools/p1'], 'acme', 'nodePools', 'nodePool')).toThrow('nodePool "accounts/globex/nodePools/p1" not found');
  });
});
