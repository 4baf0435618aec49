// Reservations through the REST facade on a real PostgreSQL (a scratch database; no cluster is
// needed: reservations are PostgreSQL rows). Rows are made with the repository, as an operator
// makes them; the API lists (filter, orderBy, paging) and gets them, and shows another account's
// reservations to nobody but that account.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import type { Database } from '../../src/db/client.js';
import { AlreadyExistsError } from '../../src/db/errors.js';
import { reservationsRepo } from '../../src/db/index.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';

const suffix = randomBytes(3).toString('hex');
const ACME = `res-acme-${suffix}`;
const GLOBEX = `res-globex-${suffix}`;
const dbName = `hearth_t_api_reservations_${suffix}`;

let database: Database;
let app: FastifyInstance;
const keys: Record<string, string> = {};

async function call(url: string, account: string | null): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await app.inject({ method: 'GET', url, headers: account ? { authorization: `Bearer ${keys[account]}` } : {} });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
}

const ids = (body: Record<string, unknown>): string[] => ((body.reservations ?? []) as { name: string }[]).map((r) => r.name.split('/').pop()!);

beforeAll(async () => {
  database = await createScratchDatabase(dbName);
  for (const a of [ACME, GLOBEX]) keys[a] = (await bootstrap(database.db, { accountId: a, email: `admin@${a}.example` })).apiKey!.key;
  const start = new Date('2026-03-01T00:00:00Z');
  const end = new Date('2027-03-01T00:00:00Z');
  // 60 reservations: 3 accelerator types × 20, in two regions and one multi-region.
  const types = ['NVIDIA_H100_80GB', 'NVIDIA_A100_80GB', 'AMD_MI300X_192GB'] as const;
  for (let i = 0; i < 60; i++) {
    const where = i % 3 === 0 ? { multiRegion: 'US' } : { region: i % 3 === 1 ? 'US_VIRGINIA_2' : 'US_ILLINOIS_2' };
    await reservationsRepo.createReservation(database.db, {
      accountId: ACME,
      reservationId: `r-${String(i).padStart(2, '0')}`,
      acceleratorType: types[i % 3 === 0 ? 2 : i % 2]!,
      reservedCount: 8 * (1 + (i % 4)),
      startTime: start,
      endTime: end,
      createdBy: 'sales@hearth.example',
      ...where,
    });
  }
  await reservationsRepo.createReservation(database.db, { accountId: GLOBEX, reservationId: 'g', region: 'US_VIRGINIA_2', acceleratorType: 'NVIDIA_H100_80GB', reservedCount: 99, startTime: start, endTime: end });
  app = await buildApp({ db: database.db, rateLimit: false });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await database?.close();
  await dropScratchDatabase(dbName);
});

describe('reservations on PostgreSQL', () => {
  it('the database keeps the rules the wire states: one of region or multiRegion, a positive count, start before end, unique ids', async () => {
    const base = { accountId: ACME, acceleratorType: 'NVIDIA_H100_80GB', reservedCount: 1, startTime: new Date('2026-01-01T00:00:00Z'), endTime: new Date('2026-02-01T00:00:00Z') };
    await expect(reservationsRepo.createReservation(database.db, { ...base, reservationId: 'both', region: 'US_VIRGINIA_2', multiRegion: 'US' })).rejects.toThrow();
    await expect(reservationsRepo.createReservation(database.db, { ...base, reservationId: 'neither' })).rejects.toThrow();
    await expect(reservationsRepo.createReservation(database.db, { ...base, reservationId: 'zero', region: 'US_VIRGINIA_2', reservedCount: 0 })).rejects.toThrow();
    await expect(reservationsRepo.createReservation(database.db, { ...base, reservationId: 'backwards', region: 'US_VIRGINIA_2', startTime: base.endTime, endTime: base.startTime })).rejects.toThrow();
    await expect(reservationsRepo.createReservation(database.db, { ...base, reservationId: 'r-00', region: 'US_VIRGINIA_2' })).rejects.toBeInstanceOf(AlreadyExistsError);
    expect((await call(`/v1/accounts/${ACME}/reservations?pageSize=1`, ACME)).body.totalSize).toBe(60);
  });

  it('pages 60 reservations with a filter and orderBy; totalSize counts the matches over all pages', async () => {
    const filter = encodeURIComponent('region = US_VIRGINIA_2 OR multiRegion = US');
    const seen: string[] = [];
    let token = '';
    for (let page = 0; page < 10; page++) {
      const r = await call(`/v1/accounts/${ACME}/reservations?pageSize=15&filter=${filter}&orderBy=reservedCount%20desc,name${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`, ACME);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.totalSize).toBe(40);
      seen.push(...ids(r.body));
      token = (r.body.nextPageToken as string | undefined) ?? '';
      if (!token) break;
    }
    expect(seen).toHaveLength(40);
    expect(new Set(seen).size).toBe(40);
    const counts = await Promise.all(seen.map(async (id) => (await call(`/v1/accounts/${ACME}/reservations/${id}`, ACME)).body.reservedCount as number));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
  });

  it('gets one in the wire shape', async () => {
    const r = await call(`/v1/accounts/${ACME}/reservations/r-01`, ACME);
    expect(r.body).toEqual({
      name: `accounts/${ACME}/reservations/r-01`,
      createTime: expect.stringMatching(/Z$/),
      updateTime: expect.stringMatching(/Z$/),
      createdBy: 'sales@hearth.example',
      region: 'US_VIRGINIA_2',
      acceleratorType: 'NVIDIA_A100_80GB',
      reservedCount: 16,
      startTime: '2026-03-01T00:00:00Z',
      endTime: '2027-03-01T00:00:00Z',
    });
  });

  it("shows another account's reservations to nobody else (404, as if missing), and asks for a key (401)", async () => {
    const foreign = await call(`/v1/accounts/${GLOBEX}/reservations/g`, ACME);
    expect(foreign.status).toBe(404);
    expect(JSON.stringify(foreign.body)).not.toContain('99');
    expect((await call(`/v1/accounts/${GLOBEX}/reservations`, ACME)).status).toBe(404);
    expect((await call(`/v1/accounts/${GLOBEX}/reservations`, GLOBEX)).body).toMatchObject({ reservations: [{ reservedCount: 99 }], totalSize: 1 });
    expect((await call(`/v1/accounts/${ACME}/reservations`, null)).status).toBe(401);
  });
});
