import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../crds/group.js';
import type { HearthObject } from '../runtime/writer.js';
import { deploymentName, fullModelName, idIn, makeDeployment, namesDeployment, requestModel } from './resources.js';

const job = (name: string, extra: Record<string, unknown> = {}) =>
  ({ apiVersion: API_VERSION, kind: 'BatchInferenceJob', metadata: { name, namespace: 'acct-acme', uid: 'u1', labels: { shard: 'a' } }, spec: { ...extra } }) as unknown as HearthObject<'BatchInferenceJob'>;

describe('resources', () => {
  it('names the job\'s deployment bij-<job>, shortened with a hash past 63 characters', () => {
    expect(deploymentName(job('nightly'))).toBe('bij-nightly');
    const long = `a${'b'.repeat(62)}`;
    const n = deploymentName(job(long));
    expect(n).toHaveLength(63);
    expect(n).toMatch(/^bij-ab+-[0-9a-f]{8}$/);
    expect(deploymentName(job(`${long.slice(0, 62)}c`))).not.toBe(n);
  });

  it('makeDeployment: one replica of the model, the job\'s labels, controlled by the job', () => {
    const d = makeDeployment(job('j', { precision: 'FP8' }), 'accounts/fireworks/models/m');
    expect(d).toEqual({
      apiVersion: API_VERSION,
      kind: 'Deployment',
      metadata: {
        name: 'bij-j',
        namespace: 'acct-acme',
        labels: { shard: 'a', 'app.kubernetes.io/managed-by': 'hearth', 'hearth.dev/batch-inference-job': 'j' },
        ownerReferences: [{ apiVersion: API_VERSION, kind: 'BatchInferenceJob', name: 'j', uid: 'u1', controller: true, blockOwnerDeletion: true }],
      },
      spec: { displayName: 'batch inference job j', baseModel: 'accounts/fireworks/models/m', minReplicaCount: 1, maxReplicaCount: 1, precision: 'FP8' },
    });
  });

  it('idIn: a bare id or the full name within the account', () => {
    expect(idIn('q', 'acme', 'datasets')).toBe('q');
    expect(idIn('accounts/acme/datasets/q', 'acme', 'datasets')).toBe('q');
    expect(idIn('accounts/other/datasets/q', 'acme', 'datasets')).toBeUndefined();
    expect(idIn('accounts/acme/models/q', 'acme', 'datasets')).toBeUndefined();
    expect(idIn('a/b', 'acme', 'datasets')).toBeUndefined();
  });

  it('model ids: which name a deployment, and what the requests carry', () => {
    expect(namesDeployment('accounts/f/models/m#accounts/a/deployments/d')).toBe(true);
    expect(namesDeployment('accounts/a/deployedModels/x')).toBe(true);
    expect(namesDeployment('accounts/f/models/m')).toBe(false);
    expect(fullModelName('f/m')).toBe('accounts/f/models/m');
    expect(requestModel('f/m', 'acme', 'bij-j')).toBe('accounts/f/models/m#accounts/acme/deployments/bij-j');
    expect(requestModel('f/m', 'acme', undefined)).toBe('f/m');
  });
});
