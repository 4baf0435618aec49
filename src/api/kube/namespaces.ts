// One Kubernetes namespace per account, labelled `hearth.dev/account=<id>` (ARCHITECTURE §2).
import { CoreV1Api, NetworkingV1Api, type V1NetworkPolicyPeer } from '@kubernetes/client-node';
import { apiClient, type ApiSource } from '../../kube/client.js';
import { accountNamespace } from '../../crds/account.js';
import { LABELS, MANAGED_BY } from '../../crds/group.js';
import { statusCodeOf } from './errors.js';
import { defaultModelServerPeers, modelServerNetworkPolicy } from './network-policy.js';

// The rule itself is shared with the controllers and the gateway; re-exported for the routes.
export { accountNamespace };

export interface NamespaceOptions {
  /** Who may reach the namespace's model-server pods (network-policy.ts); default: Hearth's pods in `hearthNamespace`. */
  modelServerPeers?: V1NetworkPolicyPeer[];
  /** Hearth's own namespace (POD_NAMESPACE), for the default peers. */
  hearthNamespace?: string;
}

/** The options from the process configuration (HEARTH_MODEL_SERVER_INGRESS_FROM, POD_NAMESPACE). */
export function namespaceOptions(config: { isolation: { modelServerIngressFrom?: V1NetworkPolicyPeer[] | undefined }; pod: { namespace?: string | undefined } }): NamespaceOptions {
  return {
    ...(config.isolation.modelServerIngressFrom ? { modelServerPeers: config.isolation.modelServerIngressFrom } : {}),
    ...(config.pod.namespace ? { hearthNamespace: config.pod.namespace } : {}),
  };
}

/**
 * Creates the account's namespace and its model-server NetworkPolicy if they do not exist
 * (idempotent; safe to race). The policy is ensured for a namespace that already existed too, so
 * namespaces made before it was introduced get it the first time they are used.
 */
export async function ensureAccountNamespace(kube: ApiSource, accountId: string, opts: NamespaceOptions = {}): Promise<string> {
  const core = apiClient(kube, CoreV1Api);
  const name = accountNamespace(accountId);
  await createOrExists(() =>
    core.createNamespace({
      body: { metadata: { name, labels: { [LABELS.account]: accountId, [LABELS.managedBy]: MANAGED_BY } } },
      fieldManager: 'hearth-api',
    }),
  );
  const policy = modelServerNetworkPolicy(name, opts.modelServerPeers ?? defaultModelServerPeers(opts.hearthNamespace));
  await createOrExists(() => apiClient(kube, NetworkingV1Api).createNamespacedNetworkPolicy({ namespace: name, body: policy, fieldManager: 'hearth-api' }));
  return name;
}

async function createOrExists(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (e) {
    if (statusCodeOf(e) !== 409) throw e;
  }
}

/** Remembers which namespaces exist, so the create path checks each account once per process. */
export class NamespaceEnsurer {
  readonly #known = new Map<string, Promise<string>>();
  constructor(
    private readonly kube: ApiSource,
    private readonly opts: NamespaceOptions = {},
  ) {}

  ensure(accountId: string): Promise<string> {
    let p = this.#known.get(accountId);
    if (!p) {
      p = ensureAccountNamespace(this.kube, accountId, this.opts);
      this.#known.set(accountId, p);
      p.catch(() => this.#known.delete(accountId));
    }
    return p;
  }
}
