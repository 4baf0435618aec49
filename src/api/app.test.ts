// Route tests with app.inject on embedded PGlite: the PostgreSQL-backed collections, auth and
// tenancy, rate limiting, and the error contract (no cluster here: the CR-backed routes are
// exercised by test/integration/api-deployments.test.ts; only their input validation runs here).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { openDatabase, type Database } from '../db/client.js';
import { Writable } from 'node:stream';
import { buildApp } from './app.js';
import { createLogger } from '../log.js';
import { bootstrap } from '../auth/bootstrap.js';
import { issueApiKey } from '../auth/keys.js';
import { generateKey } from '../auth/key-format.js';

let database: Database;
let app: FastifyInstance;
let adminKey: string;
let otherKey: string;

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  adminKey = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  otherKey = (await bootstrap(database.db, { accountId: 'globex', email: 'hank@globex.example' })).apiKey!.key;
  app = await buildApp({ db: database.db, rateLimit: false, authenticatorOptions: { cacheTtlMs: 0 } });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await database?.close();
});

async function call(method: string, url: string, key: string | undefined, payload?: unknown) {
  const res = await app.inject({ method: method as 'GET', url, headers: key ? auth(key) : {}, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {}, headers: res.headers };
}

describe('authentication and tenancy', () => {
  it('answers 401 UNAUTHENTICATED without a key, with a malformed key and with a wrong scheme', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: `Basic ${adminKey}` }]) {
      const res = await app.inject({ method: 'GET', url: '/v1/accounts/acme', headers });
      expect(res.statusCode).toBe(401);
      expect(JSON.parse(res.body)).toMatchObject({ code: 16 });
    }
  });

  it('answers a revoked key with 401, and the same message as an unknown key', async () => {
    const created = await call('POST', '/v1/accounts/acme/users/ann/apiKeys', adminKey, { apiKey: { displayName: 'temp' } });
    expect(created.status).toBe(200);
    const key = created.body.key as string;
    expect((await call('GET', '/v1/accounts/acme', key)).status).toBe(200);
    expect((await call('POST', '/v1/accounts/acme/users/ann/apiKeys:delete', adminKey, { keyId: created.body.keyId })).status).toBe(200);
    const after = await call('GET', '/v1/accounts/acme', key);
    expect(after.status).toBe(401);
    expect(after.body.message).toBe('invalid, expired or revoked API key');
  });

  it("answers another account's paths exactly like missing ones: 404, never data", async () => {
    const foreign = await call('GET', '/v1/accounts/globex/users/hank', adminKey);
    const missing = await call('GET', '/v1/accounts/acme/users/nobody', adminKey);
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(foreign.body).toEqual({ ...missing.body, message: 'user "accounts/globex/users/hank" not found', details: [
      { '@type': 'type.googleapis.com/google.rpc.ResourceInfo', resourceType: 'user', resourceName: 'accounts/globex/users/hank' },
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ERR_NOT_FOUND', domain: 'hearth.dev' },
    ] });
    for (const [m, u, p] of [
      ['GET', '/v1/accounts/globex', undefined],
      ['GET', '/v1/accounts/globex/quotas', undefined],
      ['PATCH', '/v1/accounts/globex/quotas/h100-us-virginia-2', { value: '1' }],
      ['POST', '/v1/accounts/globex/users', { role: 'user', email: 'x@y.z' }],
      ['GET', '/v1/accounts/globex/deployments/d1', undefined],
      ['POST', '/v1/accounts/globex/deployments', { baseModel: 'm' }],
      ['POST', '/v1/accounts/globex/deployments/d1:undelete', {}],
    ] as const) {
      const r = await call(m, u, adminKey, p);
      expect(r.status, `${m} ${u}`).toBe(404);
      expect(r.body.code).toBe(5);
    }
    // and the other way round
    expect((await call('GET', '/v1/accounts/acme', otherKey)).status).toBe(404);
  });

  it('rate-limits per key with 429 and Retry-After', async () => {
    const limited = await buildApp({ db: database.db, rateLimit: { ratePerSecond: 1, burst: 2 } });
    try {
      const codes: number[] = [];
      let retryAfter: string | undefined;
      for (let i = 0; i < 4; i++) {
        const r = await limited.inject({ method: 'GET', url: '/v1/accounts/acme', headers: auth(adminKey) });
        codes.push(r.statusCode);
        if (r.statusCode === 429) {
          retryAfter = r.headers['retry-after'] as string;
          expect(JSON.parse(r.body)).toMatchObject({ code: 8 });
        }
      }
      expect(codes.slice(0, 2)).toEqual([200, 200]);
      expect(codes).toContain(429);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });
});

