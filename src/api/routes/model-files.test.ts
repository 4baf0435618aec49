// Model files through REST on embedded PGlite and the filesystem artifact store: signed upload URLs,
// the PUT itself, :validateUpload (per kind; bad uploads stay UPLOADING with a status naming the
// file), READY, signed download URLs, and the rules around them (size, expiry, READY, tenancy).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { FsArtifactStore } from '../../artifacts/index.js';
import { openDatabase, type Database } from '../../db/client.js';
import { getModel } from '../../db/repositories/models.js';
import { buildApp } from '../app.js';
import { bootstrap } from '../../auth/bootstrap.js';

let database: Database;
let app: FastifyInstance;
let dir: string;
let store: FsArtifactStore;
const keys: Record<string, string> = {};
let clock = new Date('2026-03-01T10:00:00.000Z');

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';

/** A safetensors file holding one LoRA pair. */
function loraWeights(): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      'base_model.model.layers.0.self_attn.q_proj.lora_A.weight': { dtype: 'F16', shape: [8, 4], data_offsets: [0, 64] },
      'base_model.model.layers.0.self_attn.q_proj.lora_B.weight': { dtype: 'F16', shape: [4, 8], data_offsets: [64, 128] },
    }),
  );
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([len, header, Buffer.alloc(128, 3)]);
}
const CONFIG = Buffer.from(JSON.stringify({ peft_type: 'LORA', r: 8, target_modules: ['q_proj', 'v_proj'], lora_alpha: 16 }));
const WEIGHTS = loraWeights();

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  keys.acme = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  keys.globex = (await bootstrap(database.db, { accountId: 'globex', email: 'hank@globex.example' })).apiKey!.key;
  dir = mkdtempSync(join(tmpdir(), 'hearth-model-files-'));
  store = new FsArtifactStore(dir);
  await store.init();
  app = await buildApp({ db: database.db, artifacts: store, rateLimit: false, authenticatorOptions: { cacheTtlMs: 0 }, now: () => clock, datasets: { uploadUrlSecret: 'x'.repeat(32) } });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await database?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(method: string, url: string, account: string, payload?: unknown) {
  const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${keys[account]}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
}
const M = (id: string, verb = '', account = 'acme') => `/v1/accounts/${account}/models/${id}${verb}`;
const violations = (body: Record<string, unknown>) =>
  ((body.details as { fieldViolations?: { field: string; reason: string }[] }[]).find((d) => d.fieldViolations)?.fieldViolations ?? []).map((v) => `${v.field} ${v.reason}`);

async function createLora(id: string, extra: Record<string, unknown> = {}): Promise<void> {
  const r = await call('POST', `/v1/accounts/acme/models`, 'acme', { modelId: id, model: { peftDetails: { baseModel: BASE, r: 8, targetModules: ['q_proj', 'v_proj'] }, ...extra } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

async function uploadUrls(id: string, files: Record<string, Buffer | number>, account = 'acme') {
  const filenameToSize = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, String(typeof v === 'number' ? v : v.length)]));
  return call('POST', M(id, ':getUploadEndpoint', account), account, { filenameToSize });
}

/** PUT to a signed URL (a full URL on the request's origin: keep its path and query). */
async function put(url: string, body: Buffer, headers: Record<string, string> = {}) {
  const u = new URL(url);
  const res = await app.inject({ method: 'PUT', url: u.pathname + u.search, payload: body, headers: { 'content-type': 'application/octet-stream', ...headers } });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
}

async function uploadAll(id: string, files: Record<string, Buffer>): Promise<void> {
  const r = await uploadUrls(id, files);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  const urls = r.body.filenameToSignedUrls as Record<string, string>;
  for (const [name, bytes] of Object.entries(files)) expect((await put(urls[name]!, bytes)).status).toBe(200);
}

