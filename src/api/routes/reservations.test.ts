// Reservations through the REST facade with app.inject on embedded PostgreSQL (PGlite), rows made
// with the repository the way an operator makes them: wire shape, list filter/orderBy/paging,
// readMask, get, tenancy (another account's reservation reads as missing), bad input → 400, and
// no write routes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { openDatabase, type Database } from '../../db/client.js';
import { createReservation } from '../../db/repositories/reservations.js';
import { buildApp } from '../app.js';
import { bootstrap } from '../../auth/bootstrap.js';

let database: Database;
let app: FastifyInstance;
let acmeKey: string;
let globexKey: string;

const T0 = new Date('2026-01-01T00:00:00Z');
const day = (n: number): Date => new Date(T0.getTime() + n * 86_400_000);

async function call(url: string, key: string | undefined, method = 'GET', payload?: unknown) {
  const res = await app.inject({ method: method as 'GET', url, headers: key ? { authorization: `Bearer ${key}` } : {}, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
}

const names = (body: Record<string, unknown>): string[] => ((body.reservations ?? []) as { name: string }[]).map((r) => r.name.split('/').pop()!);

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  acmeKey = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  globexKey = (await bootstrap(database.db, { accountId: 'globex', email: 'hank@globex.example' })).apiKey!.key;
  const db = database.db;
  const base = { accountId: 'acme', createdBy: 'sales@hearth.example', createTime: T0, updateTime: T0 };
  await createReservation(db, { ...base, reservationId: 'h100-va', displayName: 'H100 Virginia', description: 'Q1 training', region: 'US_VIRGINIA_2', acceleratorType: 'NVIDIA_H100_80GB', reservedCount: 16, startTime: day(0), endTime: day(365) });
  await createReservation(db, { ...base, reservationId: 'h100-az', region: 'US_ARIZONA_1', acceleratorType: 'NVIDIA_H100_80GB', reservedCount: 8, startTime: day(10), endTime: day(40) });
  await createReservation(db, { ...base, reservationId: 'a100-va', region: 'US_VIRGINIA_2', acceleratorType: 'NVIDIA_A100_80GB', reservedCount: 4, startTime: day(5), endTime: day(20) });
  await createReservation(db, { ...base, reservationId: 'mi300-us', multiRegion: 'US', acceleratorType: 'AMD_MI300X_192GB', reservedCount: 32, startTime: day(1), endTime: day(100) });
  await createReservation(db, { ...base, accountId: 'globex', reservationId: 'secret', region: 'US_VIRGINIA_2', acceleratorType: 'NVIDIA_H100_80GB', reservedCount: 64, startTime: day(0), endTime: day(30) });
  app = await buildApp({ db, rateLimit: false, authenticatorOptions: { cacheTtlMs: 0 } });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await database?.close();
});

describe('GET /v1/accounts/{a}/reservations/{r}', () => {
  it('returns the wire Reservation: full name, enum names, RFC 3339 times, reservedCount as a number', async () => {
    const r = await call('/v1/accounts/acme/reservations/h100-va', acmeKey);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      name: 'accounts/acme/reservations/h100-va',
      displayName: 'H100 Virginia',
      description: 'Q1 training',
      createTime: '2026-01-01T00:00:00Z',
      createdBy: 'sales@hearth.example',
      region: 'US_VIRGINIA_2',
      acceleratorType: 'NVIDIA_H100_80GB',
      reservedCount: 16,
      startTime: '2026-01-01T00:00:00Z',
      endTime: '2027-01-01T00:00:00Z',
      updateTime: '2026-01-01T00:00:00Z',
    });
  });

  it('sets exactly one of region and multiRegion, and leaves unset strings out', async () => {
    const r = await call('/v1/accounts/acme/reservations/mi300-us', acmeKey);
    expect(r.body).toMatchObject({ multiRegion: 'US', acceleratorType: 'AMD_MI300X_192GB', reservedCount: 32 });
    expect(r.body).not.toHaveProperty('region');
    expect(r.body).not.toHaveProperty('displayName');
    expect(r.body).not.toHaveProperty('description');
  });

  it('applies readMask', async () => {
    expect((await call('/v1/accounts/acme/reservations/h100-va?readMask=name,reservedCount', acmeKey)).body).toEqual({ name: 'accounts/acme/reservations/h100-va', reservedCount: 16 });
  });

  it("answers a missing reservation and another account's alike: 404 NOT_FOUND naming the path's resource, never its data", async () => {
    const missing = await call('/v1/accounts/acme/reservations/nope', acmeKey);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 5, message: 'reservation "accounts/acme/reservations/nope" not found' });
    const foreign = await call('/v1/accounts/globex/reservations/secret', acmeKey);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toMatchObject({ code: 5, message: 'reservation "accounts/globex/reservations/secret" not found' });
    expect(JSON.stringify(foreign.body)).not.toContain('64');
    // the owner sees it
    expect((await call('/v1/accounts/globex/reservations/secret', globexKey)).body).toMatchObject({ reservedCount: 64 });
  });

  it('answers 401 without a key', async () => {
    expect((await call('/v1/accounts/acme/reservations/h100-va', undefined)).status).toBe(401);
  });
});

