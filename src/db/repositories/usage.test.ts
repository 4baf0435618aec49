import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../client.js';
import { createAccount } from './accounts.js';
import { lastIntervalsOf, recordUsage, type UsageEntry } from './usage.js';

let database: Database;

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  await createAccount(database.db, { accountId: 'a1', email: 'a1@example.com' });
  await createAccount(database.db, { accountId: 'a2', email: 'a2@example.com' });
});

afterAll(async () => {
  await database.close();
});

function row(accountId: string, replica: string, startIso: string, seconds = 60): UsageEntry {
  const start = new Date(startIso);
  return {
    accountId,
    replica,
    intervalStart: start,
    intervalEnd: new Date(start.getTime() + seconds * 1000),
    deployment: 'd1',
    region: 'US_VIRGINIA_2',
    acceleratorType: 'NVIDIA_H100_80GB',
    acceleratorCount: 1,
    gpuSeconds: seconds,
  };
}

describe('lastIntervalsOf', () => {
  it('returns the latest interval of each replica and its account, and nothing for replicas without rows', async () => {
    await recordUsage(database.db, [
      row('a1', 'pod-1', '2026-04-01T00:00:00Z'),
      row('a1', 'pod-1', '2026-04-01T00:02:00Z', 30),
      row('a1', 'pod-1', '2026-04-01T00:01:00Z'),
      row('a1', 'pod-2', '2026-04-01T00:05:00Z'),
      row('a2', 'pod-3', '2026-04-01T00:09:00Z'),
    ]);
    const last = await lastIntervalsOf(database.db, ['pod-1', 'pod-2', 'pod-3', 'pod-none']);
    expect([...last.keys()].sort()).toEqual(['pod-1', 'pod-2', 'pod-3']);
    expect(last.get('pod-1')).toEqual({ accountId: 'a1', intervalStart: new Date('2026-04-01T00:02:00Z'), intervalEnd: new Date('2026-04-01T00:02:30Z') });
    expect(last.get('pod-2')?.intervalStart).toEqual(new Date('2026-04-01T00:05:00Z'));
    expect(last.get('pod-3')).toMatchObject({ accountId: 'a2', intervalStart: new Date('2026-04-01T00:09:00Z') });
    expect((await lastIntervalsOf(database.db, [])).size).toBe(0);
  });
});

describe('recordUsage', () => {
  it('records an interval of a replica once, whatever account a second write names', async () => {
    expect(await recordUsage(database.db, [row('a1', 'pod-flicker', '2026-04-01T01:00:00Z')])).toBe(1);
    expect(await recordUsage(database.db, [row('a2', 'pod-flicker', '2026-04-01T01:00:00Z'), row('a2', 'pod-flicker', '2026-04-01T01:01:00Z')])).toBe(1);
    const last = await lastIntervalsOf(database.db, ['pod-flicker']);
    expect(last.get('pod-flicker')).toMatchObject({ accountId: 'a2', intervalStart: new Date('2026-04-01T01:01:00Z') });
  });
});
