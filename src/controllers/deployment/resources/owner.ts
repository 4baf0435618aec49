// Controller ownerReferences: set on every child, and checked before the reconciler touches an
// object, so Hearth never adopts or overwrites something it does not own (sample-controller's
// `metav1.IsControlledBy`, KServe's "not owned" condition).
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';

/**
 * What the builders need of the owner. The hearth.dev `Deployment` of src/crds satisfies it (its
 * metadata is a loose object, so `uid` is `unknown` there); so does any object read from the API.
 */
export interface Owner {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; uid?: unknown };
}

/** The controller ownerReference a child of `dep` carries; garbage collection follows it. */
export function ownerReference(dep: Owner): V1OwnerReference {
  const uid = dep.metadata.uid;
  const name = dep.metadata.name;
  // An owner without a uid has not been read from the API server: a child pointing at it would be
  // garbage-collected at once. That is a programming error, not a user error.
  if (typeof uid !== 'string' || uid === '' || !name) {
    throw new Error(`ownerReference: ${dep.kind} ${name ?? '(unnamed)'} has no metadata.name or metadata.uid`);
  }
  return {
    apiVersion: dep.apiVersion,
    kind: dep.kind,
    name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The ownerReference with `controller: true`, if any (`metav1.GetControllerOf`). */
export function controllerOf(obj: { metadata?: V1ObjectMeta }): V1OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((ref) => ref.controller === true);
}

/**
 * True when `owner` is the controller of `obj` (`metav1.IsControlledBy`): the controller
 * ownerReference carries the owner's uid. A name match is not enough: a Deployment deleted and
 * recreated under the same name has a new uid and must not take over the old one's children.
 */
export function isControlledBy(obj: { metadata?: V1ObjectMeta }, owner: Pick<Owner, 'metadata'>): boolean {
  const ref = controllerOf(obj);
  const uid = owner.metadata.uid;
  return ref !== undefined && typeof uid === 'string' && uid !== '' && ref.uid === uid;
}
