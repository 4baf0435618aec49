import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/db/client.js';
import { dbTargets } from './support.js';

const targets = dbTargets('migrations');

describe.each(targets)('migrations on $name', (t) => {
  it('creates every table and is idempotent', async () => {
    await t.database.migrate();
    await t.database.migrate();
    const rows = await t.db.execute(sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`);
    const names = (rows as unknown as { rows: { table_name: string }[] }).rows.map((r) => r.table_name);
    expect(names).toEqual(
      expect.arrayContaining(['accounts', 'api_keys', 'audit_log', 'capacity_reservations', 'datasets', 'models', 'quota_holds', 'quotas', 'usage_ledger', 'users']),
    );
  });

  it('serialises concurrent migrate() calls of several replicas', async () => {
    const replicas = await Promise.all([t.openAnother(), t.openAnother(), t.openAnother()]);
    await Promise.all(replicas.map((r) => r.migrate()));
    const rows = await t.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
    expect((rows as unknown as { rows: { n: number }[] }).rows[0]!.n).toBeGreaterThan(0);
  });
});

describe('PGlite persisted in a directory', () => {
  it('keeps data across reopen', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'hearth-pglite-'));
    try {
      const a = await openDatabase({ url: `pglite://${dir}` });
      await a.migrate();
      await a.db.execute(sql`insert into accounts (account_id, email) values ('persisted', 'p@example.com')`);
      await a.close();
      const b = await openDatabase({ url: `pglite://${dir}` });
      await b.migrate();
      const rows = await b.db.execute(sql`select account_id from accounts`);
      expect((rows as unknown as { rows: { account_id: string }[] }).rows.map((r) => r.account_id)).toEqual(['persisted']);
      await b.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
