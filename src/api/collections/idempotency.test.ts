// Retried creates (issue 15 item 12) on the in-memory kind clients and embedded PGlite: the same
// Idempotency-Key twice (and concurrently) makes one deployment; another body with the key is a
// 400 naming the header; a failed create frees the key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHearth, type TestHearth } from '../../../test/support/hearth-app.js';
import { idempotencyKeyOf, requestHash } from './idempotency.js';

const BASE_MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
let h: TestHearth;

beforeAll(async () => {
  h = await startTestHearth();
});
afterAll(async () => h?.close());

async function create(headers: Record<string, string>, body: Record<string, unknown> = { baseModel: BASE_MODEL }) {
  const res = await h.app.inject({ method: 'POST', url: '/v1/accounts/acme/deployments', headers: { authorization: `Bearer ${h.key}`, ...headers }, payload: body });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown>, headers: res.headers };
}

async function count(): Promise<number> {
  const res = await h.app.inject({ method: 'GET', url: '/v1/accounts/acme/deployments?pageSize=200', headers: { authorization: `Bearer ${h.key}` } });
  return (JSON.parse(res.body) as { deployments: unknown[] }).deployments.length;
}

describe('idempotent creates', () => {
  it('a retried create answers the first response and makes nothing new', async () => {
    const before = await count();
    const first = await create({ 'idempotency-key': 'k-seq' });
    expect(first.status).toBe(200);
    const again = await create({ 'idempotency-key': 'k-seq' });
    expect(again.status).toBe(200);
    expect(again.body.name).toBe(first.body.name);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await count()).toBe(before + 1);
  });

  it('concurrent duplicates make one object; X-Request-Id works the same way', async () => {
    const before = await count();
    const all = await Promise.all(Array.from({ length: 8 }, () => create({ 'x-request-id': 'k-concurrent' })));
    expect(all.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(new Set(all.map((r) => r.body.name)).size).toBe(1);
    expect(await count()).toBe(before + 1);
  });

  it('the same key with another body is a 400 naming the header', async () => {
    await create({ 'idempotency-key': 'k-body' });
    const other = await create({ 'idempotency-key': 'k-body' }, { baseModel: BASE_MODEL, displayName: 'other' });
    expect(other.status).toBe(400);
    expect(JSON.stringify(other.body)).toMatch(/"field":"Idempotency-Key".*IDEMPOTENCY_KEY_REUSED/);
  });

  it('a failed create frees its key; keys are per account; no key: every create is new', async () => {
    const bad = await create({ 'idempotency-key': 'k-fail' }, { displayName: 'no base model' });
    expect(bad.status).toBe(400);
    expect((await create({ 'idempotency-key': 'k-fail' }, { displayName: 'no base model' })).status).toBe(400);
    const before = await count();
    await create({});
    await create({});
    expect(await count()).toBe(before + 2);
    const globex = await h.app.inject({ method: 'POST', url: '/v1/accounts/globex/deployments', headers: { authorization: `Bearer ${h.otherKey}`, 'idempotency-key': 'k-seq' }, payload: { baseModel: BASE_MODEL } });
    expect(globex.statusCode).toBe(200);
    expect(globex.headers['idempotent-replayed']).toBeUndefined();
  });

  it('refuses a malformed key naming the header; hashes ignore key order', () => {
    expect(() => idempotencyKeyOf({ headers: { 'idempotency-key': 'has space' } } as never)).toThrow(/Idempotency-Key/);
    expect(requestHash('op', {}, { a: 1, b: { c: 2, d: 3 } })).toBe(requestHash('op', {}, { b: { d: 3, c: 2 }, a: 1 }));
    expect(requestHash('op', {}, { a: 1 })).not.toBe(requestHash('op', {}, { a: 2 }));
  });
});
