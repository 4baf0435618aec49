// API key authentication: `Authorization: Bearer <key>` → the principal it stands for.
//
// 1. shape and checksum are checked in memory (a typo never reaches the database);
// 2. the key's row (with its user and account) is looked up by the non-secret keyId, through a
//    cache whose entries live at most 1 s — so a revocation, expiry, role change or suspension
//    made by any replica takes effect within a second;
// 3. SHA-256 of the presented key is compared with the stored hash in constant time;
// 4. `lastUsed` is written at most once per key per `lastUsedIntervalMs` (default 60 s), in the
//    background, never on the request path.
// Floods: the checksum is a typo filter, not a secret (CRC-32 anyone can compute), so
// unauthenticated traffic with well-formed made-up keys must not reach PostgreSQL without bound.
// An unknown keyId is remembered for `negativeTtlMs` (60 s: keyIds are random, nobody looks one up
// before it exists); a client (its address) whose lookups keep failing is refused before any
// database lookup once its failure budget (5/s, burst 20) is spent; and at most
// `maxConcurrentLookups` (64) lookups run at once per process. Refusals are THROTTLED, with the
// time after which to retry (429 with Retry-After at both edges).
// Keys are never logged: errors mention at most the keyId.
import type { Db } from '../db/client.js';
import { findKeyCredentials, touchApiKey, type KeyCredentials } from '../db/repositories/api-keys.js';
import type { UserRole } from '../db/schema/index.js';
import { keyMatchesHash, parseKey } from './key-format.js';
import { KeyRateLimiter } from './rate-limit.js';

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
  | 'ACCOUNT_SUSPENDED'
  | 'THROTTLED';

export type AuthResult = { ok: true; principal: Principal } | { ok: false; reason: AuthFailureReason; keyId?: string; retryAfterMs?: number };

export interface AuthenticatorOptions {
  /** How long a looked-up key row may be reused; capped at 1000 ms. */
  cacheTtlMs?: number;
  maxCacheEntries?: number;
  /** Minimum time between two `lastUsed` writes of a key (default 60 s). */
  lastUsedIntervalMs?: number;
  now?: () => number;
  /** How long an unknown keyId is remembered (default 60 s). */
  negativeTtlMs?: number;
  /** Failed lookups a client may cause before it is refused without one (default 5/s, burst 20). */
  failureBudget?: { ratePerSecond: number; burst: number };
  /** Database lookups in flight at once in this process (default 64); more are THROTTLED. */
  maxConcurrentLookups?: number;
  /**
   * While the database cannot be read (an outage), a key it confirmed at most this long ago still
   * authenticates, so what needs no database (reads of cached objects) keeps working; its
   * revocation and expiry as last read still apply. Default 5 min; 0: never.
   */
  staleIfErrorMs?: number;
  /** Background failures (lastUsed writes); never rethrown. */
  onError?: (err: unknown, context: { keyId: string }) => void;
}

interface CacheEntry {
  at: number;
  creds: Promise<KeyCredentials | undefined>;
}

export const MAX_CACHE_TTL_MS = 1000;
export const DEFAULT_STALE_IF_ERROR_MS = 5 * 60_000;

export class ApiKeyAuthenticator {
  private readonly cache = new Map<string, CacheEntry>();
  /** The last row the database returned for a key, and when: served only while lookups fail. */
  private readonly lastGood = new Map<string, { at: number; creds: KeyCredentials }>();
  private readonly lastTouched = new Map<string, number>();
  /** Unknown keyIds → until when they are known to be unknown. */
  private readonly unknown = new Map<string, number>();
  private readonly failures: KeyRateLimiter;
  private inFlight = 0;
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
    this.failures = new KeyRateLimiter({ ...(opts.failureBudget ?? { ratePerSecond: 5, burst: 20 }), maxKeys: this.maxEntries, now: this.now });
  }

  /**
   * `client` identifies the caller for the failure budget (the remote address); without it only
   * the negative cache and the concurrency bound apply.
   */
  async authenticate(token: string | undefined, client?: string): Promise<AuthResult> {
    if (token === undefined || token === '') return { ok: false, reason: 'MISSING' };
    const parsed = parseKey(token);
    if (!parsed.ok) return { ok: false, reason: 'MALFORMED' };
    const { keyId } = parsed;
    if ((this.unknown.get(keyId) ?? 0) > this.now()) return this.failed(client, { ok: false, reason: 'UNKNOWN_KEY', keyId });
    const looked = await this.lookupGuarded(keyId, client);
    if (looked === 'throttled') return { ok: false, reason: 'THROTTLED', keyId, retryAfterMs: this.retryAfter(client) };
    const creds = looked;
    if (!creds) {
      this.rememberUnknown(keyId);
      return this.failed(client, { ok: false, reason: 'UNKNOWN_KEY', keyId });
    }
    if (!keyMatchesHash(token, creds.key.keyHash)) return this.failed(client, { ok: false, reason: 'WRONG_SECRET', keyId });
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

  /** Charges a failure to the client's budget. */
  private failed(client: string | undefined, result: AuthResult): AuthResult {
    if (client !== undefined) this.failures.take(client);
    return result;
  }

  private retryAfter(client: string | undefined): number {
    const wait = client === undefined ? undefined : this.failures.waitMs(client);
    return Math.max(wait ?? 0, 1000);
  }

  /** A cached row, else a database lookup unless the client's budget or the process's bound says no. */
  private async lookupGuarded(keyId: string, client: string | undefined): Promise<KeyCredentials | undefined | 'throttled'> {
    const hit = this.cache.get(keyId);
    if (hit && this.now() - hit.at < this.ttl) return hit.creds;
    if (client !== undefined && (this.failures.waitMs(client) ?? 0) > 0) return 'throttled';
    if (this.inFlight >= (this.opts.maxConcurrentLookups ?? 64)) return 'throttled';
    this.inFlight++;
    try {
      return await this.lookup(keyId);
    } finally {
      this.inFlight--;
    }
  }

  private rememberUnknown(keyId: string): void {
    this.unknown.delete(keyId);
    this.unknown.set(keyId, this.now() + (this.opts.negativeTtlMs ?? 60_000));
    while (this.unknown.size > this.maxEntries) this.unknown.delete(this.unknown.keys().next().value!);
  }

  /** Forget a key at once in this process (after revoking it here). */
  invalidate(keyId: string): void {
    this.cache.delete(keyId);
    this.lastGood.delete(keyId);
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
    const creds = this.staleIfError(keyId, findKeyCredentials(this.db, keyId), now);
    if (this.ttl > 0) {
      this.cache.delete(keyId);
      this.cache.set(keyId, { at: now, creds });
      this.evict(now);
      creds.catch(() => this.cache.delete(keyId));
    }
    return creds;
  }

  /** The lookup, remembered when it finds the key; when it fails, the key's last row if recent enough. */
  private staleIfError(keyId: string, lookup: Promise<KeyCredentials | undefined>, now: number): Promise<KeyCredentials | undefined> {
    const staleMs = this.opts.staleIfErrorMs ?? DEFAULT_STALE_IF_ERROR_MS;
    return lookup.then(
      (creds) => {
        this.lastGood.delete(keyId);
        if (creds && staleMs > 0) {
          this.lastGood.set(keyId, { at: now, creds });
          if (this.lastGood.size > this.maxEntries) this.lastGood.delete(this.lastGood.keys().next().value!);
        }
        return creds;
      },
      (err: unknown) => {
        const good = this.lastGood.get(keyId);
        if (good && this.now() - good.at <= staleMs) return good.creds;
        throw err;
      },
    );
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
