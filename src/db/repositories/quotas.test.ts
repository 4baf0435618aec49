import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap } from '../../auth/bootstrap.js';
import { openDatabase, type Database } from '../client.js';
import { LORAS_QUOTA, MONTHLY_GPU_HOURS_QUOTA, defaultQuotaFor, defaultQuotas, getQuota, holdNew, holdsOf, monthBounds, quotaRoomFor, setHolds } from './quotas.js';

describe('default quotas', () => {
  it('has 8 GPUs per accelerator type per region of the catalog, 2000 GPU-hours, 100 LoRAs', () => {
    const all = defaultQuotas();
    const byName = new Map(all.map((q) => [q.name, q]));
    expect(byName.get('h100-us-virginia-2')).toEqual({ name: 'h100-us-virginia-2', value: 8, maxValue: 8 });
    expect(byName.get('mi300x-us-virginia-2')?.value).toBe(8);
    expect(byName.get('a100-us-illinois-2')?.value).toBe(8);
    expect(byName.get('h200-eu-paris-1')?.value).toBe(8);
    expect(byName.get('h100-us-iowa-1')?.value).toBe(8);
    expect(byName.get(MONTHLY_GPU_HOURS_QUOTA)?.value).toBe(2000);
    expect(byName.get(LORAS_QUOTA)?.value).toBe(100);
    expect(byName.size).toBe(all.length);
  });

  it('knows GPU quota names beyond the catalog pairs, not arbitrary names', () => {
    expect(defaultQuotaFor('h100-us-texas-1')).toEqual({ name: 'h100-us-texas-1', value: 8, maxValue: 8 });
    expect(defaultQuotaFor('h100-na-britishcolumbia-1')?.value).toBe(8);
    expect(defaultQuotaFor('tpu-us-texas-1')).toBeUndefined();
    expect(defaultQuotaFor('monthly-spend-usd')).toBeUndefined();
    expect(defaultQuotaFor('')).toBeUndefined();
  });

  it('computes UTC calendar months', () => {
    expect(monthBounds(new Date('2026-12-31T23:59:59Z'))).toEqual({ from: new Date('2026-12-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') });
    expect(monthBounds(new Date('2026-03-01T00:00:00Z')).from.toISOString()).toBe('2026-03-01T00:00:00.000Z');
  });
});

describe('holdNew and quotaRoomFor (one statement each; embedded PostgreSQL)', () => {
  let database: Database;
  const Q = 'a100-us-illinois-2';
  const held = async (holder: string) => Object.fromEntries((await holdsOf(database.db, 'acme', holder)).map((h) => [h.quotaName, h.amount]));
  const usage = async () => (await getQuota(database.db, 'acme', Q))!.usage;

  beforeAll(async () => {
    database = await openDatabase();
    await database.migrate();
    await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' });
    await getQuota(database.db, 'acme', Q); // the default row: 8 GPUs
  }, 60_000);
  afterAll(async () => database?.close());

  it('a new holder gets what fits, usage moves with it; a holder that holds anything, no room or no row: false and nothing changes', async () => {
    expect(await holdNew(database.db, 'acme', 'sftjob/a', Q, 6)).toBe(true);
    expect(await held('sftjob/a')).toEqual({ [Q]: 6 });
    expect(await usage()).toBe(6);
    expect(await holdNew(database.db, 'acme', 'sftjob/a', Q, 1)).toBe(false); // holds already: setHolds decides
    expect(await holdNew(database.db, 'acme', 'sftjob/b', Q, 3)).toBe(false); // 6 + 3 > 8
    expect(await holdNew(database.db, 'acme', 'sftjob/b', 'h100-us-texas-1', 1)).toBe(false); // no row yet (outside the catalog's defaults)
    expect(await held('sftjob/b')).toEqual({});
    expect(await usage()).toBe(6);
    await expect(holdNew(database.db, 'acme', 'sftjob/b', Q, 0)).rejects.toThrow(/amount/);
    // Concurrent new holders never oversubscribe: 2 GPUs left, four want 1 each.
    const got = await Promise.all(['c', 'd', 'e', 'f'].map((h) => holdNew(database.db, 'acme', `sftjob/${h}`, Q, 1)));
    expect(got.filter(Boolean)).toHaveLength(2);
    expect(await usage()).toBe(8);
    for (const h of ['a', 'c', 'd', 'e', 'f']) await setHolds(database.db, 'acme', `sftjob/${h}`, {});
    expect(await usage()).toBe(0);
  });

  it('quotaRoomFor: value less usage, plus what the holder itself holds; names without a row are left out', async () => {
    await setHolds(database.db, 'acme', 'sftjob/x', { [Q]: 2 });
    await setHolds(database.db, 'acme', 'sftjob/y', { [Q]: 3 });
    const room = await quotaRoomFor(database.db, 'acme', 'sftjob/x', [Q, 'h100-us-texas-1']);
    expect([...room]).toEqual([[Q, 5]]); // 8 - 5 + its own 2
    expect(await quotaRoomFor(database.db, 'acme', 'sftjob/z', [])).toEqual(new Map());
    await setHolds(database.db, 'acme', 'sftjob/x', {});
    await setHolds(database.db, 'acme', 'sftjob/y', {});
  });
});
