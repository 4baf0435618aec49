// Randomised inputs for the parsers that take raw query strings: each input either parses or is
// rejected with INVALID_ARGUMENT — never another exception, never a hang.
import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';
import { ApiError } from './errors.js';
import { compileFilter, parseFilter } from './filter.js';
import { parseOrderBy } from './order-by.js';
import { PageTokenCodec, parsePageSize } from './pagination.js';

/** Small deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['state', 'name', '.', 'a_b', ' ', '  ', '=', '!=', '<', '>', '<=', '>=', ':', 'AND', 'OR', 'NOT', '-', '(', ')', '"x y"', "'q'", '"', "'", '\\', '12', '-3.5', '1e3', '30s', '1h', 'true', 'false', 'READY', '*', ',', 'desc', 'asc', '\u00e9', '\u0000', '\n', '@', '1.2.3', 'f(', '%'];

function randomText(r: () => number, maxPieces = 12): string {
  const n = Math.floor(r() * maxPieces);
  let s = '';
  for (let i = 0; i < n; i++) s += r() < 0.9 ? PIECES[Math.floor(r() * PIECES.length)] : String.fromCharCode(Math.floor(r() * 0x3000));
  return s;
}

function onlyInvalidArgument(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 'INVALID_ARGUMENT') throw e;
  }
}

describe('fuzz', () => {
  it('filter: 5000 random inputs parse or fail with INVALID_ARGUMENT', () => {
    const r = rng(1);
    const sample = { state: 'READY', name: 'n', a_b: 1, aB: 2 };
    let parsed = 0;
    for (let i = 0; i < 5000; i++) {
      const text = randomText(r);
      try {
        const expr = parseFilter(text);
        parsed++;
        expect(typeof compileFilter(text)(sample)).toBe('boolean');
        void expr;
      } catch (e) {
        expect(e).toBeInstanceOf(ApiError);
        expect((e as ApiError).code).toBe('INVALID_ARGUMENT');
        expect((e as ApiError).message).toMatch(/^filter: /);
      }
    }
    expect(parsed).toBeGreaterThan(20); // the generator does produce valid filters
  });

  it('orderBy, durations, page sizes and page tokens: 3000 inputs each', () => {
    const r = rng(2);
    const codec = new PageTokenCodec();
    for (let i = 0; i < 3000; i++) {
      const text = randomText(r, 6);
      onlyInvalidArgument(() => parseOrderBy(text));
      onlyInvalidArgument(() => parseDuration(text, 'd'));
      onlyInvalidArgument(() => parsePageSize(text));
      onlyInvalidArgument(() => codec.decode(text, {}));
      onlyInvalidArgument(() => codec.decode(Buffer.from(text).toString('base64url') + '.' + Buffer.from(text).toString('base64url'), {}));
    }
  });
});
