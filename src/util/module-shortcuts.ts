// A resolve hook for the process's entry point (src/main.ts; bench/deployments-controller.ts
// mirrors it) that spares Node's ESM loader a cost it pays per module of drizzle-orm.
//
// Node 24's loader finds a module's format ("type" in the nearest package.json) for every file it
// resolves, twice (resolve, then load), and each time deserializes that package.json whole —
// `exports` included. drizzle-orm's package.json is 179 KB (447 subpath exports): ~0.8 MiB of
// objects per lookup, ~170 MiB over the ~200 drizzle modules the process loads, and the scavenger
// cannot free them before the loading ends (measured: importing drizzle-orm/pg-core allocates
// 150 MiB under ESM, 9 MiB as CommonJS). V8 grows the heap to hold them and the process's RSS
// stays there: the controller mode's modules alone peaked at ~300 MiB, 155 MiB with this hook.
//
// The shortcut: a relative import from one of drizzle-orm's own files is resolved as the spec
// does it — the URL relative to its parent, no extension search — and given the format its one
// package.json declares ("type": "module"; it has no nested package.json, which a unit test
// checks), so the loader never reads the package.json for it. Every other import goes through
// Node's resolution as before. It only changes what the loader allocates, not what it loads.
import { registerHooks } from 'node:module';

/** Packages whose every `.js` file is an ES module under one package.json ("type": "module"). */
export const SHORTCUT_PACKAGES = ['drizzle-orm'] as const;

/** The URL of `specifier` imported from `parentURL` when the shortcut applies, else undefined. */
export function shortcutResolve(specifier: string, parentURL: string | undefined): string | undefined {
  if (!parentURL?.startsWith('file:') || !(specifier.startsWith('./') || specifier.startsWith('../')) || !specifier.endsWith('.js')) return undefined;
  const url = new URL(specifier, parentURL).href;
  for (const pkg of SHORTCUT_PACKAGES) {
    const root = `/node_modules/${pkg}/`;
    const at = parentURL.lastIndexOf(root);
    // The parent and the target both inside that package's directory (not a node_modules below it).
    if (at < 0) continue;
    const dir = parentURL.slice(0, at + root.length - 1); // …/node_modules/<pkg>, no trailing slash
    const inside = (u: string): boolean => u.startsWith(`${dir}/`) && !u.includes('/node_modules/', dir.length);
    if (inside(parentURL) && inside(url)) return url;
  }
  return undefined;
}

let registered = false;

/** Registers the shortcut once for this process (module.registerHooks: in-thread, synchronous). */
export function registerModuleShortcuts(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const url = shortcutResolve(specifier, context.parentURL);
      return url ? { url, format: 'module', shortCircuit: true } : nextResolve(specifier, context);
    },
  });
}
