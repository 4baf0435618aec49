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

describe('acceleratorType CPU (Hearth: the operator CPU runtime)', () => {
  const issues = (s: Record<string, unknown>) =>
    (DeploymentSpec.safeParse({ baseModel: 'm', acceleratorType: 'CPU', ...s }).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);

  it('is accepted alone', () => {
    expect(issues({})).toEqual([]);
    expect(DeploymentSpec.parse({ baseModel: 'm', acceleratorType: 'CPU' }).acceleratorType).toBe('CPU');
  });

  it.each([
    { name: 'acceleratorCount', s: { acceleratorCount: 1 }, want: 'acceleratorCount: acceleratorCount must be unset with acceleratorType CPU: a CPU replica has no accelerators' },
    { name: 'placement', s: { placement: { region: 'US_IOWA_1' } }, want: expect.stringMatching(/^placement: placement must be unset with acceleratorType CPU/) },
    { name: 'autoTune.longPrompt', s: { autoTune: { longPrompt: true } }, want: 'autoTune.longPrompt: autoTune.longPrompt needs accelerators (it doubles them); acceleratorType CPU has none' },
    { name: 'an FP8 precision', s: { precision: 'FP8' }, want: expect.stringMatching(/^precision: precision FP8 and FP8_\* require acceleratorType NVIDIA_H100_80GB/) },
  ])('refuses $name with a field error', ({ s, want }) => {
    expect(issues(s)).toEqual([want]);
  });

  it('a GPU type is unaffected by the CPU rules', () => {
    expect(issues({ acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 2, placement: { region: 'US_IOWA_1' } })).toEqual([]);
  });
});
