// A small, hand-written matcher for the 5-field cron expressions of `scalingSchedules`
// (minute hour day-of-month month day-of-week), evaluated in an IANA time zone.
//
// Supported: `*`, numbers, ranges `a-b`, steps `*/n` `a-b/n` `a/n`, lists `a,b-c`, month names
// JAN–DEC and weekday names SUN–SAT (case-insensitive), 7 as Sunday. Day-of-month and day-of-week
// follow Vixie cron: when both are restricted a day matches if either matches; when one is `*`,
// only the other decides. Not supported (rejected with a CronError): macros (`@daily`), seconds,
// Quartz extensions (`?`, `L`, `W`, `#`).
//
// No I/O and no clock: every function takes the instant it is asked about.

export class CronError extends Error {
  override readonly name = 'CronError';
}

/** A parsed expression: the allowed values of each field. */
export interface CronExpression {
  readonly source: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0 = Sunday … 6 = Saturday (7 in the source is folded to 0). */
  readonly daysOfWeek: ReadonlySet<number>;
  readonly dayOfMonthRestricted: boolean;
  readonly dayOfWeekRestricted: boolean;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Offset of names[0] (1 for months, 0 for weekdays). */
  nameBase?: number;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'day-of-week', min: 0, max: 7, names: WEEKDAYS, nameBase: 0 },
];

function parseValue(raw: string, field: FieldSpec, expr: string): number {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n < field.min || n > field.max) {
      throw new CronError(`cron "${expr}": ${field.name} value ${n} is outside ${field.min}-${field.max}`);
    }
    return n;
  }
  const idx = field.names?.indexOf(raw.toUpperCase() as never) ?? -1;
  if (idx < 0) throw new CronError(`cron "${expr}": ${field.name} has an invalid value "${raw}"`);
  return idx + (field.nameBase ?? 0);
}

function parsePart(part: string, field: FieldSpec, expr: string, out: Set<number>): void {
  const [rangePart, stepPart, extra] = part.split('/');
  if (extra !== undefined || rangePart === undefined || rangePart === '') {
    throw new CronError(`cron "${expr}": ${field.name} has an invalid item "${part}"`);
  }
  let step = 1;
  if (stepPart !== undefined) {
    if (!/^\d+$/.test(stepPart) || Number(stepPart) === 0) {
      throw new CronError(`cron "${expr}": ${field.name} has an invalid step "${stepPart}"`);
    }
    step = Number(stepPart);
  }
  let lo: number;
  let hi: number;
  if (rangePart === '*') {
    lo = field.min;
    hi = field.max;
  } else {
    const bounds = rangePart.split('-');
    if (bounds.length > 2 || bounds.some((b) => b === '')) {
      throw new CronError(`cron "${expr}": ${field.name} has an invalid range "${rangePart}"`);
    }
    lo = parseValue(bounds[0] ?? '', field, expr);
    // `a/n` means from a to the end of the field, as in Vixie cron.
    hi = bounds.length === 2 ? parseValue(bounds[1] ?? '', field, expr) : stepPart !== undefined ? field.max : lo;
    if (hi < lo) throw new CronError(`cron "${expr}": ${field.name} range "${rangePart}" runs backwards`);
  }
  for (let v = lo; v <= hi; v += step) out.add(v);
}

function parseField(text: string, field: FieldSpec, expr: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) parsePart(part, field, expr, out);
  return out;
}

/** Parses a 5-field cron expression; throws CronError with a message naming the bad field. */
export function parseCron(expr: string): CronExpression {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5 || fields[0] === '') {
    throw new CronError(`cron "${expr}": expected 5 fields (minute hour day-of-month month day-of-week), got ${fields[0] === '' ? 0 : fields.length}`);
  }
  const [mi, ho, dom, mo, dow] = fields.map((f, i) => parseField(f, FIELDS[i] as FieldSpec, expr)) as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  if (dow.delete(7)) dow.add(0);
  return {
    source: expr,
    minutes: mi,
    hours: ho,
    daysOfMonth: dom,
    months: mo,
    daysOfWeek: dow,
    dayOfMonthRestricted: !(fields[2] ?? '').startsWith('*'),
    dayOfWeekRestricted: !(fields[4] ?? '').startsWith('*'),
  };
}

