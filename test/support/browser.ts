// A real headless Chromium for the console's end-to-end test: Debian's `chromium` package
// (installed by hack/ensure-chromium.sh when missing), driven by playwright-core. When Chromium
// cannot be had, `chromiumPath()` says why and the test SKIPS LOUDLY (a banner on stderr and a
// skipped test in the report), never passes silently.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where Chromium is, installing it first when missing; or the reason there is none. */
export function chromiumPath(): { path: string } | { missing: string } {
  const path = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    try {
      execFileSync('bash', [join(root, 'hack', 'ensure-chromium.sh')], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 15 * 60_000 });
    } catch (e) {
      return { missing: `hack/ensure-chromium.sh failed: ${(e as Error).message}` };
    }
  }
  return existsSync(path) ? { path } : { missing: `${path} is missing after hack/ensure-chromium.sh` };
}

export function loudSkip(what: string, why: string): void {
  const line = '!'.repeat(100);
  console.error(`\n${line}\n!! SKIPPED: ${what}\n!! ${why}\n!! Install Chromium (apt-get install -y chromium, or set HEARTH_CHROMIUM) to run it.\n${line}\n`);
}

/** Builds the console bundle from this tree into `out` (the test serves what the source says now). */
export function buildConsole(out: string): void {
  execFileSync(process.execPath, [join(root, 'console', 'build.mjs')], { env: { ...process.env, HEARTH_CONSOLE_OUT: out }, stdio: ['ignore', 'inherit', 'inherit'] });
}

/** test-output/<suite>/ at the root of the checkout (gitignored): screenshots and the bundle. */
export const testOutput = (suite: string): string => join(root, 'test-output', suite);
