import { describe, expect, it } from 'vitest';
import { CronError, lastFireAtOrBefore, matchesDay, parseCron, wallClockToInstant, zoneOffsetMs } from './cron.js';

const range = (lo: number, hi: number, step = 1): number[] => {
  const out: number[] = [];
  for (let v = lo; v <= hi; v += step) out.push(v);
  return out;
};
const sorted = (s: ReadonlySet<number>): number[] => [...s].sort((a, b) => a - b);
const at = (iso: string): number => Date.parse(iso);
const H = 3_600_000;
const D = 24 * H;

describe('parseCron', () => {
  it.each([
    { expr: '* * * * *', field: 'minutes', want: range(0, 59) },
    { expr: '*/15 * * * *', field: 'minutes', want: [0, 15, 30, 45] },
    { expr: '5-10/2 * * * *', field: 'minutes', want: [5, 7, 9] },
    { expr: '30/10 * * * *', field: 'minutes', want: [30, 40, 50] },
    { expr: '0,5,10-12 * * * *', field: 'minutes', want: [0, 5, 10, 11, 12] },
    { expr: '0 */6 * * *', field: 'hours', want: [0, 6, 12, 18] },
    { expr: '0 0 1,15 * *', field: 'daysOfMonth', want: [1, 15] },
    { expr: '0 0 * JAN,dec *', field: 'months', want: [1, 12] },
    { expr: '0 0 * Mar-May *', field: 'months', want: [3, 4, 5] },
    { expr: '0 8 * * Mon-Fri', field: 'daysOfWeek', want: [1, 2, 3, 4, 5] },
    { expr: '0 8 * * mon-FRI', field: 'daysOfWeek', want: [1, 2, 3, 4, 5] },
    { expr: '0 22 * * 7', field: 'daysOfWeek', want: [0] },
    { expr: '0 22 * * 5-7', field: 'daysOfWeek', want: [0, 5, 6] },
    { expr: '0 22 * * SUN,SAT', field: 'daysOfWeek', want: [0, 6] },
    { expr: '  0   8  *  *  *  ', field: 'hours', want: [8] },
  ] as const)('$expr → $field', ({ expr, field, want }) => {
    expect(sorted(parseCron(expr)[field])).toEqual(want);
  });

  it.each([
    ['', /expected 5 fields/],
    ['* * * *', /expected 5 fields/],
    ['* * * * * *', /expected 5 fields/],
    ['60 * * * *', /minute value 60 is outside 0-59/],
    ['* 24 * * *', /hour value 24/],
    ['* * 0 * *', /day-of-month value 0/],
    ['* * 32 * *', /day-of-month value 32/],
    ['* * * 13 *', /month value 13/],
    ['* * * * 8', /day-of-week value 8/],
    ['*/0 * * * *', /invalid step/],
    ['*/x * * * *', /invalid step/],
    ['5-1 * * * *', /runs backwards/],
    ['1--2 * * * *', /invalid range/],
    ['1,,2 * * * *', /invalid item/],
    ['1/2/3 * * * *', /invalid item/],
    ['@daily', /expected 5 fields/],
    ['? * * * *', /invalid value "\?"/],
    ['0 0 L * *', /invalid value "L"/],
    ['0 0 * * MON#2', /invalid value "MON#2"/],
    ['0 0 * * Funday', /invalid value "Funday"/],
    ['0 0 * Smarch *', /invalid value "Smarch"/],
  ])('rejects %j', (expr, message) => {
    expect(() => parseCron(expr)).toThrow(CronError);
    expect(() => parseCron(expr)).toThrow(message);
  });
});

describe('matchesDay (Vixie cron day semantics)', () => {
  it.each([
    // expr, month, day-of-month, day-of-week, matches
    ['0 0 * * Mon', 11, 23, 1, true],
    ['0 0 * * Mon', 11, 24, 2, false],
    ['0 0 1 * *', 11, 1, 0, true],
    ['0 0 1 * *', 11, 2, 1, false],
    // both restricted: either matches
    ['0 0 1 * Mon', 11, 1, 0, true],
    ['0 0 1 * Mon', 11, 23, 1, true],
    ['0 0 1 * Mon', 11, 24, 2, false],
    // `*/n` counts as unrestricted for this rule, as in Vixie cron (it starts with `*`)
    ['0 0 */2 * Mon', 11, 3, 2, false],
    ['0 0 */2 * Mon', 11, 23, 1, true],
    ['0 0 * Dec *', 11, 23, 1, false],
    ['0 0 * Dec *', 12, 23, 3, true],
  ] as const)('%s on month %i day %i (weekday %i) → %s', (expr, month, dom, dow, want) => {
    expect(matchesDay(parseCron(expr), month, dom, dow)).toBe(want);
  });
});

