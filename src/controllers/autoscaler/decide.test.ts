// Table-driven scenarios for the decision function. Every scenario is a simulated timeline: at
// each tick the gateway reports a load sample, the autoscaler decides, and its history carries to
// the next tick. Time is injected; nothing sleeps.
import { describe, expect, it } from 'vitest';
import { decide, Reason, targetRecommendations, type Decision } from './decide.js';
import { newHistory, observe, type AutoscalerHistory } from './history.js';
import { resolvePolicy, type AutoscalerPolicy } from './policy.js';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const DAY = 24 * H;
/** Monday 2026-11-23 00:00Z. */
const MONDAY = Date.UTC(2026, 10, 23);

/** With 10 concurrent requests per replica and the default target 0.8, a replica takes 8 in flight. */
const BASE: AutoscalerPolicy = { minReplicas: 1, maxReplicas: 10, settings: { concurrencyPerReplica: 10 } };

interface Load {
  inFlight?: number;
  rps?: number;
  tps?: number;
}

interface Scenario {
  name: string;
  policy: Partial<AutoscalerPolicy> | ((t: number) => Partial<AutoscalerPolicy>);
  /** Replica count when the timeline starts. */
  replicas: number;
  /** Load at t seconds; undefined = the gateway reported nothing. */
  load: (t: number) => Load | undefined;
  /** Expected [t seconds, desiredReplicas, reason]; t must fall on a tick. */
  expect: Array<[number, number, Reason]>;
  tickS?: number;
  /** Start of the timeline (ms); also the history's `since`. Default MONDAY. */
  start?: number;
  /** Every decision's count stays within these bounds. */
  bounds?: [number, number];
  /** softDelete is true exactly from this t on (never, when absent). */
  softDeleteFrom?: number;
}

function simulate(sc: Scenario): Map<number, Decision> {
  const start = sc.start ?? MONDAY;
  const tick = sc.tickS ?? 2;
  const end = Math.max(...sc.expect.map(([t]) => t));
  let h: AutoscalerHistory = newHistory(start, sc.replicas);
  const out = new Map<number, Decision>();
  for (let t = 0; t <= end; t += tick) {
    const now = start + t * S;
    const l = sc.load(t);
    if (l) h = observe(h, { at: now, inFlight: l.inFlight ?? 0, requestsPerSecond: l.rps ?? 0, tokensPerSecond: l.tps ?? 0 });
    const p = typeof sc.policy === 'function' ? sc.policy(t) : sc.policy;
    const d = decide({ ...BASE, ...p }, h, now);
    out.set(t, d);
    h = d.history;
  }
  return out;
}

const busy = (inFlight: number, tps = 0): Load => ({ inFlight, rps: inFlight > 0 ? 1 : 0, tps });
const idle: Load = { inFlight: 0, rps: 0 };

