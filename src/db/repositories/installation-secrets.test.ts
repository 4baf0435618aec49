import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../client.js';
import { SECRET_NAMES, getOrCreateSecret, installationSecret } from './installation-secrets.js';

let database: Database;
beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
});
afterAll(async () => database?.close());

describe('installation secrets', () => {
  it('the first ask makes 32 random bytes; every later or concurrent ask (any process on the database) gets the same', async () => {
    const all = await Promise.all(Array.from({ length: 5 }, () => installationSecret(database.db, SECRET_NAMES.tenancy)));
    expect(all[0]).toHaveLength(32);
    for (const s of all) expect(s.equals(all[0]!)).toBe(true);
    const again = await getOrCreateSecret(database.db, SECRET_NAMES.tenancy);
    expect(again.secret.equals(all[0]!)).toBe(true);
    expect(again.createTime).toBeInstanceOf(Date);
    expect((await installationSecret(database.db, 'another')).equals(all[0]!)).toBe(false);
  });
});
