// Archived batch job logs on PGlite: a rank is archived once, pages go both ways from a position,
// a deleted job's lines go by its key, and the retention purge drops what is older than it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../client.js';
import { archiveRank, archivedRanks, deleteLogsOfJobKey, pageArchivedLines, purgeLogsArchivedBefore } from './batch-job-logs.js';

let database: Database;
const T = Date.parse('2026-12-06T08:00:00Z');
const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ timeMicros: T * 1000 + i, message: `${tag} ${i}` }));

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
}, 60_000);
afterAll(async () => {
  await database?.close();
});

describe('batch job logs', () => {
  it('archives a rank once; a second archive of it changes nothing', async () => {
    const db = database.db;
    expect(await archiveRank(db, { jobUid: 'u1', rank: 0, accountId: 'a', jobKey: 'ns/j1', lines: lines(3, 'first'), now: new Date(T) })).toBe(true);
    expect(await archiveRank(db, { jobUid: 'u1', rank: 0, accountId: 'a', jobKey: 'ns/j1', lines: lines(5, 'again'), now: new Date(T) })).toBe(false);
    expect(await archivedRanks(db, 'u1')).toEqual(new Set([0]));
    const all = await pageArchivedLines(db, { jobUid: 'u1', headFirst: true, limit: 10 });
    expect(all.map((l) => l.message)).toEqual(['first 0', 'first 1', 'first 2']);
  });

  it('pages from a position both ways, with ranks, text and time filters', async () => {
    const db = database.db;
    await archiveRank(db, { jobUid: 'u2', rank: 1, accountId: 'a', jobKey: 'ns/j2', lines: lines(30_000, 'line'), now: new Date(T) });
    const first = await pageArchivedLines(db, { jobUid: 'u2', headFirst: true, limit: 2 });
    const next = await pageArchivedLines(db, { jobUid: 'u2', headFirst: true, limit: 2, after: [first[1]!.timeMicros, 1, first[1]!.seq] });
    expect(next.map((l) => l.message)).toEqual(['line 2', 'line 3']);
    const last = await pageArchivedLines(db, { jobUid: 'u2', headFirst: false, limit: 1 });
    expect(last.map((l) => l.message)).toEqual(['line 29999']);
    expect((await pageArchivedLines(db, { jobUid: 'u2', headFirst: true, limit: 5, contains: 'line 2999' })).map((l) => l.message)).toEqual(['line 2999', 'line 29990', 'line 29991', 'line 29992', 'line 29993']);
    expect((await pageArchivedLines(db, { jobUid: 'u2', headFirst: true, limit: 1, sinceMicros: T * 1000 + 100 }))[0]!.message).toBe('line 100');
    expect(await pageArchivedLines(db, { jobUid: 'u2', ranks: [0], headFirst: true, limit: 1 })).toEqual([]);
  });

  it("a gone job's lines go by its key; the retention purge drops ranks archived before the cut", async () => {
    const db = database.db;
    await archiveRank(db, { jobUid: 'u3', rank: 0, accountId: 'a', jobKey: 'ns/j3', lines: lines(2, 'x'), now: new Date(T) });
    await deleteLogsOfJobKey(db, 'ns/j3');
    expect(await archivedRanks(db, 'u3')).toEqual(new Set());
    await archiveRank(db, { jobUid: 'u4', rank: 0, accountId: 'a', jobKey: 'ns/j4', lines: lines(2, 'old'), now: new Date(T - 3600_000) });
    expect(await purgeLogsArchivedBefore(db, new Date(T - 60_000))).toBe(1);
    expect(await archivedRanks(db, 'u4')).toEqual(new Set());
    expect(await pageArchivedLines(db, { jobUid: 'u4', headFirst: true, limit: 5 })).toEqual([]);
    expect(await archivedRanks(db, 'u1')).toEqual(new Set([0]));
  });
});
