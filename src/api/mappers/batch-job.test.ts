import { describe, expect, it } from 'vitest';
import type { CustomObject } from '../kube/kind-client.js';
import { JOB_ANNOTATIONS, batchJobName, idOfObjectName, newBatchJobObject, nextBatchJobId, objectNameOf, specFromWire, toWire, wireState } from './batch-job.js';

function obj(over: Partial<CustomObject> & { name?: string } = {}): CustomObject {
  const { name = 'bj-7', ...rest } = over;
  return {
    apiVersion: 'hearth.dev/v1alpha1',
    kind: 'BatchJob',
    metadata: { name, namespace: 'acct-acme', creationTimestamp: '2026-01-02T03:04:05Z', resourceVersion: '3' },
    spec: { nodePoolId: 'pool', imageRef: 'busybox', shellExecutor: { command: 'echo hi' } },
    ...rest,
  };
}

describe('batch job mapper', () => {
  it('names job 7 accounts/{a}/clusters/default/batchJobs/7 and its object bj-7', () => {
    expect(objectNameOf('7')).toBe('bj-7');
    expect(idOfObjectName('bj-7')).toBe('7');
    expect(idOfObjectName('bj-07')).toBeUndefined();
    expect(idOfObjectName('made-with-kubectl')).toBeUndefined();
    expect(batchJobName('acme', '7')).toBe('accounts/acme/clusters/default/batchJobs/7');
    const w = toWire(obj({ status: { state: 'RUNNING', startTime: '2026-01-02T03:05:00Z', status: 'running on 2 ranks' } }), 'acme');
    expect(w).toEqual({
      name: 'accounts/acme/clusters/default/batchJobs/7',
      nodePoolId: 'pool',
      imageRef: 'busybox',
      shellExecutor: { command: 'echo hi' },
      createTime: '2026-01-02T03:04:05Z',
      startTime: '2026-01-02T03:05:00Z',
      updateTime: '2026-01-02T03:04:05Z',
      state: 'RUNNING',
      status: 'running on 2 ranks',
    });
    // An object made with kubectl keeps its own name as the id.
    expect(toWire(obj({ name: 'nightly' }), 'acme').name).toBe('accounts/acme/clusters/default/batchJobs/nightly');
  });

  it('reads CREATING before the controller reports, CANCELLING after :cancel until a final state, DELETING while finalizing', () => {
    expect(wireState(obj())).toBe('CREATING');
    expect(wireState(obj({ status: { state: 'STATE_UNSPECIFIED' } }))).toBe('CREATING');
    const cancelled = { annotations: { [JOB_ANNOTATIONS.cancelRequested]: '2026-01-02T04:00:00Z' } };
    expect(wireState(obj({ metadata: { ...obj().metadata, ...cancelled }, status: { state: 'RUNNING' } }))).toBe('CANCELLING');
    expect(wireState(obj({ metadata: { ...obj().metadata, ...cancelled }, status: { state: 'CANCELLED' } }))).toBe('CANCELLED');
    expect(wireState(obj({ metadata: { ...obj().metadata, ...cancelled }, status: { state: 'COMPLETED' } }))).toBe('COMPLETED');
    expect(wireState(obj({ metadata: { ...obj().metadata, deletionTimestamp: '2026-01-02T04:00:00Z' }, status: { state: 'RUNNING' } }))).toBe('DELETING');
  });

  it('drops output-only fields on input and records the creator', () => {
    expect(specFromWire({ nodePoolId: 'p', name: 'x', state: 'RUNNING', createdBy: 'eve@x', createTime: 'x' })).toEqual({ nodePoolId: 'p' });
    const o = newBatchJobObject({ accountId: 'acme', namespace: 'acct-acme', id: '3', spec: { nodePoolId: 'p' }, createdBy: 'ann@acme.example' });
    expect(o.metadata).toEqual({ name: 'bj-3', namespace: 'acct-acme', labels: { 'hearth.dev/account': 'acme' }, annotations: { [JOB_ANNOTATIONS.createdBy]: 'ann@acme.example' } });
    expect(toWire(o, 'acme').createdBy).toBe('ann@acme.example');
  });

  it('proposes one more than the largest numeric id, ignoring objects not named by the API', () => {
    expect(nextBatchJobId([])).toBe('1');
    expect(nextBatchJobId([obj({ name: 'bj-2' }), obj({ name: 'bj-10' }), obj({ name: 'nightly' }), obj({ name: 'bj-x' })])).toBe('11');
    expect(nextBatchJobId([obj({ name: 'bj-9007199254740993' })])).toBe('9007199254740994');
  });
});
