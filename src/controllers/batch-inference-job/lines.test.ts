import { describe, expect, it } from 'vitest';
import { answerText, errorAnswer, jobDefaults, parseLine, readAnswer, splitLines, successAnswer } from './lines.js';

const MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const parse = (text: string, seen = new Map<string, number>(), defaults: Record<string, unknown> = {}) => parseLine(text, 3, { model: MODEL, defaults, seen });

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('parseLine: a line of the documented input format', () => {
  it('a chat request goes to /chat/completions with the job model, stream off', () => {
    const r = parse(JSON.stringify({ custom_id: 'q1', body: { messages: [{ role: 'user', content: 'hi' }], model: 'other', stream: true } }));
    expect(r).toEqual({ ok: true, request: { line: 3, customId: 'q1', path: '/chat/completions', body: { messages: [{ role: 'user', content: 'hi' }], model: MODEL, stream: false } } });
  });

  it('a completion request goes to /completions; the line wins over the job parameters', () => {
    const r = parse(JSON.stringify({ custom_id: 'c', body: { prompt: 'Once', max_tokens: 5 } }), new Map(), { max_tokens: 64, temperature: 0 });
    expect(r.ok && r.request).toEqual({ line: 3, customId: 'c', path: '/completions', body: { prompt: 'Once', max_tokens: 5, temperature: 0, model: MODEL, stream: false } });
  });

  const bad: Array<[string, string, string | undefined, RegExp]> = [
    ['not JSON', '{"custom_id": "x", ', undefined, /line 3 is not valid JSON/],
    ['not an object', '[1, 2]', undefined, /must be a JSON object/],
    ['no custom_id', '{"body": {"prompt": "x"}}', undefined, /custom_id is required/],
    ['custom_id not a string', '{"custom_id": 7, "body": {"prompt": "x"}}', undefined, /custom_id is required/],
    ['no body', '{"custom_id": "a"}', 'a', /body is required/],
    ['both messages and prompt', '{"custom_id": "a", "body": {"prompt": "x", "messages": []}}', 'a', /exactly one of messages/],
    ['neither', '{"custom_id": "a", "body": {"max_tokens": 3}}', 'a', /exactly one of messages/],
    ['empty messages', '{"custom_id": "a", "body": {"messages": []}}', 'a', /non-empty array/],
    ['a message without role', '{"custom_id": "a", "body": {"messages": [{"content": "x"}]}}', 'a', /messages\[0\] must be an object with a role/],
    ['prompt a number', '{"custom_id": "a", "body": {"prompt": 4}}', 'a', /prompt must be a string/],
  ];
  it.each(bad)('%s → that line\'s INVALID_ARGUMENT error', (_, text, customId, message) => {
    const r = parse(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.line).toBe(3);
    expect(r.customId).toBe(customId);
    expect(r.error.code).toBe('INVALID_ARGUMENT');
    expect(r.error.message).toMatch(message);
  });

  it('a custom_id used twice: the second line is the error, naming the first', () => {
    const seen = new Map<string, number>();
    expect(parseLine('{"custom_id": "a", "body": {"prompt": "x"}}', 1, { model: MODEL, defaults: {}, seen }).ok).toBe(true);
    const r = parseLine('{"custom_id": "a", "body": {"prompt": "y"}}', 2, { model: MODEL, defaults: {}, seen });
    expect(!r.ok && r.error.message).toBe('line 2: custom_id "a" is already used on line 1');
  });
});

describe('jobDefaults', () => {
  it('maps inferenceParameters to request fields; extraBody underneath them', () => {
    expect(jobDefaults({ maxTokens: 10, topP: 0.5, topK: 4, n: 2, temperature: 1, extraBody: '{"stop": ["\\n"], "max_tokens": 99}' })).toEqual({
      stop: ['\n'],
      max_tokens: 10,
      top_p: 0.5,
      top_k: 4,
      n: 2,
      temperature: 1,
    });
    expect(jobDefaults(undefined)).toEqual({});
  });

  it('refuses an extraBody that is not a JSON object', () => {
    expect(() => jobDefaults({ extraBody: '[1]' })).toThrow('inferenceParameters.extraBody must be a JSON object');
    expect(() => jobDefaults({ extraBody: '{' })).toThrow('inferenceParameters.extraBody is not valid JSON');
  });
});

describe('answers', () => {
  it('success and error lines carry custom_id and line, and read back', () => {
    const ok = successAnswer({ line: 2, customId: 'a', path: '/completions', body: {} }, { id: 'cmpl' });
    expect(JSON.parse(ok.text)).toEqual({ custom_id: 'a', line: 2, response: { id: 'cmpl' } });
    expect(readAnswer(ok.text)).toEqual({ line: 2, customId: 'a', ok: true, text: ok.text });
    const err = errorAnswer(5, undefined, { code: 'INVALID_ARGUMENT', message: 'm' });
    expect(JSON.parse(err.text)).toEqual({ line: 5, error: { code: 'INVALID_ARGUMENT', message: 'm' } });
    expect(readAnswer(err.text)).toEqual({ line: 5, ok: false, text: err.text });
    expect(readAnswer('{"line": 0}')).toBeUndefined();
    expect(readAnswer('nope')).toBeUndefined();
    expect(answerText({ line: 1, error: { code: 'X', message: 'y' } })).toBe('{"line":1,"error":{"code":"X","message":"y"}}');
  });
});

describe('splitLines', () => {
  it('numbers every line, skips blank ones, joins lines split across chunks (UTF-8 included), keeps a last line without newline', async () => {
    const euro = Buffer.from('€');
    async function* parts(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('a\n\n  \nb');
      yield Buffer.concat([Buffer.from('c'), euro.subarray(0, 1)]);
      yield Buffer.concat([euro.subarray(1), Buffer.from('\r\nd')]);
    }
    expect(await collect(splitLines(parts()))).toEqual([
      { line: 1, text: 'a' },
      { line: 4, text: 'bc€' },
      { line: 5, text: 'd' },
    ]);
    expect(await collect(splitLines(chunks('')))).toEqual([]);
    expect(await collect(splitLines(chunks('x\n')))).toEqual([{ line: 1, text: 'x' }]);
  });
});
