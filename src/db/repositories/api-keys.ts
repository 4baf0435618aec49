// API key rows: hashes only. Key generation and verification live in src/auth/.
import { and, asc, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError, isForeignKeyViolation, isUniqueViolation } from '../errors.js';
import { accounts, apiKeys, users, type Account, type ApiKeyRow, type NewApiKeyRow, type User } from '../schema/index.js';
import { userName } from './names.js';

export async function insertApiKey(db: Db, values: NewApiKeyRow): Promise<ApiKeyRow> {
  try {
    const [row] = await db.insert(apiKeys).values(values).returning();
    return row!;
  } catch (e) {
    if (isForeignKeyViolation(e)) throw new NotFoundError('user', userName(values.accountId, values.userId));
    if (isUniqueViolation(e)) throw new AlreadyExistsError('apiKey', values.keyId);
    throw e;
  }
}

/**
 * Inserts a key unless its user already has `max` usable keys (not revoked, not expired): the user
 * row is locked so concurrent creates cannot pass the cap together. A cap keeps one user from
 * minting keys without bound (each key is a row, a cache entry and a rate-limit bucket).
 */
export async function insertApiKeyCapped(db: Db, values: NewApiKeyRow, max: number, now: Date): Promise<ApiKeyRow> {
  return db.transaction(async (tx) => {
    const [user] = await tx
      .select({ id: users.userId })
      .from(users)
      .where(and(eq(users.accountId, values.accountId), eq(users.userId, values.userId)))
      .for('update');
    if (!user) throw new NotFoundError('user', userName(values.accountId, values.userId));
    const [usable] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(apiKeys)
      .where(and(eq(apiKeys.accountId, values.accountId), eq(apiKeys.userId, values.userId), isNull(apiKeys.revokedAt), or(isNull(apiKeys.expireTime), gt(apiKeys.expireTime, now))));
    if ((usable?.n ?? 0) >= max) {
      throw new FailedPreconditionError(`${userName(values.accountId, values.userId)} has ${max} usable API keys, the most allowed: delete one first`, 'ERR_TOO_MANY_KEYS');
    }
    return insertApiKey(tx as unknown as Db, values);
  });
}

/** What authentication needs about a key, in one round trip. */
export interface KeyCredentials {
  key: ApiKeyRow;
  user: Pick<User, 'accountId' | 'userId' | 'email' | 'role' | 'state'>;
  account: Pick<Account, 'accountId' | 'state' | 'suspendState'>;
}

export async function findKeyCredentials(db: Db, keyId: string): Promise<KeyCredentials | undefined> {
  const [row] = await db
    .select({
      key: apiKeys,
      user: { accountId: users.accountId, userId: users.userId, email: users.email, role: users.role, state: users.state },
      account: { accountId: accounts.accountId, state: accounts.state, suspendState: accounts.suspendState },
    })
    .from(apiKeys)
    .innerJoin(users, and(eq(users.accountId, apiKeys.accountId), eq(users.userId, apiKeys.userId)))
    .innerJoin(accounts, eq(accounts.accountId, apiKeys.accountId))
    .where(eq(apiKeys.keyId, keyId));
  return row;
}

export async function getApiKey(db: Db, accountId: string, keyId: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.accountId, accountId), eq(apiKeys.keyId, keyId)));
  return row;
}

/** A user's keys that are not revoked (expired ones included: they show why calls fail). */
export async function listApiKeys(db: Db, accountId: string, userId: string): Promise<ApiKeyRow[]> {
  return db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.accountId, accountId), eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
    .orderBy(asc(apiKeys.createTime), asc(apiKeys.keyId));
}

/** Revokes a user's key; false if there is no such (unrevoked) key. */
export async function revokeApiKey(db: Db, accountId: string, userId: string, keyId: string, now = new Date()): Promise<boolean> {
  const rows = await db
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(and(eq(apiKeys.accountId, accountId), eq(apiKeys.userId, userId), eq(apiKeys.keyId, keyId), isNull(apiKeys.revokedAt)))
    .returning({ keyId: apiKeys.keyId });
  return rows.length > 0;
}

/**
 * Sets `lastUsed` unless it was set within `minIntervalMs`: the WHERE clause turns most calls
 * into a no-op, so tracking costs at most one row write per key per interval.
 */
export async function touchApiKey(db: Db, keyId: string, now: Date, minIntervalMs: number): Promise<boolean> {
  const cutoff = new Date(now.getTime() - minIntervalMs);
  const rows = await db
    .update(apiKeys)
    .set({ lastUsed: now })
    .where(and(eq(apiKeys.keyId, keyId), or(isNull(apiKeys.lastUsed), lt(apiKeys.lastUsed, cutoff))))
    .returning({ keyId: apiKeys.keyId });
  return rows.length > 0;
}

/** Count of a user's usable keys (not revoked, not expired) at `now`. */
export async function countActiveKeys(db: Db, accountId: string, userId: string, now = new Date()): Promise<number> {
  const [row] = await db
    .select({ n: sql<string | number>`count(*)` })
    .from(apiKeys)
    .where(
      and(
        eq(apiKeys.accountId, accountId),
        eq(apiKeys.userId, userId),
        isNull(apiKeys.revokedAt),
        or(isNull(apiKeys.expireTime), gt(apiKeys.expireTime, now)),
      ),
    );
  return Number(row?.n ?? 0);
}
