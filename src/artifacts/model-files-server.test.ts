// The model-files sidecar over a real loopback HTTP source: streams files into place, atomically
// (a failed download leaves what was there, and no half-written directory), checks sizes, refuses
// ids and names that could leave the root and URLs that are not the source's signed URL of the file.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startModelFilesServer, type ModelFilesServer } from './model-files-server.js';

/** The source: serves `files` at the signed-URL path; `lie` makes it send the weights wrong. */
const files = new Map<string, Buffer>();
let lie: 'short' | 'long' | 'status' | undefined;
let requests = 0;
let source: Server;
let sourceUrl = '';

beforeAll(async () => {
  source = createServer((req, res) => {
    requests++;
    const u = new URL(req.url ?? '/', 'http://x');
    const m = /^\/api\/v1-files\/models\/([^/]+)\/([^/]+)\/(.+)$/.exec(u.pathname);
    const body = m ? files.get(decodeURIComponent(m[3]!)) : undefined;
    const lying = m ? decodeURIComponent(m[3]!) === 'adapter_model.safetensors' : false;
    if (!body || (lying && lie === 'status')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"gone"}');
      return;
    }
    // No content-length: the sidecar must count what arrives.
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    if (lying && lie === 'short') res.end(body.subarray(0, body.length - 1));
    else if (lying && lie === 'long') res.end(Buffer.concat([body, Buffer.from('x')]));
    else {
      // In two chunks: streamed, not buffered in one piece.
      res.write(body.subarray(0, body.length >> 1));
      setImmediate(() => res.end(body.subarray(body.length >> 1)));
    }
  });
  await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
  sourceUrl = `http://127.0.0.1:${(source.address() as AddressInfo).port}/api`;
});
afterAll(() => new Promise<void>((r) => source.close(() => r())));

let root = '';
let sidecar: ModelFilesServer;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'hearth-model-files-'));
  sidecar = await startModelFilesServer({ root, sourceUrl, port: 0, mountPath: '/mnt/models' });
  files.clear();
  files.set('adapter_config.json', Buffer.from('{"r":8,"target_modules":["q_proj"]}'));
  files.set('adapter_model.safetensors', randomBytes(300_000));
  lie = undefined;
  requests = 0;
});
afterEach(async () => {
  await sidecar.close();
  await rm(root, { recursive: true, force: true });
});

const urlOf = (account: string, model: string, name: string, size: number): string =>
  `${sourceUrl}/v1-files/models/${account}/${model}/${encodeURIComponent(name)}?size=${size}&expires=9999999999999&signature=abc`;