describe('limits a user cannot multiply, floods that stay off the database', () => {
  it('rate-limits per user: a second key of the same user shares the first one\'s bucket', async () => {
    const limited = await buildApp({ db: database.db, rateLimit: { ratePerSecond: 0.001, burst: 2 } });
    try {
      const second = (await issueApiKey(database.db, { accountId: 'globex', userId: 'hank' })).key;
      const codes: number[] = [];
      for (const key of [otherKey, otherKey, second, second]) codes.push((await limited.inject({ method: 'GET', url: '/v1/accounts/globex', headers: auth(key) })).statusCode);
      expect(codes).toEqual([200, 200, 429, 429]);
    } finally {
      await limited.close();
    }
  });

  it('answers 429 with Retry-After to a client whose made-up keys keep failing', async () => {
    const limited = await buildApp({ db: database.db, rateLimit: false, authenticatorOptions: { failureBudget: { ratePerSecond: 0.001, burst: 3 } } });
    try {
      const codes: number[] = [];
      let retryAfter: string | undefined;
      // Well-formed keys with valid checksums (anyone can compute CRC-32) that no one was issued.
      for (let i = 0; i < 4; i++) {
        const r = await limited.inject({ method: 'GET', url: '/v1/accounts/acme', headers: auth(generateKey().key) });
        codes.push(r.statusCode);
        if (r.statusCode === 429) retryAfter = r.headers['retry-after'] as string;
      }
      expect(codes).toEqual([401, 401, 401, 429]);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });

  it('refuses to demote the last admin with 400 FAILED_PRECONDITION naming the rule', async () => {
    const r = await call('PATCH', '/v1/accounts/acme/users/ann?updateMask=role', adminKey, { role: 'user' });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 9 });
    expect(r.body.message).toMatch(/last admin/);
    expect((await call('GET', '/v1/accounts/acme/users/ann', adminKey)).body.role).toBe('admin');
  });
});

