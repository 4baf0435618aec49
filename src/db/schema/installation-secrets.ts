// Secrets of the installation that every Hearth process must agree on and nobody configures: made
// once by whichever process starts first (random, 32 bytes), then read by all. Today one: the
// tenancy secret that seals account namespaces (src/crds/account.ts `NamespaceSeal`).
import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const installationSecrets = pgTable('installation_secrets', {
  name: text('name').primaryKey(),
  /** base64url of the secret's bytes. */
  secret: text('secret').notNull(),
  createTime: timestamp('create_time', { withTimezone: true }).notNull().defaultNow(),
});
