// One run of a batch inference job, in the controller process (on the leader only): every input
// line not yet answered in the output is sent through the gateway, at most `concurrency` at once,
// and its answer (the response, or the error for that line) appended to the output.
//
// Checkpoints: answers are appended in parts (every `checkpointLines` answers or `checkpointMs`,
// and when the run stops), each part written once (DatasetBytes.writePart). A run starts by reading
// the output: the lines found there are answered and are never sent again, so a controller restart
// (or a new leader) resumes where the last part ended and no line is answered twice. A request in
// flight when the run stops is dropped and sent again by the next run.
//
// A continuation (`previous`: the output of the job it continues) first copies that output's
// successful answers as its own first part, then runs the lines that failed or were never answered.
import type { Clock } from '../../util/clock.js';
import { RESULTS_FILE, type DatasetBytes, type DatasetRef } from './datasets.js';
import type { Send, SendResult } from './inference.js';
import { errorAnswer, parseLine, readAnswer, splitLines, successAnswer, type Answer, type LineRequest } from './lines.js';

export interface RunOptions {
  accountId: string;
  input: DatasetRef;
  output: DatasetRef;
  /** The output of the job this one continues. */
  previous?: DatasetRef;
  /** The model id sent in every request. */
  model: string;
  /** Job-wide request fields (lines.ts jobDefaults). */
  defaults: Record<string, unknown>;
  concurrency: number;
  checkpointLines: number;
  checkpointMs: number;
  bytes: DatasetBytes;
  send: Send;
  clock: Clock;
}

export interface Progress {
  /** Non-blank input lines, once counted. */
  total?: number;
  /** Answers in the output (durable), successful and failed. */
  succeeded: number;
  failed: number;
}

/** Another run wrote the part this one meant to write: two writers, stop and let the next pass start from the output. */
export class PartConflictError extends Error {
  constructor(part: number) {
    super(`part ${part} of the output was written by another run`);
    this.name = 'PartConflictError';
  }
}

export type RunOutcome = 'completed' | 'stopped';

export class JobRun {
  readonly progress: Progress = { succeeded: 0, failed: 0 };
  /** 'completed' when every line is answered, 'stopped' after stop(); rejects on a failure (the next pass starts a new run). */
  readonly done: Promise<RunOutcome>;
  readonly #abort = new AbortController();
  readonly #answered = new Set<number>();
  #buffer: Answer[] = [];
  #part = 0;
  #lastFlush: number;
  #flushing: Promise<void> = Promise.resolve();

  constructor(private readonly o: RunOptions) {
    this.#lastFlush = o.clock.now();
    this.done = this.#run();
    // The owner reads `done` when it polls; an unobserved rejection must not crash the process.
    this.done.catch(() => undefined);
  }

  /** Stops sending; what is answered is written. `done` then resolves 'stopped'. */
  stop(): void {
    this.#abort.abort(new Error('stopped'));
  }

  get stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  async #run(): Promise<RunOutcome> {
    await this.#readOutput();
    if (this.#part === 0 && this.o.previous) await this.#copyPrevious(this.o.previous);
    this.progress.total = await this.#count();
    await this.#sendAll();
    await this.#flush();
    await this.#flushing;
    return this.#abort.signal.aborted ? 'stopped' : 'completed';
  }

  /** Every line not answered yet: its error at once, or its request, at most `concurrency` in flight. */
  async #sendAll(): Promise<void> {
    const signal = this.#abort.signal;
    const inflight = new Set<Promise<void>>();
    const seen = new Map<string, number>();
    try {
      for await (const { line, text } of splitLines(this.o.bytes.read(this.o.input))) {
        if (signal.aborted) break;
        // Every line is parsed, answered or not, so custom_id repeats are judged the same on every run.
        const parsed = parseLine(text, line, { model: this.o.model, defaults: this.o.defaults, seen });
        if (this.#answered.has(line)) continue;
        if (!parsed.ok) {
          await this.#answer(errorAnswer(parsed.line, parsed.customId, parsed.error));
          continue;
        }
        while (inflight.size >= this.o.concurrency) await Promise.race(inflight);
        if (signal.aborted) break;
        const p = this.#send(parsed.request).finally(() => inflight.delete(p));
        inflight.add(p);
      }
    } finally {
      await Promise.allSettled(inflight);
    }
  }

  /** One request; its answer is buffered. A request stopped by stop() has no answer. */
  async #send(req: LineRequest): Promise<void> {
    const signal = this.#abort.signal;
    let r: SendResult;
    try {
      r = await this.o.send(this.o.accountId, req.path, req.body, signal);
    } catch (e) {
      if (signal.aborted) return;
      throw e;
    }
    await this.#answer(r.ok ? successAnswer(req, r.response) : errorAnswer(req.line, req.customId, r.error));
  }

  async #readOutput(): Promise<void> {
    for await (const part of this.o.bytes.readParts(this.o.output, RESULTS_FILE)) {
      this.#part++;
      for await (const { text } of splitLines(single(part))) {
        const a = readAnswer(text);
        if (a && !this.#answered.has(a.line)) this.#count1(a);
      }
    }
  }

  async #copyPrevious(previous: DatasetRef): Promise<void> {
    const kept: Answer[] = [];
    const lines = new Set<number>();
    for await (const { text } of splitLines(this.o.bytes.readParts(previous, RESULTS_FILE))) {
      const a = readAnswer(text);
      if (a?.ok && !lines.has(a.line)) {
        lines.add(a.line);
        kept.push(a);
      }
    }
    if (kept.length > 0) await this.#write(kept);
  }

  async #count(): Promise<number> {
    let n = 0;
    for await (const _ of splitLines(this.o.bytes.read(this.o.input))) n++;
    return n;
  }

  #count1(a: Answer): void {
    this.#answered.add(a.line);
    if (a.ok) this.progress.succeeded++;
    else this.progress.failed++;
  }

  async #answer(a: Answer): Promise<void> {
    this.#buffer.push(a);
    if (this.#buffer.length >= this.o.checkpointLines || this.o.clock.now() - this.#lastFlush >= this.o.checkpointMs) await this.#flush();
  }

  /** Appends what is buffered as the next part; parts are written one after another. */
  #flush(): Promise<void> {
    const batch = this.#buffer;
    this.#buffer = [];
    this.#lastFlush = this.o.clock.now();
    if (batch.length === 0) return this.#flushing;
    this.#flushing = this.#flushing.then(() => this.#write(batch));
    return this.#flushing;
  }

  async #write(batch: Answer[]): Promise<void> {
    const part = this.#part;
    const ok = await this.o.bytes.writePart(this.o.output, RESULTS_FILE, part, Buffer.from(batch.map((a) => `${a.text}\n`).join('')));
    if (!ok) {
      this.#abort.abort(new PartConflictError(part));
      throw new PartConflictError(part);
    }
    this.#part++;
    for (const a of batch) this.#count1(a);
  }
}

async function* single(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}
