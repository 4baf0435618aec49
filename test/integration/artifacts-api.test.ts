// Model and dataset files end to end over HTTP, on real PostgreSQL, through BOTH artifact store
// backends: the filesystem store and the S3 store against a real S3-compatible server (versitygw,
// built by hack/build-bins.sh, started here on a loopback port over a temp dir). For each: an
// adapter model's signed upload URLs, PUTs, a failing :validateUpload (UPLOADING, the status names
// the file), a passing one (READY), signed downloads byte for byte; a dataset's signed PUT,
// :validateUpload, download, copy and delete; and a dataset stored in PostgreSQL chunks before the
// store existed, moved into it at start and downloaded.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3Server } from '../../hack/lib/s3-server.js';
import { buildApp } from '../../src/api/app.js';
import { moveDatasetBytesToStore } from '../../src/api/datasets/migrate-bytea.js';
import { DATASET_STORAGE_URI, DatasetContents } from '../../src/api/datasets/storage.js';
import { FsArtifactStore, S3ArtifactStore, type ArtifactStore } from '../../src/artifacts/index.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import type { Database } from '../../src/db/client.js';
import { createDataset, getDataset, updateDataset } from '../../src/db/repositories/datasets.js';
import { createLogger } from '../../src/log.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';

const suffix = randomBytes(3).toString('hex');
const dbName = `hearth_t_artifacts_${suffix}`;
const ACME = `art-acme-${suffix}`;
const log = createLogger({ level: 'silent' });

let database: Database;
let key: string;
let s3server: S3Server;
let dir: string;

beforeAll(async () => {
  database = await createScratchDatabase(dbName);
  key = (await bootstrap(database.db, { accountId: ACME, email: `admin@${ACME}.example` })).apiKey!.key;
  s3server = await startS3Server({ log: (m) => process.stderr.write(`[s3] ${m}\n`) });
  dir = mkdtempSync(join(tmpdir(), 'hearth-artifacts-api-'));
}, 300_000);

afterAll(async () => {
  await database?.close();
  await dropScratchDatabase(dbName);
  await s3server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function safetensors(): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      'base_model.model.layers.0.self_attn.v_proj.lora_A.weight': { dtype: 'BF16', shape: [8, 64], data_offsets: [0, 1024] },
      'base_model.model.layers.0.self_attn.v_proj.lora_B.weight': { dtype: 'BF16', shape: [64, 8], data_offsets: [1024, 2048] },
    }),
  );
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([len, header, randomBytes(2048)]);
}
const ADAPTER_CONFIG = Buffer.from(JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'] }));
const WEIGHTS = safetensors();
const ex = (q: string, a: string) => JSON.stringify({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] });
const DATASET = `${ex('1+1?', '2')}\n${ex('2+2?', '4')}\n${ex('3+3?', '6')}\n`;

const backends: [string, () => Promise<ArtifactStore>][] = [
  ['filesystem', async () => new FsArtifactStore(dir)],
  [
    'S3 (versitygw)',
    async () =>
      new S3ArtifactStore({ endpoint: s3server.endpoint, region: s3server.region, bucket: `hearth-${suffix}`, accessKeyId: s3server.accessKeyId, secretAccessKey: s3server.secretAccessKey, createBucket: true }),
  ],
];