const scenarios: Scenario[] = [
  // ---- steady state and stabilization windows ------------------------------------------------
  {
    name: 'steady load holds the count',
    policy: {},
    replicas: 2,
    load: () => busy(16),
    expect: [[0, 2, Reason.Steady], [1200, 2, Reason.Steady]],
    bounds: [2, 2],
  },
  {
    name: 'a spike shorter than the scale-up window is ignored',
    policy: {},
    replicas: 2,
    load: (t) => busy(t >= 700 && t < 728 ? 40 : 16),
    expect: [[700, 2, Reason.ScaleUpStabilizing], [726, 2, Reason.ScaleUpStabilizing], [728, 2, Reason.Steady], [900, 2, Reason.Steady]],
    bounds: [2, 2],
  },
  {
    name: 'load held for the whole scale-up window scales up',
    policy: {},
    replicas: 2,
    load: (t) => busy(t >= 700 ? 40 : 16),
    expect: [[728, 2, Reason.ScaleUpStabilizing], [730, 5, Reason.ScaleUp], [800, 5, Reason.Steady]],
  },
  {
    name: 'scales up to the lowest recommendation seen over the window',
    policy: {},
    replicas: 2,
    load: (t) => busy(t >= 716 ? 24 : t >= 700 ? 40 : 16),
    expect: [[730, 3, Reason.ScaleUp], [800, 3, Reason.Steady]],
    bounds: [2, 3],
  },
  {
    name: 'a custom scale-up window',
    policy: { scaleUpWindowMs: 2 * M },
    replicas: 2,
    load: (t) => busy(t >= 700 ? 40 : 16),
    expect: [[818, 2, Reason.ScaleUpStabilizing], [820, 5, Reason.ScaleUp]],
  },
  {
    name: 'a zero scale-up window scales up at once',
    policy: { scaleUpWindowMs: 0 },
    replicas: 1,
    load: () => busy(40),
    expect: [[0, 5, Reason.ScaleUp]],
  },
  {
    name: 'a dip shorter than the scale-down window is ignored',
    policy: {},
    replicas: 5,
    load: (t) => busy(t >= 700 && t < 1290 ? 8 : 40),
    expect: [[700, 5, Reason.ScaleDownStabilizing], [1288, 5, Reason.ScaleDownStabilizing], [1290, 5, Reason.Steady], [2000, 5, Reason.Steady]],
    bounds: [5, 5],
  },
  {
    name: 'load held low for the whole scale-down window scales down',
    policy: {},
    replicas: 5,
    load: (t) => busy(t >= 700 ? 16 : 40),
    expect: [[1298, 5, Reason.ScaleDownStabilizing], [1300, 2, Reason.ScaleDown], [1400, 2, Reason.Steady]],
  },
  {
    name: 'scales down to the highest recommendation seen over the window',
    policy: {},
    replicas: 5,
    load: (t) => busy(t >= 1000 ? 8 : t >= 700 ? 24 : 40),
    expect: [[1300, 3, Reason.ScaleDown], [1598, 3, Reason.ScaleDownStabilizing], [1600, 1, Reason.ScaleDown]],
    bounds: [1, 5],
  },
  {
    name: 'a custom scale-down window',
    policy: { scaleDownWindowMs: M },
    replicas: 5,
    load: (t) => busy(t >= 700 ? 16 : 40),
    expect: [[758, 5, Reason.ScaleDownStabilizing], [760, 2, Reason.ScaleDown]],
  },
  {
    name: 'after a restart (empty history) a burst still waits for the scale-up window',
    policy: {},
    replicas: 2,
    load: () => busy(40),
    expect: [[0, 2, Reason.ScaleUpStabilizing], [28, 2, Reason.ScaleUpStabilizing], [30, 5, Reason.ScaleUp]],
  },
  {
    name: 'after a restart (empty history) a dip still waits for the scale-down window',
    policy: {},
    replicas: 5,
    load: () => busy(8),
    expect: [[0, 5, Reason.ScaleDownStabilizing], [598, 5, Reason.ScaleDownStabilizing], [600, 1, Reason.ScaleDown]],
  },

  // ---- floors and caps -------------------------------------------------------------------------
  {
    name: 'never zero when min > 0, however long idle',
    policy: { minReplicas: 1, scaleToZeroWindowMs: 5 * M, unusedAutoDeleteMs: H },
    replicas: 1,
    load: () => idle,
    tickS: 10,
    expect: [[0, 1, Reason.MinReplicas], [3 * 3600, 1, Reason.MinReplicas]],
    bounds: [1, 1],
  },
  {
    name: 'idle with min 2 scales down to min after the scale-down window',
    policy: { minReplicas: 2 },
    replicas: 5,
    load: () => idle,
    expect: [[598, 5, Reason.ScaleDownStabilizing], [600, 2, Reason.MinReplicas], [4000, 2, Reason.MinReplicas]],
    bounds: [2, 5],
  },
  {
    name: 'a raised min applies at once',
    policy: (t) => ({ minReplicas: t >= 100 ? 4 : 1 }),
    replicas: 1,
    load: () => busy(8),
    expect: [[98, 1, Reason.Steady], [100, 4, Reason.MinReplicas]],
  },
  {
    name: 'maxReplicas caps the load recommendation',
    policy: { maxReplicas: 3 },
    replicas: 1,
    load: () => busy(80),
    expect: [[28, 1, Reason.ScaleUpStabilizing], [30, 3, Reason.MaxReplicas], [300, 3, Reason.MaxReplicas]],
    bounds: [1, 3],
  },
  {
    name: 'the quota caps below maxReplicas',
    policy: { maxReplicas: 10, quotaMaxReplicas: 4 },
    replicas: 1,
    load: () => busy(80),
    expect: [[30, 4, Reason.QuotaLimited]],
    bounds: [1, 4],
  },
  {
    name: 'maxReplicas caps below the quota',
    policy: { maxReplicas: 3, quotaMaxReplicas: 4 },
    replicas: 1,
    load: () => busy(80),
    expect: [[30, 3, Reason.MaxReplicas]],
  },
  {
    name: 'the quota wins over min (the autoscaler never exceeds quota)',
    policy: { minReplicas: 3, quotaMaxReplicas: 2 },
    replicas: 3,
    load: () => idle,
    expect: [[0, 2, Reason.QuotaLimited]],
  },
  {
    name: 'a shrunken quota lowers the count at once',
    policy: (t) => ({ quotaMaxReplicas: t >= 100 ? 2 : 10 }),
    replicas: 5,
    load: () => busy(40),
    expect: [[98, 5, Reason.Steady], [100, 2, Reason.QuotaLimited]],
  },
  {
    name: 'maxReplicas 0 keeps the deployment at zero, even on a request',
    policy: { minReplicas: 0, maxReplicas: 0 },
    replicas: 0,
    load: (t) => (t >= 10 ? busy(1) : idle),
    expect: [[10, 0, Reason.MaxReplicas]],
    bounds: [0, 0],
  },

  // ---- load targets ----------------------------------------------------------------------------
  {
    name: 'tokens_generated_per_second alone: in-flight requests do not count',
    policy: { loadTargets: { tokens_generated_per_second: 100 } },
    replicas: 1,
    load: () => busy(80, 450),
    expect: [[30, 5, Reason.ScaleUp]],
  },
  {
    name: 'max across targets: tokens ask for more',
    policy: { loadTargets: { default: 0.8, tokens_generated_per_second: 100 } },
    replicas: 1,
    load: () => busy(16, 450),
    expect: [[30, 5, Reason.ScaleUp]],
  },
  {
    name: 'max across targets: concurrency asks for more',
    policy: { loadTargets: { default: 0.8, tokens_generated_per_second: 100 } },
    replicas: 1,
    load: () => busy(80, 100),
    expect: [[30, 10, Reason.ScaleUp]],
  },
  {
    name: 'a custom default utilisation target',
    policy: { loadTargets: { default: 0.5 } },
    replicas: 1,
    load: () => busy(16),
    expect: [[30, 4, Reason.ScaleUp]],
  },

  // ---- zero ⇄ one ------------------------------------------------------------------------------
  {
    name: 'zero → one at once on the first request',
    policy: { minReplicas: 0 },
    replicas: 0,
    load: (t) => (t >= 100 ? busy(1) : idle),
    expect: [[98, 0, Reason.Steady], [100, 1, Reason.ScaleFromZero], [200, 1, Reason.Steady]],
  },
  {
    name: 'zero → one at once under a burst, then the scale-up window for the rest',
    policy: { minReplicas: 0 },
    replicas: 0,
    load: (t) => (t >= 100 ? busy(80) : idle),
    expect: [[100, 1, Reason.ScaleFromZero], [128, 1, Reason.ScaleUpStabilizing], [130, 10, Reason.ScaleUp]],
  },
  {
    name: 'zero → one is blocked by an exhausted quota, and says so',
    policy: (t) => ({ minReplicas: 0, quotaMaxReplicas: t >= 200 ? 1 : 0 }),
    replicas: 0,
    load: (t) => (t >= 100 ? busy(1) : idle),
    // Once quota frees, one replica at once; load has asked for 1 for longer than the up-window.
    expect: [[100, 0, Reason.QuotaLimited], [198, 0, Reason.QuotaLimited], [200, 1, Reason.ScaleUp]],
  },
  {
    name: 'a request arrival alone (no longer in flight) counts as a first request',
    policy: { minReplicas: 0 },
    replicas: 0,
    load: (t) => (t === 100 ? { inFlight: 0, rps: 0.5 } : idle),
    expect: [[100, 1, Reason.ScaleFromZero], [102, 1, Reason.AwaitingScaleToZero]],
  },
  {
    name: 'scale to zero after the window and not before',
    policy: { minReplicas: 0, scaleToZeroWindowMs: 5 * M },
    replicas: 1,
    load: (t) => (t < 60 ? busy(1) : idle),
    expect: [[60, 1, Reason.AwaitingScaleToZero], [356, 1, Reason.AwaitingScaleToZero], [358, 0, Reason.ScaleToZero], [400, 0, Reason.ScaleToZero]],
  },
  {
    name: 'scale to zero skips the scale-down window',
    policy: { minReplicas: 0, scaleToZeroWindowMs: 5 * M, scaleDownWindowMs: H },
    replicas: 6,
    load: (t) => (t < 60 ? busy(48) : idle),
    expect: [[356, 6, Reason.ScaleDownStabilizing], [358, 0, Reason.ScaleToZero]],
  },
  {
    name: 'the default scale-to-zero window is one hour',
    policy: { minReplicas: 0 },
    replicas: 1,
    load: (t) => (t === 0 ? busy(1) : idle),
    tickS: 10,
    expect: [[3590, 1, Reason.AwaitingScaleToZero], [3600, 0, Reason.ScaleToZero]],
  },
  {
    name: 'the operator minimum (5m) overrides a shorter scaleToZeroWindow',
    policy: { minReplicas: 0, scaleToZeroWindowMs: M },
    replicas: 1,
    load: (t) => (t === 0 ? busy(1) : idle),
    expect: [[298, 1, Reason.AwaitingScaleToZero], [300, 0, Reason.ScaleToZero]],
  },
  {
    name: 'tests can shorten the operator minimum',
    policy: { minReplicas: 0, scaleToZeroWindowMs: 20 * S, settings: { concurrencyPerReplica: 10, minScaleToZeroWindowMs: 10 * S } },
    replicas: 1,
    load: (t) => (t === 0 ? busy(1) : idle),
    expect: [[18, 1, Reason.AwaitingScaleToZero], [20, 0, Reason.ScaleToZero]],
  },
  {
    name: 'a never-used deployment counts idle time from creation',
    policy: { minReplicas: 0 },
    replicas: 1,
    load: () => idle,
    tickS: 60,
    expect: [[3540, 1, Reason.AwaitingScaleToZero], [3600, 0, Reason.ScaleToZero]],
  },
  {
    name: 'a long request in flight keeps a replica (no arrivals, still not idle)',
    policy: { minReplicas: 0, scaleToZeroWindowMs: 5 * M },
    replicas: 1,
    load: (t) => ({ inFlight: 1, rps: t === 0 ? 1 : 0 }),
    tickS: 10,
    expect: [[7200, 1, Reason.Steady]],
    bounds: [1, 1],
  },
  {
    name: 'a request after scale-to-zero brings one replica back at once',
    policy: { minReplicas: 0, scaleToZeroWindowMs: 5 * M },
    replicas: 1,
    load: (t) => (t === 0 || t >= 600 ? busy(1) : idle),
    expect: [[300, 0, Reason.ScaleToZero], [598, 0, Reason.ScaleToZero], [600, 1, Reason.ScaleFromZero]],
  },

  // ---- auto-delete -----------------------------------------------------------------------------
  {
    name: 'unused for 7 days at min 0: soft-delete',
    policy: { minReplicas: 0 },
    replicas: 1,
    load: (t) => (t === 0 ? busy(1) : idle),
    tickS: 3600,
    expect: [[3600, 0, Reason.ScaleToZero], [7 * 86400 - 3600, 0, Reason.ScaleToZero], [7 * 86400, 0, Reason.UnusedAutoDelete], [8 * 86400, 0, Reason.UnusedAutoDelete]],
    softDeleteFrom: 7 * 86400,
  },
  {
    name: 'a custom unusedAutoDeleteDuration',
    policy: { minReplicas: 0, unusedAutoDeleteMs: 2 * H },
    replicas: 1,
    load: (t) => (t === 0 ? busy(1) : idle),
    tickS: 600,
    expect: [[6600, 0, Reason.ScaleToZero], [7200, 0, Reason.UnusedAutoDelete]],
    softDeleteFrom: 7200,
  },
  {
    name: 'unusedAutoDeleteDuration 0 disables auto-delete',
    policy: { minReplicas: 0, unusedAutoDeleteMs: 0 },
    replicas: 1,
    load: () => idle,
    tickS: 3600,
    expect: [[30 * 86400, 0, Reason.ScaleToZero]],
  },
  {
    name: 'never auto-delete at min > 0',
    policy: { minReplicas: 1 },
    replicas: 1,
    load: () => idle,
    tickS: 3600,
    expect: [[30 * 86400, 1, Reason.MinReplicas]],
  },
  {
    name: 'traffic resets the auto-delete clock',
    policy: { minReplicas: 0, unusedAutoDeleteMs: 2 * H },
    replicas: 1,
    load: (t) => (t === 0 || t === 5400 ? busy(1) : idle),
    tickS: 600,
    expect: [[7200, 1, Reason.AwaitingScaleToZero], [12000, 0, Reason.ScaleToZero], [12600, 0, Reason.UnusedAutoDelete]],
    softDeleteFrom: 12600,
  },

  // ---- scaling schedules -----------------------------------------------------------------------
  {
    name: 'a schedule floor applies at once and is released through the scale-down window',
    policy: { minReplicas: 0, scalingSchedules: { morning: { minReplicas: 3, schedule: '0 8 * * Mon-Fri', durationMs: H, timezone: 'UTC' } } },
    replicas: 0,
    load: () => busy(1),
    tickS: 10,
    expect: [
      [0, 1, Reason.ScaleFromZero],
      [28790, 1, Reason.Steady],
      [28800, 3, Reason.ScheduleFloor],
      [32390, 3, Reason.ScheduleFloor],
      [32400, 3, Reason.ScaleDownStabilizing],
      [32990, 3, Reason.ScaleDownStabilizing],
      [33000, 1, Reason.ScaleDown],
    ],
    bounds: [0, 3],
  },
  {
    name: 'a schedule floor keeps an idle min-0 deployment from zero',
    policy: { minReplicas: 0, scalingSchedules: { morning: { minReplicas: 2, schedule: '0 8 * * Mon-Fri', durationMs: H, timezone: 'UTC' } } },
    replicas: 0,
    load: () => idle,
    tickS: 60,
    expect: [[28740, 0, Reason.ScaleToZero], [28800, 2, Reason.ScheduleFloor], [32340, 2, Reason.ScheduleFloor], [32400, 0, Reason.ScaleToZero]],
  },
  {
    name: 'a schedule across midnight holds on the right weekday (Friday 22:00 for 4h)',
    policy: { minReplicas: 1, scalingSchedules: { friday: { minReplicas: 2, schedule: '0 22 * * Fri', durationMs: 4 * H, timezone: 'UTC' } } },
    start: Date.UTC(2026, 10, 27, 21), // Friday 21:00Z
    replicas: 1,
    load: () => busy(1),
    tickS: 10,
    expect: [[3590, 1, Reason.Steady], [3600, 2, Reason.ScheduleFloor], [17990, 2, Reason.ScheduleFloor], [18000, 2, Reason.ScaleDownStabilizing], [18600, 1, Reason.ScaleDown]],
  },
  {
    name: 'the same schedule does nothing on Thursday night',
    policy: { minReplicas: 1, scalingSchedules: { friday: { minReplicas: 2, schedule: '0 22 * * Fri', durationMs: 4 * H, timezone: 'UTC' } } },
    start: Date.UTC(2026, 10, 26, 21), // Thursday 21:00Z
    replicas: 1,
    load: () => busy(1),
    tickS: 60,
    expect: [[6 * 3600, 1, Reason.Steady]],
    bounds: [1, 1],
  },
  {
    name: 'a schedule in a time zone: 08:00 New York is 13:00Z in November',
    policy: { minReplicas: 1, scalingSchedules: { ny: { minReplicas: 4, schedule: '0 8 * * Mon-Fri', durationMs: H, timezone: 'America/New_York' } } },
    replicas: 1,
    load: () => busy(1),
    tickS: 60,
    expect: [[12 * 3600, 1, Reason.Steady], [13 * 3600 - 60, 1, Reason.Steady], [13 * 3600, 4, Reason.ScheduleFloor]],
  },
  {
    name: 'overlapping schedules: the highest floor wins; max still caps',
    policy: {
      maxReplicas: 5,
      scalingSchedules: {
        a: { minReplicas: 3, schedule: '0 0 * * *', durationMs: DAY, timezone: 'UTC' },
        b: { minReplicas: 4, schedule: '0 0 * * *', durationMs: DAY, timezone: 'UTC' },
        c: { minReplicas: 9, schedule: '0 0 * * *', durationMs: DAY, timezone: 'UTC', disabled: true },
      },
    },
    replicas: 1,
    load: () => busy(1),
    expect: [[0, 4, Reason.ScheduleFloor]],
  },
  {
    name: 'a schedule floor above max is capped by max',
    policy: { maxReplicas: 2, scalingSchedules: { a: { minReplicas: 3, schedule: '0 0 * * *', durationMs: DAY, timezone: 'UTC' } } },
    replicas: 1,
    load: () => busy(1),
    expect: [[0, 2, Reason.MaxReplicas]],
  },

  // ---- fixed replica count (scale subresource / REST :scale) -----------------------------------
  {
    name: 'a fixed count overrides load',
    policy: { fixedReplicas: 4 },
    replicas: 1,
    load: () => busy(80),
    expect: [[0, 4, Reason.FixedReplicas], [600, 4, Reason.FixedReplicas]],
    bounds: [4, 4],
  },
  {
    name: 'a fixed count overrides scale-to-zero and auto-delete',
    policy: { minReplicas: 0, fixedReplicas: 2, scaleToZeroWindowMs: 5 * M, unusedAutoDeleteMs: H },
    replicas: 2,
    load: () => idle,
    tickS: 600,
    expect: [[3 * 3600, 2, Reason.FixedReplicas]],
    bounds: [2, 2],
  },
  {
    name: 'a fixed count of 0 overrides min',
    policy: { minReplicas: 2, fixedReplicas: 0 },
    replicas: 2,
    load: () => busy(16),
    expect: [[0, 0, Reason.FixedReplicas]],
  },
  {
    name: 'a fixed count above max is honoured (an explicit instruction)',
    policy: { maxReplicas: 3, fixedReplicas: 5 },
    replicas: 1,
    load: () => idle,
    expect: [[0, 5, Reason.FixedReplicas]],
  },
  {
    name: 'a fixed count above the quota is capped by the quota',
    policy: { fixedReplicas: 8, quotaMaxReplicas: 3 },
    replicas: 1,
    load: () => idle,
    expect: [[0, 3, Reason.QuotaLimited]],
  },
  {
    name: 'a fixed count holds even without load samples',
    policy: { fixedReplicas: 3 },
    replicas: 1,
    load: () => undefined,
    expect: [[0, 3, Reason.FixedReplicas]],
  },
  {
    name: 'clearing the override resumes autoscaling with the windows seen meanwhile',
    policy: (t) => (t < 700 ? { fixedReplicas: 6 } : {}),
    replicas: 6,
    load: (t) => busy(t >= 690 ? 80 : 16),
    expect: [[698, 6, Reason.FixedReplicas], [700, 6, Reason.ScaleUpStabilizing], [718, 6, Reason.ScaleUpStabilizing], [720, 10, Reason.ScaleUp]],
  },
  {
    name: 'clearing the override after long low load scales down at once',
    policy: (t) => (t < 700 ? { fixedReplicas: 6 } : {}),
    replicas: 6,
    load: () => busy(16),
    expect: [[698, 6, Reason.FixedReplicas], [700, 2, Reason.ScaleDown]],
  },

  // ---- missing metrics -------------------------------------------------------------------------
  {
    name: 'no samples: hold the count',
    policy: {},
    replicas: 3,
    load: () => undefined,
    tickS: 60,
    expect: [[0, 3, Reason.MetricsStale], [7200, 3, Reason.MetricsStale]],
  },
  {
    name: 'no samples: never scale to zero or delete on missing data',
    policy: { minReplicas: 0, unusedAutoDeleteMs: H },
    replicas: 2,
    load: () => undefined,
    tickS: 600,
    expect: [[86400, 2, Reason.MetricsStale]],
    bounds: [2, 2],
  },
  {
    name: 'no samples: min and max still apply',
    policy: (t) => (t < 10 ? { minReplicas: 4 } : { maxReplicas: 3 }),
    replicas: 2,
    load: () => undefined,
    expect: [[0, 4, Reason.MinReplicas], [10, 3, Reason.MaxReplicas]],
  },
  {
    name: 'no samples: a schedule floor still applies',
    policy: { scalingSchedules: { all: { minReplicas: 3, schedule: '0 0 * * *', durationMs: DAY, timezone: 'UTC' } } },
    replicas: 1,
    load: () => undefined,
    expect: [[0, 3, Reason.ScheduleFloor], [10, 3, Reason.MetricsStale]],
  },
  {
    name: 'samples that stop become stale after 30s',
    policy: {},
    replicas: 2,
    load: (t) => (t <= 100 ? busy(16) : undefined),
    expect: [[100, 2, Reason.Steady], [130, 2, Reason.Steady], [132, 2, Reason.MetricsStale]],
  },
];

