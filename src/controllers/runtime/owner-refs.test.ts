import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { DeletedFinalStateUnknown } from '../../kube/informer.js';
import { controllerOf, enqueueMapped, enqueueObject, enqueueOwner, isControlledBy, ownerKey, ownerReference, refersTo } from './owner-refs.js';

const OWNER = { apiVersion: 'hearth.dev/v1alpha1', kind: 'Deployment' };

function ref(over: Partial<V1OwnerReference> = {}): V1OwnerReference {
  return { apiVersion: 'hearth.dev/v1alpha1', kind: 'Deployment', name: 'llama', uid: 'u1', controller: true, ...over };
}

function child(refs: V1OwnerReference[] | undefined, namespace = 'acct-a', name = 'llama-server'): KubernetesObject {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { namespace, name, ownerReferences: refs } };
}

describe('owner routing', () => {
  it.each([
    ['the controller ref of the owner kind', [ref()], 'acct-a/llama'],
    ['a controller ref under another version of the same group', [ref({ apiVersion: 'hearth.dev/v1' })], 'acct-a/llama'],
    ['only a non-controller ref', [ref({ controller: false })], undefined],
    ['a ref with controller unset', [ref({ controller: undefined })], undefined],
    ['a controller of another kind', [ref({ kind: 'BatchJob' })], undefined],
    ['a controller of the same kind in another group (apps/v1 Deployment)', [ref({ apiVersion: 'apps/v1' })], undefined],
    ['no ownerReferences', undefined, undefined],
    ['a non-controller ref of our kind beside a foreign controller', [ref({ controller: false, name: 'x' }), ref({ kind: 'ReplicaSet', apiVersion: 'apps/v1' })], undefined],
  ])('%s → %s', (_name, refs, want) => {
    expect(ownerKey(child(refs), OWNER)).toBe(want);
  });

  it('unwraps tombstones', () => {
    const c = child([ref()]);
    expect(ownerKey(new DeletedFinalStateUnknown('acct-a/llama-server', c), OWNER)).toBe('acct-a/llama');
  });

  it('controllerOf picks the controller among several refs', () => {
    const c = child([ref({ controller: false, name: 'a' }), ref({ name: 'b' })]);
    expect(controllerOf(c)?.name).toBe('b');
  });

  it('refersTo compares group and kind, for the core group too', () => {
    expect(refersTo({ apiVersion: 'v1', kind: 'ConfigMap' }, { apiVersion: 'v1', kind: 'ConfigMap' })).toBe(true);
    expect(refersTo({ apiVersion: 'v1', kind: 'ConfigMap' }, { apiVersion: 'x.io/v1', kind: 'ConfigMap' })).toBe(false);
  });

  it('enqueueOwner routes add, delete (tombstone too) and both owners of an update whose controller changed', () => {
    const keys: string[] = [];
    const h = enqueueOwner(OWNER, (k) => keys.push(k));
    const a = child([ref({ name: 'one' })]);
    const b = child([ref({ name: 'two' })]);
    h.add?.(a);
    h.update?.(a, b);
    h.update?.(b, b);
    h.delete?.(b);
    h.delete?.(new DeletedFinalStateUnknown('acct-a/llama-server', a));
    h.add?.(child([ref({ kind: 'Other' })]));
    expect(keys).toEqual(['acct-a/one', 'acct-a/one', 'acct-a/two', 'acct-a/two', 'acct-a/two', 'acct-a/one']);
  });

  it('enqueueObject uses the tombstone key for inferred deletes', () => {
    const keys: string[] = [];
    const h = enqueueObject<KubernetesObject>((o) => `${o.metadata?.namespace}/${o.metadata?.name}`, (k) => keys.push(k));
    h.delete?.(new DeletedFinalStateUnknown('ns/gone', child(undefined, 'ns', 'gone')));
    h.update?.(child(undefined, 'ns', 'x'), child(undefined, 'ns', 'x'));
    expect(keys).toEqual(['ns/gone', 'ns/x']);
  });

  it('enqueueMapped enqueues the union of old and new mappings on update', () => {
    const keys: string[] = [];
    const h = enqueueMapped<KubernetesObject>((o) => [String(o.metadata?.labels?.owner)], (k) => keys.push(k));
    const o1 = { metadata: { name: 'n', labels: { owner: 'ns/a' } } };
    const o2 = { metadata: { name: 'n', labels: { owner: 'ns/b' } } };
    h.update?.(o1, o2);
    expect(keys).toEqual(['ns/a', 'ns/b']);
  });
});

// A hearth.dev Deployment as read from the API server (deployment/testing.ts's hearthDeployment()).
const UID = '0b5c6a1e-0000-4000-8000-000000000001';
const owner = { apiVersion: 'hearth.dev/v1alpha1', kind: 'Deployment', metadata: { name: 'chat', namespace: 'acct-acme', uid: UID as unknown } };
const uid = UID;
const ownerRef = (over: Partial<V1OwnerReference>): V1OwnerReference => ({
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
    expect(() => ownerReference({ ...owner, metadata: { ...owner.metadata, uid: undefined } })).toThrow(/no metadata.name or metadata.uid/);
  });
});

describe('isControlledBy', () => {
  it.each([
    { name: 'our controller reference', refs: [ownerRef({})], want: true },
    { name: 'ours among others', refs: [ownerRef({ uid: 'other', controller: false }), ownerRef({})], want: true },
    { name: 'no ownerReferences', refs: undefined, want: false },
    { name: 'owned by us but not as controller', refs: [ownerRef({ controller: false })], want: false },
    { name: 'controller is someone else', refs: [ownerRef({ uid: 'someone-else' })], want: false },
    { name: 'same name, recreated owner (new uid)', refs: [ownerRef({ uid: 'old-uid' })], want: false },
    { name: 'controller flag unset', refs: [ownerRef({ controller: undefined })], want: false },
  ])('$name → $want', ({ refs, want }) => {
    expect(isControlledBy({ metadata: { name: 'chat-server', ownerReferences: refs } }, owner)).toBe(want);
  });

  it('is false for an object without metadata and for an owner without uid', () => {
    expect(isControlledBy({}, owner)).toBe(false);
    expect(isControlledBy({ metadata: { ownerReferences: [ownerRef({ uid: '' })] } }, { metadata: { uid: '' } })).toBe(false);
    expect(isControlledBy({ metadata: { ownerReferences: [ownerRef({})] } }, { metadata: { uid: 42 } })).toBe(false);
  });

  it('finds the controller reference', () => {
    expect(controllerOf({ metadata: { ownerReferences: [ownerRef({ controller: false, uid: 'x' }), ownerRef({})] } })?.uid).toBe(uid);
  });
});