describe('accounts, users, API keys, quotas', () => {
  it('lists only the caller’s own account', async () => {
    const r = await call('GET', '/v1/accounts', adminKey);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ accounts: [{ name: 'accounts/acme', email: 'ann@acme.example', state: 'READY' }], totalSize: 1 });
    expect((await call('GET', '/v1/accounts/acme?readMask=name', adminKey)).body).toEqual({ name: 'accounts/acme' });
  });

  it('lets admins create and update users; users may only rename themselves', async () => {
    const bob = await call('POST', '/v1/accounts/acme/users', adminKey, { role: 'user', email: 'bob@acme.example', displayName: 'Bob' });
    expect(bob.status).toBe(200);
    expect(bob.body).toMatchObject({ name: 'accounts/acme/users/bob', role: 'user', email: 'bob@acme.example', displayName: 'Bob' });
    expect((await call('POST', '/v1/accounts/acme/users', adminKey, { role: 'user', email: 'bob@acme.example' })).status).toBe(409);

    const bobKey = (await call('POST', '/v1/accounts/acme/users/bob/apiKeys', adminKey, { apiKey: {} })).body.key as string;
    expect((await call('POST', '/v1/accounts/acme/users', bobKey, { role: 'user', email: 'eve@acme.example' })).status).toBe(403);
    expect((await call('PATCH', '/v1/accounts/acme/users/bob', bobKey, { displayName: 'Robert' })).body.displayName).toBe('Robert');
    expect((await call('PATCH', '/v1/accounts/acme/users/bob', bobKey, { role: 'admin' })).status).toBe(403);
    expect((await call('PATCH', '/v1/accounts/acme/users/ann', bobKey, { displayName: 'x' })).status).toBe(403);
    const promoted = await call('PATCH', '/v1/accounts/acme/users/bob', adminKey, { role: 'admin', createTime: 'ignored' });
    expect(promoted.body.role).toBe('admin');
    const list = await call('GET', '/v1/accounts/acme/users?orderBy=name%20desc', adminKey);
    expect((list.body.users as { name: string }[]).map((u) => u.name)).toEqual(['accounts/acme/users/bob', 'accounts/acme/users/ann']);
  });

  it('shows a key once, lists keys without it, and lets users manage only their own', async () => {
    const made = await call('POST', '/v1/accounts/acme/users', adminKey, { role: 'user', email: 'carol@acme.example' });
    expect(made.status).toBe(200);
    const created = await call('POST', '/v1/accounts/acme/users/carol/apiKeys', adminKey, { apiKey: { displayName: 'ci', expireTime: '2099-01-01T00:00:00Z' } });
    expect(created.body).toMatchObject({ displayName: 'ci', secure: true, email: 'carol@acme.example', expireTime: '2099-01-01T00:00:00Z' });
    expect(created.body.key).toMatch(/^hearth_/);
    const carolKey = created.body.key as string;
    const listed = await call('GET', '/v1/accounts/acme/users/carol/apiKeys', carolKey);
    expect(listed.body.apiKeys).toHaveLength(1);
    expect(JSON.stringify(listed.body)).not.toContain(carolKey);
    expect((await call('GET', '/v1/accounts/acme/users/ann/apiKeys', carolKey)).status).toBe(403);
    expect((await call('POST', '/v1/accounts/acme/users/carol/apiKeys:delete', carolKey, { keyId: 'nope' })).status).toBe(404);
    const past = await call('POST', '/v1/accounts/acme/users/carol/apiKeys', carolKey, { apiKey: { expireTime: '2001-01-01T00:00:00Z' } });
    expect(past.status).toBe(400);
    expect(past.body.message).toContain('apiKey.expireTime');
  });

  it('lists quotas and updates value within maxValue, as int64 strings', async () => {
    const list = await call('GET', '/v1/accounts/acme/quotas?filter=name%3D%22accounts/acme/quotas/h100-us-virginia-2%22', adminKey);
    expect(list.body).toMatchObject({ quotas: [{ name: 'accounts/acme/quotas/h100-us-virginia-2', value: '8', maxValue: '8', usage: 0 }], totalSize: 1 });
    expect((await call('PATCH', '/v1/accounts/acme/quotas/h100-us-virginia-2', adminKey, { value: '6' })).body).toMatchObject({ value: '6', maxValue: '8' });
    expect((await call('PATCH', '/v1/accounts/acme/quotas/h100-us-virginia-2', adminKey, { value: 4 })).body).toMatchObject({ value: '4' });
    const over = await call('PATCH', '/v1/accounts/acme/quotas/h100-us-virginia-2', adminKey, { value: '9' });
    expect(over.status).toBe(400);
    expect(over.body.message).toBe('value: must be at most maxValue (8)');
    expect((await call('PATCH', '/v1/accounts/acme/quotas/h100-us-virginia-2', adminKey, { value: 'x' })).status).toBe(400);
    expect((await call('GET', '/v1/accounts/acme/quotas/no-such-quota', adminKey)).status).toBe(404);
  });
});

