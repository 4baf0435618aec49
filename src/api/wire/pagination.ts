// AIP-158 pagination: `pageSize` (default 50, max 200; larger values are coerced to the max) and an
// opaque `pageToken` bound to the query that produced it. A token carries a keyset cursor (the
// sort key of the last item served) plus a hash of the query (parent, filter, orderBy, other
// parameters), and is authenticated with an HMAC, so it cannot be forged, and reusing it with a
// different query is an INVALID_ARGUMENT rather than a silently wrong page.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { invalidArgument } from './errors.js';
import { compileFilter, getPath, type FilterOptions } from './filter.js';
import { compareValues, formatOrderBy, parseOrderBy, type OrderByField } from './order-by.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** `pageSize` from a query string or number. 0 or absent → default; above max → max; < 0 → error. */
export function parsePageSize(value: unknown, opts: { defaultSize?: number; maxSize?: number; param?: string } = {}): number {
  const { defaultSize = DEFAULT_PAGE_SIZE, maxSize = MAX_PAGE_SIZE, param = 'pageSize' } = opts;
  if (value === undefined || value === null || value === '') return defaultSize;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isInteger(n)) throw invalidArgument(param, 'must be an integer', 'TYPE');
  if (n < 0) throw invalidArgument(param, 'must not be negative', 'MIN');
  if (n === 0) return defaultSize;
  return Math.min(n, maxSize);
}

/** The parameters a token is bound to. Values are compared after JSON canonicalisation. */
export type QueryBinding = Record<string, string | number | boolean | undefined>;

/** JSON values of the sort key of the last item served. */
export type Cursor = (string | number | boolean | null)[];

interface TokenPayload {
  v: 1;
  /** keyset cursor */
  c: Cursor;
  /** hash of the binding */
  q: string;
}

/**
 * Default key: makes tokens tamper-evident and portable across replicas that were not given a
 * secret. Give every replica the same real secret (config) to make tokens unforgeable too.
 */
const DEFAULT_SECRET = 'hearth-page-token-v1';
const MAC_BYTES = 16;
const MAX_TOKEN_LENGTH = 4096;

export class PageTokenCodec {
  private readonly secret: Buffer;

  constructor(secret: string | Buffer = DEFAULT_SECRET) {
    this.secret = Buffer.isBuffer(secret) ? secret : Buffer.from(secret, 'utf8');
  }

  encode(cursor: Cursor, binding: QueryBinding): string {
    const payload: TokenPayload = { v: 1, c: cursor, q: bindingHash(binding) };
    const body = Buffer.from(JSON.stringify(payload), 'utf8');
    return `${body.toString('base64url')}.${this.mac(body).toString('base64url')}`;
  }

  /** The cursor inside `token`, after checking it is ours, intact, and for this query. */
  decode(token: string, binding: QueryBinding, param = 'pageToken'): Cursor {
    const bad = (): never => {
      throw invalidArgument(param, 'is not a valid page token (it must be a nextPageToken returned by this list call)', 'PAGE_TOKEN');
    };
    if (token.length > MAX_TOKEN_LENGTH) return bad();
    const [b64, mac, extra] = token.split('.');
    if (!b64 || !mac || extra !== undefined) return bad();
    const body = Buffer.from(b64, 'base64url');
    const given = Buffer.from(mac, 'base64url');
    const want = this.mac(body);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return bad();
    let payload: TokenPayload;
    try {
      payload = JSON.parse(body.toString('utf8')) as TokenPayload;
    } catch {
      return bad();
    }
    if (payload.v !== 1 || !Array.isArray(payload.c)) return bad();
    if (payload.q !== bindingHash(binding)) {
      throw invalidArgument(param, 'was issued for a different query; filter, orderBy and the other parameters must match the call that returned it', 'PAGE_TOKEN_MISMATCH');
    }
    return payload.c;
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(body).digest().subarray(0, MAC_BYTES);
  }
}

function bindingHash(binding: QueryBinding): string {
  const canonical = Object.keys(binding)
    .filter((k) => binding[k] !== undefined && binding[k] !== '')
    .sort()
    .map((k) => [k, binding[k]]);
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url').slice(0, 22);
}

export interface ListRequest {
  pageSize?: unknown;
  pageToken?: string | undefined;
  filter?: string | undefined;
  orderBy?: string | undefined;
}

export interface ListOptions {
  /** What else the token is bound to: the parent/collection and any extra parameters (showDeleted). */
  binding: QueryBinding;
  filterFields?: readonly string[];
  orderByFields?: readonly string[];
  /** e.g. `name`, `createTime`, `createTime desc`. */
  defaultOrderBy?: string;
  /** Unique field appended to every order as the tiebreaker (default `name`). */
  idField?: string;
  codec?: PageTokenCodec;
  defaultPageSize?: number;
  maxPageSize?: number;
}

export interface ListPage<T> {
  items: T[];
  /** Empty on the last page. */
  nextPageToken: string;
  /** Items matching the filter, over all pages. */
  totalSize: number;
}

const defaultCodec = new PageTokenCodec();

/**
 * Filters, orders and pages wire-shaped objects held in memory (a watch-fed cache, a small table).
 * Keyset paging: the next page starts after the last item served, so objects created or deleted
 * between calls do not shift or repeat the others.
 */
export function listPage<T>(all: Iterable<T>, req: ListRequest, opts: ListOptions): ListPage<T> {
  const pageSize = parsePageSize(req.pageSize, { defaultSize: opts.defaultPageSize, maxSize: opts.maxPageSize });
  const filterOpts: FilterOptions = opts.filterFields ? { fields: opts.filterFields } : {};
  const predicate = compileFilter(req.filter, filterOpts);
  const order = parseOrderBy(req.orderBy, { fields: opts.orderByFields, default: opts.defaultOrderBy });
  const idField = opts.idField ?? 'name';
  const keyFields: OrderByField[] = order.some((o) => o.field === idField) ? order : [...order, { field: idField, desc: false }];
  const binding: QueryBinding = { ...opts.binding, filter: req.filter?.trim(), orderBy: formatOrderBy(order) };
  const codec = opts.codec ?? defaultCodec;
  const after = req.pageToken ? codec.decode(req.pageToken, binding) : undefined;

  const keyOf = (item: T): Cursor => keyFields.map((f) => toCursorValue(getPath(item, f.field)));
  const compareKeys = (a: Cursor, b: Cursor): number => {
    for (let i = 0; i < keyFields.length; i++) {
      const c = compareValues(a[i] ?? undefined, b[i] ?? undefined);
      if (c !== 0) return keyFields[i]!.desc ? -c : c;
    }
    return 0;
  };

  const matching = [...all].filter(predicate);
  const keyed = matching.map((item) => ({ item, key: keyOf(item) })).sort((a, b) => compareKeys(a.key, b.key));
  const start = after ? firstAfter(keyed, after, compareKeys) : 0;
  const page = keyed.slice(start, start + pageSize);
  const last = page[page.length - 1];
  const more = start + pageSize < keyed.length;
  return {
    items: page.map((p) => p.item),
    nextPageToken: more && last ? codec.encode(last.key, binding) : '',
    totalSize: matching.length,
  };
}

function toCursorValue(v: unknown): string | number | boolean | null {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return null;
}

/** Index of the first entry whose key sorts after `cursor` (binary search). */
function firstAfter<T>(sorted: { item: T; key: Cursor }[], cursor: Cursor, compare: (a: Cursor, b: Cursor) => number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(sorted[mid]!.key, cursor) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
