// The gateway over real HTTP against the model-server fixture on 127.0.0.1, without a cluster: the
// catalog and endpoints are fed directly (the integration test feeds them from the cluster).
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServerFixture, type ModelServerFixture } from '../../test/fixtures/model-server/index.js';
import { startGateway, type Gateway } from './gateway.js';
import type { LoadReport } from './load.js';
import { SseUsageTap } from './sse.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const KEYS: Record<string, string> = { 'key-alice': 'alice', 'key-bob': 'bob' };
const MODEL = `${BASE}#accounts/alice/deployments/chat`;
const COLD = `${BASE}#accounts/alice/deployments/cold`;
const METRICS_TOKEN = 'metrics-token-0123456789';

let fx: ModelServerFixture;
let gw: Gateway;
const reports: LoadReport[] = [];

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** [ms since the request was sent, text] of every read. */
  reads: Array<[number, string]>;
}

function post(path: string, body: unknown, opts: { key?: string; signal?: AbortSignal } = {}): Promise<Reply> {
  const text = JSON.stringify(body);
  const url = new URL(path, gw.url);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(opts.key === '' ? {} : { authorization: `Bearer ${opts.key ?? 'key-alice'}` }) },
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      (res) => {
        const reads: Array<[number, string]> = [];
        res.setEncoding('utf8');
        res.on('data', (c: string) => reads.push([performance.now() - t0, c]));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: reads.map((r) => r[1]).join(''), reads }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

beforeAll(async () => {
  fx = await startModelServerFixture({ model: BASE, tokenLatencyMs: 0 });
  gw = await startGateway(
    { host: '127.0.0.1', port: 0, adminPort: 0, metricsToken: METRICS_TOKEN, holdTimeoutMs: 60_000, maxHeldPerDeployment: 2, processMetrics: false, reportIntervalMs: 200 },
    {
      authenticate: async (token) => (token && KEYS[token] ? { ok: true, accountId: KEYS[token] } : { ok: false, reason: token ? 'UNKNOWN_KEY' : 'MISSING' }),
      loadReporter: { report: (r) => void reports.push(r) },
      log: (await import('pino')).pino({ level: 'silent' }),
    },
  );
  const { catalog, upstreams } = gw.core;
  catalog.upsertNamespace({ metadata: { name: 'acct-alice', labels: { 'hearth.dev/account': 'alice' } } });
  catalog.upsertNamespace({ metadata: { name: 'acct-bob', labels: { 'hearth.dev/account': 'bob' } } });
  catalog.upsertDeployment({ metadata: { namespace: 'acct-alice', name: 'chat' }, spec: { baseModel: BASE } });
  catalog.upsertDeployment({ metadata: { namespace: 'acct-alice', name: 'cold' }, spec: { baseModel: BASE } });
  upstreams.setSlice('acct-alice/chat', 's1', [{ address: '127.0.0.1', port: fx.port }]);
});

afterAll(async () => {
  await gw?.close(1000);
  await fx?.close();
});

