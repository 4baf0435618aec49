// Issuing and revoking API keys. The plaintext key is returned once, by `issueApiKey`, and exists
// nowhere else afterwards.
import type { Db } from '../db/client.js';
import { AlreadyExistsError, InvalidValueError } from '../db/errors.js';
import { insertApiKeyCapped, revokeApiKey } from '../db/repositories/api-keys.js';
import type { ApiKeyRow } from '../db/schema/index.js';
import type { ApiKeyAuthenticator } from './authenticator.js';
import { generateKey } from './key-format.js';

/** Usable (unrevoked, unexpired) keys a user may hold at once. */
export const MAX_KEYS_PER_USER = 100;

export interface IssueKeyInput {
  accountId: string;
  userId: string;
  displayName?: string;
  expireTime?: Date | null;
  annotations?: Record<string, string>;
  now?: Date;
  /** Default MAX_KEYS_PER_USER. */
  maxKeys?: number;
}

export interface IssuedKey {
  row: ApiKeyRow;
  /** Plaintext: put it in the create response, nowhere else. */
  key: string;
}

export async function issueApiKey(db: Db, input: IssueKeyInput): Promise<IssuedKey> {
  const now = input.now ?? new Date();
  if (input.expireTime && input.expireTime.getTime() <= now.getTime()) throw new InvalidValueError('apiKey.expireTime', 'must be in the future');
  for (let attempt = 0; ; attempt++) {
    const g = generateKey();
    try {
      const row = await insertApiKeyCapped(db, {
        keyId: g.keyId,
        accountId: input.accountId,
        userId: input.userId,
        displayName: input.displayName || 'default',
        prefix: g.prefix,
        keyHash: g.hash,
        annotations: input.annotations ?? {},
        createTime: now,
        expireTime: input.expireTime ?? null,
      }, input.maxKeys ?? MAX_KEYS_PER_USER, now);
      return { row, key: g.key };
    } catch (e) {
      // A 71-bit keyId collision is astronomically rare; retry rather than fail.
      if (e instanceof AlreadyExistsError && attempt < 3) continue;
      throw e;
    }
  }
}

/** Revokes a key; with an authenticator, this process stops accepting it immediately. */
export async function revokeKey(db: Db, args: { accountId: string; userId: string; keyId: string; authenticator?: ApiKeyAuthenticator }): Promise<boolean> {
  const revoked = await revokeApiKey(db, args.accountId, args.userId, args.keyId);
  args.authenticator?.invalidate(args.keyId);
  return revoked;
}
