// Durations as users write them in specs: proto3 JSON (`"300s"`, `"1.5s"`) and Go-style strings
// (`"30s"`, `"10m"`, `"1h"`, `"1h30m"`), which is what CEL's duration() (Go's time.ParseDuration)
// accepts. A string schema whose rules (well-formed, bounds) hold in CEL and in zod alike.
import { z } from 'zod';
import { withRules, type Rule } from './rules.js';

const NUM = '(?:[0-9]+(?:[.][0-9]*)?|[.][0-9]+)';
/** One or more `<number><unit>` groups; no sign. Valid in RE2 (CEL) and JavaScript alike. */
export const DURATION_PATTERN = `^(?:${NUM}(?:ns|us|µs|ms|s|m|h))+$`;
const DURATION_RE = new RegExp(DURATION_PATTERN);
const GROUP_RE = new RegExp(`(${NUM})(ns|us|µs|ms|s|m|h)`, 'g');
const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };
/** Go's time.Duration overflows past ~292 years; CEL's duration() fails there. */
const MAX_SECONDS = 9_223_372_036;
export const DURATION_MAX_LENGTH = 32;

/** Seconds in a well-formed duration string, or undefined when it is not one. */
export function durationSeconds(text: string): number | undefined {
  if (!DURATION_RE.test(text)) return undefined;
  let seconds = 0;
  for (const [, num, unit] of text.matchAll(GROUP_RE)) seconds += Number(num) * UNIT_SECONDS[unit!]!;
  return seconds > MAX_SECONDS ? undefined : seconds;
}

export function isDuration(text: string): boolean {
  return durationSeconds(text) !== undefined;
}

/** Seconds → the shortest Go-style form (`300s` → `5m`), for messages and descriptions. */
export function formatDuration(seconds: number): string {
  if (seconds % 3600 === 0 && seconds > 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0 && seconds > 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

export interface DurationOptions {
  /** Field name, for messages. */
  field: string;
  /** Inclusive bounds, as duration strings (`5m`). */
  min?: string;
  max?: string;
  /** Whole seconds only (no fractions, no units below a second). */
  wholeSeconds?: boolean;
}

const WHOLE_SECONDS_PATTERN = '^(?:[0-9]+(?:h|m|s))+$';
const WHOLE_SECONDS_RE = new RegExp(WHOLE_SECONDS_PATTERN);

const WELL_FORMED = `self.matches('${DURATION_PATTERN}')`;

/** A duration string field with its rules; describe() and default() it at the use site. */
export function duration(opts: DurationOptions): z.ZodString {
  const { field } = opts;
  const rules: Rule<string>[] = [
    {
      rule: WELL_FORMED,
      message: `${field} must be a duration such as "30s", "10m" or "1h"`,
      holds: isDuration,
    },
  ];
  if (opts.min !== undefined) {
    const min = opts.min;
    const minS = durationSeconds(min)!;
    rules.push({
      rule: `!${WELL_FORMED} || duration(self) >= duration('${min}')`,
      message: `${field} must be at least ${min}`,
      holds: (s) => (durationSeconds(s) ?? minS) >= minS,
    });
  }
  if (opts.max !== undefined) {
    const max = opts.max;
    const maxS = durationSeconds(max)!;
    rules.push({
      rule: `!${WELL_FORMED} || duration(self) <= duration('${max}')`,
      message: `${field} must be at most ${max}`,
      holds: (s) => (durationSeconds(s) ?? maxS) <= maxS,
    });
  }
  if (opts.wholeSeconds) {
    rules.push({
      rule: `self.matches('${WHOLE_SECONDS_PATTERN}')`,
      message: `${field} must be in whole seconds, minutes or hours without fractions, e.g. "36000s" or "10h"`,
      holds: (s) => WHOLE_SECONDS_RE.test(s),
    });
  }
  return withRules(z.string().max(DURATION_MAX_LENGTH), rules);
}
