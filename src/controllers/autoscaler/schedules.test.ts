import { describe, expect, it } from 'vitest';
import type { ScalingSchedule } from './policy.js';
import { activeWindow, scheduleFloor } from './schedules.js';

const at = (iso: string): number => Date.parse(iso);
const H = 3_600_000;

// 2026-11-23 is a Monday.
const businessHoursNY: ScalingSchedule = { minReplicas: 3, schedule: '0 8 * * Mon-Fri', durationMs: 10 * H, timezone: 'America/New_York' };
const fridayNight: ScalingSchedule = { minReplicas: 2, schedule: '0 22 * * Fri', durationMs: 4 * H, timezone: 'UTC' };
const allWeek: ScalingSchedule = { minReplicas: 1, schedule: '0 0 * * Mon', durationMs: 7 * 24 * H, timezone: 'UTC' };

describe('activeWindow', () => {
  it.each([
    { name: 'before the start', s: businessHoursNY, now: '2026-11-25T12:59:59Z', active: false },
    { name: 'at the start (08:00 EST = 13:00Z)', s: businessHoursNY, now: '2026-11-25T13:00:00Z', active: true },
    { name: 'mid-window', s: businessHoursNY, now: '2026-11-25T17:00:00Z', active: true },
    { name: 'last ms of the window', s: businessHoursNY, now: '2026-11-25T22:59:59.999Z', active: true },
    { name: 'the window has ended (18:00 EST)', s: businessHoursNY, now: '2026-11-25T23:00:00Z', active: false },
    { name: 'Saturday', s: businessHoursNY, now: '2026-11-28T17:00:00Z', active: false },
    { name: 'Friday night, before midnight', s: fridayNight, now: '2026-11-27T23:30:00Z', active: true },
    { name: 'Friday night window runs into Saturday', s: fridayNight, now: '2026-11-28T01:59:00Z', active: true },
    { name: 'Friday night window ends Saturday 02:00', s: fridayNight, now: '2026-11-28T02:00:00Z', active: false },
    { name: 'Saturday 22:00 is not Friday', s: fridayNight, now: '2026-11-28T22:30:00Z', active: false },
    { name: 'a 7-day window from Monday covers Sunday night', s: allWeek, now: '2026-11-29T23:59:00Z', active: true },
    { name: 'disabled', s: { ...businessHoursNY, disabled: true }, now: '2026-11-25T17:00:00Z', active: false },
  ])('$name', ({ s, now, active }) => {
    expect(activeWindow(s, at(now)) !== undefined).toBe(active);
  });

  it('reports the window bounds', () => {
    expect(activeWindow(businessHoursNY, at('2026-11-25T17:00:00Z'))).toEqual({
      startedAt: at('2026-11-25T13:00:00Z'),
      endsAt: at('2026-11-25T23:00:00Z'),
    });
  });

  it('follows the zone across DST: 08:00 local is 12:00Z in summer', () => {
    expect(activeWindow(businessHoursNY, at('2026-07-15T12:30:00Z'))?.startedAt).toBe(at('2026-07-15T12:00:00Z'));
    expect(activeWindow(businessHoursNY, at('2026-07-15T11:59:00Z'))).toBeUndefined();
  });
});

describe('scheduleFloor', () => {
  const named = (entries: Record<string, ScalingSchedule>) => Object.entries(entries).map(([name, s]) => ({ ...s, name }));

  it('is 0 with nothing active', () => {
    expect(scheduleFloor(named({ business: businessHoursNY }), at('2026-11-28T17:00:00Z'))).toEqual({ floor: 0, active: [], warnings: [] });
  });

  it('takes the highest floor among overlapping schedules', () => {
    const f = scheduleFloor(
      named({ base: allWeek, business: businessHoursNY, peak: { ...businessHoursNY, schedule: '0 12 * * Wed', durationMs: 2 * H, minReplicas: 5 } }),
      at('2026-11-25T17:30:00Z'), // Wednesday 12:30 EST
    );
    expect(f.floor).toBe(5);
    expect(f.active.map((a) => a.name).sort()).toEqual(['base', 'business', 'peak']);
  });

  it('ignores a bad schedule with a warning and keeps the others', () => {
    const f = scheduleFloor(
      named({
        typo: { ...businessHoursNY, schedule: '0 8 * * Mon-Fryday' },
        zone: { ...businessHoursNY, timezone: 'America/Atlantis' },
        ok: businessHoursNY,
      }),
      at('2026-11-25T17:00:00Z'),
    );
    expect(f.floor).toBe(3);
    expect(f.warnings).toHaveLength(2);
    expect(f.warnings[0]).toMatch(/"typo" ignored: .*Fryday/);
    expect(f.warnings[1]).toMatch(/"zone" ignored: unknown time zone "America\/Atlantis"/);
  });
});
