// Quotas (per account × quota name, e.g. `h100-us-virginia-2`), the holds that workloads place on
// them, and capacity reservations (the Fireworks `Reservation` resource: purchased capacity).
import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  doublePrecision,
  foreignKey,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';
import { accounts } from './accounts.js';

export const quotas = pgTable(
  'quotas',
  {
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.accountId, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** The enforced value; an account may lower it below `maxValue`. */
    value: bigint('value', { mode: 'number' }).notNull(),
    /** The approved ceiling. */
    maxValue: bigint('max_value', { mode: 'number' }).notNull(),
    /** Sum of the holds on this quota (kept in the same transaction as the holds). */
    usage: doublePrecision('usage').notNull().default(0),
    updateTime: timestamp('update_time', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.name] }),
    check('quotas_value_check', sql`${t.value} >= 0 and ${t.value} <= ${t.maxValue}`),
    check('quotas_usage_check', sql`${t.usage} >= 0`),
  ],
);

/**
 * What a workload holds of a quota, e.g. holder `deployment/d1` holds 4 of `h100-us-virginia-2`.
 * `quotas.usage` is the sum of `amount` over the quota's holds.
 */
export const quotaHolds = pgTable(
  'quota_holds',
  {
    accountId: text('account_id').notNull(),
    quotaName: text('quota_name').notNull(),
    holder: text('holder').notNull(),
    amount: doublePrecision('amount').notNull(),
    /**
     * The spec generation this hold was computed for (deployments: metadata.generation), when the
     * writer knows it. The controller never lowers a hold the API raised for a newer generation
     * than the one it reconciles (its cache may trail the API's write); null: unknown.
     */
    generation: bigint('generation', { mode: 'number' }),
    createTime: timestamp('create_time', { withTimezone: true }).notNull().defaultNow(),
    updateTime: timestamp('update_time', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.quotaName, t.holder] }),
    foreignKey({ columns: [t.accountId, t.quotaName], foreignColumns: [quotas.accountId, quotas.name] }).onDelete('cascade'),
    check('quota_holds_amount_check', sql`${t.amount} > 0`),
  ],
);

/** Purchased capacity (Fireworks `Reservation`): sales-managed, listed and read through the API. */
export const capacityReservations = pgTable(
  'capacity_reservations',
  {
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.accountId, { onDelete: 'cascade' }),
    reservationId: text('reservation_id').notNull(),
    displayName: text('display_name').notNull().default(''),
    description: text('description').notNull().default(''),
    region: text('region'),
    multiRegion: text('multi_region'),
    acceleratorType: text('accelerator_type').notNull(),
    reservedCount: integer('reserved_count').notNull(),
    startTime: timestamp('start_time', { withTimezone: true }).notNull(),
    endTime: timestamp('end_time', { withTimezone: true }).notNull(),
    createdBy: text('created_by').notNull().default(''),
    createTime: timestamp('create_time', { withTimezone: true }).notNull().defaultNow(),
    updateTime: timestamp('update_time', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.reservationId] }),
    check('capacity_reservations_location_check', sql`(${t.region} is null) <> (${t.multiRegion} is null)`),
    check('capacity_reservations_count_check', sql`${t.reservedCount} > 0`),
    check('capacity_reservations_window_check', sql`${t.startTime} < ${t.endTime}`),
  ],
);

export type QuotaRow = typeof quotas.$inferSelect;
export type QuotaHoldRow = typeof quotaHolds.$inferSelect;
export type CapacityReservationRow = typeof capacityReservations.$inferSelect;
export type NewCapacityReservationRow = typeof capacityReservations.$inferInsert;

/**
 * NodePoolBinding: a principal (a user's e-mail) allowed to use a node pool. The NodePool itself is
 * a custom resource; bindings are account data, so they live here (keyed by the pool's id).
 */
export const nodePoolBindings = pgTable(
  'node_pool_bindings',
  {
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.accountId, { onDelete: 'cascade' }),
    nodePoolId: text('node_pool_id').notNull(),
    principal: text('principal').notNull(),
    createdBy: text('created_by').notNull().default(''),
    createTime: timestamp('create_time', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.nodePoolId, t.principal] })],
);

export type NodePoolBindingRow = typeof nodePoolBindings.$inferSelect;
