// The gateway is bounded (issue 15 item 2), over real HTTP: N × 16 MiB requests held for a
// deployment at zero never buffer more than the configured budget (the rest are refused at once,
// with Retry-After, before their bodies are kept), and one API key cannot starve another: its
// concurrency and byte budgets run out, the other key's request is still held and then served.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServerFixture, type ModelServerFixture } from '../../test/fixtures/model-server/index.js';
import { startGateway, type Gateway } from './gateway.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const COLD = `${BASE}#accounts/alice/deployments/cold`;
const MiB = 1024 * 1024;
/** token → [account, keyId] */
const KEYS: Record<string, [string, string]> = {};
for (let i = 0; i < 16; i++) KEYS[`key-${i}`] = ['alice', `k${i}`];
KEYS['key-bob'] = ['bob', 'kb'];

let fx: ModelServerFixture;

async function gateway(limits: Record<string, number>): Promise<Gateway> {
  const gw = await startGateway(
    { host: '127.0.0.1', port: 0, processMetrics: false, holdTimeoutMs: 60_000, maxHeldPerDeployment: 100, maxBodyBytes: 16 * MiB, ...limits },
    {
      authenticate: async (token) => {
        const k = token ? KEYS[token] : undefined;
        return k ? { ok: true, accountId: k[0], keyId: k[1] } : { ok: false, reason: 'UNKNOWN_KEY' };
      },
      loadReporter: { report: () => {} },
      log: (await import('pino')).pino({ level: 'silent' }),
    },
  );
  gw.core.catalog.upsertNamespace({ metadata: { name: 'acct-alice', labels: { 'hearth.dev/account': 'alice' } } });
  gw.core.catalog.upsertDeployment({ metadata: { namespace: 'acct-alice', name: 'cold' }, spec: { baseModel: BASE } });
  return gw;
}

interface Reply {
  status: number;
  retryAfter?: string;
  body: string;
}

/** POSTs a completion whose body is about `bytes` long; `chunked`: no Content-Length. */
function post(gw: Gateway, key: string, bytes: number, opts: { chunked?: boolean; signal?: AbortSignal } = {}): Promise<Reply> {
  const head = JSON.stringify({ model: COLD, max_tokens: 1, prompt: '' }).slice(0, -2);
  const text = `${head}${'x'.repeat(Math.max(0, bytes - head.length - 2))}"}`;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    if (!opts.chunked) headers['content-length'] = Buffer.byteLength(text);
    const req = request(new URL('/inference/v1/completions', gw.url), { method: 'POST', headers, ...(opts.signal ? { signal: opts.signal } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}) }));
    });
    req.on('error', (e) => (opts.signal?.aborted ? resolve({ status: 499, body: '' }) : reject(e)));
    // Chunked: written in 1 MiB pieces, as a streaming client would.
    if (opts.chunked) {
      for (let i = 0; i < text.length; i += MiB) req.write(text.slice(i, i + MiB));
      req.end();
    } else req.end(text);
  });
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  fx = await startModelServerFixture({ model: BASE, tokenLatencyMs: 0 });
});
afterAll(async () => {
  await fx?.close();
});

describe('gateway admission over HTTP', () => {
  it('N × 16 MiB held requests never buffer more than the budget; the rest get 503 + Retry-After at once', async () => {
    const budget = 48 * MiB;
    const gw = await gateway({ maxBufferedBytes: budget, maxBufferedBytesPerKey: 64 * MiB });
    const abort = new AbortController();
    try {
      const N = 10;
      // Half with Content-Length (refused up front), half chunked (counted as they arrive).
      const replies = Array.from({ length: N }, (_, i) => post(gw, `key-${i}`, 16 * MiB - 1024, { chunked: i % 2 === 1, signal: abort.signal }));
      const refused: Reply[] = [];
      for (const r of replies) void r.then((x) => void refused.push(x));
      await until(() => refused.length + gw.core.hold.total >= N, 30_000);
      expect(gw.core.hold.total).toBe(3); // 3 × (16 MiB − 1 KiB) fit in 48 MiB; a fourth does not
      expect(refused).toHaveLength(N - 3);
      for (const r of refused) {
        expect(r.status).toBe(503);
        expect(r.retryAfter).toBe('1');
        expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'overloaded' } });
      }
      expect(gw.core.admission.peakBytes).toBeLessThanOrEqual(budget);
      expect(gw.core.admission.bufferedBytes).toBeLessThanOrEqual(budget);
      abort.abort();
      await until(() => gw.core.admission.inFlight === 0);
      expect(gw.core.admission.bufferedBytes).toBe(0);
    } finally {
      abort.abort();
      await gw.close(1000);
    }
  }, 60_000);

  it('one key cannot starve another: its concurrency and byte budgets run out, the other key is still held and served', async () => {
    const gw = await gateway({ maxInFlightPerKey: 2, maxBufferedBytesPerKey: 3 * MiB });
    const abort = new AbortController();
    try {
      const a1 = post(gw, 'key-0', 1024, { signal: abort.signal });
      const a2 = post(gw, 'key-0', 1024, { signal: abort.signal });
      await until(() => gw.core.hold.total === 2);
      const a3 = await post(gw, 'key-0', 1024);
      expect(a3.status).toBe(429);
      expect(a3.retryAfter).toBe('1');
      expect(JSON.parse(a3.body)).toMatchObject({ error: { code: 'too_many_concurrent_requests' } });
      // A key's bytes: 2 MiB held, a second 2 MiB body is over its 3 MiB.
      const k1 = post(gw, 'key-1', 2 * MiB, { signal: abort.signal });
      await until(() => gw.core.hold.total === 3);
      const k1b = await post(gw, 'key-1', 2 * MiB, { chunked: true });
      expect(k1b.status).toBe(429);
      expect(JSON.parse(k1b.body)).toMatchObject({ error: { code: 'too_many_buffered_bytes' } });
      // Another key's request is admitted and held; a replica appears and every held one is answered.
      const b = post(gw, 'key-2', 1024);
      await until(() => gw.core.hold.total === 4);
      gw.core.upstreams.setSlice('acct-alice/cold', 's1', [{ address: '127.0.0.1', port: fx.port }]);
      expect((await b).status).toBe(200);
      for (const r of await Promise.all([a1, a2, k1])) expect(r.status).toBe(200);
      expect(gw.core.admission.inFlight).toBe(0);
    } finally {
      abort.abort();
      await gw.close(1000);
    }
  }, 60_000);

  it('limits the rate per key and per account with 429 + Retry-After', async () => {
    const gw = await gateway({ keyRatePerSecond: 0.5, keyRateBurst: 2, accountRatePerSecond: 0.5, accountRateBurst: 3 });
    gw.core.upstreams.setSlice('acct-alice/cold', 's1', [{ address: '127.0.0.1', port: fx.port }]);
    try {
      expect((await post(gw, 'key-0', 100)).status).toBe(200);
      expect((await post(gw, 'key-0', 100)).status).toBe(200);
      const byKey = await post(gw, 'key-0', 100);
      expect(byKey.status).toBe(429);
      expect(Number(byKey.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(byKey.body)).toMatchObject({ error: { code: 'rate_limit_exceeded' } });
      expect((await post(gw, 'key-1', 100)).status).toBe(200); // the account's third
      const byAccount = await post(gw, 'key-2', 100); // a freshly minted key does not help
      expect(byAccount.status).toBe(429);
      expect(JSON.parse(byAccount.body).error.message).toContain('account');
      expect((await post(gw, 'key-bob', 100)).status).toBe(404); // bob is not rate limited (and sees no alice model)
    } finally {
      await gw.close(1000);
    }
  });
});
