// Archived batch job logs (issue 13 item 5): a finished rank's lines, written once; pages of lines
// in (time, rank, seq) order either way; deletion with the job and by the retention purge.
import { and, asc, desc, eq, gte, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../client.js';
import { batchJobLogLines, batchJobLogRanks } from '../schema/index.js';

export interface ArchivedLine {
  rank: number;
  seq: number;
  timeMicros: number;
  message: string;
}

/** Where a page starts: strictly after (head first) or before (tail first) this line. */
export type LineCursor = [timeMicros: number, rank: number, seq: number];

export interface LinePageQuery {
  jobUid: string;
  /** Only these ranks; all when absent. */
  ranks?: readonly number[];
  /** Only lines containing this text (case-sensitive). */
  contains?: string;
  /** Only lines at or after this time. */
  sinceMicros?: number;
  headFirst: boolean;
  after?: LineCursor;
  limit: number;
}

/** Lines per INSERT statement. */
const CHUNK = 20_000;

/**
 * Archives one rank's lines. Idempotent: a rank archived already is left as it is (a second
 * controller pass, or a new leader, finds it done). True when this call archived it.
 */
export async function archiveRank(
  db: Db,
  r: { jobUid: string; rank: number; accountId: string; jobKey: string; lines: readonly { timeMicros: number; message: string }[]; now: Date },
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const claimed = await tx
      .insert(batchJobLogRanks)
      .values({ jobUid: r.jobUid, rank: r.rank, accountId: r.accountId, jobKey: r.jobKey, lines: r.lines.length, archivedAt: r.now })
      .onConflictDoNothing()
      .returning({ rank: batchJobLogRanks.rank });
    if (claimed.length === 0) return false;
    // One statement per chunk, the columns as three array parameters (unnest): far fewer
    // parameters and round trips than a VALUES list.
    for (let i = 0; i < r.lines.length; i += CHUNK) {
      const part = r.lines.slice(i, i + CHUNK);
      const seqs = part.map((_, j) => i + j);
      const times = part.map((l) => String(l.timeMicros));
      const messages = part.map((l) => l.message);
      await tx.execute(
        sql`insert into batch_job_log_lines (job_uid, rank, seq, log_time_micros, message) select ${r.jobUid}, ${r.rank}, u.s, u.t, u.m from unnest(${sql.param(seqs)}::integer[], ${sql.param(times)}::bigint[], ${sql.param(messages)}::text[]) as u(s, t, m)`,
      );
    }
    return true;
  });
}

/** The ranks of the job whose lines are archived. */
export async function archivedRanks(db: Db, jobUid: string): Promise<Set<number>> {
  const rows = await db.select({ rank: batchJobLogRanks.rank }).from(batchJobLogRanks).where(eq(batchJobLogRanks.jobUid, jobUid));
  return new Set(rows.map((r) => r.rank));
}

/** One page of archived lines (`limit` at most), in the order asked. */
export async function pageArchivedLines(db: Db, q: LinePageQuery): Promise<ArchivedLine[]> {
  const l = batchJobLogLines;
  const where: SQL[] = [eq(l.jobUid, q.jobUid)];
  if (q.ranks && q.ranks.length > 0) where.push(inArray(l.rank, [...q.ranks]));
  if (q.contains) where.push(sql`strpos(${l.message}, ${q.contains}) > 0`);
  if (q.sinceMicros !== undefined) where.push(gte(l.logTimeMicros, q.sinceMicros));
  if (q.after) {
    const [t, r, s] = q.after;
    const row = sql`(${l.logTimeMicros}, ${l.rank}, ${l.seq})`;
    const at = sql`(${t}::bigint, ${r}::integer, ${s}::integer)`;
    where.push(q.headFirst ? sql`${row} > ${at}` : sql`${row} < ${at}`);
  }
  const dir = q.headFirst ? asc : desc;
  const rows = await db
    .select({ rank: l.rank, seq: l.seq, timeMicros: l.logTimeMicros, message: l.message })
    .from(l)
    .where(and(...where))
    .orderBy(dir(l.logTimeMicros), dir(l.rank), dir(l.seq))
    .limit(q.limit);
  return rows;
}

/** Drops a job's archived logs (the job was deleted). */
export async function deleteJobLogs(db: Db, jobUid: string): Promise<void> {
  await db.delete(batchJobLogLines).where(eq(batchJobLogLines.jobUid, jobUid));
  await db.delete(batchJobLogRanks).where(eq(batchJobLogRanks.jobUid, jobUid));
}

/** Drops the archived logs of every job that was `namespace/name` (it is gone); cheap when there are none. */
export async function deleteLogsOfJobKey(db: Db, jobKey: string): Promise<void> {
  const uids = await db.selectDistinct({ uid: batchJobLogRanks.jobUid }).from(batchJobLogRanks).where(eq(batchJobLogRanks.jobKey, jobKey));
  for (const { uid } of uids) await deleteJobLogs(db, uid);
}

/** Drops the logs of ranks archived before `before` (the retention setting); returns how many ranks. */
export async function purgeLogsArchivedBefore(db: Db, before: Date): Promise<number> {
  const old = await db
    .delete(batchJobLogRanks)
    .where(lt(batchJobLogRanks.archivedAt, before))
    .returning({ jobUid: batchJobLogRanks.jobUid, rank: batchJobLogRanks.rank });
  for (const o of old) {
    await db.delete(batchJobLogLines).where(and(eq(batchJobLogLines.jobUid, o.jobUid), eq(batchJobLogLines.rank, o.rank)));
  }
  return old.length;
}

