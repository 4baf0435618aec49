import { describe, expect, it } from 'vitest';
import { isResourceId, parseResourceName, resourceName, validateResourceId } from './resource-names.js';

describe('resource ids', () => {
  it.each(['a', 'my-deployment', 'd1', 'a'.repeat(63), 'x-1-y'])('accepts %s', (id) => {
    expect(isResourceId(id)).toBe(true);
    expect(validateResourceId(id, 'deploymentId')).toBe(id);
  });

  it.each<[unknown, RegExp]>([
    ['', /is required/],
    [undefined, /is required/],
    ['a'.repeat(64), /at most 63/],
    ['1abc', /must not start with a digit/],
    ['-abc', /start or end with '-'/],
    ['abc-', /start or end with '-'/],
    ['My_Model', /lower-case letters, digits and '-'/],
    ['a/b', /lower-case letters/],
  ])('rejects %j', (id, rule) => {
    expect(() => validateResourceId(id, 'deploymentId')).toThrow(rule);
    expect(() => validateResourceId(id, 'deploymentId')).toThrow(/^deploymentId: /);
  });
});

describe('resource names', () => {
  it('round-trips', () => {
    expect(parseResourceName(resourceName('acme', 'models', 'lora-1'), 'models', 'model')).toEqual({ accountId: 'acme', id: 'lora-1' });
  });

  it.each(['accounts/acme/datasets/x', 'accounts/acme/models', 'accounts/acme/models/x/y', 'models/x', 'accounts/Acme/models/x', 42])('rejects %j', (name) => {
    expect(() => parseResourceName(name, 'models', 'deployedModel.model')).toThrow(/^deployedModel\.model: /);
  });
});
