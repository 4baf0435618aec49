// google.protobuf.Duration on the wire. We emit proto3 JSON (`"300s"`, `"1.500s"`) and accept that
// plus Go-style strings (`10m`, `1h`, `1h30m`, `250ms`), as the autoscaling docs write them.
// Internally durations are integer milliseconds.
import { invalidArgument } from './errors.js';

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000_001 };

/** One or more `<number><unit>` groups, e.g. `1h30m`, `1.5s`, `0.000000001s`. */
const GO_STYLE = /^(?:\d+(?:\.\d*)?|\.\d+)(?:h|m|s|ms|us|µs|ns)(?:(?:\d+(?:\.\d*)?|\.\d+)(?:h|m|s|ms|us|µs|ns))*$/;
const GROUP = /(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)/g;
/** The forms durations usually take (`300s`, `10m`, `1h`, `250ms`, `1.500s`): parsed without BigInt. */
const SIMPLE = /^(\d{1,12})(h|m|s|ms)$/;
const SIMPLE_FRACTION = /^(\d{1,12})\.(\d{1,3})s$/;

/** Longest duration accepted (proto Duration's range: ±315,576,000,000 s). */
const MAX_MS = 315_576_000_000_000;

/**
 * Parses a wire duration into milliseconds. `field` names the field in the error.
 * Rejects: empty strings, missing units (`"30"`), unknown units, precision below 1 ms.
 * Negative durations parse (proto allows them); range rules belong to the caller.
 */
export function parseDuration(value: unknown, field: string): number {
  if (typeof value !== 'string') throw invalidArgument(field, 'must be a duration string such as "30s", "10m" or "1h"', 'TYPE');
  const text = value.trim();
  const negative = text.startsWith('-');
  const body = negative || text.startsWith('+') ? text.slice(1) : text;
  const fast = simpleMs(body);
  if (fast !== undefined) {
    if (fast > MAX_MS) throw invalidArgument(field, `"${truncate(value)}" is out of range`, 'RANGE');
    return negative && fast !== 0 ? -fast : fast;
  }
  if (!GO_STYLE.test(body)) {
    throw invalidArgument(field, `"${truncate(value)}" is not a duration; use e.g. "30s", "1.5s", "10m", "1h"`, 'FORMAT');
  }
  let nanos = 0n;
  for (const [, num, unit] of body.matchAll(GROUP)) {
    const n = toNanos(num!, unit!);
    if (n === undefined) throw invalidArgument(field, `"${truncate(value)}" is finer than the supported 1 ms precision`, 'PRECISION');
    nanos += n;
  }
  if (nanos % 1_000_000n !== 0n) throw invalidArgument(field, `"${truncate(value)}" is finer than the supported 1 ms precision`, 'PRECISION');
  const ms = Number(nanos / 1_000_000n);
  if (ms > MAX_MS) throw invalidArgument(field, `"${truncate(value)}" is out of range`, 'RANGE');
  return negative && ms !== 0 ? -ms : ms;
}

/** Milliseconds of a single whole `<n><h|m|s|ms>` or `<n>.<1-3 digits>s`, else undefined (the general path). */
function simpleMs(body: string): number | undefined {
  const m = SIMPLE.exec(body);
  if (m) return Number(m[1]) * UNIT_MS[m[2]!]!;
  const f = SIMPLE_FRACTION.exec(body);
  if (f) return Number(f[1]) * 1000 + Number(f[2]!.padEnd(3, '0'));
  return undefined;
}

/** Exact: decimal text × unit, in nanoseconds, without floating point (undefined if below 1 ns). */
function toNanos(num: string, unit: string): bigint | undefined {
  const unitNanos = BigInt(Math.round(UNIT_MS[unit]! * 1_000_000));
  const [whole = '', frac = ''] = num.split('.');
  const scale = 10n ** BigInt(frac.length);
  const n = BigInt(whole === '' ? '0' : whole) * scale + BigInt(frac === '' ? '0' : frac);
  const product = n * unitNanos;
  // Reject instead of rounding: `0.0000000001s` would otherwise silently become 0.
  return product % scale === 0n ? product / scale : undefined;
}

/** Milliseconds → proto3 JSON: `300s`, `1.500s`, `-0.250s` (0 or 3 fractional digits). */
export function formatDuration(ms: number): string {
  if (!Number.isInteger(ms)) throw new RangeError(`duration must be whole milliseconds, got ${ms}`);
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  const seconds = Math.floor(abs / 1000);
  const rest = abs % 1000;
  return rest === 0 ? `${sign}${seconds}s` : `${sign}${seconds}.${String(rest).padStart(3, '0')}s`;
}

/** Validates a parsed duration against inclusive bounds, naming the field and the rule. */
export function checkDurationRange(ms: number, field: string, bounds: { minMs?: number; maxMs?: number }): number {
  if (bounds.minMs !== undefined && ms < bounds.minMs) throw invalidArgument(field, `must be at least ${formatDuration(bounds.minMs)}`, 'MIN');
  if (bounds.maxMs !== undefined && ms > bounds.maxMs) throw invalidArgument(field, `must be at most ${formatDuration(bounds.maxMs)}`, 'MAX');
  return ms;
}

function truncate(s: string, max = 40): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
