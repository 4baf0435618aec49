// Controller ownerReferences: set on every child, checked before a reconciler touches an object
// (so Hearth never adopts or overwrites something it does not own: sample-controller's
// `metav1.IsControlledBy`, KServe's "not owned" condition), and used to route a child's events to
// its owner's key (metav1.GetControllerOf + controller-runtime's EnqueueRequestForOwner with
// OnlyControllerOwner).
import type { KubernetesObject, V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { DeletedFinalStateUnknown, unwrapTombstone, type EventHandlers } from '../../kube/informer.js';
import { keyOf } from '../../kube/keys.js';

export interface OwnerType {
  /** e.g. 'hearth.dev/v1alpha1' */
  apiVersion: string;
  /** e.g. 'Deployment' */
  kind: string;
}

/**
 * What an owner must have for children to point at it. Every hearth.dev kind of src/crds satisfies
 * it (their metadata is a loose object, so `uid` is `unknown` there); so does any object read from
 * the API.
 */
export interface Owner {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; uid?: unknown };
}

/** The ownerReference with `controller: true`, if any (`metav1.GetControllerOf`). */
export function controllerOf(obj: { metadata?: V1ObjectMeta }): V1OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** The controller ownerReference a child of `owner` carries; garbage collection follows it. */
export function ownerReference(owner: Owner): V1OwnerReference {
  const uid = owner.metadata.uid;
  const name = owner.metadata.name;
  // An owner without a uid has not been read from the API server: a child pointing at it would be
  // garbage-collected at once. That is a programming error, not a user error.
  if (typeof uid !== 'string' || uid === '' || !name) {
    throw new Error(`ownerReference: ${owner.kind} ${name ?? '(unnamed)'} has no metadata.name or metadata.uid`);
  }
  return { apiVersion: owner.apiVersion, kind: owner.kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/**
 * True when `owner` is the controller of `obj` (`metav1.IsControlledBy`): the controller
 * ownerReference carries the owner's uid. A name match is not enough: an owner deleted and
 * recreated under the same name has a new uid and must not take over the old one's children.
 */
export function isControlledBy(obj: { metadata?: V1ObjectMeta }, owner: Pick<Owner, 'metadata'>): boolean {
  const ref = controllerOf(obj);
  const uid = owner.metadata.uid;
  return ref !== undefined && typeof uid === 'string' && uid !== '' && ref.uid === uid;
}

function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/**
 * True if `ref` points at an object of `owner`'s kind. Group and kind must match; the version may
 * differ (as in controller-runtime) because an ownerReference written under an older served
 * version still names the same object.
 */
export function refersTo(ref: Pick<V1OwnerReference, 'apiVersion' | 'kind'>, owner: OwnerType): boolean {
  return ref.kind === owner.kind && groupOf(ref.apiVersion) === groupOf(owner.apiVersion);
}

/** The owner's key for a child controlled by an object of `owner`'s type, else undefined. */
export function ownerKey(child: KubernetesObject | DeletedFinalStateUnknown<KubernetesObject>, owner: OwnerType): string | undefined {
  const obj = unwrapTombstone(child);
  const ref = controllerOf(obj);
  if (!ref || !refersTo(ref, owner) || !ref.name) return undefined;
  // Namespaced children can only be owned by objects in their own namespace (or cluster-scoped ones).
  return keyOf(obj.metadata?.namespace, ref.name);
}

/**
 * Informer handlers that enqueue the controlling owner's key for every child event. On an update
 * whose controller changed, both the old and the new owner are enqueued.
 */
export function enqueueOwner<T extends KubernetesObject>(owner: OwnerType, enqueue: (key: string) => void): EventHandlers<T> {
  const route = (o: T | DeletedFinalStateUnknown<T>): void => {
    const key = ownerKey(o, owner);
    if (key !== undefined) enqueue(key);
  };
  return {
    add: route,
    update: (oldObj, newObj) => {
      const a = ownerKey(oldObj, owner);
      const b = ownerKey(newObj, owner);
      if (a !== undefined && a !== b) enqueue(a);
      if (b !== undefined) enqueue(b);
    },
    delete: route,
  };
}

/** Informer handlers that enqueue the object's own key. */
export function enqueueObject<T extends KubernetesObject>(keyFn: (o: T) => string, enqueue: (key: string) => void): EventHandlers<T> {
  return {
    add: (o) => enqueue(keyFn(o)),
    update: (_old, o) => enqueue(keyFn(o)),
    delete: (o) => enqueue(o instanceof DeletedFinalStateUnknown ? o.key : keyFn(o)),
  };
}

/** Informer handlers that enqueue the keys `map` returns for an object (controller-runtime's EnqueueRequestsFromMapFunc). */
export function enqueueMapped<T extends KubernetesObject>(map: (o: T) => string[], enqueue: (key: string) => void): EventHandlers<T> {
  const route = (o: T | DeletedFinalStateUnknown<T>): void => {
    for (const k of map(unwrapTombstone(o))) enqueue(k);
  };
  return {
    add: route,
    update: (oldObj, newObj) => {
      for (const k of new Set([...map(oldObj), ...map(newObj)])) enqueue(k);
    },
    delete: route,
  };
}