/** Whether a calendar day (month 1–12, dayOfWeek 0 = Sunday) is allowed by the expression. */
export function matchesDay(c: CronExpression, month: number, dayOfMonth: number, dayOfWeek: number): boolean {
  if (!c.months.has(month)) return false;
  const domOk = c.daysOfMonth.has(dayOfMonth);
  const dowOk = c.daysOfWeek.has(dayOfWeek);
  if (c.dayOfMonthRestricted && c.dayOfWeekRestricted) return domOk || dowOk;
  return domOk && dowOk;
}

// ---- time zones -----------------------------------------------------------------------------

const DAY_MS = 86_400_000;
const HALF_DAY_MS = DAY_MS / 2;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new CronError(`unknown time zone "${timeZone}"`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws CronError unless `timeZone` is an IANA zone this runtime knows. */
export function assertTimeZone(timeZone: string): void {
  formatter(timeZone);
}

// Offsets by (zone, UTC minute): time-zone transitions fall on whole minutes, so this is exact,
// and every deployment deciding in the same tick shares the lookups.
const offsets = new Map<string, number>();
const OFFSET_CACHE_LIMIT = 10_000;

/** Offset of `timeZone` from UTC at instant `t`, in ms (local = UTC + offset). */
export function zoneOffsetMs(timeZone: string, t: number): number {
  const key = `${timeZone}\u0000${Math.floor(t / MINUTE_MS)}`;
  let o = offsets.get(key);
  if (o === undefined) {
    o = computeZoneOffsetMs(timeZone, t);
    if (offsets.size >= OFFSET_CACHE_LIMIT) offsets.clear();
    offsets.set(key, o);
  }
  return o;
}

function computeZoneOffsetMs(timeZone: string, t: number): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(t))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const asUtc = Date.UTC(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
  const wholeSeconds = Math.floor(t / 1000) * 1000;
  return asUtc - wholeSeconds;
}

/**
 * The instant at which the wall-clock time `wall` (a UTC-encoded local time) occurs in `timeZone`.
 * In a repeated hour (DST fall-back) the earlier instant; in a skipped hour (spring-forward) the
 * instant shifted forward by the gap, as cron daemons run jobs that fall into the gap.
 */
export function wallClockToInstant(timeZone: string, wall: number): number {
  const guess = wall - zoneOffsetMs(timeZone, wall);
  // Any transition near `guess` shows up as a different offset half a day either side.
  const offsets = new Set([
    zoneOffsetMs(timeZone, guess - HALF_DAY_MS),
    zoneOffsetMs(timeZone, guess),
    zoneOffsetMs(timeZone, guess + HALF_DAY_MS),
  ]);
  const valid = [...offsets].map((o) => wall - o).filter((t) => t + zoneOffsetMs(timeZone, t) === wall);
  if (valid.length > 0) return Math.min(...valid);
  // Skipped wall-clock time: the offset in force before the gap (the smaller one) lands after it.
  return wall - Math.min(...offsets);
}


function descending(s: ReadonlySet<number>): number[] {
  return [...s].sort((a, b) => b - a);
}

/**
 * The most recent instant ≤ `now` at which the expression fires in `timeZone`, looking back no
 * further than `lookbackMs`; undefined if it did not fire in that span. Cost: one pass over the
 * local days in the span, and time-zone conversions only for candidate fire times.
 */
export function lastFireAtOrBefore(c: CronExpression, timeZone: string, now: number, lookbackMs: number): number | undefined {
  const earliest = now - lookbackMs;
  const offsetNow = zoneOffsetMs(timeZone, now);
  const localNow = now + offsetNow;
  // Right after a fall-back, a wall-clock time later than local now may already have happened
  // (in the repeated hour); only then are such candidates worth converting.
  const recentTransition = zoneOffsetMs(timeZone, now - 3 * HOUR_MS) !== offsetNow;
  const limit = recentTransition ? localNow + 3 * HOUR_MS : localNow;
  const today = Math.floor(limit / DAY_MS) * DAY_MS;
  const days = Math.ceil(lookbackMs / DAY_MS) + 1;
  const hours = descending(c.hours);
  const minutes = descending(c.minutes);
  for (let d = 0; d <= days; d++) {
    const day = today - d * DAY_MS;
    const date = new Date(day);
    if (!matchesDay(c, date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCDay())) continue;
    for (const h of hours) {
      for (const m of minutes) {
        const wall = day + h * HOUR_MS + m * MINUTE_MS;
        if (wall > limit) continue;
        const at = wallClockToInstant(timeZone, wall);
        if (at > now) continue;
        return at < earliest ? undefined : at;
      }
    }
  }
  return undefined;
}