describe('GET /v1/accounts/{a}/reservations', () => {
  it("lists only the account's reservations, ordered by name by default, with totalSize", async () => {
    const r = await call('/v1/accounts/acme/reservations', acmeKey);
    expect(r.status).toBe(200);
    expect(names(r.body)).toEqual(['a100-va', 'h100-az', 'h100-va', 'mi300-us']);
    expect(r.body.totalSize).toBe(4);
    expect(r.body).not.toHaveProperty('nextPageToken');
    expect(names((await call('/v1/accounts/globex/reservations', globexKey)).body)).toEqual(['secret']);
  });

  it('filters on region, acceleratorType, multiRegion, counts and times', async () => {
    const q = async (filter: string, orderBy?: string) => {
      const r = await call(`/v1/accounts/acme/reservations?filter=${encodeURIComponent(filter)}${orderBy ? `&orderBy=${encodeURIComponent(orderBy)}` : ''}`, acmeKey);
      expect(r.status, filter).toBe(200);
      return r.body;
    };
    expect(names(await q('region = US_VIRGINIA_2'))).toEqual(['a100-va', 'h100-va']);
    expect(names(await q('region = US_VIRGINIA_2 AND acceleratorType = "NVIDIA_H100_80GB"'))).toEqual(['h100-va']);
    expect(names(await q('acceleratorType = NVIDIA_H100_80GB OR multiRegion = US'))).toEqual(['h100-az', 'h100-va', 'mi300-us']);
    expect(names(await q('reservedCount >= 16', 'reservedCount desc'))).toEqual(['mi300-us', 'h100-va']);
    const window = await q('startTime <= "2026-01-11T00:00:00Z" AND endTime > "2026-01-30T00:00:00Z"');
    expect(names(window)).toEqual(['h100-az', 'h100-va', 'mi300-us']);
    expect(window.totalSize).toBe(3);
    expect(names(await q('NOT region = US_VIRGINIA_2', 'endTime desc'))).toEqual(['mi300-us', 'h100-az']);
  });

  it('orders by any field, and pages with a token bound to its query', async () => {
    const first = await call('/v1/accounts/acme/reservations?pageSize=3&orderBy=startTime%20desc', acmeKey);
    expect(names(first.body)).toEqual(['h100-az', 'a100-va', 'mi300-us']);
    expect(first.body.totalSize).toBe(4);
    const token = encodeURIComponent(first.body.nextPageToken as string);
    const second = await call(`/v1/accounts/acme/reservations?pageSize=3&orderBy=startTime%20desc&pageToken=${token}`, acmeKey);
    expect(names(second.body)).toEqual(['h100-va']);
    expect(second.body).not.toHaveProperty('nextPageToken');
    const mismatch = await call(`/v1/accounts/acme/reservations?pageSize=3&orderBy=name&pageToken=${token}`, acmeKey);
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.message).toContain('pageToken');
    // A token of acme's list is not a token of globex's.
    const foreign = await call(`/v1/accounts/globex/reservations?pageSize=3&orderBy=startTime%20desc&pageToken=${token}`, globexKey);
    expect(foreign.status).toBe(400);
  });

  it('applies readMask to each item', async () => {
    const r = await call('/v1/accounts/acme/reservations?readMask=name&filter=multiRegion%20%3D%20US', acmeKey);
    expect(r.body).toEqual({ reservations: [{ name: 'accounts/acme/reservations/mi300-us' }], totalSize: 1 });
  });

  it('answers bad list parameters with 400 INVALID_ARGUMENT naming the parameter and the rule', async () => {
    const cases: [string, string][] = [
      ['filter=zone%20%3D%20x', 'filter: position 1: unknown or unfilterable field'],
      ['filter=region%20%3D', 'filter'],
      ['orderBy=price', 'orderBy'],
      ['pageSize=-1', 'pageSize'],
      ['pageSize=abc', 'pageSize'],
      ['pageToken=garbage', 'pageToken'],
      ['readMask=..', 'readMask'],
    ];
    for (const [q, want] of cases) {
      const r = await call(`/v1/accounts/acme/reservations?${q}`, acmeKey);
      expect(r.status, q).toBe(400);
      expect(r.body.code, q).toBe(3);
      expect(r.body.message, q).toContain(want);
    }
  });

  it('is read-only: no create, update or delete route', async () => {
    const body = { acceleratorType: 'NVIDIA_H100_80GB', reservedCount: 1, region: 'US_VIRGINIA_2' };
    for (const [method, url] of [
      ['POST', '/v1/accounts/acme/reservations'],
      ['PATCH', '/v1/accounts/acme/reservations/h100-va'],
      ['DELETE', '/v1/accounts/acme/reservations/h100-va'],
    ] as const) {
      const r = await call(url, acmeKey, method, method === 'DELETE' ? undefined : body);
      expect(r.status, `${method} ${url}`).toBe(404);
      expect(r.body.code).toBe(5);
    }
    expect((await call('/v1/accounts/acme/reservations', acmeKey)).body.totalSize).toBe(4);
    expect((await call('/v1/accounts/acme/reservations/h100-va', acmeKey)).body.reservedCount).toBe(16);
  });
});
