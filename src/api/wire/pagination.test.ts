import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import { PageTokenCodec, listPage, parsePageSize } from './pagination.js';

describe('parsePageSize', () => {
  it('defaults, coerces and rejects', () => {
    expect(parsePageSize(undefined)).toBe(50);
    expect(parsePageSize('')).toBe(50);
    expect(parsePageSize(0)).toBe(50);
    expect(parsePageSize('7')).toBe(7);
    expect(parsePageSize(1000)).toBe(200);
    expect(parsePageSize(undefined, { defaultSize: 10 })).toBe(10);
    expect(() => parsePageSize(-1)).toThrow('pageSize: must not be negative');
    expect(() => parsePageSize('ten')).toThrow('pageSize: must be an integer');
    expect(() => parsePageSize(1.5)).toThrow('pageSize: must be an integer');
  });
});

describe('PageTokenCodec', () => {
  const codec = new PageTokenCodec('s3cret');
  const q = { parent: 'accounts/a/deployments', filter: 'state = READY' };

  it('round-trips a cursor for the same query', () => {
    const t = codec.encode(['2026-01-01T00:00:00Z', 'accounts/a/deployments/x'], q);
    expect(codec.decode(t, { filter: 'state = READY', parent: 'accounts/a/deployments' })).toEqual(['2026-01-01T00:00:00Z', 'accounts/a/deployments/x']);
  });

  it('rejects a token used with another query', () => {
    const t = codec.encode(['x'], q);
    expect(() => codec.decode(t, { ...q, filter: 'state = CREATING' })).toThrow(/was issued for a different query/);
    expect(() => codec.decode(t, { ...q, parent: 'accounts/b/deployments' })).toThrow(ApiError);
    expect(() => codec.decode(t, { ...q, showDeleted: true })).toThrow(/different query/);
  });

  it('rejects tampered, foreign and garbage tokens', () => {
    const t = codec.encode(['x'], q);
    const [body, mac] = t.split('.');
    const forged = Buffer.from(JSON.stringify({ v: 1, c: ['zzz'], q: JSON.parse(Buffer.from(body!, 'base64url').toString()).q })).toString('base64url');
    for (const bad of [`${forged}.${mac}`, new PageTokenCodec('other').encode(['x'], q), 'garbage', '', 'a.b.c', `${body}.`, 'x'.repeat(5000)]) {
      expect(() => codec.decode(bad, q)).toThrow(/pageToken: is not a valid page token/);
    }
  });
});

describe('listPage', () => {
  const items = Array.from({ length: 23 }, (_, i) => ({
    name: `accounts/a/deployments/d${String(i).padStart(2, '0')}`,
    state: i % 3 === 0 ? 'CREATING' : 'READY',
    createTime: new Date(Date.UTC(2026, 0, 1, 0, 0, 23 - i)).toISOString(),
    replicaCount: i % 5,
  }));
  const opts = { binding: { parent: 'accounts/a/deployments' }, defaultOrderBy: 'name' };

  function all(req: { filter?: string; orderBy?: string; pageSize?: number }): { names: string[]; pages: number; totals: Set<number> } {
    const names: string[] = [];
    const totals = new Set<number>();
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const page = listPage(items, { ...req, pageToken }, opts);
      names.push(...page.items.map((i) => i.name.slice(-3)));
      totals.add(page.totalSize);
      pageToken = page.nextPageToken || undefined;
      pages++;
    } while (pageToken);
    return { names, pages, totals };
  }

  it('walks every page exactly once, in order, with totalSize after the filter', () => {
    const r = all({ pageSize: 5, filter: 'state = READY', orderBy: 'replicaCount desc, createTime' });
    expect(r.names.length).toBe(15);
    expect(new Set(r.names).size).toBe(15);
    expect(r.pages).toBe(3);
    expect([...r.totals]).toEqual([15]);
    const direct = listPage(items, { pageSize: 200, filter: 'state = READY', orderBy: 'replicaCount desc, createTime' }, opts);
    expect(direct.items.map((i) => i.name.slice(-3))).toEqual(r.names);
    expect(direct.nextPageToken).toBe('');
  });

  it('is stable under inserts between pages (keyset)', () => {
    const first = listPage(items, { pageSize: 10 }, opts);
    const grown = [...items, { name: 'accounts/a/deployments/d00a', state: 'READY', createTime: '2026-01-01T00:00:00Z', replicaCount: 0 }];
    const second = listPage(grown, { pageSize: 10, pageToken: first.nextPageToken }, opts);
    expect(second.items[0]!.name).toBe('accounts/a/deployments/d10');
  });

  it('defaults to 50 per page and rejects a token from another filter', () => {
    const page = listPage(items, { pageSize: 3 }, opts);
    expect(page.items.length).toBe(3);
    expect(() => listPage(items, { pageSize: 3, pageToken: page.nextPageToken, filter: 'state = READY' }, opts)).toThrow(/different query/);
    expect(listPage(items, {}, opts).items.length).toBe(23);
  });
});
