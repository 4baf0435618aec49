import { describe, expect, it } from 'vitest';
import type { CustomObject } from '../kube/kind-client.js';
import { toWire as environmentToWire, wireState as environmentState } from './environment.js';

describe('environment mapper', () => {
  const env = (over: Partial<CustomObject> = {}): CustomObject => ({
    apiVersion: 'hearth.dev/v1alpha1',
    kind: 'Environment',
    metadata: { name: 'e1', namespace: 'acct-acme', creationTimestamp: '2026-11-26T10:00:00Z', annotations: { 'hearth.dev/created-by': 'ann@acme.example' } },
    spec: { displayName: 'Dev' },
    ...over,
  });

  it('shows the requested connection with the reported zone, the creator and the status images', () => {
    const w = environmentToWire(
      env({ spec: { displayName: 'Dev', connection: { nodePoolId: 'p1', numRanks: 1 } }, status: { state: 'CONNECTED', connection: { nodePoolId: 'p1', zone: 'z1' }, imageRef: 'img@sha256:1' } }),
      'acme',
    );
    expect(w).toEqual({
      name: 'accounts/acme/clusters/default/environments/e1',
      displayName: 'Dev',
      createTime: '2026-11-26T10:00:00Z',
      updateTime: '2026-11-26T10:00:00Z',
      createdBy: 'ann@acme.example',
      state: 'CONNECTED',
      connection: { nodePoolId: 'p1', numRanks: 1, zone: 'z1' },
      imageRef: 'img@sha256:1',
    });
  });

  it('derives CREATING, CONNECTING, DISCONNECTING and DELETING; otherwise reports the controller state', () => {
    expect(environmentState(env())).toBe('CREATING');
    expect(environmentState(env({ status: { state: 'DISCONNECTED' } }))).toBe('DISCONNECTED');
    expect(environmentState(env({ spec: { connection: { nodePoolId: 'p1' } }, status: { state: 'DISCONNECTED' } }))).toBe('CONNECTING');
    expect(environmentState(env({ status: { state: 'CONNECTED' } }))).toBe('DISCONNECTING');
    expect(environmentState(env({ metadata: { name: 'e1', deletionTimestamp: '2026-11-26T11:00:00Z' }, status: { state: 'CONNECTED' } }))).toBe('DELETING');
  });
});