describe('decide: scenarios', () => {
  it.each(scenarios)('$name', (sc) => {
    const decisions = simulate(sc);
    const got = sc.expect.map(([t]) => {
      const d = decisions.get(t);
      if (!d) throw new Error(`no decision at t=${t} (tick ${sc.tickS ?? 2}s)`);
      return [t, d.desiredReplicas, d.reason];
    });
    expect(got).toEqual(sc.expect);
    for (const [t, d] of decisions) {
      if (sc.bounds) {
        expect(d.desiredReplicas, `t=${t}`).toBeGreaterThanOrEqual(sc.bounds[0]);
        expect(d.desiredReplicas, `t=${t}`).toBeLessThanOrEqual(sc.bounds[1]);
      }
      expect(d.softDelete, `softDelete at t=${t}`).toBe(sc.softDeleteFrom !== undefined && t >= sc.softDeleteFrom);
    }
  });
});

describe('decide: a single call', () => {
  const now = MONDAY + H;
  const sampled = (h: AutoscalerHistory, inFlight: number): AutoscalerHistory =>
    observe(h, { at: now, inFlight, requestsPerSecond: inFlight > 0 ? 1 : 0, tokensPerSecond: 123 });

  it('carries its inputs and reason for status', () => {
    const d = decide({ ...BASE, quotaMaxReplicas: 6 }, sampled(newHistory(MONDAY, 2), 16), now);
    expect(d).toMatchObject({ at: now, desiredReplicas: 2, previousReplicas: 2, reason: Reason.Steady, softDelete: false, warnings: [] });
    expect(d.message).toMatch(/load matches 2/);
    expect(d.inputs).toEqual({
      currentReplicas: 2,
      minReplicas: 1,
      maxReplicas: 10,
      quotaMaxReplicas: 6,
      sampleAt: now,
      inFlight: 16,
      requestsPerSecond: 1,
      tokensPerSecond: 123,
      targetRecommendations: { default: 2 },
      recommendation: 2,
      scaleUpWindowMin: 2,
      scaleDownWindowMax: 2,
      scheduleFloor: 0,
      activeSchedules: [],
      lastRequestAt: now,
      idleForMs: 0,
    });
    expect(JSON.parse(JSON.stringify(d.inputs))).toEqual(d.inputs);
  });

  it('is pure: frozen inputs, same answer twice', () => {
    const deepFreeze = <T>(o: T): T => {
      if (o && typeof o === 'object') {
        for (const v of Object.values(o)) deepFreeze(v);
        Object.freeze(o);
      }
      return o;
    };
    const policy = deepFreeze<AutoscalerPolicy>({ ...BASE, scalingSchedules: { a: { minReplicas: 2, schedule: '0 * * * *', durationMs: 10 * M, timezone: 'UTC' } } });
    const h = deepFreeze(sampled(newHistory(MONDAY, 1), 40));
    const a = decide(policy, h, now);
    const b = decide(policy, h, now);
    expect(a).toEqual(b);
    expect(a.history).not.toBe(h);
    expect(h.replicas).toBe(1);
  });

  it('reports ignored policy problems as warnings', () => {
    const d = decide(
      { ...BASE, loadTargets: { default: 1.5, p99_latency_ms: 200, tokens_generated_per_second: -1 }, scalingSchedules: { bad: { minReplicas: 2, schedule: 'every day', durationMs: H, timezone: 'UTC' } } },
      sampled(newHistory(MONDAY, 1), 8),
      now,
    );
    expect(d.warnings).toEqual([
      'load target default=1.5 is out of range and was ignored',
      'load target "p99_latency_ms" is not supported and was ignored',
      'load target tokens_generated_per_second=-1 is out of range and was ignored',
      expect.stringMatching(/scaling schedule "bad" ignored: .*expected 5 fields/),
    ]);
    // All targets invalid → the documented default (0.8).
    expect(d.inputs.targetRecommendations).toEqual({ default: 1 });
  });

  it('a sample from the future (clock skew) is fresh, not an error', () => {
    const h = observe(newHistory(MONDAY, 2), { at: now + 5 * S, inFlight: 16, requestsPerSecond: 1, tokensPerSecond: 0 });
    expect(decide(BASE, h, now).reason).toBe(Reason.Steady);
  });
});

