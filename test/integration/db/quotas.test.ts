import { describe, expect, it } from 'vitest';
import { InvalidValueError, NotFoundError, QuotaExceededError } from '../../../src/db/errors.js';
import { createAccount } from '../../../src/db/repositories/accounts.js';
import {
  LORAS_QUOTA,
  MONTHLY_GPU_HOURS_QUOTA,
  assertGpuHoursLeft,
  ensureDefaultQuotas,
  getQuota,
  holdsOf,
  listHolds,
  listQuotas,
  release,
  releaseAll,
  reserve,
  setHold,
  setHolds,
  setQuotaLimits,
  setQuotaValue,
} from '../../../src/db/repositories/quotas.js';
import { recordUsage } from '../../../src/db/repositories/usage.js';
import type { Db } from '../../../src/db/client.js';
import { dbTargets, uniqueId } from './support.js';

const targets = dbTargets('quotas', { maxConnections: 30 });
const H100 = 'h100-us-virginia-2';

async function newAccount(db: Db): Promise<string> {
  const accountId = uniqueId();
  await createAccount(db, { accountId, email: `${accountId}@example.com` });
  return accountId;
}

describe.each(targets)('quotas on $name', (t) => {
  it('has the documented defaults', async () => {
    const a = await newAccount(t.db);
    await ensureDefaultQuotas(t.db, a);
    await ensureDefaultQuotas(t.db, a); // idempotent
    const byName = new Map((await listQuotas(t.db, a)).map((q) => [q.name, q]));
    expect(byName.get(H100)).toMatchObject({ value: 8, maxValue: 8, usage: 0 });
    expect(byName.get('a100-us-illinois-2')).toMatchObject({ value: 8, maxValue: 8 });
    expect(byName.get('mi300x-us-virginia-2')).toMatchObject({ value: 8 });
    expect(byName.get('h200-eu-paris-1')).toMatchObject({ value: 8 });
    expect(byName.get(MONTHLY_GPU_HOURS_QUOTA)).toMatchObject({ value: 2000, maxValue: 2000 });
    expect(byName.get(LORAS_QUOTA)).toMatchObject({ value: 100, maxValue: 100 });
    expect([...byName.keys()]).toEqual([...byName.keys()].sort());
  });

  it('creates a known quota on first use and refuses unknown names', async () => {
    const a = await newAccount(t.db);
    expect(await getQuota(t.db, a, 'h100-ap-tokyo-1')).toMatchObject({ value: 8 });
    expect(await getQuota(t.db, a, 'no-such-quota')).toBeUndefined();
    await expect(reserve(t.db, a, 'no-such-quota', 1, 'deployment/x')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('reserves, refuses past the value naming the quota, and releases', async () => {
    const a = await newAccount(t.db);
    expect((await reserve(t.db, a, H100, 6, 'deployment/d1')).quota.usage).toBe(6);
    const err = await reserve(t.db, a, H100, 3, 'deployment/d2').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuotaExceededError);
    expect(err).toMatchObject({ quota: `accounts/${a}/quotas/${H100}`, requested: 3, usage: 6, limit: 8 });
    expect((await reserve(t.db, a, H100, 2, 'deployment/d2')).quota.usage).toBe(8);
    expect((await release(t.db, a, H100, 'deployment/d1', 2)).held).toBe(4);
    expect((await getQuota(t.db, a, H100))!.usage).toBe(6);
    await release(t.db, a, H100, 'deployment/d1');
    expect((await listHolds(t.db, a, H100)).map((h) => [h.holder, h.amount])).toEqual([['deployment/d2', 2]]);
    await release(t.db, a, H100, 'deployment/never-held'); // harmless
    expect((await getQuota(t.db, a, H100))!.usage).toBe(2);
  });

  it('setHold is idempotent and moves usage by the difference', async () => {
    const a = await newAccount(t.db);
    await setHold(t.db, a, H100, 'deployment/d', 4);
    await setHold(t.db, a, H100, 'deployment/d', 4);
    expect((await getQuota(t.db, a, H100))!.usage).toBe(4);
    await setHold(t.db, a, H100, 'deployment/d', 8);
    await expect(setHold(t.db, a, H100, 'deployment/d', 9)).rejects.toBeInstanceOf(QuotaExceededError);
    await setHold(t.db, a, H100, 'deployment/d', 1);
    expect((await getQuota(t.db, a, H100))!.usage).toBe(1);
    await reserve(t.db, a, LORAS_QUOTA, 1, 'deployment/d');
    expect((await holdsOf(t.db, a, 'deployment/d')).map((h) => h.quotaName)).toEqual([H100, LORAS_QUOTA]);
    await releaseAll(t.db, a, 'deployment/d');
    expect(await holdsOf(t.db, a, 'deployment/d')).toEqual([]);
    expect((await getQuota(t.db, a, H100))!.usage).toBe(0);
    expect((await getQuota(t.db, a, LORAS_QUOTA))!.usage).toBe(0);
  });

  it('setHolds moves a workload between quotas all or nothing', async () => {
    const a = await newAccount(t.db);
    const MI300 = 'mi300x-us-virginia-2';
    await setHolds(t.db, a, 'deployment/d', { [H100]: 4, [LORAS_QUOTA]: 1 });
    await reserve(t.db, a, MI300, 6, 'deployment/other');
    // Moving to MI300X needs 4 there; only 2 are left: nothing changes.
    await expect(setHolds(t.db, a, 'deployment/d', { [MI300]: 4 })).rejects.toBeInstanceOf(QuotaExceededError);
    expect((await holdsOf(t.db, a, 'deployment/d')).map((h) => [h.quotaName, h.amount])).toEqual([
      [H100, 4],
      [LORAS_QUOTA, 1],
    ]);
    await setHolds(t.db, a, 'deployment/d', { [MI300]: 2 });
    expect((await holdsOf(t.db, a, 'deployment/d')).map((h) => [h.quotaName, h.amount])).toEqual([[MI300, 2]]);
    expect((await getQuota(t.db, a, H100))!.usage).toBe(0);
    expect((await getQuota(t.db, a, MI300))!.usage).toBe(8);
  });

  it('assertGpuHoursLeft refuses once the month is used up', async () => {
    const a = await newAccount(t.db);
    const now = new Date('2026-06-10T00:00:00Z');
    await assertGpuHoursLeft(t.db, a, now);
    await setQuotaValue(t.db, a, MONTHLY_GPU_HOURS_QUOTA, 1, { allowMissing: true });
    const start = new Date('2026-06-01T00:00:00Z');
    await recordUsage(t.db, [
      { accountId: a, replica: 'r', deployment: 'd', region: 'US_VIRGINIA_2', acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 1, intervalStart: start, intervalEnd: new Date(start.getTime() + 3_600_000), gpuSeconds: 3600 },
    ]);
    await expect(assertGpuHoursLeft(t.db, a, now)).rejects.toMatchObject({ quota: `accounts/${a}/quotas/${MONTHLY_GPU_HOURS_QUOTA}`, usage: 1, limit: 1 });
    await assertGpuHoursLeft(t.db, a, new Date('2026-07-01T00:00:00Z')); // a new month
  });

  it('rejects non-positive amounts and empty holders', async () => {
    const a = await newAccount(t.db);
    await expect(reserve(t.db, a, H100, 0, 'x')).rejects.toBeInstanceOf(InvalidValueError);
    await expect(reserve(t.db, a, H100, -1, 'x')).rejects.toBeInstanceOf(InvalidValueError);
    await expect(reserve(t.db, a, H100, 1, '')).rejects.toBeInstanceOf(InvalidValueError);
  });

  it('updates value within maxValue', async () => {
    const a = await newAccount(t.db);
    await ensureDefaultQuotas(t.db, a);
    expect(await setQuotaValue(t.db, a, H100, 2)).toMatchObject({ value: 2, maxValue: 8 });
    await expect(reserve(t.db, a, H100, 3, 'deployment/d')).rejects.toBeInstanceOf(QuotaExceededError);
    await expect(setQuotaValue(t.db, a, H100, 9)).rejects.toThrow('value: must be at most maxValue (8)');
    await expect(setQuotaValue(t.db, a, H100, -1)).rejects.toBeInstanceOf(InvalidValueError);
    await expect(setQuotaValue(t.db, a, 'bogus', 1)).rejects.toBeInstanceOf(NotFoundError);
    await expect(setQuotaValue(t.db, a, 'bogus', 1, { allowMissing: true })).rejects.toBeInstanceOf(NotFoundError);
    // Lowering below usage is allowed; new reservations then fail until usage drops.
    await setQuotaValue(t.db, a, H100, 8);
    await reserve(t.db, a, H100, 6, 'deployment/d');
    expect(await setQuotaValue(t.db, a, H100, 4)).toMatchObject({ value: 4, usage: 6 });
    await expect(reserve(t.db, a, H100, 1, 'deployment/e')).rejects.toBeInstanceOf(QuotaExceededError);
  });

  it('allowMissing creates a known quota before updating it', async () => {
    const a = await newAccount(t.db);
    expect(await setQuotaValue(t.db, a, 'h200-eu-paris-1', 3, { allowMissing: true })).toMatchObject({ value: 3, maxValue: 8 });
  });

  it('operators raise the ceiling', async () => {
    const a = await newAccount(t.db);
    await ensureDefaultQuotas(t.db, a);
    expect(await setQuotaLimits(t.db, a, H100, { maxValue: 64 })).toMatchObject({ maxValue: 64, value: 8 });
    expect(await setQuotaValue(t.db, a, H100, 64)).toMatchObject({ value: 64 });
    expect(await setQuotaLimits(t.db, a, H100, { maxValue: 16 })).toMatchObject({ maxValue: 16, value: 16 });
  });

  it('monthly GPU-hours usage comes from the ledger of the current month', async () => {
    const a = await newAccount(t.db);
    const now = new Date('2026-03-15T12:00:00Z');
    const base = { accountId: a, deployment: 'd', region: 'US_VIRGINIA_2', acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 2 };
    await recordUsage(t.db, [
      { ...base, replica: 'r1', intervalStart: new Date('2026-03-01T00:00:00Z'), intervalEnd: new Date('2026-03-01T01:00:00Z'), gpuSeconds: 7200 },
      { ...base, replica: 'r1', intervalStart: new Date('2026-02-28T23:00:00Z'), intervalEnd: new Date('2026-03-01T00:00:00Z'), gpuSeconds: 7200 },
    ]);
    expect((await getQuota(t.db, a, MONTHLY_GPU_HOURS_QUOTA, now))!.usage).toBe(2);
    // Writes return the ledger's usage too (here: of the real current month).
    const thisMonth = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1));
    await recordUsage(t.db, [{ ...base, replica: 'r2', intervalStart: thisMonth, intervalEnd: new Date(thisMonth.getTime() + 60_000), gpuSeconds: 1800 }]);
    expect((await setQuotaValue(t.db, a, MONTHLY_GPU_HOURS_QUOTA, 100)).usage).toBe(0.5);
  });
});

