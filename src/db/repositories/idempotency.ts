// The idempotency keys of retried creates (schema/idempotency.ts). `claim` is one statement, so of
// concurrent requests with one key exactly one owns it; the others see the row and wait for its
// response (or are refused when their request differs).
import { and, eq, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { idempotencyKeys, type IdempotencyRow } from '../schema/index.js';

export interface ClaimInput {
  accountId: string;
  key: string;
  operation: string;
  requestHash: string;
  now: Date;
  /** How long a finished key replays its response. */
  ttlMs: number;
  /** A `pending` row older than this belongs to a request that died: it may be taken over. */
  staleMs: number;
}

/**
 * Takes the key for this request: true when the caller owns it (a new key, an expired one, or a
 * pending one whose owner died); otherwise the existing row, to compare and wait on.
 */
export async function claimIdempotencyKey(db: Db, c: ClaimInput): Promise<{ owned: true } | { owned: false; row: IdempotencyRow }> {
  const expiresAt = new Date(c.now.getTime() + c.ttlMs);
  const staleBefore = new Date(c.now.getTime() - c.staleMs);
  const values = { accountId: c.accountId, key: c.key, operation: c.operation, requestHash: c.requestHash, state: 'pending' as const, claimedAt: c.now, responseStatus: null, responseBody: null, expiresAt };
  const [taken] = await db
    .insert(idempotencyKeys)
    .values(values)
    .onConflictDoUpdate({
      target: [idempotencyKeys.accountId, idempotencyKeys.key],
      set: values,
      setWhere: or(lt(idempotencyKeys.expiresAt, c.now), and(eq(idempotencyKeys.state, 'pending'), lt(idempotencyKeys.claimedAt, staleBefore))),
    })
    .returning({ key: idempotencyKeys.key });
  if (taken) return { owned: true };
  const row = await getIdempotencyKey(db, c.accountId, c.key);
  // Deleted in between (its owner failed): try again.
  return row ? { owned: false, row } : claimIdempotencyKey(db, c);
}

export async function getIdempotencyKey(db: Db, accountId: string, key: string): Promise<IdempotencyRow | undefined> {
  const [row] = await db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key)));
  return row;
}

/** The owner's request finished: later requests with the key get this response. */
export async function completeIdempotencyKey(db: Db, done: { accountId: string; key: string; status: number; body: unknown }): Promise<void> {
  const { accountId, key, status, body } = done;
  await db
    .update(idempotencyKeys)
    .set({ state: 'done', responseStatus: status, responseBody: body as Record<string, unknown> })
    .where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key)));
}

/** The owner's request failed before it created anything: the key is free for a retry. */
export async function releaseIdempotencyKey(db: Db, accountId: string, key: string): Promise<void> {
  await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key), eq(idempotencyKeys.state, 'pending')));
}

/** Deletes expired keys (at most `limit`); returns how many. */
export async function sweepIdempotencyKeys(db: Db, now: Date, limit = 1000): Promise<number> {
  const rows = await db.execute(
    sql`delete from ${idempotencyKeys} where ctid in (select ctid from ${idempotencyKeys} where ${idempotencyKeys.expiresAt} < ${now} limit ${limit})`,
  );
  return (rows as unknown as { rowCount?: number; affectedRows?: number }).rowCount ?? (rows as unknown as { affectedRows?: number }).affectedRows ?? 0;
}
