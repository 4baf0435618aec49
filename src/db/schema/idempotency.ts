// Retried creates (issue 15 item 12): a client's Idempotency-Key (or X-Request-Id) per account,
// the operation and a hash of the request it was first sent with, and the response once the
// operation finished. A retry with the same key replays the response instead of creating again;
// the same key with another request is refused. Rows expire (`expires_at`) and are swept.
import { index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    accountId: text('account_id').notNull(),
    /** The client's key, as sent. */
    key: text('key').notNull(),
    /** e.g. `POST /v1/accounts/{accountId}/deployments`. */
    operation: text('operation').notNull(),
    /** sha256 of the operation, the query and the canonical body. */
    requestHash: text('request_hash').notNull(),
    /** `pending` while the first request runs (`claimed_at` says since when), then `done`. */
    state: text('state').$type<'pending' | 'done'>().notNull(),
    claimedAt: timestamp('claimed_at', { withTimezone: true }).notNull(),
    responseStatus: integer('response_status'),
    responseBody: jsonb('response_body').$type<unknown>(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.key] }), index('idempotency_keys_expires_idx').on(t.expiresAt)],
);

export type IdempotencyRow = typeof idempotencyKeys.$inferSelect;
