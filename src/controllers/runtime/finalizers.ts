// Finalizers: added before a controller creates state garbage collection cannot reach (quota
// holds in PostgreSQL, ledger rows, cloud nodes), removed once that state is released. Both are a
// merge patch of the whole list guarded by the resourceVersion the decision was made on, so a
// list changed meanwhile (another controller's finalizer) fails the write with 409 — retried from
// a fresh read — instead of being overwritten.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ObjectWriter } from './writer.js';

export function finalizersOf(obj: KubernetesObject): string[] {
  return obj.metadata?.finalizers ?? [];
}

export function hasFinalizer(obj: KubernetesObject, name: string): boolean {
  return finalizersOf(obj).includes(name);
}

/** Adds `name`; returns the object written, or undefined when it was there already (no write). */
export async function addFinalizer<T extends KubernetesObject>(writer: Pick<ObjectWriter, 'setFinalizers'>, obj: T, name: string): Promise<T | undefined> {
  if (hasFinalizer(obj, name)) return undefined;
  return writer.setFinalizers(obj, [...finalizersOf(obj), name]);
}

/** Removes `name`; returns the object written, or undefined when it was not there (no write). */
export async function removeFinalizer<T extends KubernetesObject>(writer: Pick<ObjectWriter, 'setFinalizers'>, obj: T, name: string): Promise<T | undefined> {
  if (!hasFinalizer(obj, name)) return undefined;
  return writer.setFinalizers(
    obj,
    finalizersOf(obj).filter((f) => f !== name),
  );
}
