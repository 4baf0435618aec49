// `orderBy` (AIP-132): a comma-separated list of field paths, each optionally followed by ` desc`
// (or ` asc`), e.g. `createTime desc, name`. snake_case is accepted and read as camelCase.
import { invalidArgument } from './errors.js';
import { getPath, snakeToCamel } from './filter.js';

export interface OrderByField {
  field: string;
  desc: boolean;
}

export interface OrderByOptions {
  /** Paths (camelCase) that may be sorted on; omit to allow any. */
  fields?: readonly string[];
  /** Used when orderBy is empty, e.g. `name` or `createTime desc`. */
  default?: string;
  param?: string;
}

const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const MAX_FIELDS = 8;

export function parseOrderBy(orderBy: string | undefined, options: OrderByOptions = {}): OrderByField[] {
  const param = options.param ?? 'orderBy';
  const text = orderBy === undefined || orderBy.trim() === '' ? (options.default ?? '') : orderBy;
  if (text.trim() === '') return [];
  const out: OrderByField[] = [];
  let offset = 0;
  for (const part of text.split(',')) {
    const at = offset + (part.length - part.trimStart().length) + 1;
    offset += part.length + 1;
    const words = part.trim().split(/\s+/);
    const [path = '', dir, ...rest] = words;
    if (path === '') throw invalidArgument(param, `empty field at position ${at}`, 'ORDER_BY');
    if (!PATH.test(path)) throw invalidArgument(param, `'${path}' at position ${at} is not a field path`, 'ORDER_BY');
    if (rest.length > 0 || (dir !== undefined && dir.toLowerCase() !== 'desc' && dir.toLowerCase() !== 'asc')) {
      throw invalidArgument(param, `expected 'desc', 'asc' or ',' after '${path}' at position ${at}`, 'ORDER_BY');
    }
    const field = path.split('.').map(snakeToCamel).join('.');
    if (options.fields && !options.fields.includes(field)) throw invalidArgument(param, `cannot order by '${path}' (position ${at})`, 'ORDER_BY');
    if (out.some((o) => o.field === field)) throw invalidArgument(param, `'${path}' is listed twice (position ${at})`, 'ORDER_BY');
    out.push({ field, desc: dir?.toLowerCase() === 'desc' });
  }
  if (out.length > MAX_FIELDS) throw invalidArgument(param, `at most ${MAX_FIELDS} fields`, 'ORDER_BY');
  return out;
}

/** Canonical text of a parsed orderBy (`createTime desc,name`): what a page token binds to. */
export function formatOrderBy(fields: readonly OrderByField[]): string {
  return fields.map((f) => (f.desc ? `${f.field} desc` : f.field)).join(',');
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const NUMERIC = /^-?\d+(\.\d+)?$/;

/** Total order over wire values: absent < false < true < numbers < strings; timestamps by time. */
export function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  if (typeof a === 'string' && typeof b === 'string') {
    if (TIMESTAMP.test(a) && TIMESTAMP.test(b)) return Math.sign(Date.parse(a) - Date.parse(b)) || cmp(a, b);
    if (NUMERIC.test(a) && NUMERIC.test(b)) return compareNumericStrings(a, b);
    return cmp(a, b);
  }
  return 0;
}

function rank(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'boolean') return 1;
  if (typeof v === 'number') return 2;
  if (typeof v === 'string') return 3;
  return 4;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareNumericStrings(a: string, b: string): number {
  if (!a.includes('.') && !b.includes('.')) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return Math.sign(Number(a) - Number(b)) || cmp(a, b);
}

/** A comparator for wire-shaped objects following `fields`. */
export function orderByComparator<T>(fields: readonly OrderByField[]): (a: T, b: T) => number {
  return (a, b) => {
    for (const f of fields) {
      const c = compareValues(getPath(a, f.field), getPath(b, f.field));
      if (c !== 0) return f.desc ? -c : c;
    }
    return 0;
  };
}
