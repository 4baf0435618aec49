import { describe, expect, it } from 'vitest';
import { parseModelId } from './model-id.js';

describe('parseModelId', () => {
  it.each([
    [
      'accounts/fireworks/models/mixtral-8x7b#accounts/alice/deployments/12345678',
      { kind: 'modelOnDeployment', model: { account: 'fireworks', id: 'mixtral-8x7b' }, deployment: { account: 'alice', id: '12345678' } },
    ],
    [
      'accounts/alice/models/custom-model#accounts/alice/deployments/12345678',
      { kind: 'modelOnDeployment', model: { account: 'alice', id: 'custom-model' }, deployment: { account: 'alice', id: '12345678' } },
    ],
    ['fireworks/mixtral-8x7b#alice/12345678', { kind: 'modelOnDeployment', model: { account: 'fireworks', id: 'mixtral-8x7b' }, deployment: { account: 'alice', id: '12345678' } }],
    // the halves may mix the long and short forms
    ['accounts/acmeInc/models/m#acmeInc/12ab34cd56ef', { kind: 'modelOnDeployment', model: { account: 'acmeInc', id: 'm' }, deployment: { account: 'acmeInc', id: '12ab34cd56ef' } }],
    ['a/m#accounts/b/deployments/d', { kind: 'modelOnDeployment', model: { account: 'a', id: 'm' }, deployment: { account: 'b', id: 'd' } }],
    ['accounts/alice/deployedModels/mixtral-8x7b-abcdef', { kind: 'deployedModel', deployedModel: { account: 'alice', id: 'mixtral-8x7b-abcdef' } }],
    ['accounts/alice/models/custom-model', { kind: 'model', model: { account: 'alice', id: 'custom-model' } }],
    ['alice/custom-model', { kind: 'model', model: { account: 'alice', id: 'custom-model' } }],
    ['accounts/fireworks/models/llama-v3p1-8b-instruct', { kind: 'model', model: { account: 'fireworks', id: 'llama-v3p1-8b-instruct' } }],
  ])('%s', (raw, want) => {
    expect(parseModelId(raw)).toEqual(want);
  });

  it.each([
    '',
    'gpt-4',
    'accounts/a/models/m#',
    '#accounts/a/deployments/d',
    'accounts/a/models/m#accounts/a/deployments/d#x',
    'accounts/a/deployments/d',
    'accounts/a/deployedModels/x#accounts/a/deployments/d',
    'a/deployedModels/x',
    'accounts/a/models/m/extra',
    'a/m#a',
    'a/m#accounts/a/models/d',
    'accounts//models/m',
    'a/-m',
    'a/m m',
    `a/${'x'.repeat(700)}`,
  ])('refuses %j', (raw) => {
    expect(parseModelId(raw)).toBeUndefined();
  });
});
