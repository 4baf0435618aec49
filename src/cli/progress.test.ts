import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from './errors.js';
import { displayMode, finishWait, makeDisplay, waitUntil, type Observation } from './progress.js';

/** A stream that records what is written; `isTTY` as asked. */
function stream(isTTY: boolean): NodeJS.WriteStream & { text: () => string } {
  const s = new PassThrough() as unknown as NodeJS.WriteStream & { text: () => string };
  let text = '';
  s.write = ((c: string) => ((text += c), true)) as typeof s.write;
  Object.assign(s, { isTTY, columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true, text: () => text });
  return s;
}

describe('progress display', () => {
  it('the mode: --quiet, HEARTH_PROGRESS, else whether stderr is a terminal', () => {
    expect(displayMode(true, stream(true), {})).toBe('none');
    expect(displayMode(false, stream(true), {})).toBe('tty');
    expect(displayMode(false, stream(false), {})).toBe('plain');
    expect(displayMode(false, stream(false), { HEARTH_PROGRESS: 'tty' })).toBe('tty');
  });

  it('plain: one line per change (by key), then the last message', () => {
    const s = stream(false);
    const d = makeDisplay('plain', s);
    for (const line of ['CREATING · 0/1', 'CREATING · 0/1', 'READY · 1/1']) d.update({ line });
    d.update({ line: 'x 10%', key: '1' });
    d.update({ line: 'x 11%', key: '1' });
    d.stop('done');
    expect(s.text()).toBe('CREATING · 0/1\nREADY · 1/1\nx 10%\ndone\n');
  });

  it('tty: a bar with the percentage and the status line', () => {
    const s = stream(true);
    const d = makeDisplay('tty', s);
    d.update({ fraction: 0.5, line: 'CREATING · replicas 1/2 ready' });
    d.stop();
    expect(s.text()).toContain('\u2588');
    expect(s.text()).toContain('50% | CREATING · replicas 1/2 ready');
  });
});

describe('waitUntil', () => {
  afterEach(() => process.removeAllListeners('SIGINT'));
  const seq = (states: Observation[]) => {
    let i = 0;
    return { poll: async () => i++, observe: (n: number) => states[Math.min(n, states.length - 1)]! };
  };
  const opts = () => ({ display: makeDisplay('none'), intervalMs: 1, what: 'deployment d', lookAgain: 'hearth get deployment d' });

  it('polls until done', async () => {
    const { poll, observe } = seq([{ state: { line: 'a' } }, { state: { line: 'b' } }, { state: { line: 'c' }, done: true }]);
    const r = await waitUntil(poll, observe, opts());
    expect(r).toEqual({ outcome: 'done', last: 2 });
    expect(finishWait(r, opts())).toEqual({ exitCode: EXIT.ok });
  });

  it('a failure ends the wait with exit 1 and the reason', async () => {
    const { poll, observe } = seq([{ state: { line: 'a' } }, { state: { line: 'F' }, failed: 'quota h100' }]);
    const r = await waitUntil(poll, observe, opts());
    expect(finishWait(r, opts())).toEqual({ exitCode: EXIT.api, message: 'error: deployment d: quota h100' });
  });

  it('Ctrl-C stops waiting (exit 130) and says how to look again; nothing else is called', async () => {
    let polls = 0;
    const p = waitUntil(async () => polls++, () => ({ state: { line: 'CREATING' } }), { ...opts(), intervalMs: 60_000 });
    process.emit('SIGINT'); // while the first poll is in flight
    const r = await p;
    expect(r).toEqual({ outcome: 'interrupted' });
    expect(polls).toBe(1);
    expect(finishWait(r, opts())).toEqual({ exitCode: 130, message: 'stopped waiting (Ctrl-C); deployment d goes on: `hearth get deployment d`' });
    expect(process.listenerCount('SIGINT')).toBe(0);
  });

  it('a timeout ends the wait with exit 1', async () => {
    const r = await waitUntil(async () => 0, () => ({ state: { line: 'x' } }), { ...opts(), timeoutMs: 5, intervalMs: 2 });
    expect(r.outcome).toBe('timeout');
    expect(finishWait(r, opts()).exitCode).toBe(EXIT.api);
  });
});
