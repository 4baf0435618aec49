import { describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from '../../util/fake-clock.js';
import { codeOfHttpStatus, gatewaySend } from './inference.js';

type Reply = { status: number; body: string; headers?: Record<string, string> } | Error;

function fakeFetch(replies: Reply[]) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const f = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const r = replies.shift();
    if (!r) throw new Error('no more replies');
    if (r instanceof Error) throw r;
    return new Response(r.body, { status: r.status, headers: r.headers });
  }) as unknown as typeof fetch;
  return { f, calls };
}

function client(replies: Reply[], maxAttempts = 3) {
  const clock = new FakeClock(0);
  const { f, calls } = fakeFetch(replies);
  const send = gatewaySend({ url: () => Promise.resolve('http://gw:8081/'), keyFor: async (a) => `key-of-${a}`, clock, fetch: f, maxAttempts, backoffMs: 100 });
  return { send, calls, clock };
}

describe('gatewaySend', () => {
  it('posts the body to <url>/inference/v1<path> with the account key and returns the answer', async () => {
    const { send, calls } = client([{ status: 200, body: '{"id":"x"}' }]);
    expect(await send('acme', '/chat/completions', { model: 'm' }, new AbortController().signal)).toEqual({ ok: true, response: { id: 'x' } });
    expect(calls[0]?.url).toBe('http://gw:8081/inference/v1/chat/completions');
    expect(calls[0]?.init.headers).toMatchObject({ authorization: 'Bearer key-of-acme' });
    expect(calls[0]?.init.body).toBe('{"model":"m"}');
  });

  it('a final error (4xx) is the line\'s answer at once, with the gateway\'s message', async () => {
    const { send, calls } = client([{ status: 404, body: '{"error":{"message":"Model not found, inaccessible, and/or not deployed"}}' }]);
    expect(await send('acme', '/completions', {}, new AbortController().signal)).toEqual({
      ok: false,
      error: { code: 'NOT_FOUND', message: 'Model not found, inaccessible, and/or not deployed' },
    });
    expect(calls).toHaveLength(1);
  });

  it('503 is retried after Retry-After; a connection error after the backoff; then the answer', async () => {
    const { send, calls, clock } = client([{ status: 503, body: 'busy', headers: { 'retry-after': '2' } }, new Error('ECONNREFUSED'), { status: 200, body: '{}' }]);
    const p = send('acme', '/completions', {}, new AbortController().signal);
    await flushMicrotasks(20);
    expect(calls).toHaveLength(1);
    await clock.advanceAsync(1999);
    expect(calls).toHaveLength(1);
    await clock.advanceAsync(1);
    await flushMicrotasks(20);
    expect(calls).toHaveLength(2);
    await clock.advanceAsync(200); // backoff 100·2
    expect(await p).toEqual({ ok: true, response: {} });
  });

  it('after the last attempt the transient error is the answer', async () => {
    const { send, clock } = client([{ status: 429, body: '{"error":{"message":"slow down"}}' }, { status: 429, body: '{"error":{"message":"slow down"}}' }], 2);
    const p = send('acme', '/completions', {}, new AbortController().signal);
    await flushMicrotasks(20);
    await clock.advanceAsync(100);
    expect(await p).toEqual({ ok: false, error: { code: 'RESOURCE_EXHAUSTED', message: 'slow down' } });
  });

  it('an abort while waiting rejects (the line is not answered)', async () => {
    const { send } = client([{ status: 503, body: '' }]);
    const ac = new AbortController();
    const p = send('acme', '/completions', {}, ac.signal);
    await flushMicrotasks(20);
    ac.abort(new Error('stopped'));
    await expect(p).rejects.toThrow('stopped');
  });

  it('maps HTTP statuses to code names', () => {
    expect([400, 401, 403, 404, 429, 500, 503, 504, 418].map(codeOfHttpStatus)).toEqual([
      'INVALID_ARGUMENT',
      'UNAUTHENTICATED',
      'PERMISSION_DENIED',
      'NOT_FOUND',
      'RESOURCE_EXHAUSTED',
      'INTERNAL',
      'UNAVAILABLE',
      'DEADLINE_EXCEEDED',
      'UNKNOWN',
    ]);
  });
});
