// The `hearth` command tree (commander): firectl's verbs and nouns, the global flags, and the
// modules that fill them. No action runs here; main.ts parses and maps failures to exit codes.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { registerAccounts } from './commands/accounts.js';
import { registerCluster } from './commands/cluster.js';
import { registerDatasets } from './commands/datasets.js';
import { registerDeployments } from './commands/deployments.js';
import { registerGeneric } from './commands/generic.js';
import { registerJobs } from './commands/jobs.js';
import { registerModels } from './commands/models.js';
import { bashCompletion, zshCompletion } from './completion.js';
import { UsageError } from './errors.js';

/** The package's version (package.json sits two folders up from src/cli and from dist/cli alike). */
export const VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();

const VERBS = {
  create: 'Create a resource.',
  get: 'Print one resource.',
  list: 'List resources.',
  update: 'Update fields of a resource (only the flags given).',
  delete: 'Delete a resource.',
  scale: 'Scale a deployment to a fixed replica count.',
  undelete: 'Undelete a soft-deleted deployment.',
  cancel: 'Cancel a job.',
  resume: 'Resume a job.',
  connect: 'Connect an environment to a node pool.',
  disconnect: 'Disconnect an environment.',
} as const;
type VerbName = keyof typeof VERBS;

export function buildProgram(): Command {
  const program = new Command('hearth')
    .description("Hearth's command line, in firectl's image: every command is a call of Hearth's REST API.")
    .version(VERSION, '--version')
    .option('--api-key <key>', 'API key (else HEARTH_API_KEY, else the profile).')
    .option('-a, --account-id <id>', 'Account id (else HEARTH_ACCOUNT_ID, else the profile).')
    .option('--base-url <url>', 'Hearth API base URL (else HEARTH_BASE_URL, else the profile, else http://127.0.0.1:8080).')
    .option('-p, --profile <name>', 'Profile of ~/.hearth/auth.ini (else HEARTH_PROFILE, else default).')
    .addOption(new Option('-o, --output <format>', 'Output: table (text), json or yaml.').default('table'))
    .option('--dry-run', 'Print the request instead of sending it.')
    .option('-q, --quiet', 'No progress output.')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  program.configureOutput({ outputError: (str, write) => write(str) });

  const verbs = Object.fromEntries(Object.entries(VERBS).map(([name, summary]) => [name, program.command(name).summary(summary).description(summary)])) as Record<VerbName, Command>;
  registerDeployments(verbs);
  registerModels(program, verbs);
  registerDatasets(verbs);
  registerJobs(program, verbs);
  registerCluster(verbs);
  registerAccounts(program, verbs);
  registerGeneric({ create: verbs.create, get: verbs.get, list: verbs.list, update: verbs.update, delete: verbs.delete });

  program
    .command('completion')
    .summary('Print a shell completion script: source <(hearth completion bash).')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      if (shell === 'bash') process.stdout.write(bashCompletion(program));
      else if (shell === 'zsh') process.stdout.write(zshCompletion(program));
      else throw new UsageError(`completion: "${shell}" is not bash or zsh`);
    });
  program
    .command('version')
    .summary('Print the version.')
    .action(() => void process.stdout.write(`hearth ${VERSION}\n`));
  return program;
}
