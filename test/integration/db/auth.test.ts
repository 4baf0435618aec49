import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { ApiKeyAuthenticator } from '../../../src/auth/authenticator.js';
import { bootstrap } from '../../../src/auth/bootstrap.js';
import { formatKey, generateKey, parseKey, randomBase62 } from '../../../src/auth/key-format.js';
import { issueApiKey, revokeKey } from '../../../src/auth/keys.js';
import { InvalidValueError, NotFoundError } from '../../../src/db/errors.js';
import { createAccount, createUser, getUser, updateAccount, updateUser } from '../../../src/db/repositories/accounts.js';
import { getApiKey, insertApiKey, listApiKeys } from '../../../src/db/repositories/api-keys.js';
import { listQuotas } from '../../../src/db/repositories/quotas.js';
import type { Db } from '../../../src/db/client.js';
import { dbTargets, uniqueId } from './support.js';

const targets = dbTargets('auth');

async function accountWithUser(db: Db, role: 'admin' | 'user' = 'user'): Promise<{ accountId: string; userId: string }> {
  const accountId = uniqueId();
  await createAccount(db, { accountId, email: `owner@${accountId}.example` });
  await createUser(db, { accountId, userId: 'alice', email: `alice@${accountId}.example`, role });
  return { accountId, userId: 'alice' };
}

