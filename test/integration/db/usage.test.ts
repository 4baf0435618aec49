import { describe, expect, it } from 'vitest';
import { InvalidValueError } from '../../../src/db/errors.js';
import { createAccount } from '../../../src/db/repositories/accounts.js';
import { recordUsage, usageTotals, type UsageEntry } from '../../../src/db/repositories/usage.js';
import { dbTargets, uniqueId } from './support.js';

const targets = dbTargets('usage');

function minute(accountId: string, replica: string, startIso: string, extra: Partial<UsageEntry> = {}): UsageEntry {
  const start = new Date(startIso);
  return {
    accountId,
    replica,
    intervalStart: start,
    intervalEnd: new Date(start.getTime() + 60_000),
    deployment: 'd1',
    region: 'US_VIRGINIA_2',
    acceleratorType: 'NVIDIA_H100_80GB',
    acceleratorCount: 2,
    gpuSeconds: 120,
    ...extra,
  };
}

describe.each(targets)('usage ledger on $name', (t) => {
  it('re-recording the same replica and interval is harmless', async () => {
    const a = uniqueId();
    await createAccount(t.db, { accountId: a, email: 'x@example.com' });
    const batch = [minute(a, 'pod-1', '2026-04-01T00:00:00Z'), minute(a, 'pod-1', '2026-04-01T00:01:00Z'), minute(a, 'pod-2', '2026-04-01T00:00:00Z')];
    expect(await recordUsage(t.db, batch)).toBe(3);
    expect(await recordUsage(t.db, batch)).toBe(0);
    // A retry that overlaps: one old, one new interval; a replayed value never double-counts.
    expect(await recordUsage(t.db, [minute(a, 'pod-1', '2026-04-01T00:01:00Z', { gpuSeconds: 999 }), minute(a, 'pod-1', '2026-04-01T00:02:00Z')])).toBe(1);
    // Concurrent writers (two metering leaders for a moment) record each interval once.
    const more = Array.from({ length: 30 }, (_, i) => minute(a, 'pod-3', new Date(Date.parse('2026-04-01T01:00:00Z') + i * 60_000).toISOString()));
    const counts = await Promise.all([recordUsage(t.db, more), recordUsage(t.db, more), recordUsage(t.db, more)]);
    expect(counts.reduce((x, y) => x + y, 0)).toBe(30);
    const [total] = await usageTotals(t.db, { accountId: a, from: new Date('2026-04-01T00:00:00Z'), to: new Date('2026-05-01T00:00:00Z') });
    expect(total!.gpuSeconds).toBe(34 * 120);
  });

  it('sums by deployment, region and accelerator type within a range', async () => {
    const a = uniqueId();
    await createAccount(t.db, { accountId: a, email: 'x@example.com' });
    await recordUsage(t.db, [
      minute(a, 'p1', '2026-04-01T00:00:00Z'),
      minute(a, 'p2', '2026-04-01T00:00:00Z', { deployment: 'd2', region: 'EU_PARIS_1', acceleratorType: 'NVIDIA_H200_141GB', gpuSeconds: 60 }),
      minute(a, 'p2', '2026-04-01T00:01:00Z', { deployment: 'd2', region: 'EU_PARIS_1', acceleratorType: 'NVIDIA_H200_141GB', gpuSeconds: 60 }),
      minute(a, 'p1', '2026-05-01T00:00:00Z'), // next month: outside the range
    ]);
    const range = { accountId: a, from: new Date('2026-04-01T00:00:00Z'), to: new Date('2026-05-01T00:00:00Z') };
    expect(await usageTotals(t.db, { ...range, groupBy: ['deployment'] })).toEqual([
      { deployment: 'd1', gpuSeconds: 120 },
      { deployment: 'd2', gpuSeconds: 120 },
    ]);
    expect(await usageTotals(t.db, { ...range, groupBy: ['region', 'acceleratorType'], deployment: 'd2' })).toEqual([
      { region: 'EU_PARIS_1', acceleratorType: 'NVIDIA_H200_141GB', gpuSeconds: 120 },
    ]);
    expect(await usageTotals(t.db, { ...range, accountId: uniqueId() })).toEqual([{ gpuSeconds: 0 }]);
  });

  it('validates entries', async () => {
    const a = uniqueId();
    await createAccount(t.db, { accountId: a, email: 'x@example.com' });
    const bad = minute(a, 'p', '2026-04-01T00:00:00Z');
    await expect(recordUsage(t.db, [{ ...bad, intervalEnd: bad.intervalStart }])).rejects.toBeInstanceOf(InvalidValueError);
    await expect(recordUsage(t.db, [{ ...bad, gpuSeconds: -1 }])).rejects.toBeInstanceOf(InvalidValueError);
  });
});
