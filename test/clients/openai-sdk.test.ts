// The OpenAI SDK for JavaScript (`openai` from npm), unmodified, through Hearth's gateway to the
// model-server fixture on loopback: chat, completions, streaming and errors, with only the base
// URL and the key changed. No cluster: the gateway's catalog and endpoints are fed directly, as in
// src/gateway/gateway.test.ts.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startModelServerFixture, type ModelServerFixture } from '../fixtures/model-server/index.js';
import { startGateway, type Gateway } from '../../src/gateway/gateway.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const MODEL = `${BASE}#accounts/alice/deployments/chat`;
const COLD = `${BASE}#accounts/alice/deployments/cold`;
const KEYS: Record<string, string> = { 'key-alice': 'alice' };

let fx: ModelServerFixture;
let gw: Gateway;
let client: OpenAI;

beforeAll(async () => {
  fx = await startModelServerFixture({ model: BASE, tokenLatencyMs: 0, maxModelLen: 4096 });
  gw = await startGateway(
    { host: '127.0.0.1', port: 0, holdTimeoutMs: 0, maxHeldPerDeployment: 0, processMetrics: false, reportIntervalMs: 60_000, queueFullRetryAfterSeconds: 7 },
    {
      authenticate: async (token) => (token && KEYS[token] ? { ok: true, accountId: KEYS[token] } : { ok: false, reason: token ? 'UNKNOWN_KEY' : 'MISSING' }),
      loadReporter: { report: () => {} },
      log: pino({ level: 'silent' }),
    },
  );
  const { catalog, upstreams } = gw.core;
  catalog.upsertNamespace({ metadata: { name: 'acct-alice', labels: { 'hearth.dev/account': 'alice' } } });
  catalog.upsertDeployment({ metadata: { namespace: 'acct-alice', name: 'chat' }, spec: { baseModel: BASE } });
  catalog.upsertDeployment({ metadata: { namespace: 'acct-alice', name: 'cold' }, spec: { baseModel: BASE } });
  upstreams.setSlice('acct-alice/chat', 's1', [{ address: '127.0.0.1', port: fx.port }]);
  client = new OpenAI({ baseURL: `${gw.url}/inference/v1`, apiKey: 'key-alice', maxRetries: 0 });
});

afterAll(async () => {
  await gw?.close(1000);
  await fx?.close();
});

describe('the OpenAI SDK through the gateway', () => {
  it('chat.completions.create', async () => {
    const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi there' }], max_tokens: 5 });
    expect(r.object).toBe('chat.completion');
    expect(r.model).toBe(BASE);
    expect(r.choices[0]?.message.role).toBe('assistant');
    expect(r.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(r.choices[0]?.finish_reason).toBe('length');
    expect(r.usage?.completion_tokens).toBe(5);
  });

  it('completions.create, with n and a batched prompt', async () => {
    const r = await client.completions.create({ model: MODEL, prompt: ['Say this is a test', 'and this'], max_tokens: 3, n: 2 });
    expect(r.object).toBe('text_completion');
    expect(r.choices).toHaveLength(4);
    expect(r.usage?.completion_tokens).toBe(12);
  });

  it('streams chat chunk by chunk, and completions with the usage chunk when asked', async () => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'stream please' }], max_tokens: 6, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text.length).toBeGreaterThan(0);
    expect(chunks.filter((c) => c.choices[0]?.delta.content)).toHaveLength(6);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('length');
    expect(chunks.some((c) => c.usage)).toBe(false);

    const withUsage = await client.completions.create({ model: MODEL, prompt: 'p', max_tokens: 2, stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | undefined | null;
    let tokens = 0;
    for await (const c of withUsage) {
      if (c.usage) usage = c.usage;
      if (c.choices[0]?.text) tokens++;
    }
    expect(tokens).toBe(2);
    expect(usage?.completion_tokens).toBe(2);
  });

  it('surfaces errors as the SDK’s typed errors: 401, 404, 400, and 429 with Retry-After', async () => {
    const stranger = new OpenAI({ baseURL: `${gw.url}/inference/v1`, apiKey: 'key-nobody', maxRetries: 0 });
    const unauth = await stranger.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(unauth).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((unauth as InstanceType<typeof OpenAI.APIError>).status).toBe(401);

    const missing = await client.chat.completions.create({ model: `${BASE}#accounts/alice/deployments/nope`, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);

    const tooLong = await client.completions.create({ model: MODEL, prompt: 'x', max_tokens: 100_000 }).catch((e: unknown) => e);
    expect(tooLong).toBeInstanceOf(OpenAI.BadRequestError);
    expect((tooLong as InstanceType<typeof OpenAI.APIError>).message.length).toBeGreaterThan(0);

    // No replica and no room to hold the request: 429 with the Retry-After the SDK's retry reads.
    const busy = await client.completions.create({ model: COLD, prompt: 'x', max_tokens: 1 }).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(OpenAI.RateLimitError);
    expect((busy as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toBe('7');
  });

  it('lists models', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining([MODEL, COLD]));
  });
});
