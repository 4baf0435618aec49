// Append-only audit log of mutating calls. Never holds key material: actors are ids.
import { bigserial, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    time: timestamp('time', { withTimezone: true }).notNull().defaultNow(),
    /** No foreign key: the trail outlives the account it describes. */
    accountId: text('account_id').notNull(),
    /** `users/<id>`, `apiKeys/<keyId>`, `system:<component>`. */
    actor: text('actor').notNull(),
    /** e.g. `CreateDeployment`, `DeleteApiKey`, `UpdateQuota`. */
    action: text('action').notNull(),
    /** Full resource name, e.g. `accounts/a/deployments/d`. */
    resource: text('resource').notNull(),
    /** OK or a Code name. */
    outcome: text('outcome').notNull().default('OK'),
    requestId: text('request_id'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index('audit_log_account_time_idx').on(t.accountId, t.time)],
);

export type AuditRow = typeof auditLog.$inferSelect;
export type NewAuditRow = typeof auditLog.$inferInsert;
