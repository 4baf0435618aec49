import { describe, expect, it } from 'vitest';
import { hashOf, stableStringify } from './hash.js';
import { multiplyQuantity } from './quantity.js';

describe('stableStringify / hashOf', () => {
  it('does not depend on key order and drops undefined fields', () => {
    expect(stableStringify({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe('{"a":{"d":[1,{"x":1,"y":2}]},"b":1}');
    expect(hashOf({ a: 1, b: 2 })).toBe(hashOf({ b: 2, a: 1 }));
    expect(hashOf({ a: 1 })).not.toBe(hashOf({ a: 2 }));
    expect(hashOf({ a: 1 })).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('multiplyQuantity', () => {
  it.each([
    ['8', 2, '16'],
    ['64Gi', 4, '256Gi'],
    ['500m', 3, '1500m'],
    ['0.1', 3, '0.3'],
    ['16Gi', 1, '16Gi'],
  ])('%s × %d = %s', (q, n, want) => {
    expect(multiplyQuantity(q, n)).toBe(want);
  });

  it('rejects what is not a quantity', () => {
    expect(() => multiplyQuantity('lots', 2)).toThrow(/not a quantity/);
  });
});
