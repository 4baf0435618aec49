import { describe, expect, it } from 'vitest';
import { JsonlValidator, checkExample, formatIssue, type JsonlSummary } from './jsonl.js';

const ex = (...messages: unknown[]) => JSON.stringify({ messages });
const sys = { role: 'system', content: 'You are a helpful assistant.' };
const user = (c = 'What is 1+1?') => ({ role: 'user', content: c });
const bot = (c = '2') => ({ role: 'assistant', content: c });

function run(text: string | Buffer, opts = {}, split?: number): JsonlSummary {
  const v = new JsonlValidator(opts);
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  const step = split ?? buf.length;
  for (let i = 0; i < buf.length; i += step) v.push(buf.subarray(i, i + step));
  return v.end();
}
const messages = (s: JsonlSummary) => s.issues.map(formatIssue);
const valid = [ex(sys, user('What is the capital of France?'), bot('Paris.')), ex(user(), bot(), user('Now what is 2+2?'), bot('4')), ex(user('hi'), bot('hello'))].join('\n');

describe('JsonlValidator', () => {
  it('accepts the docs’ example format and counts examples, tokens and turns', () => {
    const s = run(`${valid}\n`);
    expect(s.issues).toEqual([]);
    expect(s.examples).toBe(3);
    expect(s.lines).toBe(3);
    expect(s.averageTurnCount).toBeCloseTo(4 / 3);
    expect(s.estimatedTokens).toBeGreaterThan(9 * 4);
  });

  it('gives the same result however the bytes are split (UTF-8 and CRLF across chunks)', () => {
    const text = [ex(user('héllo 🌍'), bot('¡hola!')), ex(user(), bot()), ex(user('x'), bot('y'))].join('\r\n') + '\r\n';
    const whole = run(text);
    expect(whole.issues).toEqual([]);
    for (const step of [1, 2, 3, 7, 64]) expect(run(text, {}, step)).toEqual(whole);
  });

  it('skips blank lines: neither examples nor errors, but line numbers count them', () => {
    const s = run(`\n${ex(user(), bot())}\n   \n${ex(user(), bot())}\n\n${JSON.stringify({ messages: [{ role: 'robot', content: 'x' }] })}\n\n`);
    expect(s.examples).toBe(3);
    expect(messages(s)).toEqual(['line 6: messages[0].role: must be one of system, user, assistant']);
  });

  it('needs at least 3 examples', () => {
    const s = run([ex(user(), bot()), ex(user(), bot())].join('\n'));
    expect(messages(s)).toEqual(['the file must contain at least 3 examples; it has 2']);
    expect(run('').issues[0]!.rule).toContain('at least 3 examples; it has 0');
  });

  it('names the line and the rule: broken JSON, non-objects, missing or malformed messages', () => {
    const lines = [
      ex(user(), bot()),
      '{"messages": [',
      '[1,2]',
      '{"prompt": "x"}',
      '{"messages": "hi"}',
      '{"messages": []}',
      ex(user(), { role: 'tool', content: 'x' }),
      ex(user(), sys),
      ex({ content: 'x' }, { role: 'user' }, { role: 'assistant', content: 7 }, 'nope'),
    ];
    const s = run(lines.join('\n'));
    expect(messages(s)).toEqual([
      expect.stringMatching(/^line 2: is not valid JSON \(/),
      'line 3: must be a JSON object with a messages array, not an array',
      'line 4: messages: is required',
      'line 5: messages: must be an array of {role, content} messages, not a string',
      'line 6: messages: must contain at least one message',
      'line 7: messages[1].role: must be one of system, user, assistant',
      'line 8: messages[1].role: system is allowed only as the first message',
      'line 9: messages[0].role: is required',
      'line 9: messages[1].content: is required',
      'line 9: messages[2].content: must be a string or a list of content parts, not a number',
      'line 9: messages[3]: must be an object {role, content}, not a string',
    ]);
    expect(s.issues.map((i) => i.reason)).toEqual(['JSON', 'TYPE', 'REQUIRED', 'TYPE', 'MIN', 'ENUM', 'ORDER', 'REQUIRED', 'REQUIRED', 'TYPE', 'TYPE']);
  });

  it('accepts the multimodal content form and extra keys (metadata such as ground_truth)', () => {
    const img = { role: 'user', content: [{ type: 'text', text: 'What is in this image?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] };
    const s = run([JSON.stringify({ messages: [img, bot('A cat.')], ground_truth: 'cat' }), ex(user(), bot()), ex(user(), bot())].join('\n'));
    expect(s.issues).toEqual([]);
    const bad = checkExample({ messages: [{ role: 'user', content: [{ type: 'audio' }, { type: 'image_url', image_url: {} }, { type: 'text' }] }] });
    expect(bad.issues.map((i) => `${i.path}: ${i.rule}`)).toEqual([
      'messages[0].content[0].type: must be one of text, image_url',
      'messages[0].content[1].image_url.url: must be a non-empty string',
      'messages[0].content[2].text: is required',
    ]);
  });

  it('caps the errors it lists, and still counts the rest of the file', () => {
    const s = run(Array.from({ length: 50 }, () => '{').join('\n'), { maxErrors: 5 });
    expect(s.issues).toHaveLength(5);
    expect(s.issues.map((i) => i.line)).toEqual([1, 2, 3, 4, 5]);
    expect(s.examples).toBe(50);
  });

  it('reports invalid UTF-8 and over-long lines without holding them', () => {
    const bad = Buffer.concat([Buffer.from(`${ex(user(), bot())}\n`), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), Buffer.from(`${'x'.repeat(300)}\n${ex(user(), bot())}\n`)]);
    const s = run(bad, { maxLineBytes: 120 }, 10);
    expect(messages(s)).toEqual(['line 2: is not valid UTF-8', 'line 3: is longer than 120 bytes']);
    expect(s.examples).toBe(4);
  });

  it('enforces the maximum example count', () => {
    const s = run([ex(user(), bot()), ex(user(), bot()), ex(user(), bot())].join('\n'), { maxExamples: 2 });
    expect(messages(s)).toEqual(['the file must contain at most 2 examples; it has 3']);
  });
});

describe('batch inference input lines', () => {
  it('accepts {custom_id, body} chat and completion requests; names what a bad one lacks', () => {
    const lines = [
      JSON.stringify({ custom_id: 'a', body: { messages: [user('hi')], max_tokens: 5 } }),
      JSON.stringify({ custom_id: 'b', body: { prompt: 'Once upon a time' } }),
      JSON.stringify({ custom_id: 'c', body: { prompt: ['x', 'y'] } }),
    ];
    expect(run(`${lines.join('\n')}\n`).issues).toEqual([]);
    expect(checkExample({ custom_id: 'a' }).issues).toEqual([{ path: 'body', rule: 'must be a request object with exactly one of messages (chat) or prompt (completion)', reason: 'REQUIRED' }]);
    expect(checkExample({ custom_id: '', body: { prompt: 3 } }).issues.map((i) => i.path)).toEqual(['custom_id', 'body.prompt']);
    expect(checkExample({ custom_id: 'a', body: { messages: [{ role: 'robot', content: 'x' }] } }).issues.map((i) => i.path)).toEqual(['body.messages[0].role']);
  });
});
