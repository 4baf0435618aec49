import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { startHealthServer, type HealthServer } from './controller-health.js';

const log = pino({ level: 'silent' });

async function get(port: number, path: string, method = 'GET'): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.status, body: method === 'HEAD' ? undefined : await res.json() };
}

describe('controller health listener', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  function sources() {
    let settle!: { resolve: () => void; reject: (e: unknown) => void };
    const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    const state = { leader: false, synced: false };
    return { state, settle, s: { done, isLeader: () => state.leader, hasSynced: () => state.synced } };
  }

  it('is healthy while the manager runs, ready once the caches have synced, leader or standby', async () => {
    const { state, s } = sources();
    server = await startHealthServer(s, { port: 0, host: '127.0.0.1', log });
    expect(await get(server.port, '/healthz')).toEqual({ status: 200, body: { status: 'ok', leader: false } });
    expect(await get(server.port, '/readyz')).toEqual({ status: 503, body: { status: 'caches not synced', leader: false } });
    state.synced = true;
    expect(await get(server.port, '/readyz')).toEqual({ status: 200, body: { status: 'ready', leader: false } });
    state.leader = true;
    expect(await get(server.port, '/readyz?verbose')).toEqual({ status: 200, body: { status: 'ready', leader: true } });
  });

  it('answers 503 on both once the manager has stopped or failed', async () => {
    for (const end of ['resolve', 'reject'] as const) {
      const { state, settle, s } = sources();
      state.synced = true;
      server = await startHealthServer(s, { port: 0, host: '127.0.0.1', log });
      if (end === 'resolve') settle.resolve();
      else settle.reject(new Error('a controller failed to start'));
      await s.done.catch(() => {});
      await Promise.resolve();
      expect((await get(server.port, '/healthz')).status).toBe(503);
      expect((await get(server.port, '/readyz')).status).toBe(503);
      await server.close();
      server = undefined;
    }
  });

  it('serves nothing else', async () => {
    const { s } = sources();
    server = await startHealthServer(s, { port: 0, host: '127.0.0.1', log });
    expect((await get(server.port, '/metrics')).status).toBe(404);
    expect((await get(server.port, '/healthz', 'POST')).status).toBe(405);
    expect((await get(server.port, '/healthz', 'HEAD')).status).toBe(200);
  });
});
