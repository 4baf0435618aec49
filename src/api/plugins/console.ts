// The web console at /console (issue 17 items 6–9): a static bundle (console/, built by
// `npm run build:console` into dist/console — by `npm test`'s and `npm run demo`'s pre-scripts and
// the Dockerfile) served by the API process. The bundle talks only to the REST API under /v1 with
// the user's API key (kept in the tab's sessionStorage), so the console shows exactly what the key
// may see. No bundle (a source checkout that never built it): every /console path answers 503
// with a page saying how to build it.
//
// Served with a strict Content-Security-Policy: scripts and styles from this origin only (no
// inline script or style elements, no eval), requests to this origin only, no framing.
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ApiError, ERROR_DOMAIN } from '../wire/errors.js';
import { sendError } from './errors.js';

export interface ConsoleOptions {
  /** The built bundle (index.html, app.js, app.css); default: dist/console of this checkout or build. */
  dir?: string;
}

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** dist/console at the root of this checkout: the same place from src/api/plugins and dist/api/plugins. */
export function defaultConsoleDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const fromSrc = here.includes(`${sep}src${sep}api${sep}`);
  return resolve(here, fromSrc ? '../../../dist/console' : '../../console');
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hearth console: not built</title></head>
<body><h1>The Hearth console is not built</h1>
<p>This server has no console bundle. Build it with <code>npm run build:console</code>
(<code>npm test</code>, <code>npm run demo</code> and the container image build it), then reload.</p>
<p>The REST API (<a href="/docs">/docs</a>) works without it.</p></body></html>
`;

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'no-cache');
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

export default async function consolePlugin(app: FastifyInstance, opts: ConsoleOptions): Promise<void> {
  const dir = resolve(opts.dir ?? defaultConsoleDir());
  const hide = { schema: { hide: true } as Record<string, unknown> };

  async function send(reply: FastifyReply, rel: string): Promise<FastifyReply> {
    secure(reply);
    if (!(await isFile(join(dir, 'index.html')))) return reply.code(503).type(TYPES['.html']!).send(NOT_BUILT);
    const path = resolve(dir, rel);
    // Only files inside the bundle; anything else (../, unknown names) is the app's own 404.
    if (!path.startsWith(dir + sep) || !(await isFile(path))) {
      return sendError(reply, new ApiError('NOT_FOUND', 'no such console file', [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ERR_NO_SUCH_FILE', domain: ERROR_DOMAIN }]));
    }
    return reply.type(TYPES[extname(path)] ?? 'application/octet-stream').send(await readFile(path));
  }

  // The router ignores a trailing slash: `/console` and `/console/` reach this one route. The page
  // must be at `/console/` for its relative asset URLs (app.js, app.css) to resolve.
  app.get('/console', hide, async (req, reply) => ((req.url.split('?')[0] ?? '').endsWith('/') ? send(reply, 'index.html') : secure(reply).redirect('/console/', 302)));
  app.get('/console/*', hide, async (req, reply) => send(reply, (req.params as { '*': string })['*']));
}
