// One Kubernetes namespace per account, labelled `hearth.dev/account=<id>` and sealed by Hearth
// (`hearth.dev/account-seal`, src/crds/account.ts `NamespaceSeal`; ARCHITECTURE §2).
import { CoreV1Api, NetworkingV1Api, PatchStrategy, setHeaderOptions, type V1Namespace, type V1NetworkPolicyPeer } from '@kubernetes/client-node';
import { apiClient, type ApiSource } from '../../kube/client.js';
import { accountNamespace, type NamespaceSeal } from '../../crds/account.js';
import { accountsRepo, type Db } from '../../db/index.js';
import { failedPrecondition } from '../wire/errors.js';
import { ANNOTATIONS, LABELS, MANAGED_BY } from '../../crds/group.js';
import { statusCodeOf } from './errors.js';
import { defaultModelServerPeers, modelServerNetworkPolicy } from './network-policy.js';

// The rule itself is shared with the controllers and the gateway; re-exported for the routes.
export { accountNamespace };

export interface NamespaceOptions {
  /** The installation's namespace seal (every process reads namespaces through it). */
  seal: NamespaceSeal;
  /**
   * Upgrades: may an existing namespace of this account that Hearth labelled before it sealed
   * namespaces (account label and managed-by=hearth, no seal) be sealed now? The API answers yes
   * only for accounts created before the installation's tenancy secret (`adoptionRule`). Unset: never.
   */
  adoptUnsealed?: (accountId: string) => Promise<boolean>;
  /** Who may reach the namespace's model-server pods (network-policy.ts); default: Hearth's pods in `hearthNamespace`. */
  modelServerPeers?: V1NetworkPolicyPeer[];
  /** Hearth's own namespace (POD_NAMESPACE), for the default peers. */
  hearthNamespace?: string;
}

/** The options from the process configuration (HEARTH_MODEL_SERVER_INGRESS_FROM, POD_NAMESPACE) and the installation's seal. */
export function namespaceOptions(
  config: { isolation: { modelServerIngressFrom?: V1NetworkPolicyPeer[] | undefined }; pod: { namespace?: string | undefined } },
  seal: NamespaceSeal,
): NamespaceOptions {
  return {
    seal,
    ...(config.isolation.modelServerIngressFrom ? { modelServerPeers: config.isolation.modelServerIngressFrom } : {}),
    ...(config.pod.namespace ? { hearthNamespace: config.pod.namespace } : {}),
  };
}

/**
 * Creates the account's namespace, sealed, and its model-server NetworkPolicy if they do not exist
 * (idempotent; safe to race). A namespace of that name that already exists must carry Hearth's
 * seal for this account: one made by someone else first (squatting `acct-<id>` before the account
 * was created) is refused (400 FAILED_PRECONDITION, ERR_NAMESPACE_NOT_OWNED), never adopted. The
 * policy is ensured for a namespace that already existed too, so namespaces made before it was
 * introduced get it the first time they are used.
 */
export async function ensureAccountNamespace(kube: ApiSource, accountId: string, opts: NamespaceOptions): Promise<string> {
  const core = apiClient(kube, CoreV1Api);
  const name = accountNamespace(accountId);
  const sealed = opts.seal.metadataFor(name, accountId);
  const created = await createOrExists(() =>
    core.createNamespace({
      body: { metadata: { name, labels: { ...sealed.labels, [LABELS.managedBy]: MANAGED_BY }, annotations: sealed.annotations } },
      fieldManager: 'hearth-api',
    }),
  );
  if (!created) await checkOwned(core, name, accountId, opts);
  const policy = modelServerNetworkPolicy(name, opts.modelServerPeers ?? defaultModelServerPeers(opts.hearthNamespace));
  await createOrExists(() => apiClient(kube, NetworkingV1Api).createNamespacedNetworkPolicy({ namespace: name, body: policy, fieldManager: 'hearth-api' }));
  return name;
}

/** An existing `acct-<id>` must be sealed for the account (or, on upgrade, adoptable): never someone else's. */
async function checkOwned(core: CoreV1Api, name: string, accountId: string, opts: NamespaceOptions): Promise<void> {
  const existing = await core.readNamespace({ name });
  const t = opts.seal.tenancyOf(existing);
  if (t.kind === 'account' && t.account === accountId) return;
  if (madeBeforeSeals(existing, accountId) && opts.adoptUnsealed && (await opts.adoptUnsealed(accountId))) {
    await core.patchNamespace(
      { name, body: { metadata: { annotations: opts.seal.metadataFor(name, accountId).annotations } }, fieldManager: 'hearth-api' },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    return;
  }
  throw failedPrecondition(`namespace ${name} exists and was not made by Hearth for account ${accountId} (no valid hearth.dev/account-seal); a cluster administrator must remove it`, 'ERR_NAMESPACE_NOT_OWNED');
}

/** Labelled for the account and marked Hearth's, with no seal at all: what Hearth made before it sealed namespaces. */
function madeBeforeSeals(ns: V1Namespace, accountId: string): boolean {
  const labels = ns.metadata?.labels ?? {};
  return labels[LABELS.account] === accountId && labels[LABELS.managedBy] === MANAGED_BY && !ns.metadata?.annotations?.[ANNOTATIONS.accountSeal];
}

/** True when `create` made it, false when it existed (409). */
async function createOrExists(create: () => Promise<unknown>): Promise<boolean> {
  try {
    await create();
    return true;
  } catch (e) {
    if (statusCodeOf(e) !== 409) throw e;
    return false;
  }
}

/**
 * The upgrade rule of `adoptUnsealed`: an account created before the installation's tenancy secret
 * had its namespace made (labelled, unsealed) by a Hearth that did not seal yet; an account created
 * since had it made sealed, so an unsealed `acct-<id>` of it is someone else's.
 */
export function adoptionRule(db: Db, sealedSince: Date): (accountId: string) => Promise<boolean> {
  return async (accountId) => {
    const account = await accountsRepo.getAccount(db, accountId);
    return account !== undefined && account.createTime.getTime() < sealedSince.getTime();
  };
}

/** Remembers which namespaces exist, so the create path checks each account once per process. */
export class NamespaceEnsurer {
  readonly #known = new Map<string, Promise<string>>();
  constructor(
    private readonly kube: ApiSource,
    private readonly opts: NamespaceOptions,
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
