import { describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { openDatabase } from '../../db/client.js';
import { readiness } from './health.js';

describe('readiness', () => {
  it('is ready when every check passes, names each failure and times out a hung check', async () => {
    const r = await readiness(
      [
        { name: 'ok', check: async () => undefined },
        { name: 'down', check: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')) },
        { name: 'hung', check: (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))) },
      ],
      20,
    );
    expect(r).toEqual({ ready: false, checks: { ok: 'ok', down: 'connect ECONNREFUSED 127.0.0.1:1', hung: 'no answer within 20 ms' } });
    expect(await readiness([{ name: 'ok', check: async () => undefined }], 20)).toEqual({ ready: true, checks: { ok: 'ok' } });
  });
});

describe('the app\'s health routes and timeouts', () => {
  it('/readyz checks the database and the given checks; /healthz is liveness only; the server is bounded', async () => {
    const database = await openDatabase();
    const app = await buildApp({
      db: database.db,
      readiness: [{ name: 'kubernetes', check: () => Promise.reject(new Error('unreachable')) }],
      timeouts: { requestTimeoutMs: 50_000, headersTimeoutMs: 7_000, keepAliveTimeoutMs: 9_000, idleTimeoutMs: 11_000 },
    });
    try {
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.headers['retry-after']).toBe('5');
      expect(JSON.parse(ready.body)).toEqual({ status: 'not ready', checks: { database: 'ok', kubernetes: 'unreachable' } });
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      expect(app.server.requestTimeout).toBe(50_000);
      expect(app.server.headersTimeout).toBe(7_000);
      expect(app.server.keepAliveTimeout).toBe(9_000);
      expect(app.server.timeout).toBe(11_000);
    } finally {
      await app.close();
      await database.close();
    }
  }, 60_000);
});
