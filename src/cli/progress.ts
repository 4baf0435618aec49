// Progress for everything that takes time. On a terminal (stderr is a TTY) a cli-progress bar
// redrawn in place; otherwise one plain line per change, so logs and CI output stay readable.
// Progress goes to stderr: stdout keeps only the result (`-o json` stays parseable).
//
// Waiting polls the REST resource; Ctrl-C stops the waiting, never the operation (nothing is
// cancelled: the process exits 130 saying how to look again).
import { SingleBar } from 'cli-progress';
import { EXIT } from './errors.js';

export interface ProgressState {
  /** 0..1 when known: the bar's fill. */
  fraction?: number;
  /** What is happening, e.g. `CREATING · replicas 0/1 ready`. */
  line: string;
  /** When this changes, a plain display prints a line (default: the line itself). */
  key?: string;
}

export interface Display {
  update(s: ProgressState): void;
  /** Ends the display; `last` is printed as a plain line after it. */
  stop(last?: string): void;
}

export type DisplayMode = 'tty' | 'plain' | 'none';

/** `HEARTH_PROGRESS=tty|plain|none` wins; --quiet is none; else tty when stderr is a terminal. */
export function displayMode(quiet: boolean, stream: NodeJS.WriteStream = process.stderr, env: NodeJS.ProcessEnv = process.env): DisplayMode {
  if (quiet) return 'none';
  const forced = env.HEARTH_PROGRESS;
  if (forced === 'tty' || forced === 'plain' || forced === 'none') return forced;
  return stream.isTTY ? 'tty' : 'plain';
}

class PlainDisplay implements Display {
  private last?: string;
  constructor(private readonly write: (s: string) => void) {}
  update(s: ProgressState): void {
    const key = s.key ?? s.line;
    if (key === this.last) return;
    this.last = key;
    this.write(`${s.line}\n`);
  }
  stop(last?: string): void {
    if (last) this.write(`${last}\n`);
  }
}

class BarDisplay implements Display {
  private readonly bar: SingleBar;
  private started = false;
  constructor(private readonly stream: NodeJS.WriteStream) {
    this.bar = new SingleBar({
      stream,
      format: '{bar} {percentage}% | {status}',
      barCompleteChar: '\u2588',
      barIncompleteChar: '\u2591',
      hideCursor: true,
      forceRedraw: true,
      noTTYOutput: true,
      etaBuffer: 20,
      fps: 10,
    });
  }
  update(s: ProgressState): void {
    const value = Math.round((s.fraction ?? 0) * 1000);
    if (!this.started) {
      this.bar.start(1000, value, { status: s.line });
      this.started = true;
    } else this.bar.update(value, { status: s.line });
  }
  stop(last?: string): void {
    if (this.started) this.bar.stop();
    if (last) this.stream.write(`${last}\n`);
  }
}

export function makeDisplay(mode: DisplayMode, stream: NodeJS.WriteStream = process.stderr): Display {
  if (mode === 'tty') return new BarDisplay(stream);
  if (mode === 'plain') return new PlainDisplay((s) => stream.write(s));
  return { update: () => undefined, stop: () => undefined };
}

/** One poll's verdict. */
export interface Observation {
  state: ProgressState;
  /** Stop waiting: success. */
  done?: boolean;
  /** Stop waiting: the operation failed (the message says why). */
  failed?: string;
}

export interface WaitOptions {
  display: Display;
  intervalMs: number;
  /** e.g. `deployment my-dep`: for the Ctrl-C message. */
  what: string;
  /** How to look again, e.g. `hearth get deployment my-dep`. */
  lookAgain: string;
  /** Stop after this long (0 = never). */
  timeoutMs?: number;
}

export type WaitResult<T> = { outcome: 'done'; last: T } | { outcome: 'failed'; last: T; message: string } | { outcome: 'interrupted' } | { outcome: 'timeout'; last?: T };

/**
 * Polls until `observe` says done or failed. Ctrl-C (SIGINT) ends the wait as `interrupted`;
 * the operation itself is left alone.
 */
export async function waitUntil<T>(poll: () => Promise<T>, observe: (r: T) => Observation, o: WaitOptions): Promise<WaitResult<T>> {
  const abort = new AbortController();
  const onInt = (): void => abort.abort();
  process.once('SIGINT', onInt);
  const deadline = o.timeoutMs ? Date.now() + o.timeoutMs : Infinity;
  let last: T | undefined;
  try {
    while (!abort.signal.aborted) {
      last = await poll();
      const seen = observe(last);
      o.display.update(seen.state);
      if (seen.done) return { outcome: 'done', last };
      if (seen.failed !== undefined) return { outcome: 'failed', last, message: seen.failed };
      if (Date.now() >= deadline) return { outcome: 'timeout', last };
      await sleep(o.intervalMs, abort.signal);
    }
    return { outcome: 'interrupted' };
  } finally {
    process.removeListener('SIGINT', onInt);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/** Exit status and last line for a wait's result. */
export function finishWait<T>(r: WaitResult<T>, o: WaitOptions): { exitCode: number; message?: string } {
  switch (r.outcome) {
    case 'done':
      o.display.stop();
      return { exitCode: EXIT.ok };
    case 'failed':
      o.display.stop();
      return { exitCode: EXIT.api, message: `error: ${o.what}: ${r.message}` };
    case 'timeout':
      o.display.stop();
      return { exitCode: EXIT.api, message: `error: timed out waiting for ${o.what}; it goes on: \`${o.lookAgain}\`` };
    case 'interrupted':
      o.display.stop();
      return { exitCode: EXIT.interrupted, message: `stopped waiting (Ctrl-C); ${o.what} goes on: \`${o.lookAgain}\`` };
  }
}
