import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import { checkDurationRange, formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each<[string, number]>([
    ['30s', 30_000],
    ['300s', 300_000],
    ['0s', 0],
    ['1.5s', 1500],
    ['0.001s', 1],
    ['1.000000000s', 1000],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
    ['1500000us', 1500],
    ['2000000ns', 2],
    ['-0.250s', -250],
    [' 45s ', 45_000],
  ])('%s → %i ms', (text, ms) => {
    expect(parseDuration(text, 'f')).toBe(ms);
  });

  it.each(['', '30', 's', '10 m', '1d', '1h-30m', 'abc', '1.2.3s', '0.0001s', '1ns', '--1s', '9999999999999h'])('rejects %j naming the field', (text) => {
    expect(() => parseDuration(text, 'autoscalingPolicy.scaleUpWindow')).toThrow(ApiError);
    try {
      parseDuration(text, 'autoscalingPolicy.scaleUpWindow');
    } catch (e) {
      expect((e as ApiError).code).toBe('INVALID_ARGUMENT');
      expect((e as ApiError).message).toMatch(/^autoscalingPolicy\.scaleUpWindow: /);
    }
  });

  it('rejects non-strings', () => {
    expect(() => parseDuration(30, 'f')).toThrow(/duration string/);
  });

  it('parses the common one-unit forms (a fast path) exactly as the general parser does', () => {
    // `<x>0ns` is the same duration written as two groups, which always takes the general path.
    for (const n of ['0', '1', '7', '007', '30', '300', '86400', '604800', '999999999999']) {
      for (const unit of ['h', 'm', 's', 'ms']) {
        const text = `${n}${unit}`;
        const general = (() => {
          try {
            return parseDuration(`${text}0ns`, 'f');
          } catch (e) {
            return (e as ApiError).message;
          }
        })();
        const fast = (() => {
          try {
            return parseDuration(text, 'f');
          } catch (e) {
            return (e as ApiError).message;
          }
        })();
        expect(fast, text).toEqual(typeof general === 'string' ? general.replace(`${text}0ns`, text) : general);
        if (typeof general === 'number') expect(parseDuration(`-${text}`, 'f'), `-${text}`).toBe(general === 0 ? 0 : -general);
      }
    }
    for (const text of ['1.5s', '1.50s', '1.500s', '0.001s', '12.345s', '300.000s']) expect(parseDuration(text, 'f'), text).toBe(parseDuration(`${text}0ns`, 'f'));
  });
});

describe('formatDuration', () => {
  it.each<[number, string]>([
    [0, '0s'],
    [30_000, '30s'],
    [3_600_000, '3600s'],
    [1500, '1.500s'],
    [1, '0.001s'],
    [-250, '-0.250s'],
  ])('%i ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text, 'f')).toBe(ms);
  });

  it('refuses fractional milliseconds', () => {
    expect(() => formatDuration(1.5)).toThrow(RangeError);
  });
});

describe('checkDurationRange', () => {
  it('names the bound', () => {
    expect(() => checkDurationRange(60_000, 'scaleToZeroWindow', { minMs: 300_000 })).toThrow('scaleToZeroWindow: must be at least 300s');
    expect(() => checkDurationRange(7_200_000, 'scaleUpWindow', { maxMs: 3_600_000 })).toThrow('scaleUpWindow: must be at most 3600s');
    expect(checkDurationRange(300_000, 'x', { minMs: 300_000, maxMs: 300_000 })).toBe(300_000);
  });
});
