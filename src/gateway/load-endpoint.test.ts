// GET /internal/load over real HTTP on 127.0.0.1 (the handler on a node:http server, a fake clock
// for the long-poll timeout): auth, validation, immediate and long-polled answers, disconnects.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../util/fake-clock.js';
import type { DeploymentLoad, LoadReport } from './load.js';
import { LoadBoard, bearerMatches, handleLoadRequest, type LoadSnapshot } from './load-endpoint.js';

const TOKEN = 'internal-token-0123456789';
const d = (deployment: string, inFlight: number, held = 0, rps = 0): DeploymentLoad => ({ namespace: 'ns', deployment, inFlight, held, requestsPerSecond: rps, tokensPerSecond: 0 });
const full = (at: number, ...deployments: DeploymentLoad[]): LoadReport => ({ gatewayId: 'gw-0', at, kind: 'full', deployments });

describe('LoadBoard', () => {
  it('serves the newest full report with urgent entries laid over it, and counts reports in seq', () => {
    const b = new LoadBoard();
    expect(b.snapshot()).toMatchObject({ seq: 0, deployments: [] });
    b.report(full(1_000, d('a', 2, 0, 3), d('b', 0)));
    b.report({ gatewayId: 'gw-0', at: 1_500, kind: 'urgent', deployments: [d('cold', 1, 1, 1)] });
    const s = b.snapshot();
    expect(s).toMatchObject({ gatewayId: 'gw-0', seq: 2, at: 1_500, bootId: b.bootId });
    expect(s.deployments).toEqual([
      { ...d('a', 2, 0, 3), lastRequestAt: 1_000 },
      d('b', 0),
      { ...d('cold', 1, 1, 1), lastRequestAt: 1_500 },
    ]);
    b.report(full(2_000, d('cold', 1, 0, 0)));
    expect(b.snapshot().deployments).toEqual([{ ...d('cold', 1), lastRequestAt: 2_000 }]); // urgent overlay replaced by the full report
  });
});

describe('bearerMatches', () => {
  it('accepts exactly the token', () => {
    expect(bearerMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(bearerMatches(`Bearer ${TOKEN.slice(0, -1)}`, TOKEN)).toBe(false);
    expect(bearerMatches(TOKEN, TOKEN)).toBe(false);
    expect(bearerMatches(undefined, TOKEN)).toBe(false);
  });
});

describe('GET /internal/load', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  async function serve(token: string | undefined) {
    const board = new LoadBoard();
    const clock = new FakeClock(0);
    const closing = new AbortController();
    server = createServer((req, res) => void handleLoadRequest(req, res, { board, clock, token, closing: closing.signal }));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/internal/load`;
    const get = (query = '', auth: string | undefined = `Bearer ${TOKEN}`, signal?: AbortSignal) =>
      new Promise<{ status: number; body: unknown }>((resolve, reject) => {
        const req = request(`${base}${query}`, { headers: auth ? { authorization: auth } : {}, ...(signal ? { signal } : {}) }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
        });
        req.on('error', reject);
        req.end();
      });
    return { board, clock, closing, get };
  }

  it('is disabled (404) without a configured token, and refuses a missing or wrong one (401)', async () => {
    expect((await (await serve(undefined)).get()).status).toBe(404);
    await new Promise<void>((r) => server!.close(() => r()));
    const t = await serve(TOKEN);
    expect((await t.get('', '')).status).toBe(401);
    expect((await t.get('', 'Bearer nope-nope-nope-nope')).status).toBe(401);
    expect(await t.get('?after=-1')).toMatchObject({ status: 400, body: { error: { message: 'after must be a non-negative integer' } } });
  });

  it('answers at once without `after` (or with another seq / bootId), else at the next report', async () => {
    const t = await serve(TOKEN);
    t.board.report(full(10, d('a', 1)));
    const now = (await t.get('?waitMs=5000')).body as LoadSnapshot;
    expect(now).toMatchObject({ seq: 1, deployments: [{ deployment: 'a', inFlight: 1 }] });
    expect((await t.get(`?after=0&waitMs=5000&bootId=${now.bootId}`)).body).toMatchObject({ seq: 1 }); // missed one: at once
    expect((await t.get('?after=1&waitMs=5000&bootId=another-boot')).body).toMatchObject({ seq: 1 }); // gateway restarted: at once

    const waiting = t.get(`?after=1&waitMs=5000&bootId=${now.bootId}`);
    await waitFor(() => t.board.waiting() === 1);
    t.board.report({ gatewayId: 'gw-0', at: 20, kind: 'urgent', deployments: [d('cold', 1, 1, 1)] }); // the cold-start wake
    expect((await waiting).body).toMatchObject({ seq: 2, deployments: [{ deployment: 'a' }, { deployment: 'cold', held: 1 }] });
    expect(t.board.waiting()).toBe(0);
  });

  it('answers a long poll with the same snapshot after waitMs when no report came, and on shutdown', async () => {
    const t = await serve(TOKEN);
    t.board.report(full(10));
    const bootId = t.board.bootId;
    const timedOut = t.get(`?after=1&waitMs=3000&bootId=${bootId}`);
    await waitFor(() => t.board.waiting() === 1);
    await t.clock.advanceAsync(3000);
    expect((await timedOut).body).toMatchObject({ seq: 1 });
    const shutdown = t.get(`?after=1&waitMs=3000&bootId=${bootId}`);
    await waitFor(() => t.board.waiting() === 1);
    t.closing.abort();
    expect((await shutdown).status).toBe(200);
  });

  it('a scraper that disconnects leaves no waiter behind', async () => {
    const t = await serve(TOKEN);
    t.board.report(full(10));
    const abort = new AbortController();
    const gone = t.get(`?after=1&waitMs=30000&bootId=${t.board.bootId}`, `Bearer ${TOKEN}`, abort.signal).catch(() => 'aborted');
    await waitFor(() => t.board.waiting() === 1);
    abort.abort();
    expect(await gone).toBe('aborted');
    await waitFor(() => t.board.waiting() === 0);
  });
});

/** Polls a condition across event-loop turns (the HTTP round trip), failing after 2 s. */
async function waitFor(cond: () => boolean): Promise<void> {
  const until = Date.now() + 2_000;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met within 2 s');
    await new Promise((r) => setImmediate(r));
  }
}
