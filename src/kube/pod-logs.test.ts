import { describe, expect, it } from 'vitest';
import { microsToRfc3339, parseTimestampedLines, rfc3339Micros } from './pod-logs.js';

describe('pod log lines', () => {
  it('splits timestamps=true output into lines with microsecond times; the trailing newline is not a line', () => {
    const text = '2026-12-06T08:00:00.123456789Z hello world\n2026-12-06T08:00:01Z \n2026-12-06T08:00:02.5Z  two spaces\n';
    expect(parseTimestampedLines(text, 0)).toEqual([
      { timeMicros: Date.parse('2026-12-06T08:00:00Z') * 1000 + 123456, message: 'hello world' },
      { timeMicros: Date.parse('2026-12-06T08:00:01Z') * 1000, message: '' },
      { timeMicros: Date.parse('2026-12-06T08:00:02Z') * 1000 + 500000, message: ' two spaces' },
    ]);
  });

  it('a line without a timestamp takes the previous time, or the fallback', () => {
    expect(parseTimestampedLines('no stamp\n2026-12-06T08:00:00Z a\nagain', 7)).toEqual([
      { timeMicros: 7, message: 'no stamp' },
      { timeMicros: Date.parse('2026-12-06T08:00:00Z') * 1000, message: 'a' },
      { timeMicros: Date.parse('2026-12-06T08:00:00Z') * 1000, message: 'again' },
    ]);
  });

  it('round-trips times at microsecond precision', () => {
    const us = rfc3339Micros('2026-12-06T08:00:00.000042Z')!;
    expect(microsToRfc3339(us)).toBe('2026-12-06T08:00:00.000042Z');
    expect(rfc3339Micros('2026-12-06T09:00:00+01:00')).toBe(Date.parse('2026-12-06T08:00:00Z') * 1000);
  });
});
