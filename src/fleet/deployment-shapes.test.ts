import { describe, expect, it } from 'vitest';
import { BASE_MODELS, MAX_ACCELERATORS_PER_NODE, minimumAcceleratorCount } from './base-models.js';
import { ACCELERATORS } from './catalog.js';
import { DEPLOYMENT_SHAPES, deploymentShape, deriveDeploymentShapes } from './deployment-shapes.js';

describe('deployment shapes from the fleet catalog', () => {
  it('sizes a small model with one accelerator of each type, FP8 only where the accelerator serves it', () => {
    const shapes = DEPLOYMENT_SHAPES.filter((s) => s.baseModel === 'accounts/fireworks/models/llama-v3p1-8b-instruct');
    expect(shapes.map((s) => [s.id, s.acceleratorType, s.acceleratorCount, s.precision, s.maxContextLength])).toEqual([
      ['llama-v3p1-8b-instruct-a100', 'NVIDIA_A100_80GB', 1, 'FP16', 131072],
      ['llama-v3p1-8b-instruct-h100', 'NVIDIA_H100_80GB', 1, 'FP8', 131072],
      ['llama-v3p1-8b-instruct-h200', 'NVIDIA_H200_141GB', 1, 'FP16', 131072],
      ['llama-v3p1-8b-instruct-mi300x', 'AMD_MI300X_192GB', 1, 'FP16', 131072],
    ]);
    expect(shapes[0]!.parameterCount).toBe(8_000_000_000);
  });

  it('uses the controller sizing rule: 70B needs 4 A100 at FP16 and 2 H100 at FP8', () => {
    expect(deploymentShape('llama-v3p1-70b-instruct-a100')).toMatchObject({ acceleratorCount: 4, precision: 'FP16' });
    expect(deploymentShape('llama-v3p1-70b-instruct-h100')).toMatchObject({ acceleratorCount: 2, precision: 'FP8' });
    for (const s of DEPLOYMENT_SHAPES) {
      const model = BASE_MODELS[s.baseModel.split('/')[3]!]!;
      expect(s.acceleratorCount).toBe(minimumAcceleratorCount(model, s.acceleratorType, s.precision));
    }
  });

  it('offers no shape that does not fit one node, nor a mixture-of-experts model on an accelerator without MoE support', () => {
    expect(DEPLOYMENT_SHAPES.every((s) => s.acceleratorCount <= MAX_ACCELERATORS_PER_NODE)).toBe(true);
    expect(DEPLOYMENT_SHAPES.filter((s) => s.baseModel.endsWith('/deepseek-v3'))).toEqual([]);
    expect(deploymentShape('llama-v3p1-405b-instruct-h100')).toMatchObject({ acceleratorCount: 8, precision: 'FP8' });
    expect(deploymentShape('llama-v3p1-405b-instruct-a100')).toBeUndefined();
    expect(deploymentShape('mixtral-8x7b-instruct-mi300x')).toBeUndefined();
    expect(ACCELERATORS.AMD_MI300X_192GB.moeSupported).toBe(false);
  });

  it('gives ids that are resource ids and versions that change with the settings only', () => {
    expect(new Set(DEPLOYMENT_SHAPES.map((s) => s.id)).size).toBe(DEPLOYMENT_SHAPES.length);
    for (const s of DEPLOYMENT_SHAPES) expect(s.id).toMatch(/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/);
    const again = deriveDeploymentShapes();
    expect(again.map((s) => s.versionId)).toEqual(DEPLOYMENT_SHAPES.map((s) => s.versionId));
    const longer = deriveDeploymentShapes({ m: { path: 'x/m', parametersB: 8, contextLength: 8192 } });
    const shorter = deriveDeploymentShapes({ m: { path: 'x/m', parametersB: 8, contextLength: 4096 } });
    expect(longer[0]!.versionId).toMatch(/^[0-9a-f]{8}$/);
    expect(longer[0]!.versionId).not.toBe(shorter[0]!.versionId);
  });
});
