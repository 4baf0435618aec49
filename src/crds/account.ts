// The account ↔ namespace rule, one copy for every process (ARCHITECTURE §2: one namespace per
// account). The REST facade creates `acct-<id>` labelled `hearth.dev/account=<id>`; the controllers,
// metering and the gateway map a namespace back to its account with `accountOfNamespace`.
import { createHash } from 'node:crypto';
import { LABELS } from './group.js';

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
  metadata?: { name?: string | undefined; labels?: Record<string, string> | undefined; deletionTimestamp?: unknown } | undefined;
}

/**
 * The account a namespace belongs to: its `hearth.dev/account` label, or none.
 *
 * There is deliberately no fallback to the namespace's name. With one, anyone allowed to create a
 * namespace could create `acme` (or find an existing unlabelled namespace of that name) and have
 * its deployments hold account acme's GPU quota, be billed to acme, and be routed to as acme's
 * by the gateway; and namespaces that are not Hearth's at all (`default`, a team's) would become
 * accounts. A namespace without the label belongs to no account: the controllers leave its objects
 * alone, metering records nothing for it, the gateway routes nothing to it. (The label itself is
 * still writable by whoever can edit namespaces: issue 15 item 5 is to have Hearth own it.)
 *
 * A namespace being deleted keeps its account: its objects still need their quota released and
 * their last usage recorded; whoever must stop serving it (the gateway) checks deletion itself.
 */
export function accountOfNamespace(ns: NamespaceLike | undefined): string | undefined {
  return ns?.metadata?.labels?.[LABELS.account] || undefined;
}