describe('time zones', () => {
  it.each([
    ['UTC', '2026-07-01T12:00:00Z', 0],
    ['America/New_York', '2026-01-15T12:00:00Z', -5 * H],
    ['America/New_York', '2026-07-15T12:00:00Z', -4 * H],
    ['Asia/Kolkata', '2026-07-15T12:00:00Z', 5.5 * H],
    ['Asia/Kathmandu', '2026-07-15T12:00:00Z', 5.75 * H],
  ])('%s offset at %s', (tz, iso, want) => {
    expect(zoneOffsetMs(tz, at(iso))).toBe(want);
  });

  it('rejects an unknown zone', () => {
    expect(() => zoneOffsetMs('Mars/Olympus_Mons', 0)).toThrow(CronError);
  });

  it.each([
    // an ordinary time
    ['America/New_York', '2026-07-15T08:00:00Z', '2026-07-15T12:00:00Z'],
    // skipped by spring-forward (02:30 does not exist on 8 March): shifted forward by the gap
    ['America/New_York', '2026-03-08T02:30:00Z', '2026-03-08T07:30:00Z'],
    // repeated by fall-back (01:30 happens twice on 1 November): the earlier instant
    ['America/New_York', '2026-11-01T01:30:00Z', '2026-11-01T05:30:00Z'],
  ])('wall clock %s %s is %s', (tz, wallIso, want) => {
    expect(new Date(wallClockToInstant(tz, at(wallIso))).toISOString()).toBe(new Date(want).toISOString());
  });
});

describe('lastFireAtOrBefore', () => {
  it.each([
    {
      name: 'weekday morning, same day',
      expr: '0 8 * * Mon-Fri', tz: 'UTC', now: '2026-11-25T09:00:00Z', lookback: 10 * H, want: '2026-11-25T08:00:00Z',
    },
    {
      name: 'exactly at the fire time',
      expr: '0 8 * * Mon-Fri', tz: 'UTC', now: '2026-11-25T08:00:00Z', lookback: 10 * H, want: '2026-11-25T08:00:00Z',
    },
    {
      name: 'one ms before the fire time: yesterday',
      expr: '0 8 * * Mon-Fri', tz: 'UTC', now: '2026-11-25T07:59:59.999Z', lookback: 2 * D, want: '2026-11-24T08:00:00Z',
    },
    {
      name: 'weekend looks back to Friday',
      expr: '0 8 * * Mon-Fri', tz: 'UTC', now: '2026-11-29T10:00:00Z', lookback: 3 * D, want: '2026-11-27T08:00:00Z',
    },
    {
      name: 'weekend with a short lookback: nothing',
      expr: '0 8 * * Mon-Fri', tz: 'UTC', now: '2026-11-29T10:00:00Z', lookback: D, want: undefined,
    },
    {
      name: 'across midnight',
      expr: '0 22 * * *', tz: 'UTC', now: '2026-11-26T01:30:00Z', lookback: 4 * H, want: '2026-11-25T22:00:00Z',
    },
    {
      name: 'read in the zone, not in UTC',
      expr: '0 8 * * Mon-Fri', tz: 'America/New_York', now: '2026-11-25T13:30:00Z', lookback: 10 * H, want: '2026-11-25T13:00:00Z',
    },
    {
      name: 'local Friday is UTC Friday afternoon in Tokyo',
      expr: '0 23 * * Fri', tz: 'Asia/Tokyo', now: '2026-11-27T16:00:00Z', lookback: 4 * H, want: '2026-11-27T14:00:00Z',
    },
    {
      name: 'local Monday starts on UTC Sunday in Auckland',
      expr: '0 0 * * Mon', tz: 'Pacific/Auckland', now: '2026-11-22T12:00:00Z', lookback: 2 * H, want: '2026-11-22T11:00:00Z',
    },
    {
      name: 'half-hour zone',
      expr: '0 9 * * *', tz: 'Asia/Kolkata', now: '2026-07-15T04:00:00Z', lookback: H, want: '2026-07-15T03:30:00Z',
    },
    {
      name: 'monthly, a week back',
      expr: '0 0 1 * *', tz: 'UTC', now: '2026-12-06T00:00:00Z', lookback: 7 * D, want: '2026-12-01T00:00:00Z',
    },
    {
      name: 'every minute',
      expr: '* * * * *', tz: 'UTC', now: '2026-11-25T10:17:42.500Z', lookback: 5 * 60_000, want: '2026-11-25T10:17:00Z',
    },
    {
      name: 'spring-forward gap start runs an hour late',
      expr: '30 2 * * *', tz: 'America/New_York', now: '2026-03-08T08:00:00Z', lookback: 2 * H, want: '2026-03-08T07:30:00Z',
    },
    {
      name: 'fall-back: in the repeated hour, the first 01:30 already fired',
      expr: '30 1 * * *', tz: 'America/New_York', now: '2026-11-01T06:10:00Z', lookback: 2 * H, want: '2026-11-01T05:30:00Z',
    },
    {
      name: 'fall-back: fires once, at the first 01:30',
      expr: '30 1 * * *', tz: 'America/New_York', now: '2026-11-01T07:00:00Z', lookback: 3 * H, want: '2026-11-01T05:30:00Z',
    },
  ])('$name', ({ expr, tz, now, lookback, want }) => {
    const got = lastFireAtOrBefore(parseCron(expr), tz, at(now), lookback);
    expect(got === undefined ? undefined : new Date(got).toISOString()).toBe(want === undefined ? undefined : new Date(want).toISOString());
  });

  it('is cheap enough to run every tick for many deployments', () => {
    const c = parseCron('* * * * *');
    const start = performance.now();
    for (let i = 0; i < 1_000; i++) lastFireAtOrBefore(c, 'America/New_York', at('2026-11-25T10:17:42Z') + i * 2_000, 7 * D);
    // Generous bound for a shared CI box: the point is "not thousands of zone conversions per call".
    expect(performance.now() - start).toBeLessThan(2_000);
  });
});
