// Time-based replica floors from `scalingSchedules`: a schedule is active from each cron start
// for `duration`; overlapping active schedules give the highest floor ("max wins").

import { CronError, lastFireAtOrBefore, parseCron, type CronExpression } from './cron.js';
import type { ScalingSchedule } from './policy.js';

export interface ActiveSchedule {
  name: string;
  minReplicas: number;
  /** When the current window started (ms). */
  startedAt: number;
  /** When the current window ends (ms). */
  endsAt: number;
}

export interface ScheduleFloor {
  /** Highest floor among active schedules; 0 when none is active. */
  floor: number;
  active: ActiveSchedule[];
  warnings: string[];
}

// Parsing is cheap but runs on every tick for every deployment; remember recent expressions.
const parsed = new Map<string, CronExpression | CronError>();
const PARSE_CACHE_LIMIT = 1_000;

function cachedParse(expr: string): CronExpression {
  let c = parsed.get(expr);
  if (c === undefined) {
    try {
      c = parseCron(expr);
    } catch (e) {
      if (!(e instanceof CronError)) throw e;
      c = e;
    }
    if (parsed.size >= PARSE_CACHE_LIMIT) parsed.clear();
    parsed.set(expr, c);
  }
  if (c instanceof CronError) throw c;
  return c;
}

/** The window of `s` that contains `now`, if any. Throws CronError for a bad cron or time zone. */
export function activeWindow(s: ScalingSchedule, now: number): { startedAt: number; endsAt: number } | undefined {
  if (s.disabled || !(s.durationMs > 0)) return undefined;
  const cron = cachedParse(s.schedule);
  // A start exactly `durationMs` ago has just ended: look back strictly less than the duration.
  const startedAt = lastFireAtOrBefore(cron, s.timezone, now, s.durationMs - 1);
  return startedAt === undefined ? undefined : { startedAt, endsAt: startedAt + s.durationMs };
}

export function scheduleFloor(schedules: ReadonlyArray<ScalingSchedule & { name: string }>, now: number): ScheduleFloor {
  const out: ScheduleFloor = { floor: 0, active: [], warnings: [] };
  for (const s of schedules) {
    let w: { startedAt: number; endsAt: number } | undefined;
    try {
      w = activeWindow(s, now);
    } catch (e) {
      if (!(e instanceof CronError)) throw e;
      out.warnings.push(`scaling schedule "${s.name}" ignored: ${e.message}`);
      continue;
    }
    if (!w) continue;
    const minReplicas = Math.max(0, Math.floor(s.minReplicas));
    out.active.push({ name: s.name, minReplicas, ...w });
    out.floor = Math.max(out.floor, minReplicas);
  }
  return out;
}
