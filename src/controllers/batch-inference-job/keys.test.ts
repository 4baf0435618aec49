// The service key of batch inference jobs on PGlite: one service user per account, one key reused
// until it nears expiry, replaced (the old one revoked) after, every key revoked at stop; the key
// authenticates as the account.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyAuthenticator } from '../../auth/authenticator.js';
import { bootstrap } from '../../auth/bootstrap.js';
import { openDatabase, type Database } from '../../db/client.js';
import { getUser } from '../../db/repositories/accounts.js';
import { listApiKeys } from '../../db/repositories/api-keys.js';
import { FakeClock } from '../../util/fake-clock.js';
import { SERVICE_USER_ID, ServiceAccountKeys } from './keys.js';

let database: Database;
beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' });
}, 60_000);
afterAll(async () => database?.close());

describe('ServiceAccountKeys', () => {
  it('issues one key of a service user per account, reuses it, replaces it before it expires, revokes all at stop', async () => {
    const clock = new FakeClock(Date.now());
    const keys = new ServiceAccountKeys(database.db, clock);
    const first = await keys.keyFor('acme');
    expect(await keys.keyFor('acme')).toBe(first);
    expect(await getUser(database.db, 'acme', SERVICE_USER_ID)).toMatchObject({ serviceAccount: true, role: 'user' });
    const auth = await new ApiKeyAuthenticator(database.db, { cacheTtlMs: 0 }).authenticate(first);
    expect(auth.ok && auth.principal.accountId).toBe('acme');

    clock.advance(51 * 60_000); // within 10 minutes of the hour's expiry
    const second = await keys.keyFor('acme');
    expect(second).not.toBe(first);
    expect(await listApiKeys(database.db, 'acme', SERVICE_USER_ID)).toHaveLength(1);

    await keys.revokeAll();
    expect(await listApiKeys(database.db, 'acme', SERVICE_USER_ID)).toHaveLength(0);
  });
});