/** A clock tests move by hand. */
function clock(start = Date.now()): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe.each(targets)('API keys on $name', (t) => {
  it('issues a key shown once, stored only as a hash, and authenticates it', async () => {
    const { accountId, userId } = await accountWithUser(t.db, 'admin');
    const { key, row } = await issueApiKey(t.db, { accountId, userId, displayName: 'ci' });
    expect(parseKey(key)).toEqual({ ok: true, keyId: row.keyId });
    expect(row.prefix).toBe(`hearth_${row.keyId}`);
    expect(row.displayName).toBe('ci');
    // The plaintext is nowhere in the table.
    const dump = await t.db.execute(sql`select row_to_json(k)::text as j from api_keys k where key_id = ${row.keyId}`);
    const json = (dump as unknown as { rows: { j: string }[] }).rows[0]!.j;
    expect(json).not.toContain(key.slice(row.prefix.length));

    const auth = new ApiKeyAuthenticator(t.db);
    expect(await auth.authenticate(key)).toEqual({
      ok: true,
      principal: { accountId, userId, email: `alice@${accountId}.example`, role: 'admin', keyId: row.keyId },
    });
  });

  it('refuses missing, malformed, mistyped, unknown and wrong-secret keys', async () => {
    const { accountId, userId } = await accountWithUser(t.db);
    const { key } = await issueApiKey(t.db, { accountId, userId });
    const auth = new ApiKeyAuthenticator(t.db);
    expect(await auth.authenticate(undefined)).toEqual({ ok: false, reason: 'MISSING' });
    expect(await auth.authenticate('sk-123')).toEqual({ ok: false, reason: 'MALFORMED' });
    const typo = key.slice(0, 25) + (key[25] === 'x' ? 'y' : 'x') + key.slice(26);
    expect(await auth.authenticate(typo)).toEqual({ ok: false, reason: 'MALFORMED' });
    expect(await auth.authenticate(generateKey().key)).toMatchObject({ ok: false, reason: 'UNKNOWN_KEY' });
    // Same keyId, another secret, valid checksum: found by id, refused by the hash comparison.
    const forged = forgeSameId(key);
    expect(await auth.authenticate(forged)).toMatchObject({ ok: false, reason: 'WRONG_SECRET' });
  });

  it('honours expireTime', async () => {
    const { accountId, userId } = await accountWithUser(t.db);
    const c = clock();
    const { key } = await issueApiKey(t.db, { accountId, userId, expireTime: new Date(c.now() + 60_000), now: new Date(c.now()) });
    const auth = new ApiKeyAuthenticator(t.db, { now: c.now });
    expect((await auth.authenticate(key)).ok).toBe(true);
    c.advance(60_000);
    expect(await auth.authenticate(key)).toMatchObject({ ok: false, reason: 'EXPIRED' });
    await expect(issueApiKey(t.db, { accountId, userId, expireTime: new Date(Date.now() - 1) })).rejects.toBeInstanceOf(InvalidValueError);
  });

  it('a revocation on one replica takes effect on another within a second', async () => {
    const { accountId, userId } = await accountWithUser(t.db);
    const { key, row } = await issueApiKey(t.db, { accountId, userId });
    const c = clock();
    const replicaA = new ApiKeyAuthenticator(t.db, { now: c.now });
    const replicaB = new ApiKeyAuthenticator(t.db, { now: c.now, cacheTtlMs: 60_000 }); // capped at 1 s
    expect((await replicaA.authenticate(key)).ok).toBe(true);
    expect((await replicaB.authenticate(key)).ok).toBe(true);
    expect(await revokeKey(t.db, { accountId, userId, keyId: row.keyId, authenticator: replicaA })).toBe(true);
    expect(await replicaA.authenticate(key)).toMatchObject({ ok: false, reason: 'REVOKED' }); // at once, here
    c.advance(1000);
    expect(await replicaB.authenticate(key)).toMatchObject({ ok: false, reason: 'REVOKED' }); // within 1 s, there
    expect(await revokeKey(t.db, { accountId, userId, keyId: row.keyId })).toBe(false);
    expect(await listApiKeys(t.db, accountId, userId)).toEqual([]);
  });

  it('refuses keys of suspended accounts and deleted users', async () => {
    const { accountId, userId } = await accountWithUser(t.db);
    const { key } = await issueApiKey(t.db, { accountId, userId });
    const auth = new ApiKeyAuthenticator(t.db, { cacheTtlMs: 0 });
    await updateAccount(t.db, accountId, { suspendState: 'CREDIT_DEPLETED' });
    expect(await auth.authenticate(key)).toMatchObject({ ok: false, reason: 'ACCOUNT_SUSPENDED' });
    await updateAccount(t.db, accountId, { suspendState: 'UNSUSPENDED' });
    await updateUser(t.db, accountId, userId, { state: 'DELETING' });
    expect(await auth.authenticate(key)).toMatchObject({ ok: false, reason: 'USER_DISABLED' });
  });

  it('writes lastUsed at most once per interval, off the request path', async () => {
    const { accountId, userId } = await accountWithUser(t.db);
    const { key, row } = await issueApiKey(t.db, { accountId, userId });
    const c = clock(Date.parse('2026-05-01T00:00:00Z'));
    const auth = new ApiKeyAuthenticator(t.db, { now: c.now, lastUsedIntervalMs: 60_000 });
    expect((await getApiKey(t.db, accountId, row.keyId))!.lastUsed).toBeNull();
    for (let i = 0; i < 20; i++) {
      await auth.authenticate(key);
      c.advance(1000);
    }
    await auth.flush();
    expect((await getApiKey(t.db, accountId, row.keyId))!.lastUsed!.toISOString()).toBe('2026-05-01T00:00:00.000Z');
    c.advance(60_000);
    await auth.authenticate(key);
    await auth.flush();
    expect((await getApiKey(t.db, accountId, row.keyId))!.lastUsed!.toISOString()).toBe('2026-05-01T00:01:20.000Z');
  });

  it('remembers an unknown keyId for a minute: a flood of one made-up key reaches the database once', async () => {
    const { accountId, userId } = await accountWithUser(t.db);
    const c = clock();
    const auth = new ApiKeyAuthenticator(t.db, { now: c.now });
    // A well-formed key (the CRC-32 checksum is no secret) whose keyId nobody has yet.
    const g = generateKey();
    expect(await auth.authenticate(g.key)).toMatchObject({ ok: false, reason: 'UNKNOWN_KEY' });
    // The row appears behind the authenticator's back: within the minute it is still unknown here,
    // which shows the lookups were answered from memory.
    await insertApiKey(t.db, { keyId: g.keyId, accountId, userId, displayName: 'late', prefix: g.prefix, keyHash: g.hash, annotations: {}, createTime: new Date(c.now()), expireTime: null });
    c.advance(59_000);
    expect(await auth.authenticate(g.key)).toMatchObject({ ok: false, reason: 'UNKNOWN_KEY' });
    c.advance(1_001);
    expect((await auth.authenticate(g.key)).ok).toBe(true);
  });

  it('refuses a client whose lookups keep failing before the database, and only that client', async () => {
    const { accountId, userId } = await accountWithUser(t.db);
    const { key } = await issueApiKey(t.db, { accountId, userId });
    const c = clock();
    const auth = new ApiKeyAuthenticator(t.db, { now: c.now, failureBudget: { ratePerSecond: 5, burst: 20 } });
    for (let i = 0; i < 20; i++) expect(await auth.authenticate(generateKey().key, '203.0.113.7')).toMatchObject({ reason: 'UNKNOWN_KEY' });
    const refused = await auth.authenticate(generateKey().key, '203.0.113.7');
    expect(refused).toMatchObject({ ok: false, reason: 'THROTTLED' });
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeGreaterThanOrEqual(1000);
    // Another client is not held back, and the throttled one gets through again once its budget refills.
    expect((await auth.authenticate(key, '198.51.100.1')).ok).toBe(true);
    c.advance(1_000);
    expect((await auth.authenticate(key, '203.0.113.7')).ok).toBe(true);
  });

  it('bounds the lookups in flight at once', async () => {
    await accountWithUser(t.db);
    const auth = new ApiKeyAuthenticator(t.db, { maxConcurrentLookups: 1 });
    const [a, b] = await Promise.all([auth.authenticate(generateKey().key), auth.authenticate(generateKey().key)]);
    expect(a).toMatchObject({ reason: 'UNKNOWN_KEY' });
    expect(b).toMatchObject({ ok: false, reason: 'THROTTLED' });
  });

  it('caps the usable keys of a user; revoked and expired keys do not count', async () => {
    const { accountId, userId } = await accountWithUser(t.db);
    const c = clock();
    const first = await issueApiKey(t.db, { accountId, userId, maxKeys: 2 });
    await issueApiKey(t.db, { accountId, userId, maxKeys: 2, expireTime: new Date(c.now() + 1_000), now: new Date(c.now()) });
    await expect(issueApiKey(t.db, { accountId, userId, maxKeys: 2 })).rejects.toMatchObject({ name: 'FailedPreconditionError', reason: 'ERR_TOO_MANY_KEYS' });
    await revokeKey(t.db, { accountId, userId, keyId: first.row.keyId });
    await issueApiKey(t.db, { accountId, userId, maxKeys: 2 });
    // Concurrent creates cannot pass the cap together.
    const other = await accountWithUser(t.db);
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => issueApiKey(t.db, { ...other, maxKeys: 3 })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
  });

  it('never demotes the last admin of an account', async () => {
    const { accountId, userId } = await accountWithUser(t.db, 'admin');
    await expect(updateUser(t.db, accountId, userId, { role: 'user' })).rejects.toMatchObject({ name: 'FailedPreconditionError', reason: 'ERR_LAST_ADMIN' });
    await createUser(t.db, { accountId, userId: 'bob', email: `bob@${accountId}.example`, role: 'admin' });
    expect((await updateUser(t.db, accountId, userId, { role: 'user' })).role).toBe('user');
    await expect(updateUser(t.db, accountId, 'bob', { role: 'user' })).rejects.toMatchObject({ reason: 'ERR_LAST_ADMIN' });
    // Two admins demoting each other at once: one of them stays admin.
    await updateUser(t.db, accountId, userId, { role: 'admin' });
    await Promise.allSettled([updateUser(t.db, accountId, userId, { role: 'user' }), updateUser(t.db, accountId, 'bob', { role: 'user' })]);
    const roles = await Promise.all([getUser(t.db, accountId, userId), getUser(t.db, accountId, 'bob')]);
    expect(roles.filter((u) => u?.role === 'admin')).toHaveLength(1);
  });

  it('refuses keys for unknown users', async () => {
    const { accountId } = await accountWithUser(t.db);
    await expect(issueApiKey(t.db, { accountId, userId: 'nobody' })).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe.each(targets)('bootstrap on $name', (t) => {
  it('creates account, admin, quotas and one key; a rerun creates nothing', async () => {
    const accountId = uniqueId('first');
    const first = await bootstrap(t.db, { accountId, email: 'Root.Admin@example.com' });
    expect(first).toMatchObject({ accountCreated: true, adminCreated: true, admin: { role: 'admin', userId: 'root-admin' } });
    expect(first.apiKey?.key).toMatch(/^hearth_/);
    const auth = new ApiKeyAuthenticator(t.db);
    expect(await auth.authenticate(first.apiKey!.key)).toMatchObject({ ok: true, principal: { accountId, role: 'admin' } });
    expect((await listQuotas(t.db, accountId)).length).toBeGreaterThan(5);

    const again = await bootstrap(t.db, { accountId, email: 'Root.Admin@example.com' });
    expect(again).toMatchObject({ accountCreated: false, adminCreated: false });
    expect(again.apiKey).toBeUndefined();
    const rotated = await bootstrap(t.db, { accountId, email: 'Root.Admin@example.com', issueKey: 'always' });
    expect(rotated.apiKey?.key).toBeDefined();
    expect(rotated.apiKey?.key).not.toBe(first.apiKey?.key);
  });

  it('concurrent bootstraps issue exactly one key', async () => {
    const accountId = uniqueId('race');
    const runs = await Promise.all(Array.from({ length: 5 }, () => bootstrap(t.db, { accountId, email: 'ops@example.com' })));
    expect(runs.filter((r) => r.apiKey).length).toBe(1);
    expect(runs.filter((r) => r.accountCreated).length).toBe(1);
  });

  it('validates its input', async () => {
    await expect(bootstrap(t.db, { accountId: 'Bad_Id', email: 'a@b.c' })).rejects.toThrow(/accountId/);
    await expect(bootstrap(t.db, { accountId: uniqueId(), email: 'not-an-email' })).rejects.toThrow(/email/);
  });
});

/** A well-formed key (valid checksum) with the same keyId but another secret. */
function forgeSameId(key: string): string {
  const parsed = parseKey(key);
  if (!parsed.ok) throw new Error('not a key');
  return formatKey(parsed.keyId, randomBase62(32));
}
