// The REST facade's datasets against a real PostgreSQL (no cluster needed): create → multipart
// upload of a valid 3-example file → READY with exampleCount "3" → get, list, filter; invalid files
// (2 examples, a bad role, broken JSON on line 2, no messages) → 400 naming the line and the rule,
// the dataset still UPLOADING and no bytes kept; another account → 404; the signed-URL flow (upload,
// validate, download); delete removes the stored file; and a 64 MiB upload streamed into the
// artifact store (a filesystem store here; test/integration/artifacts-api.test.ts runs the flows on
// S3 too) with memory bounded.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { FsArtifactStore } from '../../src/artifacts/index.js';
import { createLogger } from '../../src/log.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import type { Database } from '../../src/db/client.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { callApi } from '../support/api.js';

const suffix = randomBytes(3).toString('hex');
const ACME = `ds-acme-${suffix}`;
const GLOBEX = `ds-globex-${suffix}`;
const dbName = `hearth_t_api_datasets_${suffix}`;

let database: Database;
let app: FastifyInstance;
let dir: string;
let store: FsArtifactStore;
const keys: Record<string, string> = {};

const ds = (account: string, id = '') => `/v1/accounts/${account}/datasets${id ? `/${id}` : ''}`;

async function call(method: string, url: string, account: string | null, payload?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return callApi(app, method, url, account ? keys[account] : undefined, payload);
}

const BOUNDARY = '----hearth-integration';
const partHead = (name: string) =>
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
const partTail = `\r\n--${BOUNDARY}--\r\n`;