describe('model files: upload, validate, download', () => {
  it('signs a PUT URL per file; the files arrive; :validateUpload makes the adapter READY; download URLs return the bytes', async () => {
    await createLora('lora-ok');
    const r = await uploadUrls('lora-ok', { 'adapter_config.json': CONFIG, 'adapter_model.safetensors': WEIGHTS });
    expect(r.status).toBe(200);
    const urls = r.body.filenameToSignedUrls as Record<string, string>;
    expect(Object.keys(urls).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    expect(urls['adapter_config.json']).toMatch(/^http:\/\/localhost(:\d+)?\/v1-files\/models\/acme\/lora-ok\/adapter_config\.json\?size=\d+&expires=\d+&signature=/);
    expect((await put(urls['adapter_config.json']!, CONFIG)).status).toBe(200);
    expect((await put(urls['adapter_model.safetensors']!, WEIGHTS)).status).toBe(200);
    expect((await call('GET', M('lora-ok'), 'acme')).body.state).toBe('UPLOADING');

    const v = await call('GET', M('lora-ok', ':validateUpload'), 'acme');
    expect(v.status, JSON.stringify(v.body)).toBe(200);
    expect(v.body).toEqual({});
    expect((await call('GET', M('lora-ok'), 'acme')).body).toMatchObject({ state: 'READY', status: { code: 'OK' } });

    const d = await call('GET', M('lora-ok', ':getDownloadEndpoint'), 'acme');
    const dl = d.body.filenameToSignedUrls as Record<string, string>;
    expect(Object.keys(dl)).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const u = new URL(dl['adapter_model.safetensors']!);
    const got = await app.inject({ method: 'GET', url: u.pathname + u.search });
    expect(got.statusCode).toBe(200);
    expect(got.headers['content-length']).toBe(String(WEIGHTS.length));
    expect(got.rawPayload.equals(WEIGHTS)).toBe(true);
    // READY: the files are fixed.
    expect((await uploadUrls('lora-ok', { 'adapter_config.json': CONFIG })).body).toMatchObject({ code: 9 });
    expect((await put(urls['adapter_config.json']!, CONFIG)).status).toBe(400);
  });

  it('a bad upload stays UPLOADING with a status naming the missing or invalid file; fixing it makes it READY', async () => {
    await createLora('lora-bad');
    await uploadAll('lora-bad', { 'adapter_config.json': Buffer.from('{"r": 8, "target_modules": ') });
    const v = await call('GET', M('lora-bad', ':validateUpload'), 'acme');
    expect(v.status).toBe(400);
    expect(violations(v.body)).toEqual(['files["adapter_config.json"] INVALID', 'files["adapter_model.safetensors | adapter_model.bin"] MISSING']);
    const row = (await call('GET', M('lora-bad'), 'acme')).body;
    expect(row.state).toBe('UPLOADING');
    expect(row.status).toEqual({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/adapter_config\.json: is not valid JSON.*adapter_model\.safetensors \| adapter_model\.bin: adapter weights are required/) });

    await uploadAll('lora-bad', { 'adapter_config.json': CONFIG, 'adapter_model.safetensors': WEIGHTS });
    expect((await call('GET', M('lora-bad'), 'acme')).body.status).toEqual({ code: 'OK' });
    expect((await call('GET', M('lora-bad', ':validateUpload'), 'acme')).status).toBe(200);
    expect((await call('GET', M('lora-bad'), 'acme')).body.state).toBe('READY');
    // The replaced object is gone: one object per file.
    const row2 = await getModel(database.db, 'acme', 'lora-bad');
    expect((await store.list('models/acme/lora-bad/')).map((o) => o.key).sort()).toEqual(Object.values(row2!.files!.uploaded).map((f) => f.key).sort());
  });

  it('names a declared file that never arrived, and a weights file cut short', async () => {
    await createLora('lora-short');
    const r = await uploadUrls('lora-short', { 'adapter_config.json': CONFIG, 'adapter_model.safetensors': WEIGHTS });
    const urls = r.body.filenameToSignedUrls as Record<string, string>;
    await put(urls['adapter_config.json']!, CONFIG);
    const v = await call('GET', M('lora-short', ':validateUpload'), 'acme');
    expect(violations(v.body)).toEqual(['files["adapter_model.safetensors"] MISSING', 'files["adapter_model.safetensors | adapter_model.bin"] MISSING']);
    // A truncated safetensors file, declared with its (short) size: the header check finds it.
    await uploadAll('lora-short', { 'adapter_config.json': CONFIG, 'adapter_model.safetensors': WEIGHTS.subarray(0, WEIGHTS.length - 20) });
    const v2 = await call('GET', M('lora-short', ':validateUpload'), 'acme');
    expect(v2.status).toBe(400);
    expect(v2.body.message).toMatch(/adapter_model\.safetensors: is not a valid safetensors file: .*truncated/);
    expect((await call('GET', M('lora-short'), 'acme')).body.state).toBe('UPLOADING');
  });

  it('a PUT must carry exactly the signed size; a short or long body stores nothing', async () => {
    await createLora('lora-size');
    const r = await uploadUrls('lora-size', { 'adapter_config.json': CONFIG });
    const url = (r.body.filenameToSignedUrls as Record<string, string>)['adapter_config.json']!;
    expect((await put(url, Buffer.concat([CONFIG, Buffer.from('x')]))).body).toMatchObject({ code: 3, message: expect.stringMatching(/Content-Length: must be \d+/) });
    expect((await put(url, CONFIG.subarray(1))).status).toBe(400);
    expect(await store.list('models/acme/lora-size/')).toEqual([]);
    expect((await getModel(database.db, 'acme', 'lora-size'))!.files!.uploaded).toEqual({});
  });

  it('refuses a tampered, expired or cross-collection URL, and bad names and sizes', async () => {
    await createLora('lora-sig');
    const r = await uploadUrls('lora-sig', { 'adapter_config.json': CONFIG });
    const url = (r.body.filenameToSignedUrls as Record<string, string>)['adapter_config.json']!;
    expect((await put(url.replace('lora-sig', 'lora-ok'), CONFIG)).status).toBe(401);
    expect((await put(url.replace('/models/', '/datasets/'), CONFIG)).status).not.toBe(200);
    const saved = clock;
    clock = new Date(clock.getTime() + 2 * 60 * 60 * 1000);
    expect((await put(url, CONFIG)).body).toMatchObject({ code: 16, message: expect.stringMatching(/expired/) });
    clock = saved;
    expect(violations((await uploadUrls('lora-sig', { '../adapter_config.json': 3 })).body)).toEqual(['filenameToSize["../adapter_config.json"] FORMAT']);
    expect((await uploadUrls('lora-sig', { 'a.json': -1 })).status).toBe(400);
    expect((await call('POST', M('lora-sig', ':getUploadEndpoint'), 'acme', { filenameToSize: {} })).status).toBe(400);
  });

  it('takes nested file names (original/params.json) through the signed URL', async () => {
    await createLora('lora-nested');
    await uploadAll('lora-nested', { 'adapter_config.json': CONFIG, 'adapter_model.safetensors': WEIGHTS, 'original/params.json': Buffer.from('{}') });
    expect((await call('GET', M('lora-nested', ':validateUpload'), 'acme')).status).toBe(200);
    const dl = (await call('GET', M('lora-nested', ':getDownloadEndpoint'), 'acme')).body.filenameToSignedUrls as Record<string, string>;
    expect(Object.keys(dl)).toContain('original/params.json');
  });

  it('another account sees no model (404), and deleting a model removes its files', async () => {
    await createLora('lora-del');
    await uploadAll('lora-del', { 'adapter_config.json': CONFIG });
    expect((await uploadUrls('lora-del', { 'adapter_config.json': CONFIG }, 'globex')).status).toBe(404);
    expect((await call('GET', M('lora-del', ':validateUpload', 'acme'), 'globex')).status).toBe(404);
    expect((await store.list('models/acme/lora-del/')).length).toBe(1);
    expect((await call('DELETE', M('lora-del'), 'acme')).status).toBe(200);
    expect(await store.list('models/acme/lora-del/')).toEqual([]);
    expect(readdirSync(join(dir, '.staging'))).toEqual([]);
  });

  it('a base model needs config, tokenizer and weights', async () => {
    const r = await call('POST', `/v1/accounts/acme/models`, 'acme', { modelId: 'base-1', model: { kind: 'HF_BASE_MODEL', baseModelDetails: { worldSize: 1 } } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    await uploadAll('base-1', { 'config.json': Buffer.from('{"model_type":"llama"}') });
    const v = await call('GET', M('base-1', ':validateUpload'), 'acme');
    expect(violations(v.body)).toEqual(['files["tokenizer.json | tokenizer.model | vocab.json+merges.txt"] MISSING', 'files["model.safetensors | pytorch_model.bin | *.index.json"] MISSING']);
    const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    await uploadAll('base-1', { 'config.json': Buffer.from('{"model_type":"llama"}'), 'tokenizer.json': Buffer.from('{"model":{}}'), 'model.safetensors': Buffer.concat([len, header, Buffer.alloc(8)]) });
    expect((await call('GET', M('base-1', ':validateUpload'), 'acme')).status).toBe(200);
    expect((await call('GET', M('base-1'), 'acme')).body.state).toBe('READY');
  });
});
