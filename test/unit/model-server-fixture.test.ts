// The model-server TEST FIXTURE speaks vLLM's OpenAI-compatible protocol on loopback. These tests
// start it on 127.0.0.1:0 and drive every endpoint over real HTTP, SSE chunk by chunk.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import {
  countTokens,
  fixtureEmbedding,
  fixtureText,
  isLoopbackHost,
  startModelServerFixture,
  type ModelServerFixture,
  type ModelServerFixtureOptions,
} from '../fixtures/model-server/index.js';

const open: ModelServerFixture[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});

async function start(opts: ModelServerFixtureOptions = {}): Promise<ModelServerFixture> {
  const f = await startModelServerFixture({ host: '127.0.0.1', port: 0, model: 'acme/llama-fixture', tokensPerResponse: 5, ...opts });
  open.push(f);
  return f;
}

async function post(f: ModelServerFixture, path: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(`${f.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...init });
}

interface SseEvent {
  data: string;
  at: number;
}

/** Reads an SSE body event by event, recording when each arrived. */
async function readSse(res: Response, onEvent?: (e: SseEvent, i: number) => void | Promise<void>): Promise<SseEvent[]> {
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let sep: number;
    while ((sep = buf.indexOf('\n\n')) >= 0) {
      const raw = buf.slice(0, sep);
      buf = buf.slice(sep + 2);
      expect(raw.startsWith('data: ')).toBe(true);
      const e = { data: raw.slice('data: '.length), at: performance.now() };
      events.push(e);
      await onEvent?.(e, events.length - 1);
    }
  }
  expect(buf).toBe('');
  return events;
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}
interface ChatCompletion {
  id: string;
  model: string;
  choices: Array<{ index: number; message: { role: string; content: string }; finish_reason: string | null }>;
  usage: Usage;
}
interface TextCompletion {
  id: string;
  choices: Array<{ index: number; text: string; finish_reason: string | null }>;
  usage: Usage;
}
interface Chunk {
  id: string;
  choices: Array<{ index: number; delta: { role?: string; content?: string }; text?: string; finish_reason: string | null }>;
  usage?: Usage;
}
interface Embeddings {
  id: string;
  data: Array<{ index: number; object: string; embedding: number[] | string }>;
}

const json = (e: SseEvent): Chunk => JSON.parse(e.data) as Chunk;

async function metrics(f: ModelServerFixture): Promise<Map<string, number>> {
  const res = await fetch(`${f.url}/metrics`);
  expect(res.status).toBe(200);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+?)(\{.*\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`bad exposition line: ${line}`);
    const labels = (m[2] ?? '').replace(/model_name="[^"]*",engine="0",?/, '').replace(/^\{\}$/, '');
    out.set(`${m[1]}${labels}`, Number(m[3]));
  }
  return out;
}

const chat = (content: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  model: 'acme/llama-fixture',
  messages: [
    { role: 'system', content: 'be brief' },
    { role: 'user', content },
  ],
  ...extra,
});

describe('model-server fixture: listening', () => {
  it.each(['0.0.0.0', '::', '10.0.0.5', '192.168.1.10', 'example.com'])('refuses non-loopback host %s', async (host) => {
    await expect(startModelServerFixture({ host, port: 0 })).rejects.toThrow(/loopback only/);
  });

  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['128.0.0.1', false],
  ])('isLoopbackHost(%s) → %s', (host, want) => {
    expect(isLoopbackHost(host)).toBe(want);
  });

  it('listens on an ephemeral loopback port and closes', async () => {
    const f = await startModelServerFixture({ port: 0 });
    expect(f.host).toBe('127.0.0.1');
    expect(f.port).toBeGreaterThan(0);
    expect(f.url).toBe(`http://127.0.0.1:${f.port}`);
    expect((await fetch(`${f.url}/health`)).status).toBe(200);
    await f.close();
    await f.close(); // idempotent
    await expect(fetch(`${f.url}/health`)).rejects.toThrow();
  });

  it('answers 503 until the startup delay has passed, then /health is 200 with an empty body', async () => {
    const f = await start({ startupDelayMs: 1_000 });
    const early = await fetch(`${f.url}/health`);
    expect(early.status).toBe(503);
    expect((await post(f, '/v1/chat/completions', chat('hi'))).status).toBe(503);
    // /metrics is scrapeable while loading
    expect((await fetch(`${f.url}/metrics`)).status).toBe(200);
    const deadline = Date.now() + 5_000;
    let res = early;
    while (res.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      res = await fetch(`${f.url}/health`);
    }
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('unknown paths and methods answer like FastAPI', async () => {
    const f = await start();
    const nf = await fetch(`${f.url}/v1/nope`);
    expect(nf.status).toBe(404);
    expect(await nf.json()).toEqual({ detail: 'Not Found' });
    const na = await fetch(`${f.url}/v1/chat/completions`);
    expect(na.status).toBe(405);
  });
});

