// The GPU-seconds usage ledger. The metering loop records, per replica and per fixed interval,
// how many GPU-seconds it used. The unique key (replica, interval start) makes a re-recording of
// the same interval (after a restart, a leader change, a retry) a no-op, under whatever account:
// one interval of one replica is billed once, to one account.
import { sql } from 'drizzle-orm';
import { check, doublePrecision, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { accounts } from './accounts.js';

export const usageLedger = pgTable(
  'usage_ledger',
  {
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.accountId, { onDelete: 'cascade' }),
    /** Stable identity of the replica (e.g. the pod UID). */
    replica: text('replica').notNull(),
    intervalStart: timestamp('interval_start', { withTimezone: true }).notNull(),
    intervalEnd: timestamp('interval_end', { withTimezone: true }).notNull(),
    deployment: text('deployment').notNull(),
    region: text('region').notNull(),
    acceleratorType: text('accelerator_type').notNull(),
    acceleratorCount: integer('accelerator_count').notNull(),
    gpuSeconds: doublePrecision('gpu_seconds').notNull(),
    recordTime: timestamp('record_time', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.replica, t.intervalStart] }),
    uniqueIndex('usage_ledger_replica_interval_idx').on(t.replica, t.intervalStart),
    index('usage_ledger_account_time_idx').on(t.accountId, t.intervalStart),
    index('usage_ledger_deployment_idx').on(t.accountId, t.deployment, t.intervalStart),
    check('usage_ledger_interval_check', sql`${t.intervalStart} < ${t.intervalEnd}`),
    check('usage_ledger_gpu_seconds_check', sql`${t.gpuSeconds} >= 0`),
    check('usage_ledger_accelerator_count_check', sql`${t.acceleratorCount} >= 0`),
  ],
);

export type UsageLedgerRow = typeof usageLedger.$inferSelect;
export type NewUsageLedgerRow = typeof usageLedger.$inferInsert;
