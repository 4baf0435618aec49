// Archived output of batch job ranks (issue 13 item 5): a rank's lines are copied here when the
// rank finishes, so `:getLogs` serves them after the pods are gone. Keyed by the BatchJob's uid
// (a job deleted and recreated under the same name has its own logs). No foreign key to accounts:
// the lines are dropped with their job, or by the retention purge.
import { bigint, index, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/** One row per archived rank: when, and how many lines (the retention purge reads `archivedAt`). */
export const batchJobLogRanks = pgTable(
  'batch_job_log_ranks',
  {
    jobUid: text('job_uid').notNull(),
    rank: integer('rank').notNull(),
    accountId: text('account_id').notNull(),
    /** `namespace/name` of the BatchJob, for operators. */
    jobKey: text('job_key').notNull(),
    lines: integer('lines').notNull(),
    archivedAt: timestamp('archived_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.jobUid, t.rank] }), index('batch_job_log_ranks_archived_idx').on(t.archivedAt), index('batch_job_log_ranks_job_key_idx').on(t.jobKey)],
);

/** The lines of an archived rank, in the order the rank wrote them (`seq`). */
export const batchJobLogLines = pgTable(
  'batch_job_log_lines',
  {
    jobUid: text('job_uid').notNull(),
    rank: integer('rank').notNull(),
    seq: integer('seq').notNull(),
    /** Microseconds since the epoch (the runtime's timestamps are finer than timestamptz's ms in JS). */
    logTimeMicros: bigint('log_time_micros', { mode: 'number' }).notNull(),
    message: text('message').notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobUid, t.rank, t.seq] }), index('batch_job_log_lines_time_idx').on(t.jobUid, t.logTimeMicros, t.rank, t.seq)],
);

export type BatchJobLogLineRow = typeof batchJobLogLines.$inferSelect;
