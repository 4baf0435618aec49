// Runs before `npm test` and `npm run demo` (npm's pre-scripts) so that the README's two commands
// work on a fresh clone: installs node_modules with `npm ci` when they are missing or were
// installed from another package-lock.json. Plain Node, no dependencies.
import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const stamp = join(root, 'node_modules', '.hearth-lock-hash');
const lock = createHash('sha256').update(readFileSync(join(root, 'package-lock.json'))).digest('hex');

if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== lock) {
  console.error('[deps] node_modules missing or out of date: npm ci');
  execSync('npm ci --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
  writeFileSync(stamp, lock);
}
