// `hearth`: parse, run, and exit with a code scripts can trust — 0 success, 1 an API error (its
// code and message, and the fields it names), 2 bad usage (nothing sent), 130 Ctrl-C during a wait.
import { CommanderError } from 'commander';
import { DryRun } from './client.js';
import { EXIT, describeError } from './errors.js';
import { buildProgram } from './program.js';

/** Runs one command line (argv without node and the script); resolves to the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof DryRun) return EXIT.ok;
    if (e instanceof CommanderError) {
      // help and --version "fail" with exit code 0; usage errors were printed by commander.
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const { text, exitCode } = describeError(e);
    process.stderr.write(`${text}\n`);
    return exitCode;
  }
}

export async function main(): Promise<void> {
  const code = await run(process.argv.slice(2));
  process.exitCode = code;
}
