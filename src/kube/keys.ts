// Work-queue keys: `namespace/name` for namespaced objects, `name` for cluster-scoped ones
// (client-go's MetaNamespaceKeyFunc / SplitMetaNamespaceKey).
import type { KubernetesObject } from '@kubernetes/client-node';

export function objectKey(obj: KubernetesObject): string {
  const name = obj.metadata?.name ?? '';
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

export function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** Splits a key; throws on a key that is neither `name` nor `namespace/name`. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const parts = key.split('/');
  if (parts.length === 1 && parts[0]) return { name: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { namespace: parts[0], name: parts[1] };
  throw new Error(`invalid key ${JSON.stringify(key)}: want "name" or "namespace/name"`);
}
