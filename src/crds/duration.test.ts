import { describe, expect, it } from 'vitest';
import { durationSeconds, formatDuration, isDuration } from './duration.js';
import { AutoscalingPolicy } from './deployment.js';

describe('durations', () => {
  it.each([
    ['30s', 30],
    ['10m', 600],
    ['1h', 3600],
    ['1h30m', 5400],
    ['300s', 300],
    ['1.5s', 1.5],
    ['.5m', 30],
    ['250ms', 0.25],
    ['0s', 0],
  ])('reads %s as %d seconds, as Go and CEL do', (text, seconds) => {
    expect(durationSeconds(text)).toBeCloseTo(seconds, 9);
  });

  it.each(['', '30', 's', '-5m', '+5m', '1d', '1 h', 'ten minutes', '1h 30m', '99999999999h'])('rejects %j', (text) => {
    expect(isDuration(text)).toBe(false);
  });

  it('formats seconds in the shortest unit', () => {
    expect([formatDuration(300), formatDuration(3600), formatDuration(45)]).toEqual(['5m', '1h', '45s']);
  });

  it('checks bounds with the messages the CRD carries', () => {
    const r = AutoscalingPolicy.safeParse({ scaleToZeroWindow: '4m59s', scaleUpWindow: '61m', scaleDownWindow: 'soon' });
    expect(r.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['scaleUpWindow', 'scaleUpWindow must be at most 1h'],
      ['scaleDownWindow', 'scaleDownWindow must be a duration such as "30s", "10m" or "1h"'],
      ['scaleToZeroWindow', 'scaleToZeroWindow must be at least 5m'],
    ]);
  });
});
