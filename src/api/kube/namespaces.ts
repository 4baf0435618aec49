// One Kubernetes namespace per account, labelled `hearth.dev/account=<id>` (ARCHITECTURE §2).
import { createHash } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { LABELS } from '../../crds/group.js';
import { statusCodeOf } from './errors.js';

const PREFIX = 'acct-';
const MAX_NAME = 63;

/**
 * The namespace of an account: `acct-<id>`. Ids too long for that (namespace names are DNS labels
 * of at most 63 characters) keep a prefix of the id and gain a hash of the whole id, so two
 * accounts never share one.
 */
export function accountNamespace(accountId: string): string {
  const plain = `${PREFIX}${accountId}`;
  if (plain.length <= MAX_NAME) return plain;
  const hash = createHash('sha256').update(accountId).digest('hex').slice(0, 8);
  return `${PREFIX}${accountId.slice(0, MAX_NAME - PREFIX.length - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/** Creates the account's namespace if it does not exist (idempotent; safe to race). */
export async function ensureAccountNamespace(kc: KubeConfig, accountId: string): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = accountNamespace(accountId);
  try {
    await core.createNamespace({
      body: { metadata: { name, labels: { [LABELS.account]: accountId, [LABELS.managedBy]: 'hearth' } } },
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
  constructor(private readonly kc: KubeConfig) {}

  ensure(accountId: string): Promise<string> {
    let p = this.#known.get(accountId);
    if (!p) {
      p = ensureAccountNamespace(this.kc, accountId);
      this.#known.set(accountId, p);
      p.catch(() => this.#known.delete(accountId));
    }
    return p;
  }
}
