import { describe, expect, it } from 'vitest';
import { SseUsageTap } from './sse.js';

const ev = (data: unknown): string => `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
const token = (t: string) => ev({ id: 'x', choices: [{ index: 0, delta: { content: t } }] });
const usage = ev({ id: 'x', choices: [], usage: { prompt_tokens: 3, completion_tokens: 7, total_tokens: 10 } });

describe('SseUsageTap', () => {
  it('observing: forwards every chunk as is and reads the usage', () => {
    const tap = new SseUsageTap(false);
    const chunks = [token('a'), token('b'), usage, ev('[DONE]')].map((s) => Buffer.from(s));
    for (const c of chunks) expect(tap.push(c)).toBe(c);
    expect(tap.end().length).toBe(0);
    expect(tap.usage).toEqual({ prompt_tokens: 3, completion_tokens: 7, total_tokens: 10 });
  });

  it('stripping: removes the usage-only chunk and forwards the rest event by event', () => {
    const tap = new SseUsageTap(true);
    const out = [token('a'), token('b'), usage, ev('[DONE]')].map((s) => tap.push(Buffer.from(s)).toString());
    expect(out).toEqual([token('a'), token('b'), '', ev('[DONE]')]);
    expect(tap.usage?.completion_tokens).toBe(7);
  });

  it('stripping: an event split across reads is forwarded when complete, usage split too', () => {
    const tap = new SseUsageTap(true);
    const all = token('a') + usage + ev('[DONE]');
    const cut1 = 10;
    const cut2 = token('a').length + 20;
    const parts = [all.slice(0, cut1), all.slice(cut1, cut2), all.slice(cut2)];
    const out = parts.map((p) => tap.push(Buffer.from(p)).toString());
    expect(out[0]).toBe('');
    expect(out[1]).toBe(token('a'));
    expect(out[2]).toBe(ev('[DONE]'));
    expect(tap.end().length).toBe(0);
    expect(tap.usage?.completion_tokens).toBe(7);
  });

  it('observing: finds a usage split across reads', () => {
    const tap = new SseUsageTap(false);
    tap.push(Buffer.from(usage.slice(0, 15)));
    tap.push(Buffer.from(usage.slice(15)));
    expect(tap.usage?.completion_tokens).toBe(7);
  });

  it('keeps chunks that carry usage next to choices (continuous usage stats)', () => {
    const tap = new SseUsageTap(true);
    const withUsage = ev({ id: 'x', choices: [{ index: 0, delta: { content: 'a' } }], usage: { completion_tokens: 1 } });
    expect(tap.push(Buffer.from(withUsage)).toString()).toBe(withUsage);
  });
});
