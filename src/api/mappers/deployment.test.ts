import { describe, expect, it } from 'vitest';
import { DeploymentSpec } from '../../crds/deployment.js';
import { SOFT_DELETE_ANNOTATIONS, specFromWire, toWire, wireState, type DeploymentObject } from './deployment.js';

function obj(over: Partial<DeploymentObject> = {}): DeploymentObject {
  return {
    apiVersion: 'hearth.dev/v1alpha1',
    kind: 'Deployment',
    metadata: { name: 'd1', namespace: 'acct-acme', generation: 1, creationTimestamp: '2026-01-02T03:04:05Z', resourceVersion: '7' },
    spec: DeploymentSpec.parse({ baseModel: 'accounts/fireworks/models/llama', replicaCount: 3 }) as unknown as Record<string, unknown>,
    ...over,
  };
}

describe('deployment mapper', () => {
  it('writes the full name, proto3 durations, createTime and the output-only fields', () => {
    const w = toWire(obj({ status: { state: 'READY', region: 'US_VIRGINIA_2', replicaCount: 2, desiredReplicaCount: 3, observedGeneration: 1, status: { code: 'OK' } } }), 'acme');
    expect(w).toMatchObject({
      name: 'accounts/acme/deployments/d1',
      baseModel: 'accounts/fireworks/models/llama',
      createTime: '2026-01-02T03:04:05Z',
      updateTime: '2026-01-02T03:04:05Z',
      state: 'READY',
      region: 'US_VIRGINIA_2',
      replicaCount: 2,
      desiredReplicaCount: 3,
      autoscalingPolicy: { scaleUpWindow: '30s', scaleDownWindow: '600s', scaleToZeroWindow: '3600s', loadTargets: { default: 0.8 } },
    });
    // The spec's fixed replicaCount (3) is not the wire's current replicaCount (2).
    expect(w.replicaCount).toBe(2);
    expect(w).not.toHaveProperty('deleteTime');
  });

  it('derives the state: CREATING before the controller reports, UPDATING for an unobserved generation, DELETING/DELETED when marked', () => {
    expect(wireState(obj())).toBe('CREATING');
    expect(wireState(obj({ metadata: { name: 'd1', generation: 2 }, status: { state: 'READY', observedGeneration: 1 } }))).toBe('UPDATING');
    const marked = { name: 'd1', annotations: { [SOFT_DELETE_ANNOTATIONS.deleteTime]: '2026-01-03T00:00:00Z' } };
    expect(wireState(obj({ metadata: marked, status: { state: 'READY' } }))).toBe('DELETING');
    const deleted = obj({ metadata: marked, status: { state: 'DELETED' } });
    expect(wireState(deleted)).toBe('DELETED');
    expect(toWire(deleted, 'a')).toMatchObject({ deleteTime: '2026-01-03T00:00:00Z', purgeTime: '2026-01-10T00:00:00Z' });
    // An undeleted object whose status still says DELETED is being recreated.
    expect(wireState(obj({ status: { state: 'DELETED' } }))).toBe('CREATING');
  });

  it('drops output-only and deprecated fields on input', () => {
    expect(specFromWire({ name: 'x', state: 'READY', createTime: 'x', replicaCount: 4, expireTime: 'x', baseModel: 'm', minReplicaCount: 1 })).toEqual({ baseModel: 'm', minReplicaCount: 1 });
  });
});
