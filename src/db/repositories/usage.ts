// The GPU-seconds ledger. The metering loop records one row per replica per interval; the unique
// key (replica, interval start) makes writes idempotent: recording the same interval again (retry,
// restart, a second leader for a moment) changes nothing, whatever account it would be billed to.
import { and, desc, eq, gte, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../client.js';
import { InvalidValueError } from '../errors.js';
import { usageLedger, type NewUsageLedgerRow } from '../schema/index.js';

export type UsageEntry = Omit<NewUsageLedgerRow, 'recordTime'>;

const CHUNK = 500;

/** Records entries; returns how many were new (re-recorded intervals are skipped). */
export async function recordUsage(db: Db, entries: readonly UsageEntry[]): Promise<number> {
  for (const e of entries) {
    if (!(e.intervalStart < e.intervalEnd)) throw new InvalidValueError('intervalEnd', 'must be after intervalStart');
    if (!(e.gpuSeconds >= 0)) throw new InvalidValueError('gpuSeconds', 'must not be negative');
  }
  let inserted = 0;
  for (let i = 0; i < entries.length; i += CHUNK) {
    const rows = await db
      .insert(usageLedger)
      .values(entries.slice(i, i + CHUNK))
      .onConflictDoNothing({ target: [usageLedger.replica, usageLedger.intervalStart] })
      .returning({ replica: usageLedger.replica });
    inserted += rows.length;
  }
  return inserted;
}

export type UsageDimension = 'deployment' | 'region' | 'acceleratorType';

export interface UsageQuery {
  accountId: string;
  /** Intervals starting at or after. */
  from: Date;
  /** Intervals starting before. */
  to: Date;
  groupBy?: readonly UsageDimension[];
  deployment?: string;
}

export interface UsageTotal {
  deployment?: string;
  region?: string;
  acceleratorType?: string;
  gpuSeconds: number;
}

/** GPU-seconds in a time range, optionally grouped by deployment, region and accelerator type. */
export async function usageTotals(db: Db, q: UsageQuery): Promise<UsageTotal[]> {
  const dims = [...new Set(q.groupBy ?? [])];
  const cols = { deployment: usageLedger.deployment, region: usageLedger.region, acceleratorType: usageLedger.acceleratorType };
  const where: SQL[] = [eq(usageLedger.accountId, q.accountId), gte(usageLedger.intervalStart, q.from), lt(usageLedger.intervalStart, q.to)];
  if (q.deployment !== undefined) where.push(eq(usageLedger.deployment, q.deployment));
  const selection = Object.fromEntries(dims.map((d) => [d, cols[d]]));
  const rows = await db
    .select({ ...selection, gpuSeconds: sql<string | number>`coalesce(sum(${usageLedger.gpuSeconds}), 0)` })
    .from(usageLedger)
    .where(and(...where))
    .groupBy(...dims.map((d) => cols[d]))
    .orderBy(...dims.map((d) => cols[d]));
  return rows.map((r) => ({ ...(r as Omit<UsageTotal, 'gpuSeconds'>), gpuSeconds: Number(r.gpuSeconds) }));
}

export interface LastInterval {
  /** The account the replica's rows are under (a replica is billed to one account). */
  accountId: string;
  intervalStart: Date;
  intervalEnd: Date;
}

/**
 * The latest recorded interval of each of these replicas (by interval start), whatever account it
 * is under; a replica with no row is absent from the map. The metering loop resumes each replica
 * after it, under the same account, so a restart neither loses the time accrued while it was down
 * nor records an interval twice, and a namespace label that changed meanwhile changes nothing.
 */
export async function lastIntervalsOf(db: Db, replicas: readonly string[]): Promise<Map<string, LastInterval>> {
  const out = new Map<string, LastInterval>();
  for (let i = 0; i < replicas.length; i += CHUNK) {
    const rows = await db
      .selectDistinctOn([usageLedger.replica], { replica: usageLedger.replica, accountId: usageLedger.accountId, intervalStart: usageLedger.intervalStart, intervalEnd: usageLedger.intervalEnd })
      .from(usageLedger)
      .where(inArray(usageLedger.replica, replicas.slice(i, i + CHUNK)))
      .orderBy(usageLedger.replica, desc(usageLedger.intervalStart));
    for (const r of rows) out.set(r.replica, { accountId: r.accountId, intervalStart: r.intervalStart, intervalEnd: r.intervalEnd });
  }
  return out;
}
