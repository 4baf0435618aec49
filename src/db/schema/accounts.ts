// Accounts and their users. An account is the tenant: quotas, billing and one Kubernetes
// namespace hang off it. Users are e-mail identities inside one account with a role.
import { sql } from 'drizzle-orm';
import { boolean, check, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

export const ACCOUNT_TYPES = ['ACCOUNT_TYPE_UNSPECIFIED', 'ENTERPRISE'] as const;
export type AccountType = (typeof ACCOUNT_TYPES)[number];

/** Account and User share this state enum in the published spec. */
export const ACCOUNT_STATES = ['CREATING', 'READY', 'UPDATING', 'DELETING'] as const;
export type AccountState = (typeof ACCOUNT_STATES)[number];

export const SUSPEND_STATES = [
  'UNSUSPENDED',
  'FAILED_PAYMENTS',
  'CREDIT_DEPLETED',
  'MONTHLY_SPEND_LIMIT_EXCEEDED',
  'BLOCKED_BY_ABUSE_RULE',
] as const;
export type SuspendState = (typeof SUSPEND_STATES)[number];

/** Roles Hearth enforces. The spec also lists contributor/inference-user/custom; not offered (yet). */
export const USER_ROLES = ['admin', 'user'] as const;
export type UserRole = (typeof USER_ROLES)[number];

const inList = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');

export const accounts = pgTable(
  'accounts',
  {
    accountId: text('account_id').primaryKey(),
    displayName: text('display_name').notNull().default(''),
    email: text('email').notNull(),
    accountType: text('account_type').$type<AccountType>().notNull().default('ACCOUNT_TYPE_UNSPECIFIED'),
    state: text('state').$type<AccountState>().notNull().default('READY'),
    suspendState: text('suspend_state').$type<SuspendState>().notNull().default('UNSUSPENDED'),
    createTime: timestamp('create_time', { withTimezone: true }).notNull().defaultNow(),
    updateTime: timestamp('update_time', { withTimezone: true }).notNull().defaultNow(),
  },
  () => [
    check('accounts_state_check', sql.raw(`"state" in (${inList(ACCOUNT_STATES)})`)),
    check('accounts_suspend_state_check', sql.raw(`"suspend_state" in (${inList(SUSPEND_STATES)})`)),
  ],
);

export const users = pgTable(
  'users',
  {
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.accountId, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    email: text('email').notNull(),
    displayName: text('display_name').notNull().default(''),
    role: text('role').$type<UserRole>().notNull(),
    serviceAccount: boolean('service_account').notNull().default(false),
    state: text('state').$type<AccountState>().notNull().default('READY'),
    createTime: timestamp('create_time', { withTimezone: true }).notNull().defaultNow(),
    updateTime: timestamp('update_time', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.userId] }),
    uniqueIndex('users_account_email_idx').on(t.accountId, t.email),
    check('users_role_check', sql.raw(`"role" in (${inList(USER_ROLES)})`)),
  ],
);

export type Account = typeof accounts.$inferSelect;
export type NewAccount = typeof accounts.$inferInsert;
export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
