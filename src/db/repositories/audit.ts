// The audit log: one row per mutating call. Callers pass ids, never secrets.
import { and, desc, eq, lt } from 'drizzle-orm';
import type { Db } from '../client.js';
import { auditLog, type AuditRow, type NewAuditRow } from '../schema/index.js';

export type AuditEntry = Omit<NewAuditRow, 'id' | 'time'> & { time?: Date };

/** Anything shaped like an API key (see src/auth/key-format.ts) is cut to its prefix. */
const KEY_LIKE = /(hearth_[0-9A-Za-z]{12})_[0-9A-Za-z]{38}/g;

function scrub(details: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (details === undefined) return undefined;
  const json = JSON.stringify(details);
  const scrubbed = json.replace(KEY_LIKE, '$1_…');
  return scrubbed === json ? details : (JSON.parse(scrubbed) as Record<string, unknown>);
}

export async function appendAudit(db: Db, entry: AuditEntry): Promise<AuditRow> {
  const [row] = await db
    .insert(auditLog)
    .values({ ...entry, details: scrub(entry.details) })
    .returning();
  return row!;
}

/** Newest first; `beforeId` pages backwards. */
export async function listAudit(db: Db, accountId: string, opts: { limit?: number; beforeId?: bigint } = {}): Promise<AuditRow[]> {
  const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1000);
  const where = opts.beforeId === undefined ? eq(auditLog.accountId, accountId) : and(eq(auditLog.accountId, accountId), lt(auditLog.id, opts.beforeId));
  return db.select().from(auditLog).where(where).orderBy(desc(auditLog.id)).limit(limit);
}
