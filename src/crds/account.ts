// The account ↔ namespace rule, one copy for every process (ARCHITECTURE §2: one namespace per
// account). The REST facade creates `acct-<id>` labelled `hearth.dev/account=<id>` and sealed
// (`hearth.dev/account-seal`, an HMAC of name and account with the installation's tenancy secret);
// the controllers, metering and the gateway read namespaces only through `NamespaceSeal.project`
// (the informer factory's namespaces projection), which drops an account label whose seal does not
// verify, and map a namespace back to its account with `accountOfNamespace`.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ANNOTATIONS, LABELS } from './group.js';

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

/** The parts of a Namespace the rule reads (a V1Namespace or any cached projection of one). */
export interface NamespaceLike {
  metadata?:
    | { name?: string | undefined; labels?: Record<string, string> | undefined; annotations?: Record<string, string> | undefined; deletionTimestamp?: unknown }
    | undefined;
}

/**
 * The account a namespace belongs to: its `hearth.dev/account` label, or none.
 *
 * There is deliberately no fallback to the namespace's name. With one, anyone allowed to create a
 * namespace could create `acme` (or find an existing unlabelled namespace of that name) and have
 * its deployments hold account acme's GPU quota, be billed to acme, and be routed to as acme's
 * by the gateway; and namespaces that are not Hearth's at all (`default`, a team's) would become
 * accounts. A namespace without the label belongs to no account: the controllers leave its objects
 * alone, metering records nothing for it, the gateway routes nothing to it. The label itself is
 * writable by whoever can edit namespaces, so readers get namespaces through `NamespaceSeal.project`,
 * which keeps the label only when Hearth's seal on the namespace verifies (issue 15 item 5).
 *
 * A namespace being deleted keeps its account: its objects still need their quota released and
 * their last usage recorded; whoever must stop serving it (the gateway) checks deletion itself.
 */
export function accountOfNamespace(ns: NamespaceLike | undefined): string | undefined {
  return ns?.metadata?.labels?.[LABELS.account] || undefined;
}

// ---- the seal: Hearth owns the mapping ---------------------------------------------------------

const SEAL_VERSION = 'v1';

/** What a namespace says about its account, after the seal was checked. */
export type NamespaceTenancy =
  | { kind: 'account'; account: string }
  | { kind: 'none' }
  /** An account label Hearth did not write (no seal, or one that does not verify): ignored. */
  | { kind: 'unverified'; claimed: string };

/**
 * The installation's namespace seal. Hearth writes `seal(namespace, account)` on each account
 * namespace it creates (annotation `hearth.dev/account-seal`); every reader of namespaces sees them
 * through `project`, which keeps an account label only when the seal verifies. Anyone who can edit
 * a namespace can write the label, but not a seal: it is an HMAC-SHA256 of the namespace's name and
 * the account with a secret that lives in PostgreSQL (db `installationSecret`), so labelling
 * `team-x` (or squatting `acct-acme` before Hearth makes it) claims no quota, billing or routing.
 * A seal names its namespace, so copying one to another namespace does not verify either.
 */
export class NamespaceSeal {
  readonly #key: Buffer;

  constructor(secret: string | Uint8Array) {
    const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
    if (key.length < 16) throw new Error('NamespaceSeal: the secret must be at least 16 bytes');
    this.#key = key;
  }

  /** The seal of `namespace` for `account`: `v1.<base64url HMAC-SHA256>`. */
  seal(namespace: string, account: string): string {
    const mac = createHmac('sha256', this.#key).update(`hearth namespace seal\0${namespace}\0${account}`).digest('base64url');
    return `${SEAL_VERSION}.${mac}`;
  }

  verifies(namespace: string, account: string, seal: string | undefined): boolean {
    if (!seal) return false;
    const want = Buffer.from(this.seal(namespace, account));
    const got = Buffer.from(seal);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  /** The labels and annotations Hearth creates an account namespace with. */
  metadataFor(namespace: string, account: string): { labels: Record<string, string>; annotations: Record<string, string> } {
    return { labels: { [LABELS.account]: account }, annotations: { [ANNOTATIONS.accountSeal]: this.seal(namespace, account) } };
  }

  /** What `ns` says about its account, checking the seal (not a projection's output: a raw namespace). */
  tenancyOf(ns: NamespaceLike | undefined): NamespaceTenancy {
    const claimed = ns?.metadata?.labels?.[LABELS.account];
    if (!claimed) return { kind: 'none' };
    const name = ns.metadata?.name ?? '';
    return this.verifies(name, claimed, ns.metadata?.annotations?.[ANNOTATIONS.accountSeal]) ? { kind: 'account', account: claimed } : { kind: 'unverified', claimed };
  }

  /**
   * The projection every reader of namespaces gets (the informer factory's, at ingest: one HMAC per
   * namespace event, nothing per reconcile): the namespace as it is when its seal verifies or it
   * has no account label; otherwise without the label and with `hearth.dev/account-unverified`
   * naming the claim. `onUnverified` is told about each such namespace (a warning in the log).
   */
  project<T extends NamespaceLike>(ns: T, onUnverified?: (name: string, claimed: string) => void): T {
    const meta = ns.metadata ?? {};
    const stale = meta.annotations?.[ANNOTATIONS.accountUnverified] !== undefined;
    const t = this.tenancyOf(ns);
    if (t.kind !== 'unverified' && !stale) return ns;
    const labels = { ...meta.labels };
    const annotations = { ...meta.annotations };
    delete annotations[ANNOTATIONS.accountUnverified]; // only the projection says this
    if (t.kind === 'unverified') {
      delete labels[LABELS.account];
      annotations[ANNOTATIONS.accountUnverified] = t.claimed;
      onUnverified?.(meta.name ?? '', t.claimed);
    }
    return { ...ns, metadata: { ...meta, labels, annotations } };
  }
}

/**
 * The account a projected namespace claims without proof (its label had no valid seal), or none.
 * Hearth acts on nothing in such a namespace: its objects are not reconciled, billed to or routed
 * as that account.
 */
export function unverifiedAccountOf(ns: NamespaceLike | undefined): string | undefined {
  return ns?.metadata?.annotations?.[ANNOTATIONS.accountUnverified] || undefined;
}
