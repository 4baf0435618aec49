// Dataset routes with app.inject on embedded PGlite: create/get/list/patch/delete validation,
// multipart `:upload` with JSONL validation, and the signed-URL flow (:getUploadEndpoint, PUT,
// :validateUpload). The same flows against real PostgreSQL: test/integration/api-datasets.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { FsArtifactStore } from '../../artifacts/index.js';
import { openDatabase, type Database } from '../../db/client.js';
import { buildApp } from '../app.js';
import { bootstrap } from '../../auth/bootstrap.js';

let database: Database;
let app: FastifyInstance;
let dir: string;
let store: FsArtifactStore;
let key: string;
let otherKey: string;
let now = new Date('2026-11-26T10:00:00Z');

const A = '/v1/accounts/acme/datasets';
const auth = (k: string) => ({ authorization: `Bearer ${k}` });

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  key = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  otherKey = (await bootstrap(database.db, { accountId: 'globex', email: 'hank@globex.example' })).apiKey!.key;
  dir = mkdtempSync(join(tmpdir(), 'hearth-datasets-'));
  store = new FsArtifactStore(dir);
  await store.init();
  app = await buildApp({
    db: database.db,
    artifacts: store,
    rateLimit: false,
    authenticatorOptions: { cacheTtlMs: 0 },
    now: () => now,
    // Small limits so the tests exercise them.
    datasets: { maxUploadBytes: 4096, maxErrors: 5, uploadUrlSecret: 'test-secret', publicBaseUrl: 'https://hearth.test' },
  });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await database?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(method: string, url: string, payload?: unknown, k: string = key) {
  const res = await app.inject({ method: method as 'GET', url, headers: auth(k), ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
}

function multipart(content: string | Buffer, opts: { field?: string; filename?: string } = {}): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----hearth-test-boundary';
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${opts.field ?? 'file'}"; filename="${opts.filename ?? 'train.jsonl'}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const payload = Buffer.concat([Buffer.from(head), Buffer.isBuffer(content) ? content : Buffer.from(content), Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

async function upload(id: string, content: string | Buffer, opts: { field?: string; filename?: string; k?: string } = {}) {
  const m = multipart(content, opts);
  const res = await app.inject({ method: 'POST', url: `${A}/${id}:upload`, headers: { ...auth(opts.k ?? key), ...m.headers }, payload: m.payload });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
}

const ex = (q: string, a: string) => JSON.stringify({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] });
const VALID = `${JSON.stringify({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Capital of France?' }, { role: 'assistant', content: 'Paris.' }] })}\n${ex('1+1?', '2')}\n${ex('2+2?', '4')}\n`;
/** Objects the artifact store holds for a dataset (its file, and nothing of failed uploads). */
const stored = async (id: string): Promise<number> => (await store.list(`datasets/acme/${id}/`)).length;

describe('datasets: metadata', () => {
  it('creates with the {dataset, datasetId} wrapper: UPLOADING, userUploaded, createdBy', async () => {
    const r = await call('POST', A, { dataset: { displayName: 'Train', format: 'CHAT', state: 'READY', exampleCount: 9 }, datasetId: 'train' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      name: 'accounts/acme/datasets/train',
      displayName: 'Train',
      createTime: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      updateTime: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      state: 'UPLOADING',
      exampleCount: '9',
      format: 'CHAT',
      userUploaded: {},
      createdBy: 'ann@acme.example',
    });
    expect((await call('POST', A, { dataset: {}, datasetId: 'train' })).status).toBe(409);
  });

  it('rejects bad create bodies with 400 naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ datasetId: 'x' }, 'dataset'],
      [{ dataset: {} }, 'datasetId'],
      [{ dataset: {}, datasetId: 'Bad_Id' }, 'datasetId'],
      [{ dataset: { bogus: 1 }, datasetId: 'x' }, 'dataset.bogus'],
      [{ dataset: { format: 'TEXT' }, datasetId: 'x' }, 'dataset.format'],
      [{ dataset: { exampleCount: '-3' }, datasetId: 'x' }, 'dataset.exampleCount'],
      [{ dataset: { userUploaded: {}, splitted: { sourceDatasetId: 'a' } }, datasetId: 'x' }, 'dataset.splitted'],
      [{ dataset: {}, datasetId: 'x', extra: true }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const r = await call('POST', A, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.code).toBe(3);
      expect(r.body.message, JSON.stringify(body)).toContain(field);
    }
    // A filter over the source is not supported: bad input naming the field, not a 501 (the REST fuzz counts every 5xx).
    for (const body of [{ dataset: {}, datasetId: 'x', sourceDatasetId: 'train', filter: 'a = 1' }, { dataset: {}, datasetId: 'y', filter: 'a' }]) {
      const filtered = await call('POST', A, body);
      expect(filtered.status).toBe(400);
      expect(filtered.body).toMatchObject({ code: 3, message: expect.stringMatching(/^filter: is not supported by Hearth/) });
    }
  });

  it('gets, patches (mask from body, output-only ignored) and lists with filter and orderBy', async () => {
    expect((await call('GET', `${A}/train?readMask=name,state`)).body).toEqual({ name: 'accounts/acme/datasets/train', state: 'UPLOADING' });
    const p = await call('PATCH', `${A}/train`, { displayName: 'Training set', state: 'READY', externalUrl: 'gs://b/x.jsonl' });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ displayName: 'Training set', state: 'UPLOADING', externalUrl: 'gs://b/x.jsonl', format: 'CHAT', exampleCount: '9', userUploaded: {} });
    const cleared = await call('PATCH', `${A}/train?updateMask=externalUrl`, {});
    expect(cleared.body.externalUrl).toBeUndefined();
    expect((await call('PATCH', `${A}/train`, { nope: 1 })).status).toBe(400);
    expect((await call('PATCH', `${A}/train?updateMask=nope`, {})).status).toBe(400);
    expect((await call('PATCH', `${A}/missing`, { displayName: 'x' })).status).toBe(404);

    await call('POST', A, { dataset: { displayName: 'Eval' }, datasetId: 'eval' });
    const list = await call('GET', `${A}?orderBy=name%20desc`);
    expect((list.body.datasets as { name: string }[]).map((d) => d.name)).toEqual(['accounts/acme/datasets/train', 'accounts/acme/datasets/eval']);
    expect(list.body.totalSize).toBe(2);
    const filtered = await call('GET', `${A}?filter=${encodeURIComponent('displayName = "Eval"')}`);
    expect(filtered.body).toMatchObject({ datasets: [{ name: 'accounts/acme/datasets/eval' }], totalSize: 1 });
    const paged = await call('GET', `${A}?pageSize=1`);
    expect(paged.body.nextPageToken).toBeTruthy();
  });

  it("answers another account's datasets with 404", async () => {
    expect((await call('GET', `${A}/train`, undefined, otherKey)).status).toBe(404);
    expect((await call('DELETE', `${A}/train`, undefined, otherKey)).status).toBe(404);
    expect((await upload('train', VALID, { k: otherKey })).status).toBe(404);
    expect((await call('GET', '/v1/accounts/globex/datasets/train')).status).toBe(404);
  });
});

