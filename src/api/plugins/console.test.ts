// /console: the bundle's files with the strict CSP, the redirect to /console/, 404 outside the
// bundle (no path traversal), and the 503 page (also under the CSP) when the bundle is not built.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import consolePlugin, { CONSOLE_CSP, defaultConsoleDir } from './console.js';

let dir: string;
let empty: string;
let built: FastifyInstance;
let unbuilt: FastifyInstance;

async function appFor(d: string): Promise<FastifyInstance> {
  const app = Fastify({ routerOptions: { ignoreTrailingSlash: true } });
  await app.register(consolePlugin, { dir: d });
  return app;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-console-'));
  empty = await mkdtemp(join(tmpdir(), 'hearth-console-empty-'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><script type="module" src="app.js"></script>');
  await writeFile(join(dir, 'app.js'), 'console.log(1)');
  await writeFile(join(dir, 'app.css'), 'body{}');
  await writeFile(join(tmpdir(), 'hearth-console-secret.txt'), 'TOP-SECRET-CONTENT');
  built = await appFor(dir);
  unbuilt = await appFor(empty);
});

afterAll(async () => {
  await built?.close();
  await unbuilt?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(empty, { recursive: true, force: true });
});

describe('/console', () => {
  it('redirects /console to /console/ and serves index.html there under the strict CSP', async () => {
    const r = await built.inject({ method: 'GET', url: '/console' });
    expect(r.statusCode).toBe(302);
    expect(r.headers.location).toBe('/console/');
    const page = await built.inject({ method: 'GET', url: '/console/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    expect(CONSOLE_CSP).not.toContain('unsafe-eval');
    expect(page.headers['x-frame-options']).toBe('DENY');
  });

  it('serves the bundle with content types; 404 for unknown files and for paths out of the bundle', async () => {
    const js = await built.inject({ method: 'GET', url: '/console/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toContain('text/javascript');
    expect((await built.inject({ method: 'GET', url: '/console/app.css' })).headers['content-type']).toContain('text/css');
    const missing = await built.inject({ method: 'GET', url: '/console/nope.js' });
    expect(missing.statusCode).toBe(404);
    // In the API's error format like every other failure (the REST fuzz found a text/plain body).
    expect(JSON.parse(missing.body)).toMatchObject({ code: 5, details: [{ reason: 'ERR_NO_SUCH_FILE' }] });
    for (const url of ['/console/../hearth-console-secret.txt', '/console/%2e%2e/hearth-console-secret.txt', '/console/..%2fhearth-console-secret.txt']) {
      const r = await built.inject({ method: 'GET', url });
      expect(r.statusCode, url).not.toBe(200);
      expect(r.body).not.toContain('TOP-SECRET-CONTENT');
    }
  });

  it('answers 503 with how to build it when there is no bundle', async () => {
    for (const url of ['/console/', '/console/app.js']) {
      const r = await unbuilt.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(503);
      expect(r.body).toContain('npm run build:console');
      expect(r.headers['content-security-policy']).toBe(CONSOLE_CSP);
    }
  });

  it('looks for the bundle in dist/console of the checkout by default', () => {
    expect(defaultConsoleDir()).toMatch(/dist[\\/]console$/);
  });
});
