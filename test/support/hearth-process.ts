// Hearth as a real process (`tsx src/main.ts <mode>`), for tests that kill it: SIGKILL at any point,
// restart, read its log. Its output is kept (the last lines) for a failure's dump; `waitForLog`
// waits for a pino message (e.g. 'ready', 'metering started'). A seeded random source for chaos
// tests that must replay (`seededRandom`).
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { waitFor } from './wait.js';

const ROOT = resolve(import.meta.dirname, '../..');
const KEEP_LINES = 400;

export interface HearthProcessOptions {
  mode: 'api' | 'controller' | 'gateway' | 'all';
  /** Added to a minimal environment (PATH, HOME); Hearth reads nothing else. */
  env: Record<string, string>;
  /** A name in dumps. */
  name?: string;
}

export class HearthProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly startedAt = Date.now();
  readonly lines: Array<{ at: number; line: string }> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(o: HearthProcessOptions) {
    this.name = o.name ?? o.mode;
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', o.mode], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: string): void => {
      for (const line of d.split('\n')) {
        if (!line) continue;
        this.lines.push({ at: Date.now(), line });
        if (this.lines.length > KEEP_LINES) this.lines.shift();
      }
    };
    this.child.stdout!.setEncoding('utf8').on('data', keep);
    this.child.stderr!.setEncoding('utf8').on('data', keep);
    this.exited = new Promise((r) =>
      this.child.on('exit', (code, signal) => {
        this.#exit = { code, signal };
        r(this.#exit);
      }),
    );
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** When a log line with this pino `msg` was printed, if it was. */
  loggedAt(msg: string): number | undefined {
    const needle = `"msg":${JSON.stringify(msg)}`;
    return this.lines.find((l) => l.line.includes(needle))?.at;
  }

  /** Waits for a log line with this pino `msg`; fails early if the process exits. */
  async waitForLog(msg: string, timeoutMs = 60_000): Promise<number> {
    return waitFor(
      `${this.name}: log "${msg}"`,
      async () => {
        const at = this.loggedAt(msg);
        if (at !== undefined) return at;
        if (!this.running) throw new Error(`${this.name} exited ${JSON.stringify(this.#exit)} before logging "${msg}"`);
        return undefined;
      },
      { timeoutMs, intervalMs: 50, dump: async () => this.tail() },
    );
  }

  /** SIGKILL (no shutdown code runs), and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) this.child.kill(signal);
    await this.exited;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `timeoutMs`. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(t);
  }

  /** The last lines of its output, for a failure's dump. */
  tail(n = 40): string[] {
    return this.lines.slice(-n).map((l) => l.line.slice(0, 600));
  }

  /** Lines at level warn (40) or worse, for a failure's dump. */
  problems(): string[] {
    return this.lines.filter((l) => /"level":(4|5|6)\d/.test(l.line) || !l.line.startsWith('{')).map((l) => l.line.slice(0, 600));
  }
}

/**
 * A seeded pseudo-random source (mulberry32): the same seed replays the same kill points and
 * traffic. `seed` from the environment variable `envName` when set, else random; print it.
 */
export function seededRandom(envName: string): { seed: number; next(): number; int(lo: number, hi: number): number; pick<T>(xs: readonly T[]): T } {
  const fromEnv = process.env[envName];
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  let a = seed;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed,
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
  };
}

/** A number from the environment, else `fallback` (test knobs such as the kill count). */
export function envNumber(name: string, fallback: number): number {
  const v = process.env[name];
  const n = v === undefined || v === '' ? NaN : Number(v);
  return Number.isFinite(n) ? n : fallback;
}
