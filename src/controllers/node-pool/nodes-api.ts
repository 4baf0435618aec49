// Existing nodes a pool adopts by label (eksNodePool.nodeSelector): listed by the selector and
// given the pool's labels and taint by a merge patch guarded by the node's resourceVersion. Not
// through an informer: the selector is the user's, one per pool.
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Node, type V1Taint } from '@kubernetes/client-node';
import type { KubeClients } from '../../kube/client.js';
import { FIELD_MANAGER_CONTROLLER } from '../../crds/group.js';

export interface SelectedNodesApi {
  list(selector: Record<string, string>): Promise<V1Node[]>;
  /** Merge patch of labels (null deletes) and, when given, the whole taint list; guarded by resourceVersion. */
  patch(node: V1Node, labels: Record<string, string | null>, taints: V1Taint[] | undefined): Promise<void>;
}

export function selectorString(selector: Record<string, string>): string {
  return Object.entries(selector)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export class KubeSelectedNodes implements SelectedNodesApi {
  readonly #core: CoreV1Api;
  constructor(clients: KubeClients) {
    this.#core = clients.api(CoreV1Api);
  }

  async list(selector: Record<string, string>): Promise<V1Node[]> {
    return (await this.#core.listNode({ labelSelector: selectorString(selector) })).items;
  }

  async patch(node: V1Node, labels: Record<string, string | null>, taints: V1Taint[] | undefined): Promise<void> {
    const body = { metadata: { resourceVersion: node.metadata?.resourceVersion, labels }, ...(taints ? { spec: { taints } } : {}) };
    await this.#core.patchNode({ name: node.metadata!.name!, body, fieldManager: FIELD_MANAGER_CONTROLLER }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  }
}
