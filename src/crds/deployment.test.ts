import { describe, expect, it } from 'vitest';
import { DeploymentSpec, replicaBounds } from './deployment.js';

describe('replicaBounds', () => {
  const spec = (s: Record<string, unknown>) => DeploymentSpec.parse({ baseModel: 'm', ...s });

  it('defaults max to max(min, 1), as the docs say', () => {
    expect(replicaBounds(spec({}))).toEqual({ min: 0, max: 1, fixed: false });
    expect(replicaBounds(spec({ minReplicaCount: 3 }))).toEqual({ min: 3, max: 3, fixed: false });
    expect(replicaBounds(spec({ minReplicaCount: 1, maxReplicaCount: 4 }))).toEqual({ min: 1, max: 4, fixed: false });
    expect(replicaBounds(spec({ maxReplicaCount: 0 }))).toEqual({ min: 0, max: 0, fixed: false });
  });

  it('pins both bounds to replicaCount when it is set (kubectl scale, HPA, :scale)', () => {
    expect(replicaBounds(spec({ minReplicaCount: 1, maxReplicaCount: 4, replicaCount: 6 }))).toEqual({ min: 6, max: 6, fixed: true });
  });
});
