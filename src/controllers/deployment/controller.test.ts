import { describe, expect, it } from 'vitest';
import { podOwnerKey } from './controller.js';

describe('podOwnerKey', () => {
  it.each([
    ['a model-server pod', { 'app.kubernetes.io/managed-by': 'hearth', 'hearth.dev/deployment': 'chat' }, ['acct-acme/chat']],
    ['a pod someone else manages', { 'hearth.dev/deployment': 'chat' }, []],
    ['an unlabelled pod', undefined, []],
  ])('%s', (_name, labels, keys) => {
    expect(podOwnerKey({ metadata: { namespace: 'acct-acme', name: 'p', labels } })).toEqual(keys);
  });
});
