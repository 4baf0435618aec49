import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import { compileFilter, parseFilter } from './filter.js';

const d1 = {
  name: 'accounts/a/deployments/d1',
  state: 'READY',
  minReplicaCount: 1,
  maxReplicaCount: 4,
  acceleratorType: 'NVIDIA_H100_80GB',
  enableAddons: true,
  createTime: '2026-01-02T03:04:05Z',
  displayName: 'chat prod',
  autoscalingPolicy: { scaleToZeroWindow: '3600s' },
  annotations: { team: 'search' },
  exampleCount: '9007199254740993',
};
const d2 = {
  name: 'accounts/a/deployments/d2',
  state: 'CREATING',
  maxReplicaCount: 1,
  acceleratorType: 'NVIDIA_A100_80GB',
  createTime: '2026-02-01T00:00:00.5Z',
  displayName: "o'brien",
  exampleCount: '5',
};

const run = (f: string) => [d1, d2].filter(compileFilter(f)).map((d) => d.name.split('/').pop());

describe('filter evaluation', () => {
  it.each<[string, string[]]>([
    ['', ['d1', 'd2']],
    ['state = READY', ['d1']],
    ['state = "READY"', ['d1']],
    ["state = 'CREATING'", ['d2']],
    ['state != READY', ['d2']],
    ['maxReplicaCount > 1', ['d1']],
    ['maxReplicaCount >= 1', ['d1', 'd2']],
    ['maxReplicaCount < 4', ['d2']],
    ['maxReplicaCount <= 4', ['d1', 'd2']],
    ['minReplicaCount = 0', ['d2']], // absent reads as the proto3 default
    ['enableAddons = true', ['d1']],
    ['enableAddons = false', ['d2']],
    ['enableAddons != true', ['d2']],
    ['state = READY AND maxReplicaCount > 1', ['d1']],
    ['state = READY AND maxReplicaCount > 10', []],
    ['state = CREATING OR maxReplicaCount > 1', ['d1', 'd2']],
    ['NOT state = READY', ['d2']],
    ['-state = READY', ['d2']],
    ['NOT (state = READY OR state = CREATING)', []],
    ['(state = READY)', ['d1']],
    ['autoscalingPolicy.scaleToZeroWindow > 30m', ['d1']],
    ['autoscalingPolicy.scale_to_zero_window = 1h', ['d1']],
    ['annotations.team = search', ['d1']],
    ['create_time > "2026-01-15T00:00:00Z"', ['d2']],
    ['createTime < "2026-01-02T04:00:00+01:00"', []],
    ['createTime < "2026-01-02T04:00:00-01:00"', ['d1']],
    ['exampleCount > 9007199254740992', ['d1']],
    ['exampleCount = "5"', ['d2']],
    ['displayName = "chat prod"', ['d1']],
    ["displayName = 'o\\'brien'", ['d2']],
    ['acceleratorType = NVIDIA_H100_80GB', ['d1']],
    ['maxReplicaCount = abc', []],
    ['maxReplicaCount != abc', ['d1', 'd2']],
    ['maxReplicaCount < abc', []],
  ])('%s', (filter, want) => {
    expect(run(filter)).toEqual(want);
  });

  it('OR binds tighter than AND (AIP-160)', () => {
    // state = CREATING AND (maxReplicaCount = 4 OR maxReplicaCount = 1) → d2 only.
    expect(run('state = CREATING AND maxReplicaCount = 4 OR maxReplicaCount = 1')).toEqual(['d2']);
    expect(parseFilter('a = 1 AND b = 2 OR c = 3')).toMatchObject({ kind: 'and', right: { kind: 'or' } });
  });

  it('matches any element of a repeated field', () => {
    const f = compileFilter('tags = b');
    expect(f({ tags: ['a', 'b'] })).toBe(true);
    expect(f({ tags: ['a'] })).toBe(false);
  });
});

describe('filter errors', () => {
  const errorOf = (f: string, fields?: string[]): ApiError => {
    try {
      parseFilter(f, fields ? { fields } : {});
    } catch (e) {
      return e as ApiError;
    }
    throw new Error(`no error for ${f}`);
  };

  it.each<[string, RegExp]>([
    ['state', /position 6: expected a comparison operator .* found end of filter/],
    ['state =', /position 8: expected a value .*/],
    ['state : READY', /position 7: the ':' \(has\) operator is not supported/],
    ['state = READY state = CREATING', /position 15: unexpected 'state' \(join conditions with AND or OR\)/],
    ['(state = READY', /position 15: missing '\)'/],
    ['state = READY)', /position 14: unbalanced '\)'/],
    ['= READY', /position 1: expected a field name but found '='/],
    ['state = "READY', /position 9: unterminated string/],
    ['state ! READY', /position 7: unexpected '!' .*/],
    ['state = READY AND', /position 18: expected a field name but found end of filter/],
    ['enableAddons > true', /position 14: '>' cannot compare booleans/],
    ['f(x) = 1', /position 2: functions are not supported/],
    ['x = 1.2.3', /position 5: '1.2.3' is not a number/],
    ['x = @', /position 5: unexpected character '@'/],
    ['state = READY and x = 1', /position 15: unexpected 'and' .*/],
  ])('%s', (f, msg) => {
    const e = errorOf(f);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/^filter: /);
    expect(e.message).toMatch(msg);
  });

  it('rejects fields outside the allow-list, accepts wildcard entries', () => {
    expect(errorOf('secret = x', ['state']).message).toMatch(/position 1: unknown or unfilterable field 'secret'/);
    expect(() => parseFilter('annotations.team = x', { fields: ['annotations.*'] })).not.toThrow();
    expect(() => parseFilter('create_time > "2026-01-01T00:00:00Z"', { fields: ['createTime'] })).not.toThrow();
  });

  it('limits length and nesting', () => {
    expect(errorOf('x = "' + 'a'.repeat(5000) + '"').message).toMatch(/at most 4096/);
    expect(errorOf('('.repeat(40) + 'x = 1' + ')'.repeat(40)).message).toMatch(/nesting deeper than 32/);
  });
});
