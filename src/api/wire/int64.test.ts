import { describe, expect, it } from 'vitest';
import { formatInt64, parseInt64, parseSafeInt64 } from './int64.js';

describe('int64', () => {
  it('formats as strings', () => {
    expect(formatInt64(8)).toBe('8');
    expect(formatInt64(2n ** 62n)).toBe('4611686018427387904');
    expect(() => formatInt64(1.5)).toThrow(RangeError);
  });

  it('parses strings and numbers', () => {
    expect(parseInt64('8', 'value')).toBe(8n);
    expect(parseInt64(8, 'value')).toBe(8n);
    expect(parseInt64('-9223372036854775808', 'value')).toBe(-(2n ** 63n));
  });

  it.each([['9223372036854775808'], ['1.5'], [1.5], ['8a'], [''], [null], [true]])('rejects %j', (v) => {
    expect(() => parseInt64(v, 'quota.value')).toThrow(/^quota\.value: /);
  });

  it('checks safe range and bounds', () => {
    expect(parseSafeInt64('16', 'value', { min: 0, max: 16 })).toBe(16);
    expect(() => parseSafeInt64('17', 'value', { max: 16 })).toThrow('value: must be at most 16');
    expect(() => parseSafeInt64('-1', 'value', { min: 0 })).toThrow('value: must be at least 0');
    expect(() => parseSafeInt64('9007199254740993', 'value')).toThrow(/between/);
  });
});
