// The authenticator during a database outage: a key the database confirmed recently still
// authenticates (reads of cached objects keep working), for a bounded time; a key never seen, or
// seen too long ago, cannot be checked (the lookup's error reaches the caller: 503, not 401).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database, type Db } from '../db/client.js';
import { createAccount, createUser } from '../db/repositories/accounts.js';
import { ApiKeyAuthenticator, DEFAULT_STALE_IF_ERROR_MS } from './authenticator.js';
import { issueApiKey } from './keys.js';

let database: Database;

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  await createAccount(database.db, { accountId: 'acme', email: 'owner@acme.example' });
  await createUser(database.db, { accountId: 'acme', userId: 'ann', email: 'ann@acme.example', role: 'user' });
});

afterAll(async () => {
  await database.close();
});

/** The database, or — once `down` — one whose every query fails as an unreachable server's would. */
function flaky(db: Db): { db: Db; down: boolean } {
  const state = { down: false, db: undefined as unknown as Db };
  state.db = new Proxy(db, {
    get(target, prop, receiver) {
      if (state.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  return state;
}

describe('ApiKeyAuthenticator while the database is down', () => {
  it('keeps authenticating a key the database confirmed within staleIfErrorMs, and no other', async () => {
    const { key } = await issueApiKey(database.db, { accountId: 'acme', userId: 'ann', displayName: 'a' });
    const { key: neverSeen } = await issueApiKey(database.db, { accountId: 'acme', userId: 'ann', displayName: 'b' });
    let t = Date.parse('2026-04-01T10:00:00Z');
    const f = flaky(database.db);
    const auth = new ApiKeyAuthenticator(f.db, { now: () => t, lastUsedIntervalMs: 3_600_000 });
    expect(await auth.authenticate(key)).toMatchObject({ ok: true, principal: { accountId: 'acme', userId: 'ann' } });
    f.down = true;
    t += 5_000; // past the 1 s cache: a lookup is due, and fails
    expect(await auth.authenticate(key)).toMatchObject({ ok: true, principal: { accountId: 'acme' } });
    await expect(auth.authenticate(neverSeen)).rejects.toThrow(/ECONNREFUSED/);
    t += DEFAULT_STALE_IF_ERROR_MS; // confirmed too long ago
    await expect(auth.authenticate(key)).rejects.toThrow(/ECONNREFUSED/);
    f.down = false;
    expect(await auth.authenticate(key)).toMatchObject({ ok: true });
  });

  it('staleIfErrorMs 0: every lookup the database cannot answer fails', async () => {
    const { key } = await issueApiKey(database.db, { accountId: 'acme', userId: 'ann', displayName: 'c' });
    let t = Date.parse('2026-04-01T10:00:00Z');
    const f = flaky(database.db);
    const auth = new ApiKeyAuthenticator(f.db, { now: () => t, staleIfErrorMs: 0, lastUsedIntervalMs: 3_600_000 });
    expect((await auth.authenticate(key)).ok).toBe(true);
    f.down = true;
    t += 2_000;
    await expect(auth.authenticate(key)).rejects.toThrow(/ECONNREFUSED/);
  });
});
