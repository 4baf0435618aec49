import { describe, expect, it } from 'vitest';
import { formatOptionalTimestamp, formatTimestamp, parseTimestamp } from './timestamp.js';

describe('timestamps', () => {
  // Read to the millisecond; written to the whole second (src/util/rfc3339.ts).
  it.each<[string, string, string]>([
    ['2026-01-02T03:04:05Z', '2026-01-02T03:04:05.000Z', '2026-01-02T03:04:05Z'],
    ['2026-01-02T03:04:05.5Z', '2026-01-02T03:04:05.500Z', '2026-01-02T03:04:05Z'],
    ['2026-01-02T03:04:05.123456789Z', '2026-01-02T03:04:05.123Z', '2026-01-02T03:04:05Z'],
    ['2026-01-02T05:04:05+02:00', '2026-01-02T03:04:05.000Z', '2026-01-02T03:04:05Z'],
    ['2026-01-02t03:04:05z', '2026-01-02T03:04:05.000Z', '2026-01-02T03:04:05Z'],
  ])('parses %s', (text, iso, wire) => {
    const d = parseTimestamp(text, 'expireTime');
    expect(d.toISOString()).toBe(iso);
    expect(formatTimestamp(d)).toBe(wire);
  });

  it.each(['2026-01-02', '2026-02-30T00:00:00Z', '2026-01-02T25:00:00Z', '2026-01-02 03:04:05Z', 'now', ''])('rejects %j naming the field', (text) => {
    expect(() => parseTimestamp(text, 'apiKey.expireTime')).toThrow(/^apiKey\.expireTime: /);
  });

  it('omits unset timestamps', () => {
    expect(formatOptionalTimestamp(null)).toBeUndefined();
    expect(formatOptionalTimestamp(new Date(0))).toBe('1970-01-01T00:00:00Z');
    expect(() => parseTimestamp(5, 'x')).toThrow(/RFC 3339/);
  });
});