describe('model-server fixture: /v1/models', () => {
  it('lists the served model as vLLM does', async () => {
    const f = await start({ maxModelLen: 8192 });
    const body = (await (await fetch(`${f.url}/v1/models`)).json()) as { object: string; data: Array<Record<string, unknown>> };
    expect(body.object).toBe('list');
    expect(body.data).toHaveLength(1);
    expect(body.data[0]).toMatchObject({ id: 'acme/llama-fixture', object: 'model', owned_by: 'vllm', root: 'acme/llama-fixture', parent: null, max_model_len: 8192 });
    expect(typeof body.data[0]?.created).toBe('number');
  });
});

describe('model-server fixture: chat completions', () => {
  it('answers with deterministic text, usage and finish_reason stop', async () => {
    const f = await start();
    const res = await post(f, '/v1/chat/completions', chat('what is hearth?'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as ChatCompletion;
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'acme/llama-fixture',
      choices: [{ index: 0, message: { role: 'assistant', tool_calls: [] }, logprobs: null, finish_reason: 'stop', stop_reason: null }],
      usage: { prompt_tokens: countTokens('be brief') + countTokens('what is hearth?'), completion_tokens: 5, total_tokens: 2 + 3 + 5 },
    });
    expect(body.id).toMatch(/^chatcmpl-/);
    const content = body.choices[0]?.message.content as string;
    expect(content.split(' ')).toHaveLength(5);
    expect(content).toBe(fixtureText('acme/llama-fixture', 'system: be brief\nuser: what is hearth?', 0, 5));
    // Same request, same text; different prompt, different text.
    const again = (await (await post(f, '/v1/chat/completions', chat('what is hearth?'))).json()) as ChatCompletion;
    expect(again.choices[0]?.message.content).toBe(content);
    const other = (await (await post(f, '/v1/chat/completions', chat('something else entirely'))).json()) as ChatCompletion;
    expect(other.choices[0]?.message.content).not.toBe(content);
  });

  it('max_tokens / max_completion_tokens cut the answer with finish_reason length', async () => {
    const f = await start();
    for (const key of ['max_tokens', 'max_completion_tokens']) {
      const body = (await (await post(f, '/v1/chat/completions', chat('hi', { [key]: 2 }))).json()) as ChatCompletion;
      expect(body.choices[0]?.finish_reason).toBe('length');
      expect(body.usage.completion_tokens).toBe(2);
      expect((body.choices[0]?.message.content as string).split(' ')).toHaveLength(2);
    }
  });

  it('n > 1 gives n choices', async () => {
    const f = await start();
    const body = (await (await post(f, '/v1/chat/completions', chat('hi', { n: 3 }))).json()) as ChatCompletion;
    expect(body.choices.map((c: { index: number }) => c.index)).toEqual([0, 1, 2]);
    expect(body.usage.completion_tokens).toBe(15);
  });

  it('accepts content parts and an omitted model (the served one)', async () => {
    const f = await start();
    const res = await post(f, '/v1/chat/completions', { messages: [{ role: 'user', content: [{ type: 'text', text: 'two words' }] }] });
    const body = (await res.json()) as ChatCompletion;
    expect(res.status).toBe(200);
    expect(body.model).toBe('acme/llama-fixture');
    expect(body.usage.prompt_tokens).toBe(2);
  });

  it('streams SSE chunk by chunk: role first, one token per chunk, finish on the last, usage, [DONE]', async () => {
    const f = await start({ tokenLatencyMs: 40 });
    const started = performance.now();
    const res = await post(f, '/v1/chat/completions', chat('stream please', { stream: true, stream_options: { include_usage: true } }));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const events = await readSse(res);
    const done = events[events.length - 1] as SseEvent;
    expect(done.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map(json);
    // role chunk, 5 token chunks, usage chunk
    expect(chunks).toHaveLength(7);
    const ids = new Set(chunks.map((c) => c.id));
    expect(ids.size).toBe(1);
    for (const c of chunks) expect(c).toMatchObject({ object: 'chat.completion.chunk', model: 'acme/llama-fixture' });
    expect(chunks[0]?.choices).toEqual([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
    const tokens = chunks.slice(1, 6);
    expect(tokens.map((c) => c.choices[0]?.finish_reason)).toEqual([null, null, null, null, 'stop']);
    const text = tokens.map((c) => c.choices[0]?.delta.content as string).join('');
    expect(text).toBe(fixtureText('acme/llama-fixture', 'system: be brief\nuser: stream please', 0, 5));
    expect(chunks[6]).toMatchObject({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 } });
    // The same text as without streaming.
    const whole = (await (await post(f, '/v1/chat/completions', chat('stream please'))).json()) as ChatCompletion;
    expect(whole.choices[0]?.message.content).toBe(text);
    // Chunks arrive over time, not all at once at the end: the first token well before [DONE].
    const firstToken = events[1] as SseEvent;
    expect(done.at - firstToken.at).toBeGreaterThanOrEqual(4 * 40 - 20);
    expect(firstToken.at - started).toBeLessThan(done.at - started);
  });

  it('omits the usage chunk unless stream_options.include_usage is set (as vLLM does)', async () => {
    const f = await start();
    const events = await readSse(await post(f, '/v1/chat/completions', chat('hi', { stream: true })));
    expect(events.map((e) => (e.data === '[DONE]' ? 'DONE' : json(e).choices.length))).toEqual([1, 1, 1, 1, 1, 1, 'DONE']);
  });

  it.each([
    [{ messages: [] }, 400, /messages must be a non-empty array/],
    [{ messages: [{ content: 'no role' }] }, 400, /role/],
    [{ model: 'nobody/knows', messages: [{ role: 'user', content: 'x' }] }, 404, /The model `nobody\/knows` does not exist/],
    [{ messages: [{ role: 'user', content: 'x' }], max_tokens: 0 }, 400, /max_tokens must be an integer/],
    [{ messages: [{ role: 'user', content: 'x' }], max_tokens: 5000 }, 400, /maximum context length is 4096 tokens/],
  ])('rejects %j with %i', async (body, status, message) => {
    const f = await start();
    const res = await post(f, '/v1/chat/completions', body);
    expect(res.status).toBe(status);
    const err = (await res.json()) as { error: { message: string; type: string; code: number; param: null } };
    expect(err.error.message).toMatch(message);
    expect(err.error.code).toBe(status);
    expect(err.error.type).toBe(status === 404 ? 'NotFoundError' : 'BadRequestError');
  });

  it('rejects a body that is not JSON', async () => {
    const f = await start();
    const res = await fetch(`${f.url}/v1/chat/completions`, { method: 'POST', body: '{nope' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/Invalid JSON/);
  });
});

describe('model-server fixture: completions', () => {
  it('answers a prompt with text_completion choices and usage', async () => {
    const f = await start();
    const body = (await (await post(f, '/v1/completions', { model: 'acme/llama-fixture', prompt: 'Say this is a test' })).json()) as TextCompletion;
    expect(body).toMatchObject({
      object: 'text_completion',
      model: 'acme/llama-fixture',
      choices: [{ index: 0, text: fixtureText('acme/llama-fixture', 'Say this is a test', 0, 5), logprobs: null, finish_reason: 'stop', stop_reason: null }],
      usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
    });
    expect(body.id).toMatch(/^cmpl-/);
  });

  it('a batch of prompts gives one choice per prompt', async () => {
    const f = await start();
    const body = (await (await post(f, '/v1/completions', { prompt: ['one', 'two three'], max_tokens: 3 })).json()) as TextCompletion;
    expect(body.choices.map((c: Record<string, unknown>) => [c.index, c.finish_reason])).toEqual([
      [0, 'length'],
      [1, 'length'],
    ]);
    expect(body.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 6 });
  });

  it('accepts token ids as the prompt', async () => {
    const f = await start();
    const body = (await (await post(f, '/v1/completions', { prompt: [101, 202, 303] })).json()) as TextCompletion;
    expect(body.usage.prompt_tokens).toBe(3);
  });

  it('streams text chunks, the last with its finish_reason, then usage and [DONE]', async () => {
    const f = await start({ tokenLatencyMs: 10 });
    const events = await readSse(await post(f, '/v1/completions', { prompt: 'stream', stream: true, max_tokens: 3, stream_options: { include_usage: true } }));
    expect(events[events.length - 1]?.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map(json);
    expect(chunks).toHaveLength(4);
    expect(chunks.slice(0, 3).map((c) => c.choices[0]?.finish_reason)).toEqual([null, null, 'length']);
    for (const c of chunks.slice(0, 3)) expect(c).toMatchObject({ object: 'text_completion', choices: [{ index: 0, logprobs: null, stop_reason: null }] });
    expect(chunks.slice(0, 3).map((c) => c.choices[0]?.text as string).join('')).toBe(fixtureText('acme/llama-fixture', 'stream', 0, 3));
    expect(chunks[3]).toMatchObject({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 } });
  });
});

describe('model-server fixture: embeddings', () => {
  it('returns deterministic unit vectors of the configured size', async () => {
    const f = await start({ embeddingDimensions: 12 });
    const body = (await (await post(f, '/v1/embeddings', { model: 'acme/llama-fixture', input: ['hello world', 'bye'] })).json()) as Embeddings;
    expect(body).toMatchObject({ object: 'list', model: 'acme/llama-fixture', usage: { prompt_tokens: 3, total_tokens: 3, completion_tokens: 0 } });
    expect(body.id).toMatch(/^embd-/);
    const [a, b] = body.data as Array<{ index: number; object: string; embedding: number[] }>;
    expect(a?.index).toBe(0);
    expect(a?.object).toBe('embedding');
    expect(a?.embedding).toHaveLength(12);
    expect(Math.hypot(...(a?.embedding ?? []))).toBeCloseTo(1, 9);
    expect(a?.embedding).toEqual(fixtureEmbedding('acme/llama-fixture', 'hello world', 12));
    expect(b?.embedding).not.toEqual(a?.embedding);
  });

  it('encodes base64 as little-endian float32', async () => {
    const f = await start();
    const body = (await (await post(f, '/v1/embeddings', { input: 'hi', encoding_format: 'base64' })).json()) as Embeddings;
    const buf = Buffer.from(body.data[0]?.embedding as string, 'base64');
    const floats = Array.from({ length: buf.length / 4 }, (_, i) => buf.readFloatLE(i * 4));
    const want = fixtureEmbedding('acme/llama-fixture', 'hi', 8);
    floats.forEach((x, i) => expect(x).toBeCloseTo(want[i] ?? NaN, 6));
  });

  it('rejects an empty input', async () => {
    const f = await start();
    expect((await post(f, '/v1/embeddings', { input: [] })).status).toBe(400);
  });
});

describe('model-server fixture: LoRA adapters', () => {
  it('loads, serves, lists and unloads an adapter like vLLM', async () => {
    const f = await start();
    const load = await post(f, '/v1/load_lora_adapter', { lora_name: 'sql-lora', lora_path: '/adapters/sql' });
    expect(load.status).toBe(200);
    expect(await load.text()).toBe("Success: LoRA adapter 'sql-lora' added successfully.");

    const models = (await (await fetch(`${f.url}/v1/models`)).json()) as { data: Array<Record<string, unknown>> };
    expect(models.data.map((m) => m.id)).toEqual(['acme/llama-fixture', 'sql-lora']);
    expect(models.data[1]).toMatchObject({ id: 'sql-lora', root: '/adapters/sql', parent: 'acme/llama-fixture', object: 'model' });

    const viaLora = (await (await post(f, '/v1/chat/completions', { ...chat('select'), model: 'sql-lora' })).json()) as ChatCompletion;
    expect(viaLora.model).toBe('sql-lora');
    const viaBase = (await (await post(f, '/v1/chat/completions', chat('select'))).json()) as ChatCompletion;
    expect(viaLora.choices[0]?.message.content).not.toBe(viaBase.choices[0]?.message.content);

    const again = await post(f, '/v1/load_lora_adapter', { lora_name: 'sql-lora', lora_path: '/adapters/sql' });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: { message: string } }).error.message).toBe("The lora adapter 'sql-lora' has already been loaded.");

    const unload = await post(f, '/v1/unload_lora_adapter', { lora_name: 'sql-lora' });
    expect(unload.status).toBe(200);
    expect(await unload.text()).toBe("Success: LoRA adapter 'sql-lora' removed successfully.");
    expect((await post(f, '/v1/chat/completions', { ...chat('select'), model: 'sql-lora' })).status).toBe(404);

    const gone = await post(f, '/v1/unload_lora_adapter', { lora_name: 'sql-lora' });
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: { message: string; type: string } }).error).toMatchObject({
      message: "The lora adapter 'sql-lora' cannot be found.",
      type: 'NotFoundError',
    });
  });

  it.each([
    ['/v1/load_lora_adapter', { lora_name: 'x' }, /Both 'lora_name' and 'lora_path' must be provided/],
    ['/v1/load_lora_adapter', { lora_path: '/x' }, /Both 'lora_name' and 'lora_path' must be provided/],
    ['/v1/unload_lora_adapter', {}, /'lora_name' needs to be provided/],
  ])('%s rejects %j', async (path, body, message) => {
    const f = await start();
    const res = await post(f, path, body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(message);
  });
});