describe('datasets: :upload', () => {
  it('stores a valid file in the artifact store and makes the dataset READY with its counts', async () => {
    await call('POST', A, { dataset: {}, datasetId: 'good' });
    const r = await upload('good', VALID);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: 'good', bytes: Buffer.byteLength(VALID), filename: 'train.jsonl', object: 'file' });
    const got = (await call('GET', `${A}/good`)).body;
    expect(got).toMatchObject({ state: 'READY', exampleCount: '3', format: 'CHAT' });
    expect(Number(got.estimatedTokenCount)).toBeGreaterThan(0);
    expect(got.averageTurnCount).toBe(1);
    const files = await store.list('datasets/acme/good/');
    expect(files).toEqual([{ key: expect.stringMatching(/^datasets\/acme\/good\/[\w-]+\/train\.jsonl$/), size: Buffer.byteLength(VALID) }]);
    let content = '';
    for await (const c of (await store.get(files[0]!.key))!) content += (c as Buffer).toString('utf8');
    expect(content).toBe(VALID);
    // READY content is not replaced.
    const again = await upload('good', VALID);
    expect(again.status).toBe(400);
    expect(again.body.message).toContain('is READY');
  });

  it('answers 400 naming the line and rule for bad files; nothing is stored and the dataset stays UPLOADING', async () => {
    await call('POST', A, { dataset: {}, datasetId: 'bad' });
    const cases: [string, string][] = [
      [`${ex('a', 'b')}\n${ex('c', 'd')}\n`, 'the file must contain at least 3 examples; it has 2'],
      [`${ex('a', 'b')}\n${JSON.stringify({ messages: [{ role: 'user', content: 'x' }, { role: 'bot', content: 'y' }] })}\n${ex('c', 'd')}\n`, 'line 2: messages[1].role: must be one of system, user, assistant'],
      [`${ex('a', 'b')}\n{"messages": [\n${ex('c', 'd')}\n`, 'line 2: is not valid JSON'],
      [`${ex('a', 'b')}\n${ex('c', 'd')}\n{"prompt": "x"}\n`, 'line 3: messages: is required'],
    ];
    for (const [file, want] of cases) {
      const r = await upload('bad', file);
      expect(r.status, want).toBe(400);
      expect(r.body.code).toBe(3);
      expect(r.body.message).toContain(want);
      expect(JSON.stringify(r.body.details)).toContain('ERR_INVALID_DATASET');
    }
    expect((await call('GET', `${A}/bad`)).body.state).toBe('UPLOADING');
    expect(await stored('bad')).toBe(0);
  });

  it('caps the listed errors', async () => {
    const r = await upload('bad', Array.from({ length: 30 }, () => '{"x":1}').join('\n'));
    expect(r.status).toBe(400);
    expect((r.body.details as { fieldViolations?: unknown[] }[])[0]!.fieldViolations).toHaveLength(5);
    expect(r.body.message).toContain('only the first 5 errors are listed');
  });

  it('rejects files over the size limit, non-multipart bodies and other part names with 400', async () => {
    const big = Array.from({ length: 100 }, (_, i) => ex(`question ${i}`, 'answer')).join('\n');
    const r = await upload('bad', big);
    expect(r.status).toBe(400);
    expect(r.body.message).toBe('file: is larger than the upload limit of 4096 bytes');
    expect(await stored('bad')).toBe(0);
    const json = await call('POST', `${A}/bad:upload`, {});
    expect(json.status).toBe(400);
    expect(json.body.message).toContain('multipart/form-data');
    const named = await upload('bad', VALID, { field: 'data' });
    expect(named.status).toBe(400);
    expect(named.body.message).toContain('"file"');
    expect((await upload('nope', VALID)).status).toBe(404);
  });

  it('answers malformed multipart bodies with 400, never 500', async () => {
    const part = '--xx\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n';
    const cases: [string, string][] = [
      ['multipart/form-data', 'garbage'],
      ['multipart/form-data; boundary=xx', 'garbage'],
      ['multipart/form-data; boundary=xx', `${part}${VALID}`],
      ['multipart/form-data; boundary=xx', '--xx--\r\n'],
      ['multipart/form-data; boundary=xx', '--xx\r\nContent-Disposition: form-data; name="x"\r\n\r\nvalue\r\n--xx--\r\n'],
      ['application/octet-stream', VALID],
    ];
    for (const [type, payload] of cases) {
      const res = await app.inject({ method: 'POST', url: `${A}/bad:upload`, headers: { ...auth(key), 'content-type': type }, payload });
      expect(res.statusCode, `${type} ${payload.slice(0, 40)}: ${res.body}`).toBe(400);
      expect(JSON.parse(res.body).code).toBe(3);
    }
    expect(await stored('bad')).toBe(0);
    expect((await call('GET', `${A}/bad`)).body.state).toBe('UPLOADING');
  });
});

