// The account ↔ namespace rule, one copy for every process (ARCHITECTURE §2: one namespace per
// account). The REST facade creates `acct-<id>` labelled `hearth.dev/account=<id>`; the controllers,
// metering and the gateway map a namespace back to its account by that label.
import { createHash } from 'node:crypto';

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
