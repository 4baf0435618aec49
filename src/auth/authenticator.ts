// API key authentication: `Authorization: Bearer <key>` → the principal it stands for.
//
// 1. shape and checksum are checked in memory (a typo never reaches the database);
// 2. the key's row (with its user and account) is looked up by the non-secret keyId, through a
//    cache whose entries live at most 1 s — so a revocation, expiry, role change or suspension
//    made by any replica takes effect within a second;
// 3. SHA-256 of the presented key is compared with the stored hash in constant time;
// 4. `lastUsed` is written at most once per key per `lastUsedIntervalMs` (default 60 s), in the
//    background, never on the request path.
// Keys are never logged: errors mention at most the keyId.
import type { Db } from '../db/client.js';
import { findKeyCredentials, touchApiKey, type KeyCredentials } from '../db/repositories/api-keys.js';
import type { UserRole } from '../db/schema/index.js';
import { keyMatchesHash, parseKey } from './key-format.js';

export interface Principal {
  accountId: string;
  userId: string;
  email: string;
  role: UserRole;
  keyId: string;
}

export type AuthFailureReason =
  | 'MISSING'
  | 'MALFORMED'
  | 'UNKNOWN_KEY'
  | 'WRONG_SECRET'
  | 'REVOKED'
  | 'EXPIRED'
  | 'USER_DISABLED'
  | 'ACCOUNT_DISABLED'
  | 'ACCOUNT_SUSPENDED';

export type AuthResult = { ok: true; principal: Principal } | { ok: false; reason: AuthFailureReason; keyId?: string };

export interface AuthenticatorOptions {
  /** How long a looked-up key row may be reused; capped at 1000 ms. */
  cacheTtlMs?: number;
  maxCacheEntries?: number;
  /** Minimum time between two `lastUsed` writes of a key (default 60 s). */
  lastUsedIntervalMs?: number;
  now?: () => number;
  /** Background failures (lastUsed writes); never rethrown. */
  onError?: (err: unknown, context: { keyId: string }) => void;
}

interface CacheEntry {
  at: number;
  creds: Promise<KeyCredentials | undefined>;
}

export const MAX_CACHE_TTL_MS = 1000;

export class ApiKeyAuthenticator {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly lastTouched = new Map<string, number>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly ttl: number;
  private readonly maxEntries: number;
  private readonly touchInterval: number;
  private readonly now: () => number;

  constructor(
    private readonly db: Db,
    private readonly opts: AuthenticatorOptions = {},
  ) {
    this.ttl = Math.min(Math.max(opts.cacheTtlMs ?? MAX_CACHE_TTL_MS, 0), MAX_CACHE_TTL_MS);
    this.maxEntries = opts.maxCacheEntries ?? 10_000;
    this.touchInterval = opts.lastUsedIntervalMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  async authenticate(token: string | undefined): Promise<AuthResult> {
    if (token === undefined || token === '') return { ok: false, reason: 'MISSING' };
    const parsed = parseKey(token);
    if (!parsed.ok) return { ok: false, reason: 'MALFORMED' };
    const { keyId } = parsed;
    const creds = await this.lookup(keyId);
    if (!creds) return { ok: false, reason: 'UNKNOWN_KEY', keyId };
    if (!keyMatchesHash(token, creds.key.keyHash)) return { ok: false, reason: 'WRONG_SECRET', keyId };
    const now = this.now();
    const failure = this.refusal(creds, now);
    if (failure) return { ok: false, reason: failure, keyId };
    this.touch(creds, now);
    const { user } = creds;
    return { ok: true, principal: { accountId: user.accountId, userId: user.userId, email: user.email, role: user.role, keyId } };
  }

  private refusal(creds: KeyCredentials, now: number): AuthFailureReason | undefined {
    const { key, user, account } = creds;
    if (key.revokedAt !== null) return 'REVOKED';
    if (key.expireTime !== null && key.expireTime.getTime() <= now) return 'EXPIRED';
    if (user.state === 'DELETING') return 'USER_DISABLED';
    if (account.state === 'DELETING') return 'ACCOUNT_DISABLED';
    if (account.suspendState !== 'UNSUSPENDED') return 'ACCOUNT_SUSPENDED';
    return undefined;
  }

  /** Forget a key at once in this process (after revoking it here). */
  invalidate(keyId: string): void {
    this.cache.delete(keyId);
  }

  /** Waits for background `lastUsed` writes (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private lookup(keyId: string): Promise<KeyCredentials | undefined> {
    const now = this.now();
    const hit = this.cache.get(keyId);
    if (hit && now - hit.at < this.ttl) return hit.creds;
    // Concurrent misses for one key share a single query.
    const creds = findKeyCredentials(this.db, keyId);
    if (this.ttl > 0) {
      this.cache.delete(keyId);
      this.cache.set(keyId, { at: now, creds });
      this.evict(now);
      creds.catch(() => this.cache.delete(keyId));
    }
    return creds;
  }

  private evict(now: number): void {
    if (this.cache.size <= this.maxEntries) return;
    for (const [k, v] of this.cache) {
      if (this.cache.size <= this.maxEntries && now - v.at < this.ttl) break;
      this.cache.delete(k);
    }
  }

  private touch(creds: KeyCredentials, now: number): void {
    const { keyId, lastUsed } = creds.key;
    const last = Math.max(this.lastTouched.get(keyId) ?? 0, lastUsed?.getTime() ?? 0);
    if (now - last < this.touchInterval) return;
    this.lastTouched.set(keyId, now);
    if (this.lastTouched.size > this.maxEntries) this.lastTouched.delete(this.lastTouched.keys().next().value!);
    const p = touchApiKey(this.db, keyId, new Date(now), this.touchInterval).catch((err: unknown) => this.opts.onError?.(err, { keyId }));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}