describe('gateway over HTTP (fixture on loopback)', () => {
  it('proxies a chat completion and counts its tokens', async () => {
    const r = await post('/inference/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'hi there' }], max_tokens: 5 });
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body) as { model: string; usage: { completion_tokens: number }; choices: unknown[] };
    expect(body.model).toBe(BASE);
    expect(body.usage.completion_tokens).toBe(5);
    expect(r.headers['x-request-id']).toMatch(/^gw-/);
    const rep = gw.core.load.flush();
    expect(rep.deployments.find((d) => d.deployment === 'chat')?.tokensPerSecond).toBeGreaterThan(0);
  });

  it('proxies completions and embeddings', async () => {
    const c = await post('/inference/v1/completions', { model: MODEL, prompt: 'Say this is a test', max_tokens: 3 });
    expect(c.status).toBe(200);
    expect(JSON.parse(c.body)).toMatchObject({ object: 'text_completion', usage: { completion_tokens: 3 } });
    const e = await post('/inference/v1/embeddings', { model: MODEL, input: 'x' });
    expect(e.status).toBe(200);
    expect(JSON.parse(e.body)).toMatchObject({ object: 'list' });
  });

  it('passes SSE through chunk by chunk, without the usage chunk the client did not ask for', async () => {
    const slow = await startModelServerFixture({ model: BASE, tokenLatencyMs: 40 });
    try {
      gw.core.upstreams.setSlice('acct-alice/chat', 's1', [{ address: '127.0.0.1', port: slow.port }]);
      const r = await post('/inference/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'stream please' }], max_tokens: 8, stream: true });
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
      const events = r.body.split('\n\n').filter(Boolean);
      expect(events.at(-1)).toBe('data: [DONE]');
      expect(events.filter((e) => e.includes('"usage"'))).toEqual([]);
      expect(events).toHaveLength(1 + 8 + 1); // role chunk, 8 tokens, [DONE]
      // chunk by chunk: the reads arrive spread over the generation, not at the end
      const tokenReads = r.reads.filter(([, t]) => t.includes('"content"') && !t.includes('"role"'));
      // (a loaded machine may coalesce a few reads; a buffering proxy would give one read, no spread)
      expect(tokenReads.length).toBeGreaterThanOrEqual(3);
      const [first, last] = [tokenReads[0]![0], tokenReads.at(-1)![0]];
      expect(last - first).toBeGreaterThan(7 * 40 * 0.5);
      // the gateway still counted the tokens from the usage chunk it asked for
      const rep = gw.core.load.flush();
      expect(rep.deployments.find((d) => d.deployment === 'chat')?.tokensPerSecond).toBeGreaterThan(0);

      const asked = await post('/inference/v1/completions', { model: MODEL, prompt: 'p', max_tokens: 2, stream: true, stream_options: { include_usage: true } });
      const tap = new SseUsageTap(false);
      tap.push(Buffer.from(asked.body));
      expect(tap.usage?.completion_tokens).toBe(2);
    } finally {
      gw.core.upstreams.setSlice('acct-alice/chat', 's1', [{ address: '127.0.0.1', port: fx.port }]);
      await slow.close();
    }
  });

  it('retries on another replica when one refuses the connection', async () => {
    const { upstreams } = gw.core;
    upstreams.setSlice('acct-alice/chat', 's0', [{ address: '127.0.0.1', port: 1 }]); // nothing listens on port 1
    try {
      for (let i = 0; i < 4; i++) {
        const r = await post('/inference/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 1 });
        expect(r.status, r.body).toBe(200);
      }
    } finally {
      upstreams.setSlice('acct-alice/chat', 's0', []);
    }
  });

  it('aborts the upstream generation when the client disconnects mid-stream', async () => {
    const slow = await startModelServerFixture({ model: BASE, tokenLatencyMs: 50 });
    try {
      gw.core.upstreams.setSlice('acct-alice/chat', 's1', [{ address: '127.0.0.1', port: slow.port }]);
      const ac = new AbortController();
      const req = request(new URL('/inference/v1/chat/completions', gw.url), { method: 'POST', signal: ac.signal, headers: { authorization: 'Bearer key-alice', 'content-type': 'application/json' } }, (res) => {
        res.once('data', () => ac.abort());
        res.on('error', () => undefined);
      });
      req.on('error', () => undefined);
      req.end(JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'long' }], max_tokens: 100, stream: true }));
      await waitUntil(() => gw.core.upstreams.endpoints('acct-alice/chat')[0]?.inFlight === 0 && ac.signal.aborted);
      let metrics = '';
      for (let i = 0; i < 100 && !/finished_reason="abort"[^}]*\} 1/.test(metrics); i++) {
        metrics = await (await fetch(`${slow.url}/metrics`)).text();
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(metrics).toMatch(/vllm:request_success_total\{[^}]*finished_reason="abort"[^}]*\} 1/);
    } finally {
      gw.core.upstreams.setSlice('acct-alice/chat', 's1', [{ address: '127.0.0.1', port: fx.port }]);
      await slow.close();
    }
  });

  it('sends the same user to the same replica when the deployment enables session affinity', async () => {
    const pair = await Promise.all([startModelServerFixture({ model: BASE }), startModelServerFixture({ model: BASE })]);
    const served = async (f: ModelServerFixture): Promise<number> => {
      const m = /vllm:request_success_total\{[^}]*finished_reason="length"[^}]*\} (\d+)/.exec(await (await fetch(`${f.url}/metrics`)).text());
      return Number(m?.[1] ?? 0);
    };
    try {
      gw.core.catalog.upsertDeployment({ metadata: { namespace: 'acct-alice', name: 'sticky' }, spec: { baseModel: BASE, enableSessionAffinity: true } });
      gw.core.upstreams.setSlice('acct-alice/sticky', 's', pair.map((f) => ({ address: '127.0.0.1', port: f.port })));
      const model = `${BASE}#alice/sticky`;
      for (let i = 0; i < 6; i++) expect((await post('/inference/v1/completions', { model, prompt: 'x', max_tokens: 1, user: 'user-42' })).status).toBe(200);
      const counts = await Promise.all(pair.map(served));
      expect(counts.sort()).toEqual([0, 6]);
    } finally {
      gw.core.upstreams.setSlice('acct-alice/sticky', 's', []);
      await Promise.all(pair.map((f) => f.close()));
    }
  });

  it('answers unknown models and other accounts’ models with the same 404', async () => {
    const mine = await post('/inference/v1/chat/completions', { model: `${BASE}#accounts/alice/deployments/nope`, messages: [] });
    const theirs = await post('/inference/v1/chat/completions', { model: MODEL, messages: [] }, { key: 'key-bob' });
    const junk = await post('/inference/v1/chat/completions', { model: 'gpt-4', messages: [] });
    for (const r of [mine, theirs, junk]) {
      expect(r.status).toBe(404);
      expect(JSON.parse(r.body)).toEqual(JSON.parse(mine.body));
    }
    expect(JSON.parse(mine.body)).toMatchObject({ error: { code: 'model_not_found' } });
  });

  it('requires an API key; rejects bad bodies, paths and methods', async () => {
    expect((await post('/inference/v1/chat/completions', { model: MODEL }, { key: '' })).status).toBe(401);
    expect((await post('/inference/v1/chat/completions', { model: MODEL }, { key: 'key-nobody' })).status).toBe(401);
    expect((await post('/inference/v1/chat/completions', { messages: [] })).status).toBe(400);
    expect((await post('/inference/v1/foobar', { model: MODEL })).status).toBe(404);
    const models = await fetch(`${gw.url}/inference/v1/models`, { headers: { authorization: 'Bearer key-alice' } });
    const list = (await models.json()) as { object: string; data: Array<{ id: string }> };
    expect(list.object).toBe('list');
    expect(list.data.map((m) => m.id)).toEqual(expect.arrayContaining([MODEL, COLD]));
  });

  it('holds a request for a deployment with no ready replica, signals demand at once, and serves it when one appears', async () => {
    reports.length = 0;
    const pending = post('/inference/v1/completions', { model: COLD, prompt: 'wake up', max_tokens: 2 });
    await waitUntil(() => gw.core.hold.held('acct-alice/cold') === 1);
    expect(reports.find((r) => r.kind === 'urgent')?.deployments).toMatchObject([{ deployment: 'cold', held: 1, inFlight: 1 }]);
    gw.core.upstreams.setSlice('acct-alice/cold', 's1', [{ address: '127.0.0.1', port: fx.port }]);
    const r = await pending;
    expect(r.status).toBe(200);
    gw.core.upstreams.setSlice('acct-alice/cold', 's1', []);
  });

  it('beyond the count bound answers 429 with Retry-After; a client that leaves is dropped from the queue', async () => {
    const ac = [new AbortController(), new AbortController()];
    const held = ac.map((a) => post('/inference/v1/completions', { model: COLD, prompt: 'x' }, { signal: a.signal }).catch((e: Error) => e));
    await waitUntil(() => gw.core.hold.held('acct-alice/cold') === 2);
    const over = await post('/inference/v1/completions', { model: COLD, prompt: 'x' });
    expect(over.status).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    for (const a of ac) a.abort();
    await Promise.all(held);
    await waitUntil(() => gw.core.hold.held('acct-alice/cold') === 0);
  });

  it('beyond the time bound answers 503 with Retry-After (per-deployment annotation)', async () => {
    gw.core.catalog.upsertDeployment({
      metadata: { namespace: 'acct-alice', name: 'cold', annotations: { 'gateway.hearth.dev/hold-timeout-seconds': '0.3' } },
      spec: { baseModel: BASE },
    });
    const t0 = Date.now();
    const r = await post('/inference/v1/completions', { model: COLD, prompt: 'x' });
    expect(r.status).toBe(503);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(r.headers['retry-after']).toBe('30');
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'model_not_ready' } });
  });

  it('answers a held request 404 when its deployment is deleted meanwhile', async () => {
    gw.core.catalog.upsertDeployment({ metadata: { namespace: 'acct-alice', name: 'doomed' }, spec: { baseModel: BASE } });
    const pending = post('/inference/v1/completions', { model: `${BASE}#alice/doomed`, prompt: 'x' });
    await waitUntil(() => gw.core.hold.held('acct-alice/doomed') === 1);
    gw.core.catalog.upsertDeployment({ metadata: { namespace: 'acct-alice', name: 'doomed' }, spec: { baseModel: BASE }, status: { state: 'DELETING' } });
    const r = await pending;
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'model_not_found' } });
  });

  it('on close, answers held requests 503 at once so clients retry on another replica', async () => {
    const other = await startGateway(
      { host: '127.0.0.1', port: 0, processMetrics: false },
      { authenticate: async () => ({ ok: true, accountId: 'alice' }), loadReporter: { report: () => {} }, log: (await import('pino')).pino({ level: 'silent' }) },
    );
    other.core.catalog.upsertNamespace({ metadata: { name: 'acct-alice', labels: { 'hearth.dev/account': 'alice' } } });
    other.core.catalog.upsertDeployment({ metadata: { namespace: 'acct-alice', name: 'cold' }, spec: { baseModel: BASE } });
    const res = fetch(`${other.url}/inference/v1/completions`, { method: 'POST', headers: { authorization: 'Bearer k', 'content-type': 'application/json' }, body: JSON.stringify({ model: COLD, prompt: 'x' }) });
    await waitUntil(() => other.core.hold.held('acct-alice/cold') === 1);
    const closed = other.close(5_000);
    const r = await res;
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(await r.json()).toMatchObject({ error: { code: 'shutting_down' } });
    await closed;
  });

  it('refuses a body over the limit with 413', async () => {
    const small = await startGateway(
      { host: '127.0.0.1', port: 0, processMetrics: false, maxBodyBytes: 1024 },
      { authenticate: async () => ({ ok: true, accountId: 'alice' }), loadReporter: { report: () => {} }, log: (await import('pino')).pino({ level: 'silent' }) },
    );
    try {
      const r = await fetch(`${small.url}/inference/v1/completions`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: JSON.stringify({ model: MODEL, prompt: 'x'.repeat(4096) }) });
      expect(r.status).toBe(413);
      expect(await r.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    } finally {
      await small.close(1000);
    }
  });

  it('never serves /metrics on the public inference port (it names every account\'s deployments)', async () => {
    for (const auth of [{}, { authorization: 'Bearer key-alice' }, { authorization: `Bearer ${METRICS_TOKEN}` }]) {
      const r = await fetch(`${gw.url}/metrics`, { headers: auth });
      expect(r.status).toBe(404);
      expect(await r.text()).not.toContain('acct-alice');
    }
  });

  it('refuses /metrics on the admin port without the metrics token, or with an API key or the wrong token', async () => {
    for (const auth of [{}, { authorization: 'Bearer key-alice' }, { authorization: `Bearer ${METRICS_TOKEN}x` }]) {
      const r = await fetch(`${gw.adminUrl}/metrics`, { headers: auth });
      expect(r.status).toBe(401);
      expect(await r.text()).not.toContain('acct-alice');
    }
  });

  it('exposes Prometheus metrics on the admin port to the metrics token', async () => {
    const r = await fetch(`${gw.adminUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(text).toContain('hearth_gateway_requests_total{namespace="acct-alice",deployment="chat",code="200"}');
    expect(text).toMatch(/hearth_gateway_hold_outcomes_total\{outcome="timeout"\} [1-9]/);
    expect(text).toContain('hearth_gateway_ready_endpoints{namespace="acct-alice",deployment="chat"} 1');
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
