import { describe, expect, it } from 'vitest';
import type { CustomObject } from '../kube/kind-client.js';
import { deployedModelRef, newDeployedModelObject, specFromWire, toWire, wireState } from './deployed-model.js';

const obj = (over: Partial<CustomObject> = {}): CustomObject => ({
  ...newDeployedModelObject({ accountId: 'acme', namespace: 'acct-acme', id: 'dm1', spec: { model: 'accounts/acme/models/l', deployment: 'accounts/acme/deployments/d', default: true } }),
  ...over,
});

describe('deployed model mapper', () => {
  it('builds the object the gateway reads: full names in spec, the account label', () => {
    expect(obj()).toEqual({
      apiVersion: 'hearth.dev/v1alpha1',
      kind: 'DeployedModel',
      metadata: { name: 'dm1', namespace: 'acct-acme', labels: { 'hearth.dev/account': 'acme' } },
      spec: { model: 'accounts/acme/models/l', deployment: 'accounts/acme/deployments/d', default: true },
    });
  });

  it('writes the wire resource: DEPLOYING until the controller reports, UNDEPLOYING while deleted', () => {
    const o = obj({ metadata: { name: 'dm1', creationTimestamp: '2026-01-02T03:04:05Z' } });
    expect(toWire(o, 'acme')).toEqual({
      name: 'accounts/acme/deployedModels/dm1',
      createTime: '2026-01-02T03:04:05Z',
      updateTime: '2026-01-02T03:04:05Z',
      model: 'accounts/acme/models/l',
      deployment: 'accounts/acme/deployments/d',
      default: true,
      state: 'DEPLOYING',
    });
    expect(wireState(obj({ status: { state: 'DEPLOYED' } }))).toBe('DEPLOYED');
    expect(wireState(obj({ status: { state: 'STATE_UNSPECIFIED' } }))).toBe('DEPLOYING');
    expect(wireState(obj({ metadata: { name: 'dm1', deletionTimestamp: '2026-01-02T03:04:05Z' } as CustomObject['metadata'] }))).toBe('UNDEPLOYING');
    expect(deployedModelRef(obj({ spec: { ...obj().spec, public: false } }), 'acme')).toEqual({ name: 'accounts/acme/deployedModels/dm1', deployment: 'accounts/acme/deployments/d', state: 'DEPLOYING', default: true, public: false });
  });

  it('drops output-only fields on input', () => {
    expect(specFromWire({ name: 'x', state: 'DEPLOYED', createTime: 'x', status: {}, model: 'm', public: true })).toEqual({ model: 'm', public: true });
  });
});
