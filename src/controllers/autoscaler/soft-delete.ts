// The soft delete an `UnusedAutoDelete` decision asks for, done the way REST DELETE does it: the
// annotation `hearth.dev/soft-delete-requested=<RFC 3339 time>` on the hearth.dev Deployment. The
// Deployment reconciler reacts to the annotation (releases the pods and the quota holds, DELETING →
// DELETED, purge after retention); `:undelete` removes it and sets `hearth.dev/undelete-time`.
//
// The patch is a JSON merge patch that carries the resourceVersion the decision was made on: if
// the object changed meanwhile (a request came in and the status moved, or someone else deleted
// it), the API server answers 409 and nothing is written; the next decision looks again.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { apiClient, type ApiSource } from '../../kube/client.js';
import { ANNOTATIONS, FIELD_MANAGER_CONTROLLER, GROUP, VERSION } from '../../crds/group.js';

export interface SoftDeleteTarget {
  namespace: string;
  name: string;
  /** The version the decision was made on (the write is refused if the object changed). */
  resourceVersion?: string;
}

/** Sets the soft-delete annotation to `at` (RFC 3339) on one hearth.dev Deployment. */
export type SoftDelete = (target: SoftDeleteTarget, at: string) => Promise<void>;

/** The body of the merge patch (exported for tests). */
export function softDeletePatch(target: SoftDeleteTarget, at: string): { metadata: { resourceVersion?: string; annotations: Record<string, string> } } {
  return {
    metadata: {
      ...(target.resourceVersion ? { resourceVersion: target.resourceVersion } : {}),
      annotations: { [ANNOTATIONS.softDeleteRequested]: at },
    },
  };
}

/** The real one: a guarded merge patch through the API server (RBAC: patch deployments.hearth.dev). */
export function kubeSoftDelete(kube: ApiSource): SoftDelete {
  const api = apiClient(kube, CustomObjectsApi);
  return async (target, at) => {
    await api.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: target.namespace,
        plural: 'deployments',
        name: target.name,
        body: softDeletePatch(target, at),
        fieldManager: FIELD_MANAGER_CONTROLLER,
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  };
}
