// One Kubernetes namespace per account, labelled `hearth.dev/account=<id>` (ARCHITECTURE §2).
import { CoreV1Api } from '@kubernetes/client-node';
import { apiClient, type ApiSource } from '../../kube/client.js';
import { accountNamespace } from '../../crds/account.js';
import { LABELS, MANAGED_BY } from '../../crds/group.js';
import { statusCodeOf } from './errors.js';

// The rule itself is shared with the controllers and the gateway; re-exported for the routes.
export { accountNamespace };

/** Creates the account's namespace if it does not exist (idempotent; safe to race). */
export async function ensureAccountNamespace(kube: ApiSource, accountId: string): Promise<string> {
  const core = apiClient(kube, CoreV1Api);
  const name = accountNamespace(accountId);
  try {
    await core.createNamespace({
      body: { metadata: { name, labels: { [LABELS.account]: accountId, [LABELS.managedBy]: MANAGED_BY } } },
      fieldManager: 'hearth-api',
    });
  } catch (e) {
    if (statusCodeOf(e) !== 409) throw e;
  }
  return name;
}

/** Remembers which namespaces exist, so the create path checks each account once per process. */
export class NamespaceEnsurer {
  readonly #known = new Map<string, Promise<string>>();
  constructor(private readonly kube: ApiSource) {}

  ensure(accountId: string): Promise<string> {
    let p = this.#known.get(accountId);
    if (!p) {
      p = ensureAccountNamespace(this.kube, accountId);
      this.#known.set(accountId, p);
      p.catch(() => this.#known.delete(accountId));
    }
    return p;
  }
}