const bodyFor = (account = 'acme', model = 'sql-lora') => ({
  files: Object.fromEntries([...files].map(([n, b]) => [n, { url: urlOf(account, model, n, b.length), size: b.length }])),
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${sidecar.url}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A request with the path sent as written (fetch would resolve `..` and `%2e%2e` first). */
function rawCall(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${sidecar.url}/`, { method, path, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const listDir = async (p: string): Promise<string[]> => (await readdir(p, { recursive: true })).sort();

describe('model-files sidecar', () => {
  it('streams the files into <root>/<account>/<model>/ and says where the model server finds them', async () => {
    const r = await call('PUT', '/v1/model-files/acme/sql-lora', bodyFor());
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({ path: '/mnt/models/acme/sql-lora', files: { 'adapter_config.json': files.get('adapter_config.json')!.length, 'adapter_model.safetensors': 300_000 }, downloaded: true });
    for (const [name, bytes] of files) expect((await readFile(join(root, 'acme', 'sql-lora', name))).equals(bytes)).toBe(true);
    expect(await listDir(join(root, '.staging'))).toEqual([]);
    expect((await call('GET', '/v1/model-files/acme/sql-lora')).body).toMatchObject({ path: '/mnt/models/acme/sql-lora' });
  });

  it('a second PUT of the same files fetches nothing (a restarted model server reloads from disk)', async () => {
    await call('PUT', '/v1/model-files/acme/sql-lora', bodyFor());
    const before = requests;
    const again = await call('PUT', '/v1/model-files/acme/sql-lora', bodyFor());
    expect(again.body).toMatchObject({ downloaded: false });
    expect(requests).toBe(before);
  });

  it('nested file names land in subdirectories', async () => {
    files.set('original/params.json', Buffer.from('{}'));
    expect((await call('PUT', '/v1/model-files/acme/sql-lora', bodyFor())).status).toBe(200);
    expect(await readFile(join(root, 'acme', 'sql-lora', 'original', 'params.json'), 'utf8')).toBe('{}');
  });

  it.each([
    ['short', 'sent 299999 bytes; 300000 were expected'],
    ['long', 'more than the 300000 bytes expected'],
    ['status', 'the source answered 404'],
  ] as const)('a source that lies (%s): 502 naming the file; nothing half-written, the previous files stay', async (how, message) => {
    const first = await call('PUT', '/v1/model-files/acme/sql-lora', bodyFor());
    expect(first.status).toBe(200);
    // New weights of the same model id (same size: a fresh directory is wanted → drop the old one's file).
    await rm(join(root, 'acme', 'sql-lora', 'adapter_model.safetensors'));
    lie = how;
    const r = await call('PUT', '/v1/model-files/acme/sql-lora', bodyFor());
    expect(r.status).toBe(502);
    const got = (r.body.error as { message: string }).message;
    expect(got.startsWith('adapter_model.safetensors: '), got).toBe(true);
    expect(got).toContain(message);
    // What was there (the config; the weights were removed by hand above) is untouched, and no staging is left.
    expect(await listDir(join(root, 'acme', 'sql-lora'))).toEqual(['adapter_config.json']);
    expect(await listDir(join(root, '.staging'))).toEqual([]);
  });

  it('a download that fails never creates the model directory', async () => {
    lie = 'short';
    expect((await call('PUT', '/v1/model-files/acme/other', bodyFor('acme', 'other'))).status).toBe(502);
    await expect(stat(join(root, 'acme', 'other'))).rejects.toThrow(/ENOENT/);
    expect((await call('GET', '/v1/model-files/acme/other')).status).toBe(404);
  });

  it('DELETE removes the directory, and is idempotent', async () => {
    await call('PUT', '/v1/model-files/acme/sql-lora', bodyFor());
    expect((await call('DELETE', '/v1/model-files/acme/sql-lora')).status).toBe(200);
    await expect(stat(join(root, 'acme', 'sql-lora'))).rejects.toThrow(/ENOENT/);
    expect((await call('DELETE', '/v1/model-files/acme/sql-lora')).status).toBe(200);
  });

  it.each([
    ['/v1/model-files/..%2F..%2Fetc/sql-lora', 'account'],
    ['/v1/model-files/acme/..', 'model'],
    ['/v1/model-files/acme/%2e%2e', 'model'],
    ['/v1/model-files/Acme/sql-lora', 'account'],
    ['/v1/model-files/acme/sql_lora', 'model'],
  ])('path traversal and bad ids are refused: %s → 400 naming %s', async (path, field) => {
    for (const method of ['PUT', 'DELETE', 'GET']) {
      const r = await rawCall(method, path, method === 'PUT' ? bodyFor() : undefined);
      expect(r.status, `${method} ${path}`).toBe(400);
      expect((r.body.error as { message: string }).message.startsWith(field)).toBe(true);
    }
    expect(await listDir(root)).toEqual(['.staging']);
  });

  it.each([
    ['a file name leaving the directory', () => ({ '../evil': { url: urlOf('acme', 'sql-lora', '../evil', 1), size: 1 } }), 'files["../evil"]: the file name'],
    ['an absolute file name', () => ({ '/etc/passwd': { url: urlOf('acme', 'sql-lora', '/etc/passwd', 1), size: 1 } }), 'files["/etc/passwd"]'],
    ['a URL of another host', () => ({ 'a.json': { url: 'http://169.254.169.254/latest/meta-data?size=1', size: 1 } }), 'files["a.json"].url: must be'],
    ['another model\'s URL', () => ({ 'a.json': { url: urlOf('acme', 'other', 'a.json', 1), size: 1 } }), 'files["a.json"].url: must be'],
    ['another account\'s URL', () => ({ 'a.json': { url: urlOf('evil', 'sql-lora', 'a.json', 1), size: 1 } }), 'files["a.json"].url: must be'],
    ['another file\'s URL', () => ({ 'a.json': { url: urlOf('acme', 'sql-lora', 'b.json', 1), size: 1 } }), 'files["a.json"].url: must be'],
    ['a URL signed for another size', () => ({ 'a.json': { url: urlOf('acme', 'sql-lora', 'a.json', 2), size: 1 } }), 'files["a.json"].url: is signed for another size'],
    ['a negative size', () => ({ 'a.json': { url: urlOf('acme', 'sql-lora', 'a.json', -1), size: -1 } }), 'files["a.json"].size'],
    ['no files', () => ({}), 'files: at least one'],
  ])('refuses %s with 400 naming the field', async (_what, f, message) => {
    const r = await call('PUT', '/v1/model-files/acme/sql-lora', { files: f() });
    expect(r.status).toBe(400);
    expect((r.body.error as { message: string }).message).toContain(message);
    expect(requests).toBe(0);
  });

  it('a body that is not JSON, another method, another path', async () => {
    const res = await fetch(`${sidecar.url}/v1/model-files/acme/sql-lora`, { method: 'PUT', body: 'nope' });
    expect(res.status).toBe(400);
    expect((await call('POST', '/v1/model-files/acme/sql-lora', {})).status).toBe(405);
    expect((await call('GET', '/v1/other')).status).toBe(404);
    expect((await call('GET', '/healthz')).status).toBe(200);
  });

  it('concurrent PUTs of one model download once and leave one complete directory', async () => {
    const all = await Promise.all([1, 2, 3].map(() => call('PUT', '/v1/model-files/acme/sql-lora', bodyFor())));
    expect(all.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(all.filter((r) => r.body.downloaded === true)).toHaveLength(1);
    expect(await listDir(join(root, 'acme', 'sql-lora'))).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
  });
});
