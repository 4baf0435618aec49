// @ts-check
// Lint: the recommended rules, type-aware promise rules, ARCHITECTURE §8's layer directions, and
// STYLE's size budgets (warnings). `npm run lint` fails on errors only.
import { readdirSync } from 'node:fs';
import { posix } from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { SIZE_BUDGET_EXCEPTIONS } from './eslint.exceptions.js';

const root = import.meta.dirname;

// ---------------------------------------------------------------------------------------------
// Layers (shared/design/ARCHITECTURE.md §8). Arrows point down only:
//   main.ts, config.ts, modes/             wiring (may import anything)
//   api/   gateway/   controllers/<kind>/  edges: never each other; sibling controllers never each other
//   cli/                                   an edge of its own: a REST client only, it imports util/ and nothing else
//   controllers/runtime/                   shared by every controller; no controller of its own
//   kube/  auth/  db/  artifacts/  log.ts  services every edge may use
//   crds/  fleet/  util/                   the bottom: names, rules, arithmetic
// Enforced with no-restricted-imports on the relative import string, for each folder and depth, so
// `../../api/x.js` from src/controllers/deployment/ is caught exactly. Tests (*.test.ts) may wire
// layers together (a gateway test may feed the autoscaler); test doubles may not.
// ---------------------------------------------------------------------------------------------
const EDGES = ['api', 'gateway', 'controllers', 'cli'];
const WIRING = ['main', 'config', 'modes'];
const SERVICES = ['kube', 'auth', 'db', 'artifacts', 'log'];
const BOTTOM = ['crds', 'fleet', 'util'];
/** Controller folders other than the runtime: each a kind (or the autoscaler, metering). */
const CONTROLLERS = readdirSync(`${root}/src/controllers`, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'runtime')
  .map((d) => d.name);

/** What a folder under src/ may not import (folder names under src/, or controllers/<name>). */
const FORBIDDEN = {
  api: ['gateway', 'controllers', 'cli', ...WIRING],
  gateway: ['api', 'controllers', 'cli', ...WIRING],
  // The CLI speaks to Hearth over REST only (no side doors): no server code, no kube, no database.
  cli: ['api', 'gateway', 'controllers', ...WIRING, ...SERVICES, 'crds', 'fleet'],
  'controllers/runtime': ['api', 'gateway', 'cli', ...CONTROLLERS.map((c) => `controllers/${c}`), 'controllers/manager', ...WIRING],
  ...Object.fromEntries(
    CONTROLLERS.map((c) => [
      `controllers/${c}`,
      ['api', 'gateway', 'cli', ...CONTROLLERS.filter((o) => o !== c).map((o) => `controllers/${o}`), 'controllers/manager', ...WIRING],
    ]),
  ),
  ...Object.fromEntries(SERVICES.filter((s) => s !== 'log').map((s) => [s, [...EDGES, ...WIRING]])),
  ...Object.fromEntries(BOTTOM.map((b) => [b, [...EDGES, ...WIRING, ...SERVICES]])),
};

// Not '-': the patterns are compiled with the u flag, where `\-` outside a class is invalid (and a
// controller folder such as deployed-model has one).
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Blocks for files `depth` folders below src/ in `folder`: the import that reaches src/<target>. */
function layerBlocks() {
  const blocks = [];
  for (const [folder, targets] of Object.entries(FORBIDDEN)) {
    for (let extra = 0; extra <= 3; extra++) {
      // The import string that reaches src/<target> from a file `extra` folders below src/<folder>.
      const from = ['src', ...folder.split('/'), ...Array(extra).fill('_')].join('/');
      const patterns = targets.map((t) => {
        const rel = posix.relative(from, `src/${t}`);
        return {
          // e.g. `../../api/x.js`, `../../config.js`, or `../metering/…` between sibling controllers
          regex: `^${esc(rel.startsWith('.') ? rel : `./${rel}`)}(?:/|\\.js$)`,
          message: `src/${folder} may not import src/${t} (ARCHITECTURE §8: arrows point down; api, gateway and each controller never import each other — share it through crds/, fleet/, kube/, auth/ or util/).`,
        };
      });
      blocks.push({
        files: [`src/${folder}/${'*/'.repeat(extra)}*.ts`],
        ignores: ['**/*.test.ts'],
        rules: { 'no-restricted-imports': ['error', { patterns }] },
      });
    }
  }
  // Single-file modules at the top of src/: log.ts is a service, the wiring may import anything.
  blocks.push({
    files: ['src/log.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...EDGES, ...WIRING].map((t) => ({ regex: `^\\./${esc(t)}(?:/|\\.js$)`, message: `src/log.ts may not import src/${t} (ARCHITECTURE §8).` })) }] },
  });
  blocks.push({
    files: ['src/controllers/manager.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['api', 'gateway', ...WIRING].map((t) => ({ regex: `^\\.\\./${esc(t)}(?:/|\\.js$)`, message: `the controller manager may not import src/${t} (ARCHITECTURE §8).` })) }] },
  });
  return blocks;
}

export default tseslint.config(
  { ignores: ['dist/', '.bench-dist/', 'node_modules/', 'coverage/', '.hearth/', 'test/fixtures/lint/', 'test-output/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  // Type-aware: a promise nobody awaits or handles is a lost error (or an unhandled rejection that
  // kills the process); a promise where a callback's void is expected is the same bug, one step away.
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: root } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  ...layerBlocks(),
  // STYLE's size budgets (R7, after Pepr): warnings for new code. The functions that exceed them
  // today are listed by file in eslint.exceptions.js — a list to shrink, not to grow.
  {
    files: ['src/**/*.ts'],
    ignores: ['**/*.test.ts', ...SIZE_BUDGET_EXCEPTIONS],
    rules: {
      complexity: ['warn', 10],
      'max-depth': ['warn', 3],
      'max-params': ['warn', 4],
      'max-statements': ['warn', 20],
    },
  },
);
