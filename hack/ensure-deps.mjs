// Runs before `npm test` and `npm run demo` (npm's pre-scripts) so that the README's two commands
// work on a fresh clone: installs node_modules with `npm ci` when they are missing or were
// installed from another package-lock.json. Plain Node, no dependencies, runs on any Node ≥ 18.
//
// Node itself is pinned through the npm registry: the optional dependency node-linux-<cpu>
// (package.json) ships the Node 24 binary and links it as node_modules/.bin/node. npm puts
// node_modules/.bin first on PATH for every script, so `node`, tsx, vitest (and its workers),
// eslint and tsc all run on that Node, whatever Node the machine has. On a platform without such
// a package npm skips it (its os/cpu fields) and the scripts run on the system Node: warned below.
import { execFileSync, execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const stamp = join(root, 'node_modules', '.hearth-lock-hash');
const lock = createHash('sha256').update(readFileSync(join(root, 'package-lock.json'))).digest('hex');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const wanted = Number(/\d+/.exec(pkg.engines.node)?.[0]);
const major = (version) => Number(/^v?(\d+)/.exec(version)?.[1]);

if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== lock) {
  console.error('[deps] node_modules missing or out of date: npm ci');
  if (major(process.version) < wanted) {
    console.error(`[deps] (npm runs on Node ${process.version} for this install and may warn EBADENGINE; it installs Node ${wanted} for the scripts)`);
  }
  execSync('npm ci --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
  writeFileSync(stamp, lock);
}

const pinned = join(root, 'node_modules', '.bin', 'node');
if (existsSync(pinned)) {
  const version = execFileSync(pinned, ['--version'], { encoding: 'utf8' }).trim();
  if (major(version) < wanted) console.error(`[deps] warning: node_modules/.bin/node is ${version}, package.json's engines want ${pkg.engines.node}`);
} else if (major(process.version) < wanted) {
  console.error(
    `[deps] warning: no Node ${wanted} package for ${process.platform}/${process.arch} in node_modules (package.json's optionalDependencies); ` +
      `the scripts run on the system Node ${process.version}, which package.json's engines (${pkg.engines.node}) do not support`,
  );
}
