import { describe, expect, it } from 'vitest';
import type { QuotaHoldRow } from '../../db/schema/index.js';
import { FakeClock } from '../../util/fake-clock.js';
import { orphanedHolds } from './orphan-holds.js';

const GRACE = 10 * 60_000;

describe('orphanedHolds', () => {
  const clock = new FakeClock(Date.parse('2026-12-01T12:00:00Z'));
  const hold = (accountId: string, holder: string, ageMs: number): QuotaHoldRow => ({
    accountId,
    holder,
    quotaName: 'h100-us-virginia-2',
    amount: 8,
    generation: 1,
    createTime: new Date(clock.now() - ageMs),
    updateTime: new Date(clock.now() - ageMs),
  });
  const live = new Set(['acme/deployment/web']);

  it.each([
    ['a live deployment keeps its hold', hold('acme', 'deployment/web', GRACE * 10), false],
    ['a missing deployment past the grace is an orphan', hold('acme', 'deployment/gone', GRACE), true],
    ['a missing deployment inside the grace (a create the cache has not seen) is kept', hold('acme', 'deployment/new', GRACE - 1), false],
    ['the same name in another account is not live', hold('globex', 'deployment/web', GRACE * 2), true],
    ['holders other than deployments are not this sweep\'s', hold('acme', 'deployedModel/x', GRACE * 2), false],
  ])('%s', (_what, h, orphan) => {
    expect(orphanedHolds([h], live, clock.now(), GRACE)).toEqual(orphan ? [h] : []);
  });

  it('a second sweep with nothing changed frees nothing more', () => {
    const holds = [hold('acme', 'deployment/web', GRACE * 2)];
    expect(orphanedHolds(holds, live, clock.now(), GRACE)).toEqual([]);
    clock.advance(GRACE * 100);
    expect(orphanedHolds(holds, live, clock.now(), GRACE)).toEqual([]);
  });
});
