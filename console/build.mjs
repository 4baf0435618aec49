// Builds the web console (issue 17): console/src → dist/console/{index.html, app.js, app.css},
// one self-contained bundle (preact, uPlot and their CSS inside; nothing from a CDN), served by the
// API at /console (src/api/plugins/console.ts). Run by `npm run build:console`, which `npm test`,
// `npm run demo`, `npm run build` and the Dockerfile run. `--check` builds to memory only.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.env.HEARTH_CONSOLE_OUT ?? join(here, '..', 'dist', 'console');
const started = Date.now();
await mkdir(out, { recursive: true });
const result = await build({
  entryPoints: { app: join(here, 'src', 'main.tsx') },
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: out,
  metafile: true,
  logLevel: 'warning',
  legalComments: 'linked',
});
await copyFile(join(here, 'index.html'), join(out, 'index.html'));
const bytes = Object.entries(result.metafile.outputs).filter(([f]) => !f.endsWith('.map')).reduce((n, [, o]) => n + o.bytes, 0);
console.error(`[console] built ${out} (${Math.round(bytes / 1024)} KiB) in ${Date.now() - started} ms`);