describe.each(backends)('model and dataset files on the %s store', (name, open) => {
  let store: ArtifactStore;
  let app: FastifyInstance;
  let base: string;
  const tag = name.startsWith('S3') ? 's3' : 'fs';

  beforeAll(async () => {
    store = await open();
    await store.init();
    app = await buildApp({ db: database.db, artifacts: store, logger: log, rateLimit: false, datasets: { uploadUrlSecret: `secret-${suffix}` } });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${base}/v1/accounts/${ACME}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }
  const put = async (url: string, bytes: Buffer) => (await fetch(url, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } })).status;
  const download = async (url: string) => Buffer.from(await (await fetch(url)).arrayBuffer());

  it('an adapter: signed PUTs, a bad upload stays UPLOADING naming the file, a good one READY, downloads byte for byte', async () => {
    const id = `lora-${tag}`;
    const created = await api('POST', '/models', { modelId: id, model: { kind: 'HF_PEFT_ADDON', peftDetails: { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', r: 8, targetModules: ['v_proj'] } } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);

    // First only the config, and a weights file that is cut short.
    const short = WEIGHTS.subarray(0, WEIGHTS.length - 100);
    let r = await api('POST', `/models/${id}:getUploadEndpoint`, { filenameToSize: { 'adapter_config.json': String(ADAPTER_CONFIG.length), 'adapter_model.safetensors': String(short.length) } });
    let urls = r.body.filenameToSignedUrls as Record<string, string>;
    expect(await put(urls['adapter_config.json']!, ADAPTER_CONFIG)).toBe(200);
    expect(await put(urls['adapter_model.safetensors']!, short)).toBe(200);
    const bad = await api('GET', `/models/${id}:validateUpload`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/adapter_model\.safetensors: is not a valid safetensors file/);
    expect((await api('GET', `/models/${id}`)).body).toMatchObject({ state: 'UPLOADING', status: { code: 'INVALID_ARGUMENT', message: expect.stringMatching(/adapter_model\.safetensors/) } });

    r = await api('POST', `/models/${id}:getUploadEndpoint`, { filenameToSize: { 'adapter_model.safetensors': String(WEIGHTS.length) } });
    urls = r.body.filenameToSignedUrls as Record<string, string>;
    expect(await put(urls['adapter_model.safetensors']!, WEIGHTS)).toBe(200);
    const ok = await api('GET', `/models/${id}:validateUpload`);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect((await api('GET', `/models/${id}`)).body).toMatchObject({ state: 'READY', status: { code: 'OK' } });
    // One object per file: the replaced weights are gone.
    expect((await store.list(`models/${ACME}/${id}/`)).length).toBe(2);

    const dl = (await api('GET', `/models/${id}:getDownloadEndpoint`)).body.filenameToSignedUrls as Record<string, string>;
    expect((await download(dl['adapter_model.safetensors']!)).equals(WEIGHTS)).toBe(true);
    expect((await download(dl['adapter_config.json']!)).equals(ADAPTER_CONFIG)).toBe(true);

    expect((await api('DELETE', `/models/${id}`)).status).toBe(200);
    expect(await store.list(`models/${ACME}/${id}/`)).toEqual([]);
  });

  it('a dataset: signed PUT, :validateUpload, download, copy, delete', async () => {
    const id = `ds-${tag}`;
    expect((await api('POST', '/datasets', { datasetId: id, dataset: {} })).status).toBe(200);
    const r = await api('POST', `/datasets/${id}:getUploadEndpoint`, { filenameToSize: { 'train.jsonl': String(Buffer.byteLength(DATASET)) } });
    expect(await put((r.body.filenameToSignedUrls as Record<string, string>)['train.jsonl']!, Buffer.from(DATASET))).toBe(200);
    expect((await api('POST', `/datasets/${id}:validateUpload`, {})).status).toBe(200);
    expect((await api('GET', `/datasets/${id}`)).body).toMatchObject({ state: 'READY', exampleCount: '3' });
    const dl = (await api('GET', `/datasets/${id}:getDownloadEndpoint`)).body.filenameToSignedUrls as Record<string, string>;
    expect((await download(dl['train.jsonl']!)).toString()).toBe(DATASET);

    expect((await api('POST', '/datasets', { datasetId: `${id}-copy`, dataset: {}, sourceDatasetId: id })).body).toMatchObject({ state: 'READY' });
    const copyDl = (await api('GET', `/datasets/${id}-copy:getDownloadEndpoint`)).body.filenameToSignedUrls as Record<string, string>;
    expect((await download(copyDl['train.jsonl']!)).toString()).toBe(DATASET);

    expect((await api('DELETE', `/datasets/${id}`)).status).toBe(200);
    expect(await store.list(`datasets/${ACME}/${id}/`)).toEqual([]);
    expect((await store.list(`datasets/${ACME}/${id}-copy/`)).length).toBe(1);
  });

  it('a 1 GiB file PUT over HTTP streams into the store: RSS stays flat', async () => {
    const id = `big-${tag}`;
    expect((await api('POST', '/models', { modelId: id, model: { kind: 'HF_PEFT_ADDON', peftDetails: { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', r: 8, targetModules: ['v_proj'] } } })).status).toBe(200);
    const GiB = 1024 ** 3;
    const r = await api('POST', `/models/${id}:getUploadEndpoint`, { filenameToSize: { 'adapter_model.bin': String(GiB) } });
    const url = (r.body.filenameToSignedUrls as Record<string, string>)['adapter_model.bin']!;
    const block = Buffer.alloc(1024 * 1024, 7);
    block.write('PK\u0003\u0004');
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= GiB) return controller.close();
        controller.enqueue(new Uint8Array(block.buffer, block.byteOffset, block.length));
        sent += block.length;
      },
    });
    global.gc?.();
    const before = process.memoryUsage.rss();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
    const t0 = performance.now();
    let status: number;
    try {
      status = (await fetch(url, { method: 'PUT', body, duplex: 'half', headers: { 'content-length': String(GiB) } } as RequestInit)).status;
    } finally {
      clearInterval(sampler);
    }
    const secs = (performance.now() - t0) / 1000;
    const growth = (peak - before) / 1024 / 1024;
    process.stderr.write(`[artifacts-api] ${name}: 1 GiB signed PUT over HTTP in ${secs.toFixed(1)} s; peak RSS growth ${growth.toFixed(1)} MiB (client and server in this process)\n`);
    expect(status).toBe(200);
    expect((await store.list(`models/${ACME}/${id}/`)).map((o) => o.size)).toEqual([GiB]);
    // A buffered upload would hold the whole GiB; the S3 store holds 2 parts of 8 MiB in flight.
    expect(growth).toBeLessThan(160);
    expect((await api('DELETE', `/models/${id}`)).status).toBe(200);
  }, 300_000);

  it('a dataset stored in PostgreSQL chunks before the store: read from there, moved at start, then served from the store', async () => {
    const id = `old-${tag}`;
    await createDataset(database.db, { accountId: ACME, datasetId: id });
    const legacy = new DatasetContents(database.db, 16);
    const w = legacy.writer(ACME, id, 'train.jsonl');
    await w.write(Buffer.from(DATASET));
    await w.finish();
    await legacy.commit(w, async (tx) => updateDataset(tx, ACME, id, { storageUri: DATASET_STORAGE_URI, state: 'READY', exampleCount: 3n }));

    let dl = (await api('GET', `/datasets/${id}:getDownloadEndpoint`)).body.filenameToSignedUrls as Record<string, string>;
    expect((await download(dl['train.jsonl']!)).toString()).toBe(DATASET);

    const report = await moveDatasetBytesToStore(database.db, store, log);
    expect(report).toEqual({ moved: 1, bytes: Buffer.byteLength(DATASET), failed: 0 });
    expect((await getDataset(database.db, ACME, id))!.storageUri).toMatch(new RegExp(`^artifact:datasets/${ACME}/${id}/`));
    expect(await legacy.rowCount(ACME, id)).toBe(0);
    dl = (await api('GET', `/datasets/${id}:getDownloadEndpoint`)).body.filenameToSignedUrls as Record<string, string>;
    expect((await download(dl['train.jsonl']!)).toString()).toBe(DATASET);
    expect((await store.list(`datasets/${ACME}/${id}/`)).map((o) => o.size)).toEqual([Buffer.byteLength(DATASET)]);
  });
});