describe('bad input never answers 500', () => {
  it('names the field and the rule of a schema violation', async () => {
    const r = await call('POST', '/v1/accounts/acme/deployments', adminKey, { baseModel: 'm', minReplicaCount: -1, autoscalingPolicy: { scaleToZeroWindow: '1m' } });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe(3);
    const violations = (r.body.details as { fieldViolations?: { field: string; description: string }[] }[])[0]!.fieldViolations!;
    expect(violations.map((v) => v.field)).toEqual(expect.arrayContaining(['minReplicaCount', 'autoscalingPolicy.scaleToZeroWindow']));
    expect(r.body.message).toContain('scaleToZeroWindow must be at least 5m');
  });

  it('rejects unknown fields, wrong types, missing required fields and invalid ids', async () => {
    const cases: [unknown, string][] = [
      [{ baseModel: 'm', bogus: 1 }, 'bogus'],
      [{ baseModel: 7 }, 'baseModel'],
      [{}, 'baseModel'],
      [{ baseModel: 'm', acceleratorType: 'NVIDIA_T4' }, 'acceleratorType'],
      [{ baseModel: 'm', minReplicaCount: 3, maxReplicaCount: 1 }, 'maxReplicaCount'],
    ];
    for (const [body, field] of cases) {
      const r = await call('POST', '/v1/accounts/acme/deployments', adminKey, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.message, JSON.stringify(body)).toContain(field);
    }
    const badId = await call('POST', '/v1/accounts/acme/deployments?deploymentId=Bad_Id', adminKey, { baseModel: 'm' });
    expect(badId.status).toBe(400);
    expect(badId.body.message).toContain('deploymentId');
  });

  it('answers malformed JSON, oversize bodies, bad content types and bad query values with 400', async () => {
    const malformed = await app.inject({ method: 'POST', url: '/v1/accounts/acme/users', headers: { ...auth(adminKey), 'content-type': 'application/json' }, payload: '{"role":' });
    expect(malformed.statusCode).toBe(400);
    expect(JSON.parse(malformed.body).code).toBe(3);
    const big = await app.inject({ method: 'POST', url: '/v1/accounts/acme/users', headers: { ...auth(adminKey), 'content-type': 'application/json' }, payload: JSON.stringify({ displayName: 'x'.repeat(2 * 1024 * 1024) }) });
    expect(big.statusCode).toBe(400);
    expect(JSON.parse(big.body).message).toContain('larger than');
    const text = await app.inject({ method: 'POST', url: '/v1/accounts/acme/users', headers: { ...auth(adminKey), 'content-type': 'text/plain' }, payload: 'hi' });
    expect(text.statusCode).toBe(400);
    for (const q of ['pageSize=abc', 'pageSize=-1', 'pageToken=garbage', 'filter=name%20%3A%20x', 'orderBy=%3B%3B']) {
      const r = await call('GET', `/v1/accounts/acme/users?${q}`, adminKey);
      expect(r.status, q).toBe(400);
      expect(r.body.code, q).toBe(3);
    }
  });

  it('answers unknown routes with 404 NOT_FOUND in the Status shape', async () => {
    const r = await call('GET', '/v1/nothing/here', adminKey);
    expect(r.status).toBe(404);
    expect(r.body).toEqual({
      code: 5,
      message: 'no such method: GET /v1/nothing/here',
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ERR_NO_SUCH_METHOD', domain: 'hearth.dev', metadata: { method: 'GET' } }],
    });
  });

  it('pages users with a token bound to its query', async () => {
    for (const n of ['dave', 'erin', 'frank']) await call('POST', '/v1/accounts/acme/users', adminKey, { role: 'user', email: `${n}@acme.example` });
    const first = await call('GET', '/v1/accounts/acme/users?pageSize=2', adminKey);
    expect(first.body.users).toHaveLength(2);
    const token = first.body.nextPageToken as string;
    expect(token).toBeTruthy();
    const second = await call('GET', `/v1/accounts/acme/users?pageSize=2&pageToken=${encodeURIComponent(token)}`, adminKey);
    expect((second.body.users as unknown[]).length).toBeGreaterThan(0);
    const mismatch = await call('GET', `/v1/accounts/acme/users?pageSize=2&orderBy=email&pageToken=${encodeURIComponent(token)}`, adminKey);
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.message).toContain('pageToken');
  });
});

describe('OpenAPI', () => {
  it('serves /openapi.json generated from the zod schemas, and a UI', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = JSON.parse(res.body) as { openapi: string; paths: Record<string, Record<string, { operationId?: string; requestBody?: unknown }>> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.paths['/v1/accounts/{accountId}/deployments']?.post?.operationId).toBe('Gateway_CreateDeployment');
    expect(doc.paths['/v1/accounts/{accountId}/deployments/{deploymentId}:scale']?.patch?.operationId).toBe('Gateway_ScaleDeployment');
    expect(JSON.stringify(doc.paths['/v1/accounts/{accountId}/deployments']?.post?.requestBody)).toContain('scaleToZeroWindow');
    expect((await app.inject({ method: 'GET', url: '/docs/' })).statusCode).toBe(200);
  });
});

