// What every command action gets: the REST client for the resolved profile, the output format, the
// progress display, and the printers (stdout for results, stderr for progress and messages).
import type { Command } from 'commander';
import { RestClient } from './client.js';
import { describe, parseOutput, serialize, table, type Column, type OutputFormat } from './format.js';
import { resolveSettings, type Settings, waitTiming } from './profile.js';
import { displayMode, makeDisplay, type Display } from './progress.js';

export interface Ctx {
  client: RestClient;
  settings: Settings;
  output: OutputFormat;
  quiet: boolean;
  /** Poll interval of --wait (HEARTH_POLL_MS, default 2000). */
  pollMs: number;
  /** How long --wait waits before giving up (HEARTH_WAIT_TIMEOUT_SECONDS; 0: no limit). */
  waitTimeoutMs: number;
  out(text: string): void;
  err(text: string): void;
  display(): Display;
  /** A resource: `Key: value` lines, or JSON/YAML verbatim. */
  printResource(r: unknown): void;
  /** A list answer: a table of `items`, or the answer verbatim. */
  printList(answer: unknown, items: readonly Record<string, unknown>[], columns: readonly Column[]): void;
}

interface GlobalOpts {
  apiKey?: string;
  accountId?: string;
  baseUrl?: string;
  profile?: string;
  output?: string;
  dryRun?: boolean;
  quiet?: boolean;
}

export function ctxOf(cmd: Command): Ctx {
  const g = cmd.optsWithGlobals<GlobalOpts>();
  const output = parseOutput(g.output);
  const settings = resolveSettings({ apiKey: g.apiKey, accountId: g.accountId, baseUrl: g.baseUrl, profile: g.profile });
  const out = (t: string): void => void process.stdout.write(t.endsWith('\n') ? t : `${t}\n`);
  const err = (t: string): void => void process.stderr.write(t.endsWith('\n') ? t : `${t}\n`);
  const quiet = g.quiet === true;
  return {
    client: new RestClient({ baseUrl: settings.baseUrl, apiKey: settings.apiKey, accountId: settings.accountId, dryRun: g.dryRun === true, print: out }),
    settings,
    output,
    quiet,
    ...waitTiming(),
    out,
    err,
    display: () => makeDisplay(displayMode(quiet)),
    printResource: (r) => out(output === 'table' ? describe((r ?? {}) as Record<string, unknown>) : serialize(r, output)),
    printList: (answer, items, columns) => out(output === 'table' ? (items.length ? table(items, columns) : 'No resources found.') : serialize(answer, output)),
  };
}

/** A commander action that gets the context and its positional arguments; its number is the exit code. */
export function action(fn: (ctx: Ctx, args: (string | undefined)[], opts: Record<string, unknown>) => Promise<number | void>) {
  return async (...a: unknown[]): Promise<void> => {
    const cmd = a.at(-1) as Command;
    const opts = a.at(-2) as Record<string, unknown>;
    const code = await fn(ctxOf(cmd), a.slice(0, -2) as (string | undefined)[], opts);
    process.exitCode = code ?? 0;
  };
}
