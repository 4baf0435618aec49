// API keys. Only a SHA-256 hash of the key is stored; `keyId` (also embedded in the key) is the
// non-secret lookup handle, `prefix` the non-secret leading characters shown to users.
import { sql } from 'drizzle-orm';
import { customType, foreignKey, index, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from './accounts.js';

/** bytea as a Node Buffer (drizzle 0.45 has no built-in bytea column). */
export const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v)),
  toDriver: (v) => v,
});

export const apiKeys = pgTable(
  'api_keys',
  {
    keyId: text('key_id').primaryKey(),
    accountId: text('account_id').notNull(),
    userId: text('user_id').notNull(),
    displayName: text('display_name').notNull().default('default'),
    prefix: text('prefix').notNull(),
    keyHash: bytea('key_hash').notNull(),
    annotations: jsonb('annotations').$type<Record<string, string>>().notNull().default({}),
    createTime: timestamp('create_time', { withTimezone: true }).notNull().defaultNow(),
    expireTime: timestamp('expire_time', { withTimezone: true }),
    lastUsed: timestamp('last_used', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [
    foreignKey({ columns: [t.accountId, t.userId], foreignColumns: [users.accountId, users.userId] }).onDelete('cascade'),
    uniqueIndex('api_keys_prefix_idx').on(t.prefix),
    uniqueIndex('api_keys_key_hash_idx').on(t.keyHash),
    index('api_keys_account_user_idx').on(t.accountId, t.userId).where(sql`${t.revokedAt} is null`),
  ],
);

export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type NewApiKeyRow = typeof apiKeys.$inferInsert;