describe('datasets: signed upload URL, PUT, :validateUpload', () => {
  async function signedUrl(id: string, size: number): Promise<string> {
    const r = await call('POST', `${A}/${id}:getUploadEndpoint`, { filenameToSize: { 'data.jsonl': String(size) } });
    expect(r.status).toBe(200);
    const url = (r.body.filenameToSignedUrls as Record<string, string>)['data.jsonl']!;
    expect(url.startsWith('https://hearth.test/v1-files/datasets/acme/')).toBe(true);
    return url.slice('https://hearth.test'.length);
  }
  const put = (path: string, body: string) => app.inject({ method: 'PUT', url: path, headers: { 'content-type': 'application/octet-stream' }, payload: body });

  it('stores the PUT body, then validateUpload makes it READY', async () => {
    await call('POST', A, { dataset: {}, datasetId: 'signed' });
    expect((await call('POST', `${A}/signed:validateUpload`, {})).status).toBe(400);
    const path = await signedUrl('signed', Buffer.byteLength(VALID));
    const res = await put(path, VALID);
    expect(res.statusCode).toBe(200);
    expect((await call('GET', `${A}/signed`)).body.state).toBe('UPLOADING');
    expect((await call('POST', `${A}/signed:validateUpload`, {})).status).toBe(200);
    expect((await call('GET', `${A}/signed`)).body).toMatchObject({ state: 'READY', exampleCount: '3' });
    expect((await call('POST', `${A}/signed:validateUpload`, {})).status).toBe(200);
    expect((await call('POST', `${A}/signed:getUploadEndpoint`, { filenameToSize: { 'data.jsonl': '10' } })).status).toBe(400);
    // An upload URL does not download.
    expect((await app.inject({ method: 'GET', url: path })).statusCode).toBe(401);
  });

  it('getDownloadEndpoint gives a signed GET URL of the stored file', async () => {
    expect((await call('GET', `${A}/bad:getDownloadEndpoint`)).body).toEqual({ filenameToSignedUrls: {} });
    const r = await call('GET', `${A}/signed:getDownloadEndpoint?downloadLineage=true`);
    expect(r.status).toBe(200);
    const url = (r.body.filenameToSignedUrls as Record<string, string>)['data.jsonl']!;
    const path = url.slice('https://hearth.test'.length);
    const res = await app.inject({ method: 'GET', url: path });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(VALID)));
    expect(res.body).toBe(VALID);
    // A download URL does not upload, and a tampered one does nothing.
    expect((await put(path, VALID)).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: path.replace('signed/', 'good/') })).statusCode).toBe(401);
    expect((await call('GET', `${A}/signed:getDownloadEndpoint`, undefined, otherKey)).status).toBe(404);
  });

  it('validateUpload of a bad stored file answers 400 by line; the dataset stays UPLOADING', async () => {
    await call('POST', A, { dataset: {}, datasetId: 'signed-bad' });
    const bad = `${ex('a', 'b')}\n{"messages": [{"role": "robot", "content": "x"}]}\n${ex('c', 'd')}\n`;
    expect((await put(await signedUrl('signed-bad', Buffer.byteLength(bad)), bad)).statusCode).toBe(200);
    const v = await call('POST', `${A}/signed-bad:validateUpload`, {});
    expect(v.status).toBe(400);
    expect(v.body.message).toContain('line 2: messages[0].role: must be one of system, user, assistant');
    expect((await call('GET', `${A}/signed-bad`)).body.state).toBe('UPLOADING');
  });

  it('refuses tampered, expired and wrong-size uploads', async () => {
    await call('POST', A, { dataset: {}, datasetId: 'signed-2' });
    const path = await signedUrl('signed-2', Buffer.byteLength(VALID));
    expect((await put(path.replace('signed-2', 'signed'), VALID)).statusCode).toBe(401);
    expect((await put(path.replace(/size=\d+/, 'size=5'), 'hello')).statusCode).toBe(401);
    expect((await put(path, `${VALID}x`)).statusCode).toBe(400);
    expect(await stored('signed-2')).toBe(0);
    now = new Date(now.getTime() + 2 * 3600_000);
    expect((await put(path, VALID)).statusCode).toBe(401);
    now = new Date('2026-11-26T10:00:00Z');
    const bad = await call('POST', `${A}/signed-2:getUploadEndpoint`, { filenameToSize: { 'a.jsonl': '1', 'b.jsonl': '1' } });
    expect(bad.status).toBe(400);
    expect((await call('POST', `${A}/signed-2:getUploadEndpoint`, { filenameToSize: { 'a.jsonl': '99999' } })).body.message).toContain('upload limit');
  });
});

