import { describe, expect, it } from 'vitest';
import { formatOrderBy, orderByComparator, parseOrderBy } from './order-by.js';

describe('parseOrderBy', () => {
  it('parses fields and directions', () => {
    expect(parseOrderBy('createTime desc, name')).toEqual([
      { field: 'createTime', desc: true },
      { field: 'name', desc: false },
    ]);
    expect(parseOrderBy('create_time DESC,display_name asc')).toEqual([
      { field: 'createTime', desc: true },
      { field: 'displayName', desc: false },
    ]);
    expect(parseOrderBy('autoscaling_policy.scale_up_window')).toEqual([{ field: 'autoscalingPolicy.scaleUpWindow', desc: false }]);
  });

  it('uses the default when empty', () => {
    expect(parseOrderBy('', { default: 'createTime desc' })).toEqual([{ field: 'createTime', desc: true }]);
    expect(parseOrderBy(undefined)).toEqual([]);
  });

  it.each<[string, RegExp]>([
    ['name descending', /expected 'desc', 'asc' or ',' after 'name' at position 1/],
    ['name,,state', /empty field at position 6/],
    ['name, 1abc', /'1abc' at position 7 is not a field path/],
    ['name desc extra', /expected 'desc'/],
    ['name, name desc', /listed twice/],
  ])('rejects %j', (text, msg) => {
    expect(() => parseOrderBy(text)).toThrow(msg);
  });

  it('enforces the allow-list', () => {
    expect(() => parseOrderBy('secret', { fields: ['name'] })).toThrow(/orderBy: cannot order by 'secret'/);
  });

  it('formats canonically', () => {
    expect(formatOrderBy(parseOrderBy(' create_time  desc ,name '))).toBe('createTime desc,name');
  });
});

describe('orderByComparator', () => {
  it('orders by several keys with mixed directions and typed values', () => {
    const items = [
      { name: 'b', state: 'READY', count: '10', createTime: '2026-01-01T00:00:00Z' },
      { name: 'a', state: 'READY', count: '9', createTime: '2026-01-01T00:00:00.5Z' },
      { name: 'c', state: 'CREATING', createTime: '2025-12-31T23:59:59Z' },
    ];
    const by = (o: string) => [...items].sort(orderByComparator(parseOrderBy(o))).map((i) => i.name);
    expect(by('state, name')).toEqual(['c', 'a', 'b']);
    expect(by('count desc')).toEqual(['b', 'a', 'c']); // int64 strings compare numerically; absent last in desc
    expect(by('createTime')).toEqual(['c', 'b', 'a']);
    expect(by('createTime desc')).toEqual(['a', 'b', 'c']);
  });
});