describe('model-server fixture: LoRA refusals and restarts (vLLM shapes)', () => {
  it('an adapter whose files are missing: 404 NotFoundError as vLLM words it; nothing loaded', async () => {
    const f = await start({ inspectAdapter: (p) => (p === '/nowhere' ? 'missing' : undefined) });
    const res = await post(f, '/v1/load_lora_adapter', { lora_name: 'x', lora_path: '/nowhere' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({ type: 'NotFoundError', message: 'Loading lora x failed: No adapter found for /nowhere', code: 404 });
    expect(f.adapters().size).toBe(0);
    expect((await post(f, '/v1/chat/completions', { ...chat('q'), model: 'x' })).status).toBe(404);
  });

  it('an adapter of a rank above --max-lora-rank: 400 BadRequestError', async () => {
    const f = await start({ maxLoraRank: 16, inspectAdapter: () => ({ rank: 64 }) });
    const res = await post(f, '/v1/load_lora_adapter', { lora_name: 'big', lora_path: '/a/big' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({ type: 'BadRequestError', message: 'LoRA rank 64 is greater than max_lora_rank 16.' });
  });

  it('does not refuse more adapters than --max-loras (vLLM evicts from its CPU cache instead)', async () => {
    const f = await start();
    for (let i = 0; i < 12; i++) expect((await post(f, '/v1/load_lora_adapter', { lora_name: `l${i}`, lora_path: `/a/${i}` })).status).toBe(200);
    expect(f.adapters().size).toBe(12);
  });

  it('a restart loses every runtime-loaded adapter: a completion for it answers 404 until it is loaded again', async () => {
    const f = await start();
    await post(f, '/v1/load_lora_adapter', { lora_name: 'sql-lora', lora_path: '/adapters/sql' });
    expect((await post(f, '/v1/chat/completions', { ...chat('q'), model: 'sql-lora' })).status).toBe(200);
    await f.restart();
    expect(f.adapters().size).toBe(0);
    const models = (await (await fetch(`${f.url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((m) => m.id)).toEqual(['acme/llama-fixture']);
    const lost = await post(f, '/v1/chat/completions', { ...chat('q'), model: 'sql-lora' });
    expect(lost.status).toBe(404);
    expect(((await lost.json()) as { error: { message: string } }).error.message).toBe('The model `sql-lora` does not exist.');
    await post(f, '/v1/load_lora_adapter', { lora_name: 'sql-lora', lora_path: '/adapters/sql' });
    expect((await post(f, '/v1/chat/completions', { ...chat('q'), model: 'sql-lora' })).status).toBe(200);
  });
});

describe('model-server fixture: a model root (the pod\'s /mnt/models)', () => {
  it('loads only a lora_path under /mnt/models that holds adapter_config.json and the weights; else vLLM\'s 404; the files outlive a restart', async () => {
    const root = await mkdtemp(join(tmpdir(), 'fixture-model-root-'));
    try {
      const f = await start({ modelRoot: root, maxLoraRank: 16 });
      const load = (name: string, path: string) => post(f, '/v1/load_lora_adapter', { lora_name: name, lora_path: path });
      const missing = async (name: string, path: string) => {
        const res = await load(name, path);
        expect(res.status, path).toBe(404);
        expect(((await res.json()) as { error: unknown }).error).toMatchObject({ type: 'NotFoundError', message: `Loading lora ${name} failed: No adapter found for ${path}` });
      };
      await missing('sql', '/mnt/models/acme/sql');
      const dir = join(root, 'acme', 'sql');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'adapter_config.json'), JSON.stringify({ r: 8, target_modules: ['q_proj'] }));
      await missing('sql', '/mnt/models/acme/sql'); // no weights yet
      await writeFile(join(dir, 'adapter_model.safetensors'), Buffer.alloc(16));
      await missing('sql', '/mnt/models/acme/../../etc');
      await missing('sql', '/elsewhere/acme/sql');
      expect((await load('sql', '/mnt/models/acme/sql')).status).toBe(200);
      // The rank comes from the adapter's own config.
      const big = join(root, 'acme', 'big');
      await mkdir(big, { recursive: true });
      await writeFile(join(big, 'adapter_config.json'), JSON.stringify({ r: 64 }));
      await writeFile(join(big, 'adapter_model.bin'), Buffer.alloc(16));
      expect((await load('big', '/mnt/models/acme/big')).status).toBe(400);
      await f.restart();
      expect(f.adapters().size).toBe(0);
      expect((await load('sql', '/mnt/models/acme/sql')).status).toBe(200);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('model-server fixture: /metrics', () => {
  it('counts tokens and finished requests in vLLM naming', async () => {
    const f = await start();
    const before = await metrics(f);
    expect(before.get('vllm:num_requests_running')).toBe(0);
    expect(before.get('vllm:generation_tokens_total')).toBe(0);
    await post(f, '/v1/chat/completions', chat('a b c')).then((r) => r.json());
    await post(f, '/v1/completions', { prompt: 'x', max_tokens: 2 }).then((r) => r.json());
    const after = await metrics(f);
    expect(after.get('vllm:prompt_tokens_total')).toBe(2 + 3 + 1);
    expect(after.get('vllm:generation_tokens_total')).toBe(5 + 2);
    expect(after.get('vllm:request_success_total{finished_reason="stop"}')).toBe(1);
    expect(after.get('vllm:request_success_total{finished_reason="length"}')).toBe(1);
    expect(after.get('vllm:e2e_request_latency_seconds_count')).toBe(2);
    expect(after.get('vllm:time_to_first_token_seconds_count')).toBe(2);
    expect(after.get('vllm:e2e_request_latency_seconds_bucket{le="+Inf"}')).toBe(2);
    for (const name of ['vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc', 'vllm:num_preemptions_total']) expect(after.has(name)).toBe(true);
    const text = await (await fetch(`${f.url}/metrics`)).text();
    expect(text).toContain('# TYPE vllm:num_requests_running gauge');
    expect(text).toContain('# TYPE vllm:generation_tokens_total counter');
    expect(text).toContain('vllm:num_requests_running{model_name="acme/llama-fixture",engine="0"} 0.0');
  });

  it('shows running and waiting requests while they stream, bounded by maxConcurrentRequests', async () => {
    const f = await start({ tokenLatencyMs: 50, tokensPerResponse: 30, maxConcurrentRequests: 1 });
    let seen: Map<string, number> | undefined;
    const second = { sent: false, done: Promise.resolve<unknown>(undefined) };
    const first = post(f, '/v1/chat/completions', chat('one', { stream: true })).then((r) =>
      readSse(r, async (_e, i) => {
        if (i !== 1) return;
        // The first request holds the only slot; the second queues behind it.
        second.done = post(f, '/v1/chat/completions', chat('two')).then((res) => res.json());
        second.sent = true;
        const deadline = Date.now() + 1_000;
        do seen = await metrics(f);
        while (seen.get('vllm:num_requests_waiting') !== 1 && Date.now() < deadline);
      }),
    );
    await first;
    expect(second.sent).toBe(true);
    await second.done;
    expect(seen?.get('vllm:num_requests_running')).toBe(1);
    expect(seen?.get('vllm:num_requests_waiting')).toBe(1);
    expect(seen?.get('vllm:kv_cache_usage_perc')).toBe(1);
    const after = await metrics(f);
    expect(after.get('vllm:num_requests_running')).toBe(0);
    expect(after.get('vllm:num_requests_waiting')).toBe(0);
    expect(after.get('vllm:request_success_total{finished_reason="stop"}')).toBe(2);
  });

  it('a client that disconnects mid-stream aborts its generation', async () => {
    const f = await start({ tokenLatencyMs: 50, tokensPerResponse: 100 });
    const ac = new AbortController();
    const res = await post(f, '/v1/chat/completions', chat('long', { stream: true }), { signal: ac.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // at least the role chunk
    ac.abort();
    await reader.read().catch(() => undefined);
    const deadline = Date.now() + 5_000;
    let m = await metrics(f);
    while (m.get('vllm:request_success_total{finished_reason="abort"}') !== 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      m = await metrics(f);
    }
    expect(m.get('vllm:request_success_total{finished_reason="abort"}')).toBe(1);
    expect(m.get('vllm:num_requests_running')).toBe(0);
    expect(m.get('vllm:generation_tokens_total')).toBeLessThan(100);
  });

  it('close() ends open streams instead of waiting for them', async () => {
    const f = await startModelServerFixture({ port: 0, tokenLatencyMs: 200, tokensPerResponse: 1_000 });
    const res = await post(f, '/v1/chat/completions', chat('forever', { stream: true, model: undefined }));
    const reading = readSse(res).catch(() => 'cut');
    const t0 = performance.now();
    await f.close();
    expect(performance.now() - t0).toBeLessThan(2_000);
    await reading;
  });
});

describe('model-server fixture: CLI', () => {
  it('runs as a process, prints where it listens, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/model-server/main.ts', '--port', '0', '--served-model-name', 'cli-model', '--tokens-per-response', '2'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', () => reject(new Error('fixture exited before listening')));
      });
      const info = JSON.parse(line) as { event: string; url: string; port: number; model: string };
      expect(info).toMatchObject({ event: 'listening', model: 'cli-model' });
      expect(info.url).toBe(`http://127.0.0.1:${info.port}`);
      expect((await fetch(`${info.url}/health`)).status).toBe(200);
      const body = (await (await fetch(`${info.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: 'cli-model', prompt: 'x' }) })).json()) as TextCompletion;
      expect(body.usage.completion_tokens).toBe(2);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 30_000);

  it('refuses a non-loopback host', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/model-server/main.ts', '--host', '0.0.0.0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/loopback only/);
  }, 30_000);

  it('rejects a bad flag with usage', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/model-server/main.ts', '--port', 'eighty'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/--port must be a non-negative integer[\s\S]*usage:/);
  }, 30_000);
});
