// google.protobuf.Timestamp in proto3 JSON: RFC 3339, UTC `Z` on output (whole seconds, as every
// time Hearth writes: src/util/rfc3339.ts), any RFC 3339 offset and precision on input.
import { rfc3339 } from '../../util/rfc3339.js';
import { invalidArgument } from './errors.js';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

export function formatTimestamp(d: Date): string {
  return rfc3339(d);
}

/** Like formatTimestamp, but `undefined` for null/undefined (proto3 JSON omits unset fields). */
export function formatOptionalTimestamp(d: Date | null | undefined): string | undefined {
  return d ? rfc3339(d) : undefined;
}

export function parseTimestamp(value: unknown, field: string): Date {
  if (typeof value !== 'string') throw invalidArgument(field, 'must be an RFC 3339 timestamp string, e.g. "2026-01-02T03:04:05Z"', 'TYPE');
  const m = RFC3339.exec(value);
  if (!m) throw invalidArgument(field, `"${value.slice(0, 40)}" is not an RFC 3339 timestamp (e.g. "2026-01-02T03:04:05Z")`, 'FORMAT');
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const date = new Date(value.replace(/\.(\d{3})\d+/, '.$1'));
  // Date.parse rolls 2026-02-30 over to March; reject instead.
  const probe = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
  if (Number.isNaN(date.getTime()) || probe.getUTCMonth() !== mo! - 1 || probe.getUTCDate() !== d! || h! > 23 || mi! > 59 || s! > 59) {
    throw invalidArgument(field, `"${value}" is not a valid date and time`, 'FORMAT');
  }
  return date;
}
