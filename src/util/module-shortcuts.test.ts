import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SHORTCUT_PACKAGES, shortcutResolve } from './module-shortcuts.js';

const require = createRequire(import.meta.url);
const DZ = 'file:///app/node_modules/drizzle-orm/';

describe('shortcutResolve', () => {
  it.each([
    // Relative imports between drizzle-orm's own files: resolved against the parent.
    ['./column.js', `${DZ}sql/sql.js`, `${DZ}sql/column.js`],
    ['../entity.js', `${DZ}pg-core/columns/text.js`, `${DZ}pg-core/entity.js`],
    ['../column.js', `${DZ}sql/sql.js`, `${DZ}column.js`],
    // Everything else: Node's resolution.
    ['drizzle-orm', 'file:///app/dist/db/client.js', undefined],
    ['./client.js', 'file:///app/dist/db/index.js', undefined],
    ['pg', `${DZ}node-postgres/driver.js`, undefined],
    ['./index.cjs', `${DZ}sql/sql.js`, undefined],
    ['./dir', `${DZ}sql/sql.js`, undefined],
    ['../../x.js', `${DZ}sql/sql.js`, undefined], // leaves the package
    ['./a.js', 'file:///app/node_modules/drizzle-orm/node_modules/other/a.js', undefined], // a package below it
    ['./column.js', 'file:///app/node_modules/drizzle-orm-extra/column.js', undefined],
    ['./column.js', undefined, undefined],
  ])('%s from %s → %s', (specifier, parent, expected) => {
    expect(shortcutResolve(specifier, parent)).toBe(expected);
  });
});

describe.each(SHORTCUT_PACKAGES)('the installed %s fits the shortcut', (pkg) => {
  const root = dirname(require.resolve(pkg)); // its main entry (index.cjs) sits at the root
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' });

  it('declares "type": "module" in its one package.json (no nested one changes a format)', () => {
    expect((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { type?: string }).type).toBe('module');
    expect(files.filter((f) => f === 'package.json' || f.endsWith('/package.json'))).toEqual(['package.json']);
  });

  it('resolves the relative imports of its modules to the files Node resolves', () => {
    for (const entry of ['index.js', 'pg-core/index.js', 'sql/sql.js', 'node-postgres/driver.js']) {
      const parent = join(root, entry);
      const specs = [...readFileSync(parent, 'utf8').matchAll(/from "(\.{1,2}\/[^"]+\.js)"/g)].map((m) => m[1]!);
      expect(specs.length).toBeGreaterThan(0);
      for (const spec of specs) expect(shortcutResolve(spec, pathToFileURL(parent).href)).toBe(pathToFileURL(createRequire(parent).resolve(spec)).href);
    }
  });
});
