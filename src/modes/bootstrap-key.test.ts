// The bootstrap key goes once to the terminal that asked for it, or to a 0600 file, never to a log.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootstrap } from '../auth/bootstrap.js';
import { openDatabase } from '../db/client.js';
import { deliverKey, keyDelivery } from './bootstrap-key.js';

describe('keyDelivery', () => {
  it.each([
    [{ isTTY: true }, 'stdout'],
    [{ isTTY: false, printRequested: true }, 'stdout'],
    [{ isTTY: false, file: '/tmp/k' }, 'file'],
    [{ isTTY: true, file: '/tmp/k' }, 'stdout'],
    [{ isTTY: false }, 'nowhere'],
    [{ isTTY: false, printRequested: false, file: undefined }, 'nowhere'],
  ])('%j → %s', (input, to) => expect(keyDelivery(input).to).toBe(to));
});

describe('deliverKey', () => {
  it('prints to the terminal; the line returned for the log does not contain the key', async () => {
    let out = '';
    const line = await deliverKey('hearth_secret', { to: 'stdout' }, 'API key', { write: (s: string) => (out += s) });
    expect(out).toBe('API key:\nhearth_secret\n');
    expect(line).not.toContain('hearth_secret');
  });

  it('writes a file only its owner can read', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'hearth-key-')), 'key');
    const line = await deliverKey('hearth_secret', { to: 'file', path }, 'API key', { write: () => expect.fail('nothing on stdout') });
    expect(readFileSync(path, 'utf8')).toBe('hearth_secret\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(line).toContain(path);
    expect(line).not.toContain('hearth_secret');
  });
});

describe('bootstrap with nowhere to show a key', () => {
  it("issues none (issueKey 'never'); a later run at a terminal issues one", async () => {
    const database = await openDatabase();
    try {
      await database.migrate();
      const none = await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example', issueKey: 'never' });
      expect(none.accountCreated).toBe(true);
      expect(none.apiKey).toBeUndefined();
      const later = await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' });
      expect(later.apiKey?.key).toMatch(/^hearth_/);
    } finally {
      await database.close();
    }
  }, 60_000);
});