describe.each(targets)('concurrent reservations on $name', (t) => {
  it('50 concurrent reservations never oversubscribe', async () => {
    const a = await newAccount(t.db);
    await ensureDefaultQuotas(t.db, a);
    // A second "replica" (its own pool) competes with the first, as two API processes would.
    const other = await t.openAnother();
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => reserve(i % 2 ? other.db : t.db, a, H100, 1 + (i % 3), `deployment/d${i}`)),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const f of failed) expect(f.reason).toBeInstanceOf(QuotaExceededError);
    const quota = (await getQuota(t.db, a, H100))!;
    const holds = await listHolds(t.db, a, H100);
    const held = holds.reduce((s, h) => s + h.amount, 0);
    expect(quota.usage).toBeLessThanOrEqual(8);
    expect(held).toBe(quota.usage);
    expect(holds.length).toBe(ok.length);
    // Greedy: no reservation of 1 could have fitted into what was left.
    expect(quota.usage).toBeGreaterThanOrEqual(7);
  });

  it('concurrent setHold and release keep usage equal to the sum of holds', async () => {
    const a = await newAccount(t.db);
    await setQuotaLimits(t.db, a, H100, { maxValue: 1000 });
    const ops = Array.from({ length: 60 }, (_, i) => {
      const holder = `deployment/d${i % 10}`;
      return i % 3 === 2 ? release(t.db, a, H100, holder) : setHold(t.db, a, H100, holder, (i % 7) + 1);
    });
    await Promise.all(ops);
    const quota = (await getQuota(t.db, a, H100))!;
    const held = (await listHolds(t.db, a, H100)).reduce((s, h) => s + h.amount, 0);
    expect(quota.usage).toBe(held);
  });
});
