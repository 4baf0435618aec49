// The installation's shared secrets (schema/installation-secrets.ts): the first process to ask
// makes one, every later ask (any process, any replica) reads the same.
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Db } from '../client.js';
import { installationSecrets } from '../schema/index.js';

/** The names in use. */
export const SECRET_NAMES = { tenancy: 'tenancy', sftTrainerTokens: 'sft-trainer-tokens' } as const;

export interface InstallationSecret {
  secret: Buffer;
  /** When the first process made it. */
  createTime: Date;
}

/** The secret `name`, made (32 random bytes) if no process made it yet; races converge on one. */
export async function getOrCreateSecret(db: Db, name: string): Promise<InstallationSecret> {
  await db.insert(installationSecrets).values({ name, secret: randomBytes(32).toString('base64url') }).onConflictDoNothing();
  const [row] = await db.select().from(installationSecrets).where(eq(installationSecrets.name, name));
  if (!row) throw new Error(`installation secret ${name}: not found after insert`);
  return { secret: Buffer.from(row.secret, 'base64url'), createTime: row.createTime };
}

/** The secret's bytes (getOrCreateSecret). */
export async function installationSecret(db: Db, name: string): Promise<Buffer> {
  return (await getOrCreateSecret(db, name)).secret;
}