describe('targetRecommendations', () => {
  const p = resolvePolicy({ ...BASE, loadTargets: { default: 0.8, tokens_generated_per_second: 100 } });
  it.each([
    // inFlight, tokens/s, default, tokens
    [0, 0, 0, 0],
    [1, 1, 1, 1],
    [8, 100, 1, 1],
    [9, 101, 2, 2],
    [16, 200, 2, 2],
    [17, 250, 3, 3],
    [80, 1000, 10, 10],
    [-3, -5, 0, 0],
  ])('inFlight %i, %i tokens/s → default %i, tokens %i', (inFlight, tps, d, t) => {
    expect(targetRecommendations(p, { at: 0, inFlight, requestsPerSecond: 0, tokensPerSecond: tps })).toEqual({ default: d, tokens_generated_per_second: t });
  });

  it('does not round an exact multiple up through floating point error', () => {
    const q = resolvePolicy({ ...BASE, loadTargets: { default: 0.3 } });
    expect(targetRecommendations(q, { at: 0, inFlight: 6, requestsPerSecond: 0, tokensPerSecond: 0 })).toEqual({ default: 2 });
    expect(targetRecommendations(q, { at: 0, inFlight: 9, requestsPerSecond: 0, tokensPerSecond: 0 })).toEqual({ default: 3 });
  });

  it('uses the operator default concurrency of 16 per replica', () => {
    const q = resolvePolicy({ minReplicas: 0, maxReplicas: 5 });
    expect(q.settings.concurrencyPerReplica).toBe(16);
    expect(targetRecommendations(q, { at: 0, inFlight: 26, requestsPerSecond: 0, tokensPerSecond: 0 })).toEqual({ default: 3 });
  });
});
