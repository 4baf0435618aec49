// int64/uint64 in proto3 JSON are strings (`"8"`); parsers must also accept JSON numbers.
import { invalidArgument } from './errors.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INTEGER = /^-?\d+$/;

/** Serialises an int64 for the wire. */
export function formatInt64(value: number | bigint): string {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`);
  return String(value);
}

/** Parses an int64 from a JSON string or number, as a bigint. */
export function parseInt64(value: unknown, field: string): bigint {
  let n: bigint;
  if (typeof value === 'string' && INTEGER.test(value.trim())) n = BigInt(value.trim());
  else if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
  else if (typeof value === 'bigint') n = value;
  else throw invalidArgument(field, 'must be an integer (int64, as a string such as "8")', 'TYPE');
  if (n < INT64_MIN || n > INT64_MAX) throw invalidArgument(field, 'is out of the int64 range', 'RANGE');
  return n;
}

/** Parses an int64 that must also fit a JS number exactly (counts, quota values). */
export function parseSafeInt64(value: unknown, field: string, bounds: { min?: number; max?: number } = {}): number {
  const n = parseInt64(value, field);
  if (n < BigInt(Number.MIN_SAFE_INTEGER) || n > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw invalidArgument(field, `must be between ${Number.MIN_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`, 'RANGE');
  }
  const num = Number(n);
  if (bounds.min !== undefined && num < bounds.min) throw invalidArgument(field, `must be at least ${bounds.min}`, 'MIN');
  if (bounds.max !== undefined && num > bounds.max) throw invalidArgument(field, `must be at most ${bounds.max}`, 'MAX');
  return num;
}