describe('datasets: copy and delete', () => {
  it('creates a READY copy of a READY dataset with sourceDatasetId', async () => {
    const r = await call('POST', A, { dataset: {}, datasetId: 'copy', sourceDatasetId: 'good' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'READY', exampleCount: '3', transformed: { sourceDatasetId: 'good', originalFormat: 'CHAT' } });
    expect(await stored('copy')).toBe(await stored('good'));
    expect((await call('POST', A, { dataset: {}, datasetId: 'copy2', sourceDatasetId: 'bad' })).status).toBe(400);
    expect((await call('POST', A, { dataset: {}, datasetId: 'copy3', sourceDatasetId: 'none' })).status).toBe(404);
    // Issue 16 item 2: the docs' full name too, only within the caller's account.
    const full = await call('POST', A, { dataset: {}, datasetId: 'copy4', sourceDatasetId: 'accounts/acme/datasets/good' });
    expect(full.status, JSON.stringify(full.body)).toBe(200);
    expect(full.body).toMatchObject({ transformed: { sourceDatasetId: 'good' } });
    const foreign = await call('POST', A, { dataset: {}, datasetId: 'copy5', sourceDatasetId: 'accounts/globex/datasets/good' });
    expect(foreign.status).toBe(404);
    expect(foreign.body.message).toBe('dataset "accounts/globex/datasets/good" not found');
  });

  it('deletes the dataset and its content', async () => {
    expect(await stored('good')).toBeGreaterThan(0);
    expect((await call('DELETE', `${A}/good`)).body).toEqual({});
    expect(await stored('good')).toBe(0);
    expect((await call('GET', `${A}/good`)).status).toBe(404);
    expect((await call('DELETE', `${A}/good`)).status).toBe(404);
  });
});
