// One run against in-memory datasets and a fake gateway: every line answered once, bad lines
// answered with their error, the concurrency bound held, checkpoints resumed without duplicates.
import { describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from '../../util/fake-clock.js';
import { RESULTS_FILE } from './datasets.js';
import { MemoryDatasets } from './fake-datasets.js';
import type { Send, SendResult } from './inference.js';
import { JobRun, PartConflictError, type RunOptions } from './runner.js';

const A = 'acme';
const INPUT = { accountId: A, datasetId: 'questions' };
const OUTPUT = { accountId: A, datasetId: 'answers' };
const MODEL = 'accounts/fireworks/models/m';

const chat = (id: string, text = id) => JSON.stringify({ custom_id: id, body: { messages: [{ role: 'user', content: text }] } });
const jsonl = (...lines: string[]) => `${lines.join('\n')}\n`;

/** A gateway that answers each request when the test says (or at once with `auto`). */
class FakeGateway {
  readonly pending: Array<{ id: string; body: Record<string, unknown>; resolve: (r: SendResult) => void; signal: AbortSignal }> = [];
  readonly sent: string[] = [];
  maxInFlight = 0;
  #inFlight = 0;

  constructor(private readonly auto?: (body: Record<string, unknown>) => SendResult) {}

  readonly send: Send = (_account, _path, body, signal) => {
    const id = String((body.messages as Array<{ content: string }> | undefined)?.[0]?.content ?? body.prompt);
    this.sent.push(id);
    this.#inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
    return new Promise<SendResult>((resolve, reject) => {
      const done = (r: SendResult) => {
        this.#inFlight--;
        resolve(r);
      };
      signal.addEventListener('abort', () => {
        this.#inFlight--;
        reject(new Error('aborted'));
      });
      if (this.auto) queueMicrotask(() => done(this.auto!(body)));
      else this.pending.push({ id, body, resolve: done, signal });
    });
  };

  answer(n = this.pending.length): void {
    for (const p of this.pending.splice(0, n)) p.resolve({ ok: true, response: { answer: p.id } });
  }
}

function run(ds: MemoryDatasets, gw: FakeGateway, o: Partial<RunOptions> = {}): JobRun {
  return new JobRun({
    accountId: A,
    input: INPUT,
    output: OUTPUT,
    model: MODEL,
    defaults: {},
    concurrency: 2,
    checkpointLines: 2,
    checkpointMs: 60_000,
    bytes: ds,
    send: gw.send,
    clock: new FakeClock(0),
    ...o,
  });
}

function setup(input: string) {
  const ds = new MemoryDatasets();
  ds.add(INPUT, input);
  void ds.createOutput(OUTPUT, 'accounts/acme/batchInferenceJobs/j');
  return ds;
}

const byLine = (ds: MemoryDatasets) => ds.lines(OUTPUT, RESULTS_FILE).sort((a, b) => (a.line as number) - (b.line as number));

describe('JobRun', () => {
  it('answers every line once: responses, and errors for lines that are not JSON or not a request; the rest continues', async () => {
    const ds = setup(jsonl(chat('a'), '{not json', chat('b'), '{"custom_id": "c", "body": {}}', '', chat('d')));
    const gw = new FakeGateway((b) => ({ ok: true, response: { echo: (b.messages as Array<{ content: string }>)[0]?.content } }));
    const r = run(ds, gw);
    expect(await r.done).toBe('completed');
    expect(byLine(ds)).toEqual([
      { custom_id: 'a', line: 1, response: { echo: 'a' } },
      { line: 2, error: { code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^line 2 is not valid JSON/) as unknown } },
      { custom_id: 'b', line: 3, response: { echo: 'b' } },
      { custom_id: 'c', line: 4, error: { code: 'INVALID_ARGUMENT', message: 'line 4: body must have exactly one of messages (chat) or prompt (completion)' } },
      { custom_id: 'd', line: 6, response: { echo: 'd' } },
    ]);
    expect(r.progress).toEqual({ total: 5, succeeded: 3, failed: 2 });
  });

  it('a failed request is that line\'s error', async () => {
    const ds = setup(jsonl(chat('a'), chat('b')));
    const gw = new FakeGateway((b) =>
      (b.messages as Array<{ content: string }>)[0]?.content === 'a' ? { ok: false, error: { code: 'NOT_FOUND', message: 'Model not found' } } : { ok: true, response: {} },
    );
    await run(ds, gw).done;
    expect(byLine(ds).map((l) => l.error ?? 'ok')).toEqual([{ code: 'NOT_FOUND', message: 'Model not found' }, 'ok']);
  });

  it('never has more than `concurrency` requests in flight', async () => {
    const ds = setup(jsonl(...Array.from({ length: 20 }, (_, i) => chat(`q${i}`))));
    const gw = new FakeGateway();
    const r = run(ds, gw, { concurrency: 3, checkpointLines: 7 });
    for (let answered = 0; answered < 20; ) {
      await flushMicrotasks(30);
      expect(gw.pending.length).toBe(Math.min(3, 20 - answered));
      answered += gw.pending.length;
      gw.answer();
    }
    await r.done;
    expect(gw.maxInFlight).toBe(3);
    expect(ds.lines(OUTPUT, RESULTS_FILE)).toHaveLength(20);
    expect(ds.partWrites).toHaveLength(3); // 7 + 7 + 6
  });

  it('stop: what is answered is written, what is in flight is dropped; a new run resumes without answering a line twice', async () => {
    const ds = setup(jsonl(chat('a'), chat('b'), chat('c'), chat('d'), chat('e')));
    const gw = new FakeGateway();
    const first = run(ds, gw, { checkpointLines: 10 });
    await flushMicrotasks(20);
    expect(gw.sent).toEqual(['a', 'b']);
    gw.answer(1); // a answered; b still in flight
    await flushMicrotasks(20);
    first.stop();
    expect(await first.done).toBe('stopped');
    expect(byLine(ds).map((l) => l.custom_id)).toEqual(['a']);
    expect(first.progress).toEqual({ total: 5, succeeded: 1, failed: 0 });

    const gw2 = new FakeGateway((b) => ({ ok: true, response: { again: (b.messages as Array<{ content: string }>)[0]?.content } }));
    const second = run(ds, gw2);
    expect(await second.done).toBe('completed');
    expect(gw2.sent).toEqual(['b', 'c', 'd', 'e']);
    expect(byLine(ds).map((l) => l.custom_id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(second.progress).toEqual({ total: 5, succeeded: 5, failed: 0 });
  });

  it('checkpoints by time as well as by count', async () => {
    const ds = setup(jsonl(chat('a'), chat('b'), chat('c')));
    const gw = new FakeGateway();
    const clock = new FakeClock(0);
    const r = run(ds, gw, { checkpointLines: 100, checkpointMs: 1000, concurrency: 1, clock });
    await flushMicrotasks(20);
    gw.answer();
    await flushMicrotasks(20);
    expect(ds.partWrites).toEqual([]);
    clock.advance(1000);
    gw.answer();
    await flushMicrotasks(20);
    expect(ds.partWrites).toEqual(['acme/answers/results.jsonl#0']);
    gw.answer();
    await r.done;
    expect(ds.partWrites).toHaveLength(2);
  });

  it('a continuation copies the successful answers of the job it continues and re-runs only the failed lines', async () => {
    const ds = setup(jsonl(chat('a'), chat('b'), chat('c')));
    const prev = { accountId: A, datasetId: 'answers-1' };
    await ds.createOutput(prev, 'accounts/acme/batchInferenceJobs/first');
    await ds.writePart(prev, RESULTS_FILE, 0, Buffer.from(jsonl('{"custom_id":"a","line":1,"response":{"old":"a"}}', '{"custom_id":"b","line":2,"error":{"code":"UNAVAILABLE","message":"x"}}')));
    const gw = new FakeGateway((b) => ({ ok: true, response: { new: (b.messages as Array<{ content: string }>)[0]?.content } }));
    const r = run(ds, gw, { previous: prev });
    await r.done;
    expect(gw.sent).toEqual(['b', 'c']);
    expect(byLine(ds)).toEqual([
      { custom_id: 'a', line: 1, response: { old: 'a' } },
      { custom_id: 'b', line: 2, response: { new: 'b' } },
      { custom_id: 'c', line: 3, response: { new: 'c' } },
    ]);
    expect(r.progress).toEqual({ total: 3, succeeded: 3, failed: 0 });
  });

  it('another writer of the same part: the run fails (the next one starts from the output) and writes nothing more', async () => {
    const ds = setup(jsonl(chat('a'), chat('b')));
    const gw = new FakeGateway();
    const r = run(ds, gw, { checkpointLines: 1, concurrency: 1 });
    await flushMicrotasks(20);
    await ds.writePart(OUTPUT, RESULTS_FILE, 0, Buffer.from('{"custom_id":"a","line":1,"response":{}}\n'));
    gw.answer();
    await expect(r.done).rejects.toBeInstanceOf(PartConflictError);
    expect(ds.lines(OUTPUT, RESULTS_FILE)).toHaveLength(1);
  });
});
