// Hearth's one entry point: `node dist/main.js <mode>` (or `tsx src/main.ts <mode>`).
//
//   api        the REST facade /v1/accounts/*                        (src/modes/api.ts)
//   controller the controller manager and the autoscaler              (src/modes/controller.ts)
//   gateway    the inference edge /inference/v1/*                    (src/modes/gateway.ts)
//   all        every mode in one process
//   bootstrap  --account <id> --email <e-mail> [--display-name <n>] [--rotate-key]
//              the first account, its namespace, admin user and API key (src/modes/bootstrap.ts)
//   model-files the sidecar of model-server pods that accept addons: adapters' files into
//              /mnt/models (src/modes/model-files.ts; no Kubernetes, no database)
//
// This file is only the entry point: the process is src/modes/process.ts (parse the configuration
// → logger → Kubernetes config → database → the mode's services → wait for a signal), imported
// after the module shortcuts are registered (src/util/module-shortcuts.ts: without them, loading
// drizzle-orm under Node 24's ESM loader grows the heap by ~150 MiB of garbage it keeps as RSS).
// So nothing here imports what loads drizzle-orm statically; process.ts then imports each mode's
// modules only when that mode runs.
import { pathToFileURL } from 'node:url';
import { registerModuleShortcuts } from './util/module-shortcuts.js';

export { untilSignalOrFailure, type Service, type Signals } from './modes/service.js';

/** Runs the process for `argv` (mode and its arguments); the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return (await import('./modes/process.js')).main(argv, env);
}

const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isEntry) {
  registerModuleShortcuts();
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
