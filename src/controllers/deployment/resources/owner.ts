// Controller ownerReferences: set on every child, and checked before the reconciler touches an
// object, so Hearth never adopts or overwrites something it does not own (sample-controller's
// `metav1.IsControlledBy`, KServe's "not owned" condition).
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import type { HearthDeployment, OwnerMeta } from '../types.js';

/** The controller ownerReference a child of `dep` carries; garbage collection follows it. */
export function ownerReference(dep: Pick<HearthDeployment, 'apiVersion' | 'kind' | 'metadata'>): V1OwnerReference {
  const uid = dep.metadata.uid;
  // An owner without a uid has not been read from the API server: a child pointing at it would be
  // garbage-collected at once. That is a programming error, not a user error.
  if (!uid) throw new Error(`ownerReference: ${dep.kind} ${dep.metadata.name} has no metadata.uid`);
  return {
    apiVersion: dep.apiVersion,
    kind: dep.kind,
    name: dep.metadata.name,
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
export function isControlledBy(obj: { metadata?: V1ObjectMeta }, owner: { metadata: Pick<OwnerMeta, 'uid'> }): boolean {
  const ref = controllerOf(obj);
  return ref !== undefined && owner.metadata.uid !== undefined && ref.uid === owner.metadata.uid;
}
