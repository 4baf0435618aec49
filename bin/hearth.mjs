#!/usr/bin/env node
// The `hearth` CLI launcher. In a checkout (src/cli/main.ts and tsx, a dev dependency, present) it
// runs the TypeScript source, so it never runs a stale build; in the image (no src/, no tsx) the
// compiled dist/cli/main.js.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'cli', 'main.ts');
let entry = join(root, 'dist', 'cli', 'main.js');
if (existsSync(source)) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    entry = source;
  } catch {
    // no tsx (production dependencies only): the compiled CLI
  }
}
const { main } = await import(pathToFileURL(entry).href);
await main();