async function upload(account: string, id: string, body: string | Readable, name = 'train.jsonl'): Promise<{ status: number; body: Record<string, unknown> }> {
  const payload = typeof body === 'string' ? Buffer.from(`${partHead(name)}${body}${partTail}`) : body;
  const res = await app.inject({
    method: 'POST',
    url: `${ds(account, id)}:upload`,
    headers: { authorization: `Bearer ${keys[account]}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    payload,
  });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
}

/** What the artifact store holds for a dataset: objects and their bytes. */
async function stored(account: string, id: string): Promise<{ objects: number; bytes: number }> {
  const objects = await store.list(`datasets/${account}/${id}/`);
  return { objects: objects.length, bytes: objects.reduce((n, o) => n + o.size, 0) };
}

const msg = (role: string, content: string) => ({ role, content });
const line = (...m: object[]) => JSON.stringify({ messages: m });
const VALID = [
  line(msg('system', 'You are a helpful assistant.'), msg('user', 'What is the capital of France?'), msg('assistant', 'Paris.')),
  line(msg('user', 'What is 1+1?'), msg('assistant', '2'), msg('user', 'Now what is 2+2?'), msg('assistant', '4')),
  line(msg('user', 'Hello!'), msg('assistant', 'Hi there!')),
].join('\n');

beforeAll(async () => {
  database = await createScratchDatabase(dbName);
  for (const a of [ACME, GLOBEX]) keys[a] = (await bootstrap(database.db, { accountId: a, email: `admin@${a}.example` })).apiKey!.key;
  dir = mkdtempSync(join(tmpdir(), 'hearth-api-datasets-'));
  store = new FsArtifactStore(dir);
  await store.init();
  app = await buildApp({ db: database.db, artifacts: store, logger: createLogger({ level: 'silent' }), rateLimit: false, datasets: { uploadUrlSecret: `secret-${suffix}`, publicBaseUrl: 'http://hearth.test' } });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await database?.close();
  await dropScratchDatabase(dbName);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('datasets on PostgreSQL', () => {
  it('create → upload a valid 3-example file → READY with exampleCount "3" → get, list, filter', async () => {
    const created = await call('POST', ds(ACME), ACME, { dataset: { displayName: 'SFT train', format: 'CHAT' }, datasetId: 'train' });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ name: `accounts/${ACME}/datasets/train`, state: 'UPLOADING', userUploaded: {}, createdBy: `admin@${ACME}.example` });

    const up = await upload(ACME, 'train', `${VALID}\n`);
    expect(up.status, JSON.stringify(up.body)).toBe(200);
    expect(up.body).toMatchObject({ id: 'train', filename: 'train.jsonl', bytes: Buffer.byteLength(`${VALID}\n`) });

    const got = await call('GET', ds(ACME, 'train'), ACME);
    expect(got.body).toMatchObject({ state: 'READY', exampleCount: '3', format: 'CHAT', displayName: 'SFT train' });
    expect(got.body.estimatedTokenCount).toMatch(/^[1-9]\d*$/);
    expect(await stored(ACME, 'train')).toEqual({ objects: 1, bytes: Buffer.byteLength(`${VALID}\n`) });

    await call('POST', ds(ACME), ACME, { dataset: { displayName: 'empty' }, datasetId: 'pending' });
    const list = await call('GET', ds(ACME), ACME);
    expect(list.body.totalSize).toBe(2);
    expect((list.body.datasets as { name: string }[]).map((d) => d.name)).toEqual([`accounts/${ACME}/datasets/pending`, `accounts/${ACME}/datasets/train`]);
    const ready = await call('GET', `${ds(ACME)}?filter=${encodeURIComponent('state = READY')}`, ACME);
    expect(ready.body).toMatchObject({ datasets: [{ name: `accounts/${ACME}/datasets/train`, exampleCount: '3' }], totalSize: 1 });
    const counted = await call('GET', `${ds(ACME)}?filter=${encodeURIComponent('exampleCount = "3"')}&readMask=name`, ACME);
    expect(counted.body).toEqual({ datasets: [{ name: `accounts/${ACME}/datasets/train` }], totalSize: 1 });
  });

  it('answers invalid files with 400 naming the line and the rule; the dataset stays UPLOADING with nothing stored', async () => {
    await call('POST', ds(ACME), ACME, { dataset: {}, datasetId: 'broken' });
    const [l1, l2, l3] = VALID.split('\n');
    const cases: [string, string, string][] = [
      ['2 examples', `${l1}\n${l2}\n`, 'the file must contain at least 3 examples; it has 2'],
      ['bad role', `${l1}\n${line(msg('user', 'hi'), msg('bot', 'hello'))}\n${l3}\n`, 'line 2: messages[1].role: must be one of system, user, assistant'],
      ['broken JSON on line 2', `${l1}\n{"messages": [{"role": "user"\n${l3}\n`, 'line 2: is not valid JSON'],
      ['missing messages', `${l1}\n${l2}\n${JSON.stringify({ prompt: 'x', completion: 'y' })}\n`, 'line 3: messages: is required'],
    ];
    for (const [what, file, want] of cases) {
      const r = await upload(ACME, 'broken', file);
      expect(r.status, what).toBe(400);
      expect(r.body.code, what).toBe(3);
      expect(r.body.message, what).toContain(want);
      const violations = (r.body.details as { fieldViolations?: { field: string; description: string }[] }[])[0]!.fieldViolations!;
      expect(violations.some((v) => v.field === 'file' && v.description.includes(want)), what).toBe(true);
      expect((await call('GET', ds(ACME, 'broken'), ACME)).body.state, what).toBe('UPLOADING');
      expect(await stored(ACME, 'broken'), what).toEqual({ objects: 0, bytes: 0 });
    }
  });

  it("answers another account's datasets with 404, never data", async () => {
    for (const [m, u, p] of [
      ['GET', ds(ACME, 'train'), undefined],
      ['GET', ds(ACME), undefined],
      ['PATCH', ds(ACME, 'train'), { displayName: 'x' }],
      ['DELETE', ds(ACME, 'train'), undefined],
      ['POST', `${ds(ACME, 'train')}:validateUpload`, {}],
      ['POST', `${ds(ACME, 'train')}:getUploadEndpoint`, { filenameToSize: { 'a.jsonl': '1' } }],
    ] as const) {
      const r = await call(m, u, GLOBEX, p);
      expect(r.status, `${m} ${u}`).toBe(404);
      expect(r.body.code).toBe(5);
      expect(JSON.stringify(r.body)).not.toContain('SFT train');
    }
    expect((await upload(GLOBEX, 'train', VALID)).status).toBe(404);
    // GLOBEX's own collection does not see ACME's dataset.
    expect((await call('GET', ds(GLOBEX), GLOBEX)).body).toEqual({ datasets: [], totalSize: 0 });
    expect((await call('GET', ds(ACME, 'train'), null)).status).toBe(401);
  });

  it('signed URL flow: getUploadEndpoint → PUT without a key → validateUpload → READY', async () => {
    await call('POST', ds(ACME), ACME, { dataset: {}, datasetId: 'signed' });
    const size = Buffer.byteLength(VALID);
    const ep = await call('POST', `${ds(ACME, 'signed')}:getUploadEndpoint`, ACME, { filenameToSize: { 'data.jsonl': String(size) } });
    expect(ep.status).toBe(200);
    const url = new URL((ep.body.filenameToSignedUrls as Record<string, string>)['data.jsonl']!);
    expect(url.origin).toBe('http://hearth.test');
    const put = await app.inject({ method: 'PUT', url: `${url.pathname}${url.search}`, headers: { 'content-type': 'application/octet-stream' }, payload: VALID });
    expect(put.statusCode, put.body).toBe(200);
    expect((await call('GET', ds(ACME, 'signed'), ACME)).body.state).toBe('UPLOADING');
    expect((await call('POST', `${ds(ACME, 'signed')}:validateUpload`, ACME, {})).status).toBe(200);
    expect((await call('GET', ds(ACME, 'signed'), ACME)).body).toMatchObject({ state: 'READY', exampleCount: '3' });
    const dl = await call('GET', `${ds(ACME, 'signed')}:getDownloadEndpoint`, ACME);
    const dlUrl = new URL((dl.body.filenameToSignedUrls as Record<string, string>)['data.jsonl']!);
    const got = await app.inject({ method: 'GET', url: `${dlUrl.pathname}${dlUrl.search}` });
    expect(got.statusCode).toBe(200);
    expect(got.body).toBe(VALID);
  });

  it('delete answers {} and removes the stored file', async () => {
    expect((await stored(ACME, 'train')).objects).toBeGreaterThan(0);
    const del = await call('DELETE', ds(ACME, 'train'), ACME);
    expect(del).toEqual({ status: 200, body: {} });
    expect(await stored(ACME, 'train')).toEqual({ objects: 0, bytes: 0 });
    expect((await call('GET', ds(ACME, 'train'), ACME)).status).toBe(404);
  });

  it('streams a 64 MiB upload into the store without holding the file in memory', async () => {
    await call('POST', ds(ACME), ACME, { dataset: {}, datasetId: 'big' });
    const example = `${line(msg('user', `Question ${'q'.repeat(400)}`), msg('assistant', `Answer ${'a'.repeat(600)}`))}\n`;
    // HEARTH_TEST_DATASET_MIB: a larger file, to see that memory does not grow with it.
    const target = Number(process.env.HEARTH_TEST_DATASET_MIB ?? 64) * 1024 * 1024;
    const count = Math.ceil(target / Buffer.byteLength(example));
    const bytes = count * Buffer.byteLength(example);
    const block = Buffer.from(example.repeat(256));
    async function* body(): AsyncGenerator<Buffer> {
      yield Buffer.from(partHead('big.jsonl'));
      let left = count;
      while (left > 0) {
        const n = Math.min(256, left);
        yield n === 256 ? block : Buffer.from(example.repeat(n));
        left -= n;
      }
      yield Buffer.from(partTail);
    }
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const started = performance.now();
    const r = await upload(ACME, 'big', Readable.from(body()));
    const ms = performance.now() - started;
    clearInterval(sampler);
    expect(r.status, JSON.stringify(r.body).slice(0, 500)).toBe(200);
    expect(r.body.bytes).toBe(bytes);
    expect((await call('GET', ds(ACME, 'big'), ACME)).body).toMatchObject({ state: 'READY', exampleCount: String(count) });
    expect(await stored(ACME, 'big')).toEqual({ objects: 1, bytes });
    const growthMiB = (peak - rssBefore) / 1024 / 1024;
    process.stderr.write(`[api-datasets] uploaded ${(bytes / 1024 / 1024).toFixed(1)} MiB (${count} examples) in ${(ms / 1000).toFixed(2)} s = ${(bytes / 1024 / 1024 / (ms / 1000)).toFixed(1)} MiB/s; RSS peak growth ${growthMiB.toFixed(1)} MiB\n`);
    // A buffered upload would hold the whole 64 MiB (and copies) at once.
    expect(growthMiB).toBeLessThan(56);
    await call('DELETE', ds(ACME, 'big'), ACME);
  }, 180_000);
});
