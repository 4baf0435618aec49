import type { V1OwnerReference } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { UID, hearthDeployment } from '../testing.js';
import { controllerOf, isControlledBy, ownerReference } from './owner.js';

const owner = hearthDeployment();
const uid = UID;
const ref = (over: Partial<V1OwnerReference>): V1OwnerReference => ({
  apiVersion: 'hearth.dev/v1alpha1',
  kind: 'Deployment',
  name: 'chat',
  uid,
  controller: true,
  ...over,
});

describe('ownerReference', () => {
  it('points at the hearth.dev Deployment as its controller, blocking its deletion', () => {
    expect(ownerReference(owner)).toEqual({
      apiVersion: 'hearth.dev/v1alpha1',
      kind: 'Deployment',
      name: 'chat',
      uid,
      controller: true,
      blockOwnerDeletion: true,
    });
  });

  it('refuses an owner that was never read from the API server', () => {
    expect(() => ownerReference(hearthDeployment({}, { uid: undefined }))).toThrow(/no metadata.name or metadata.uid/);
  });
});

describe('isControlledBy', () => {
  it.each([
    { name: 'our controller reference', refs: [ref({})], want: true },
    { name: 'ours among others', refs: [ref({ uid: 'other', controller: false }), ref({})], want: true },
    { name: 'no ownerReferences', refs: undefined, want: false },
    { name: 'owned by us but not as controller', refs: [ref({ controller: false })], want: false },
    { name: 'controller is someone else', refs: [ref({ uid: 'someone-else' })], want: false },
    { name: 'same name, recreated owner (new uid)', refs: [ref({ uid: 'old-uid' })], want: false },
    { name: 'controller flag unset', refs: [ref({ controller: undefined })], want: false },
  ])('$name → $want', ({ refs, want }) => {
    expect(isControlledBy({ metadata: { name: 'chat-server', ownerReferences: refs } }, owner)).toBe(want);
  });

  it('is false for an object without metadata and for an owner without uid', () => {
    expect(isControlledBy({}, owner)).toBe(false);
    expect(isControlledBy({ metadata: { ownerReferences: [ref({ uid: '' })] } }, { metadata: { uid: '' } })).toBe(false);
    expect(isControlledBy({ metadata: { ownerReferences: [ref({})] } }, { metadata: { uid: 42 } })).toBe(false);
  });

  it('finds the controller reference', () => {
    expect(controllerOf({ metadata: { ownerReferences: [ref({ controller: false, uid: 'x' }), ref({})] } })?.uid).toBe(uid);
  });
});
