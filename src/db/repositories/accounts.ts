// Accounts and users.
import { and, asc, eq, ne, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError, isUniqueViolation } from '../errors.js';
import { accounts, users, type Account, type NewAccount, type NewUser, type User } from '../schema/index.js';
import { accountName, userName } from './names.js';

export async function createAccount(db: Db, values: NewAccount): Promise<Account> {
  const [row] = await db.insert(accounts).values(values).onConflictDoNothing().returning();
  if (!row) throw new AlreadyExistsError('account', accountName(values.accountId));
  return row;
}

export async function getAccount(db: Db, accountId: string): Promise<Account | undefined> {
  const [row] = await db.select().from(accounts).where(eq(accounts.accountId, accountId));
  return row;
}

export async function mustGetAccount(db: Db, accountId: string): Promise<Account> {
  const row = await getAccount(db, accountId);
  if (!row) throw new NotFoundError('account', accountName(accountId));
  return row;
}

/** All accounts ordered by id (the API pages over them; accounts are few). */
export async function listAccounts(db: Db): Promise<Account[]> {
  return db.select().from(accounts).orderBy(asc(accounts.accountId));
}

export type AccountPatch = Partial<Pick<Account, 'displayName' | 'email' | 'accountType' | 'state' | 'suspendState'>>;

export async function updateAccount(db: Db, accountId: string, patch: AccountPatch): Promise<Account> {
  const [row] = await db
    .update(accounts)
    .set({ ...patch, updateTime: new Date() })
    .where(eq(accounts.accountId, accountId))
    .returning();
  if (!row) throw new NotFoundError('account', accountName(accountId));
  return row;
}

export async function createUser(db: Db, values: NewUser): Promise<User> {
  try {
    const [row] = await db.insert(users).values(values).onConflictDoNothing({ target: [users.accountId, users.userId] }).returning();
    if (!row) throw new AlreadyExistsError('user', userName(values.accountId, values.userId));
    return row;
  } catch (e) {
    // The (account, email) unique index: same e-mail under another user id.
    if (isUniqueViolation(e)) throw new AlreadyExistsError('user', `${accountName(values.accountId)} user with email ${values.email}`);
    throw e;
  }
}

export async function getUser(db: Db, accountId: string, userId: string): Promise<User | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(and(eq(users.accountId, accountId), eq(users.userId, userId)));
  return row;
}

export async function mustGetUser(db: Db, accountId: string, userId: string): Promise<User> {
  const row = await getUser(db, accountId, userId);
  if (!row) throw new NotFoundError('user', userName(accountId, userId));
  return row;
}

export async function getUserByEmail(db: Db, accountId: string, email: string): Promise<User | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(and(eq(users.accountId, accountId), eq(users.email, email)));
  return row;
}

export async function listUsers(db: Db, accountId: string): Promise<User[]> {
  return db.select().from(users).where(eq(users.accountId, accountId)).orderBy(asc(users.userId));
}

export type UserPatch = Partial<Pick<User, 'displayName' | 'role' | 'email' | 'serviceAccount' | 'state'>>;

/**
 * Updates a user. A change of role away from admin is refused when it would leave the account
 * without an admin (nobody could then manage users or others' keys): the account row is locked so
 * two concurrent demotions of the last two admins cannot both pass.
 */
export async function updateUser(db: Db, accountId: string, userId: string, patch: UserPatch): Promise<User> {
  if (patch.role !== undefined && patch.role !== 'admin') {
    return db.transaction(async (tx) => {
      await tx.select({ id: accounts.accountId }).from(accounts).where(eq(accounts.accountId, accountId)).for('update');
      const [target] = await tx.select({ role: users.role }).from(users).where(and(eq(users.accountId, accountId), eq(users.userId, userId)));
      if (target?.role === 'admin') {
        const [others] = await tx
          .select({ n: sql<number>`count(*)::int` })
          .from(users)
          .where(and(eq(users.accountId, accountId), eq(users.role, 'admin'), ne(users.userId, userId), ne(users.state, 'DELETING')));
        if ((others?.n ?? 0) === 0) {
          throw new FailedPreconditionError(`${userName(accountId, userId)} is the account's last admin: make another user admin first`, 'ERR_LAST_ADMIN');
        }
      }
      return writeUser(tx as unknown as Db, accountId, userId, patch);
    });
  }
  return writeUser(db, accountId, userId, patch);
}

async function writeUser(db: Db, accountId: string, userId: string, patch: UserPatch): Promise<User> {
  try {
    const [row] = await db
      .update(users)
      .set({ ...patch, updateTime: new Date() })
      .where(and(eq(users.accountId, accountId), eq(users.userId, userId)))
      .returning();
    if (!row) throw new NotFoundError('user', userName(accountId, userId));
    return row;
  } catch (e) {
    if (isUniqueViolation(e)) throw new AlreadyExistsError('user', `${accountName(accountId)} user with email ${patch.email ?? ''}`);
    throw e;
  }
}

/**
 * The default user id for an e-mail (the spec: "default derived from email"): the local part,
 * lower-cased, runs of other characters as `-`, made a valid resource id (1–63 chars of a-z, 0-9,
 * '-', starting with a letter).
 */
export function userIdFromEmail(email: string): string {
  const local = (email.split('@')[0] ?? '').toLowerCase();
  let id = local.replace(/[^a-z0-9]+/g, '-').replace(/^[-0-9]+/, '').replace(/-+$/, '');
  if (id === '') id = 'user';
  return id.slice(0, 63).replace(/-+$/, '');
}
