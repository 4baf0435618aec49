// The Node the project pins (package.json: optionalDependencies node-linux-*, engines) is the one
// the tests run on, vitest's workers included: npm and npx put node_modules/.bin first on PATH.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const pinned = join(root, 'node_modules', '.bin', 'node');
const major = (version: string): number => Number(/^v?(\d+)/.exec(version)?.[1]);

describe('the pinned Node', () => {
  it.runIf(existsSync(pinned))('runs this test worker (node_modules/.bin/node)', () => {
    expect(process.version).toBe(execFileSync(pinned, ['--version'], { encoding: 'utf8' }).trim());
  });

  it.runIf(existsSync(pinned))("satisfies package.json's engines", () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toMatch(/^>=\d+$/);
    expect(major(process.version)).toBeGreaterThanOrEqual(major(pkg.engines.node.slice(2)));
  });
});
