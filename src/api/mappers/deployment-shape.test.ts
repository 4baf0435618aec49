import { describe, expect, it } from 'vitest';
import { DEPLOYMENT_SHAPES, deploymentShape } from '../../fleet/deployment-shapes.js';
import { applyShape, parseShapeRef, resolveShape, shapeToWire, shapeVersionToWire } from './deployment-shape.js';

const shape = deploymentShape('llama-v3p1-70b-instruct-a100')!;
const NAME = 'accounts/fireworks/deploymentShapes/llama-v3p1-70b-instruct-a100';
const VERSION = `${NAME}/versions/${shape.versionId}`;

describe('deployment shape wire', () => {
  it('names shapes and versions under accounts/fireworks, parameterCount as an int64 string', () => {
    expect(shapeToWire(shape)).toMatchObject({ name: NAME, parameterCount: '70000000000', acceleratorCount: 4, precision: 'FP16', presetType: 'MINIMAL' });
    expect(shapeVersionToWire(shape)).toMatchObject({ name: VERSION, snapshot: { name: NAME }, validated: true, public: true, latestValidated: true });
    expect(DEPLOYMENT_SHAPES.map(shapeToWire).every((w) => typeof w.parameterCount === 'string')).toBe(true);
  });
});

describe('deployment shape references', () => {
  it.each([
    ['llama-v3p1-70b-instruct-a100', { accountId: 'acme', id: 'llama-v3p1-70b-instruct-a100' }],
    [NAME, { accountId: 'fireworks', id: 'llama-v3p1-70b-instruct-a100' }],
    [VERSION, { accountId: 'fireworks', id: 'llama-v3p1-70b-instruct-a100', versionId: shape.versionId }],
  ])('parses %s', (ref, want) => {
    expect(parseShapeRef(ref, 'acme')).toEqual(want);
  });

  it.each(['', 'Shape', 'accounts/fireworks/models/x', 'accounts/fireworks/deploymentShapes', `${NAME}/versions`, `${NAME}/revisions/1`, `${NAME}/versions/A`])('rejects %j naming the field', (ref) => {
    expect(() => parseShapeRef(ref, 'acme')).toThrow(/^deploymentShape: must be a deployment shape id or name/);
  });

  it('resolves shapes of accounts/fireworks for any caller; the caller account and others hold none', () => {
    expect(resolveShape(NAME, 'acme')).toBe(shape);
    expect(resolveShape(VERSION, 'globex')).toBe(shape);
    expect(() => resolveShape('llama-v3p1-70b-instruct-a100', 'acme')).toThrow('deploymentShape "accounts/acme/deploymentShapes/llama-v3p1-70b-instruct-a100" not found');
    expect(() => resolveShape('accounts/globex/deploymentShapes/llama-v3p1-70b-instruct-a100', 'acme')).toThrow('accounts/globex/deploymentShapes/llama-v3p1-70b-instruct-a100" not found');
    expect(() => resolveShape(`${NAME}/versions/ffffffff`, 'acme')).toThrow(`deploymentShapeVersion "${NAME}/versions/ffffffff" not found`);
  });
});

describe('applying a shape to a deployment', () => {
  const base = { baseModel: 'accounts/fireworks/models/llama-v3p1-70b-instruct' };

  it('fills the settings the deployment leaves out and writes the version name', () => {
    expect(applyShape({ ...base, deploymentShape: NAME, displayName: 'x' }, shape)).toEqual({
      ...base,
      displayName: 'x',
      deploymentShape: VERSION,
      acceleratorType: 'NVIDIA_A100_80GB',
      acceleratorCount: 4,
      precision: 'FP16',
      maxContextLength: 131072,
    });
  });

  it('keeps agreeing explicit values and a shorter context window', () => {
    expect(applyShape({ ...base, acceleratorCount: 4, maxContextLength: 4096, placement: { region: 'US_ILLINOIS_2' } }, shape)).toMatchObject({ acceleratorCount: 4, maxContextLength: 4096 });
  });

  it.each([
    ['acceleratorType', 'NVIDIA_H100_80GB', 'NVIDIA_A100_80GB'],
    ['acceleratorCount', 8, '4'],
    ['precision', 'FP8', 'FP16'],
    ['maxContextLength', 131073, 'at most 131072'],
    ['baseModel', 'accounts/fireworks/models/other', 'accounts/fireworks/models/llama-v3p1-70b-instruct'],
  ])('refuses an explicit %s that contradicts the shape, naming both', (field, value, want) => {
    expect(() => applyShape({ ...base, [field]: value }, shape)).toThrow(`${field}: ${JSON.stringify(value)} contradicts deploymentShape ${NAME}, which sets ${want}; deploymentShape: ${NAME} sets ${field} ${want}`);
  });

  it('refuses a region that does not offer the accelerator, naming the placement field', () => {
    expect(() => applyShape({ ...base, placement: { region: 'US_VIRGINIA_2' } }, shape)).toThrow(/^placement\.region: US_VIRGINIA_2 does not offer NVIDIA_A100_80GB, .* \(offered in US_ILLINOIS_2\)$/);
    expect(() => applyShape({ ...base, placement: { regions: ['EU_PARIS_1'] } }, shape)).toThrow(/^placement\.regions: none of EU_PARIS_1 offers NVIDIA_A100_80GB/);
    expect(applyShape({ ...base, placement: { regions: ['EU_PARIS_1', 'US_ILLINOIS_2'] } }, shape).placement).toEqual({ regions: ['EU_PARIS_1', 'US_ILLINOIS_2'] });
    expect(applyShape({ ...base, placement: { multiRegion: 'US' } }, shape).placement).toEqual({ multiRegion: 'US' });
    expect(() => applyShape({ ...base, placement: { multiRegion: 'EUROPE' } }, shape)).toThrow(/^placement\.multiRegion: no region of EUROPE offers NVIDIA_A100_80GB/);
  });
});
