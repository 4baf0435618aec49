import { describe, expect, it } from 'vitest';
import { applyFieldMask, applyReadMask, fieldMaskFromBody, parseFieldMask, updatePaths } from './field-mask.js';

describe('field masks', () => {
  it('parses masks, snake_case included', () => {
    expect(parseFieldMask('displayName, autoscaling_policy.scale_up_window', 'updateMask')).toEqual(['displayName', 'autoscalingPolicy.scaleUpWindow']);
    expect(parseFieldMask('', 'readMask')).toBeUndefined();
    expect(parseFieldMask('*', 'readMask')).toBeUndefined();
    expect(() => parseFieldMask('a,,b', 'updateMask')).toThrow(/^updateMask: path 2/);
    expect(() => parseFieldMask('secret', 'updateMask', ['displayName'])).toThrow(/unknown field "secret"/);
    expect(parseFieldMask('annotations.team', 'updateMask', ['annotations'])).toEqual(['annotations.team']);
  });

  it('derives the update mask from the body, keeping maps atomic', () => {
    const body = { displayName: 'x', autoscalingPolicy: { scaleUpWindow: '30s', loadTargets: { default: 0.5 } }, annotations: { a: '1' }, minReplicaCount: 0 };
    expect(fieldMaskFromBody(body, ['annotations', 'autoscalingPolicy.loadTargets'])).toEqual([
      'displayName',
      'autoscalingPolicy.scaleUpWindow',
      'autoscalingPolicy.loadTargets',
      'annotations',
      'minReplicaCount',
    ]);
  });

  it('applies a read mask', () => {
    const obj = { name: 'n', state: 'READY', autoscalingPolicy: { scaleUpWindow: '30s', scaleDownWindow: '600s' } };
    expect(applyReadMask(obj, ['name', 'autoscalingPolicy.scaleUpWindow', 'missing'])).toEqual({ name: 'n', autoscalingPolicy: { scaleUpWindow: '30s' } });
    expect(applyReadMask(obj, undefined)).toBe(obj);
  });

  it('applies an update along the mask without touching the rest', () => {
    const target = { displayName: 'old', minReplicaCount: 2, autoscalingPolicy: { scaleUpWindow: '30s', scaleDownWindow: '600s' }, annotations: { a: '1', b: '2' } };
    const patch = { autoscalingPolicy: { scaleUpWindow: '60s' }, annotations: { c: '3' } };
    const out = applyFieldMask(target, patch, fieldMaskFromBody(patch, ['annotations']));
    expect(out).toEqual({ displayName: 'old', minReplicaCount: 2, autoscalingPolicy: { scaleUpWindow: '60s', scaleDownWindow: '600s' }, annotations: { c: '3' } });
    expect(target.autoscalingPolicy.scaleUpWindow).toBe('30s');
    // An explicit mask naming a field absent from the body clears it.
    expect(applyFieldMask(target, {}, ['displayName'])).not.toHaveProperty('displayName');
  });
});

describe('updatePaths', () => {
  const rules = { writable: ['displayName', 'autoscalingPolicy'], outputOnly: ['state', 'name'], atomic: ['autoscalingPolicy'] };
  it('takes the mask from the body, drops output-only fields, refuses unknown ones on updateMask', () => {
    expect(updatePaths({ displayName: 'x', state: 'READY', autoscalingPolicy: { scaleUpWindow: '1s' } }, undefined, rules)).toEqual(['displayName', 'autoscalingPolicy']);
    expect(updatePaths({}, 'displayName,name', rules)).toEqual(['displayName']);
    expect(() => updatePaths({ bogus: 1 }, undefined, rules)).toThrow(/updateMask|bogus/);
  });
  it('asks a finer output-only test first when given', () => {
    expect(updatePaths({ displayName: 'x' }, 'displayName,displayName.sub', { writable: ['displayName'], isOutputOnly: (p) => p.includes('.') })).toEqual(['displayName']);
  });
});