describe('every route × caller (generated from the OpenAPI document)', () => {
  let revokedKey: string;
  let expiredKey: string;
  beforeAll(async () => {
    const made = await call('POST', '/v1/accounts/acme/users/ann/apiKeys', adminKey, { apiKey: { displayName: 'to-revoke' } });
    revokedKey = made.body.key as string;
    await call('POST', '/v1/accounts/acme/users/ann/apiKeys:delete', adminKey, { keyId: made.body.keyId });
    // Issued an hour ago with a minute to live: the same admin, expired.
    const hourAgo = new Date(Date.now() - 3_600_000);
    expiredKey = (await issueApiKey(database.db, { accountId: 'acme', userId: 'ann', displayName: 'expired', now: hourAgo, expireTime: new Date(hourAgo.getTime() + 60_000) })).key;
  });

  async function operations(): Promise<{ method: string; path: string }[]> {
    const doc = JSON.parse((await app.inject({ method: 'GET', url: '/openapi.json' })).body) as { paths: Record<string, Record<string, unknown>> };
    return Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path })));
  }

  const fill = (path: string, accountId: string) => path.replace('{accountId}', accountId).replace(/\{[A-Za-z]+\}/g, 'x1');

  it('covers every operation: own account gets through; no key, a revoked key and an expired key → 401; another account → 404, never 403, never data', async () => {
    const ops = await operations();
    expect(ops.length).toBeGreaterThanOrEqual(18);
    for (const { method, path } of ops) {
      const payload = method === 'GET' || method === 'DELETE' ? undefined : {};
      const what = `${method} ${path}`;
      expect((await call(method, fill(path, 'acme'), undefined, payload)).status, `${what} without a key`).toBe(401);
      expect((await call(method, fill(path, 'acme'), revokedKey, payload)).status, `${what} with a revoked key`).toBe(401);
      expect((await call(method, fill(path, 'acme'), expiredKey, payload)).status, `${what} with an expired key`).toBe(401);
      // The owner gets through authentication and tenancy: an answer about the request itself
      // (400/404 for the placeholder id, 503 where a cluster is needed), never 401/403 or a crash.
      const own = await call(method, fill(path, 'acme'), adminKey, payload);
      expect([401, 403].includes(own.status) || (own.status >= 500 && own.status !== 503), `${what} for its own account → ${own.status} ${JSON.stringify(own.body)}`).toBe(false);
      if (!path.includes('{accountId}')) continue;
      const foreign = await call(method, fill(path, 'globex'), adminKey, payload);
      expect(foreign.status, `${what} for another account`).toBe(404);
      expect(foreign.body.code).toBe(5);
      expect(JSON.stringify(foreign.body)).not.toContain('hank');
    }
  }, 30_000); // ~250 requests through the whole app: past vitest's 5 s default on a loaded 2-core box
});

// The REST fuzz itself is test/integration/api-fuzz.test.ts (fast-check, every operation, a real
// API process on the cluster); what it found is pinned here.
describe('input PostgreSQL cannot store', () => {
  it('a NUL character in a path id, a query parameter or a body field is a 400 naming it, not a 500', async () => {
    for (const [method, url, payload, field] of [
      ['GET', '/v1/accounts/acme/users/%00', undefined, 'userId'],
      ['GET', '/v1/accounts/acme/quotas/a%00b', undefined, 'quotaId'],
      ['GET', '/v1/accounts/acme/reservations/%00', undefined, 'reservationId'],
      ['GET', '/v1/accounts/acme/users?filter=name%3D%22%00%22', undefined, 'filter'],
      ['POST', '/v1/accounts/acme/users', { role: 'user', email: 'nul@acme.example', displayName: 'a\u0000b' }, 'displayName'],
      ['POST', '/v1/accounts/acme/datasets', { datasetId: 'nul', dataset: { displayName: 'x', labels: { '\u0000': 'v' } } }, 'dataset.labels."\\u0000"'],
    ] as const) {
      const r = await call(method, url, adminKey, payload);
      expect(r.status, `${method} ${url}`).toBe(400);
      expect(r.body.details, `${method} ${url}`).toContainEqual({
        '@type': 'type.googleapis.com/google.rpc.BadRequest',
        fieldViolations: [{ field, description: 'must not contain the NUL character (U+0000)', reason: 'NUL_CHARACTER' }],
      });
    }
  });
});

describe('logging', () => {
  it('never writes an API key: the Authorization header and keys are redacted', async () => {
    let out = '';
    const destination = new Writable({ write(chunk, _enc, cb) { out += String(chunk); cb(); } });
    const logger = createLogger({ level: 'trace', destination });
    const logged = await buildApp({ db: database.db, logger, rateLimit: false });
    // A handler that logs the whole request headers must still not leak the key.
    logged.addHook('onRequest', async (req) => {
      req.log.info({ req: { headers: req.headers } }, 'headers');
    });
    await logged.inject({ method: 'GET', url: '/v1/accounts/acme', headers: auth(adminKey) });
    logger.info({ req: { headers: { authorization: `Bearer ${adminKey}` } }, apiKey: { key: adminKey } }, 'explicit');
    await logged.close();
    expect(out).toContain('explicit');
    expect(out).toContain('[redacted]');
    expect(out).not.toContain(adminKey);
  });
});
