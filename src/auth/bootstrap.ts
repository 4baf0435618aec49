// Bootstrap: the first account, its admin user and an admin API key, for a CLI command
// (`hearth bootstrap --account <id> --email <e-mail>`) and the demo. Idempotent: running it again
// creates nothing new — and since keys are shown once, it issues a key only when the admin has no
// usable key (or when asked to with `issueKey: 'always'`).
import { advisoryXactLock, type Db } from '../db/client.js';
import { InvalidValueError } from '../db/errors.js';
import { getAccount, getUserByEmail, createAccount, createUser, userIdFromEmail } from '../db/repositories/accounts.js';
import { countActiveKeys } from '../db/repositories/api-keys.js';
import { ensureDefaultQuotas } from '../db/repositories/quotas.js';
import type { Account, User } from '../db/schema/index.js';
import { isResourceId } from '../crds/common.js';
import { issueApiKey } from './keys.js';

export interface BootstrapInput {
  accountId: string;
  email: string;
  displayName?: string;
  /** Default: derived from the e-mail. */
  userId?: string;
  /** `ifNone` (default): a key only if the admin has no usable key. `always`: a new key each run. `never`: no key (nowhere safe to show it). */
  issueKey?: 'ifNone' | 'always' | 'never';
}

export interface BootstrapResult {
  account: Account;
  admin: User;
  accountCreated: boolean;
  adminCreated: boolean;
  /** Present only when a key was issued in this run: print it once. */
  apiKey?: { keyId: string; key: string };
}

export async function bootstrap(db: Db, input: BootstrapInput): Promise<BootstrapResult> {
  if (!isResourceId(input.accountId)) throw new InvalidValueError('accountId', 'must be 1-63 characters of a-z, 0-9 and -, start with a letter and not end with -');
  if (!/^[^@\s]+@[^@\s]+$/.test(input.email)) throw new InvalidValueError('email', 'must be an e-mail address');
  const userId = input.userId ?? userIdFromEmail(input.email);
  if (!isResourceId(userId)) throw new InvalidValueError('userId', 'must be a valid resource id');

  return db.transaction(async (tx) => {
    // Two bootstraps racing (two replicas starting) must not both issue keys.
    await advisoryXactLock(tx, `hearth:bootstrap:${input.accountId}`);
    let account = await getAccount(tx, input.accountId);
    const accountCreated = !account;
    account ??= await createAccount(tx, { accountId: input.accountId, email: input.email, displayName: input.displayName ?? input.accountId });
    await ensureDefaultQuotas(tx, account.accountId);

    let admin = await getUserByEmail(tx, account.accountId, input.email);
    const adminCreated = !admin;
    admin ??= await createUser(tx, { accountId: account.accountId, userId, email: input.email, role: 'admin', displayName: input.displayName ?? '' });
    if (admin.role !== 'admin') throw new InvalidValueError('email', `${input.email} is already a user of ${account.accountId} without the admin role`);

    const needKey = input.issueKey !== 'never' && (input.issueKey === 'always' || (await countActiveKeys(tx, account.accountId, admin.userId)) === 0);
    if (!needKey) return { account, admin, accountCreated, adminCreated };
    const issued = await issueApiKey(tx, { accountId: account.accountId, userId: admin.userId, displayName: 'bootstrap' });
    return { account, admin, accountCreated, adminCreated, apiKey: { keyId: issued.row.keyId, key: issued.key } };
  });
}
