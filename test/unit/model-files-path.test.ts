// The production path of an adapter's files, without a cluster: the REST API (embedded PGlite, the
// filesystem artifact store) listening on loopback → the DeployedModel controller's pieces (the model
// row's files from DbAdapterModels, URLs signed by signedModelFileUrls, HttpModelFilesApi dialled
// through a SimulatedDialMap) → the real model-files sidecar → the model-server fixture, which like
// vLLM loads the adapter only if its files are at lora_path. The cluster e2e (test/e2e/lora.test.ts)
// runs the same pieces under the controllers.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../../src/artifacts/index.js';
import { startModelFilesServer, type ModelFilesServer } from '../../src/artifacts/model-files-server.js';
import { buildApp } from '../../src/api/app.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { HttpModelFilesApi, signedModelFileUrls } from '../../src/controllers/deployed-model/model-files.js';
import { HttpAdapterApi } from '../../src/controllers/deployed-model/model-server.js';
import { DbAdapterModels } from '../../src/controllers/deployed-model/stores.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { MODEL_FILES_PORT } from '../../src/fleet/lora.js';
import { SimulatedDialMap } from '../../src/kube/dial.js';
import { realClock } from '../../src/util/clock.js';
import { startModelServerFixture, type ModelServerFixture } from '../fixtures/model-server/index.js';
import { ADAPTER_CONFIG, safetensors } from '../support/adapter-files.js';

const SECRET = 'a-shared-upload-url-secret-0123456789';
const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const MODEL = 'accounts/acme/models/sql-lora';
const POD = { address: '10.4.0.7', port: 8000 };
const files: Record<string, Buffer> = { 'adapter_config.json': ADAPTER_CONFIG, 'adapter_model.safetensors': safetensors() };

let database: Database;
let app: FastifyInstance;
let apiUrl = '';
let storeDir = '';
let modelRoot = '';
let sidecar: ModelFilesServer;
let fixture: ModelServerFixture;
const map = new SimulatedDialMap();
let key = '';

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  key = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  storeDir = await mkdtemp(join(tmpdir(), 'hearth-path-store-'));
  const store = new FsArtifactStore(storeDir);
  await store.init();
  app = await buildApp({ db: database.db, artifacts: store, rateLimit: false, authenticatorOptions: { cacheTtlMs: 0 }, datasets: { uploadUrlSecret: SECRET } });
  apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  // The adapter as a user uploads it.
  const call = async (method: string, url: string, payload?: unknown) => {
    const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
    expect(res.statusCode, res.body).toBe(200);
    return JSON.parse(res.body) as Record<string, unknown>;
  };
  await call('POST', '/v1/accounts/acme/models', { modelId: 'sql-lora', model: { kind: 'HF_PEFT_ADDON', peftDetails: { baseModel: BASE, r: 8, targetModules: ['q_proj', 'v_proj'] } } });
  const sizes = Object.fromEntries(Object.entries(files).map(([n, b]) => [n, String(b.length)]));
  const urls = (await call('POST', '/v1/accounts/acme/models/sql-lora:getUploadEndpoint', { filenameToSize: sizes })).filenameToSignedUrls as Record<string, string>;
  for (const [name, bytes] of Object.entries(files)) {
    const u = new URL(urls[name]!);
    const put = await app.inject({ method: 'PUT', url: u.pathname + u.search, payload: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(put.statusCode, put.body).toBe(200);
  }
  await call('GET', '/v1/accounts/acme/models/sql-lora:validateUpload');
  // The pod: its sidecar and its model server share modelRoot (the pod's /mnt/models).
  modelRoot = await mkdtemp(join(tmpdir(), 'hearth-path-models-'));
  sidecar = await startModelFilesServer({ root: modelRoot, sourceUrl: apiUrl, port: 0, mountPath: '/mnt/models' });
  fixture = await startModelServerFixture({ model: BASE, modelRoot });
  map.set(`${POD.address}:${MODEL_FILES_PORT}`, `127.0.0.1:${sidecar.port}`);
  map.set(`${POD.address}:${POD.port}`, `127.0.0.1:${fixture.port}`);
}, 60_000);

afterAll(async () => {
  await fixture?.close();
  await sidecar?.close();
  await app?.close();
  await database?.close();
  for (const d of [storeDir, modelRoot]) if (d) await rm(d, { recursive: true, force: true });
});

describe('an adapter\'s files: API → sidecar → model server', () => {
  it('without its files the model server refuses the load (vLLM\'s 404)', async () => {
    const adapters = new HttpAdapterApi(map.dial);
    const model = await new DbAdapterModels(database.db).get(MODEL);
    expect(await adapters.load(POD, MODEL, model!.path)).toMatchObject({ ok: false, status: 404, message: `Loading lora ${MODEL} failed: No adapter found for /mnt/models/acme/sql-lora` });
  });

  it('with URLs signed by the wrong secret the API refuses them and the sidecar says which file (no load possible)', async () => {
    const model = await new DbAdapterModels(database.db).get(MODEL);
    const urls = signedModelFileUrls({ sourceUrl: apiUrl, secret: 'not-the-api-secret-0123456789', clock: realClock })(model!.files!, model!.files!.sizes);
    const res = await new HttpModelFilesApi(map.dial).put(POD, model!.files!, urls);
    expect(res).toMatchObject({ ok: false, status: 502 });
    expect(!res.ok && res.message).toMatch(/^adapter_(config\.json|model\.safetensors): the source answered 401: .*the URL signature is not valid/);
    await expect(stat(join(modelRoot, 'acme', 'sql-lora'))).rejects.toThrow(/ENOENT/);
  });

  it('the controller\'s pieces put the uploaded bytes at lora_path; the model server then loads it; DELETE removes them', async () => {
    const model = await new DbAdapterModels(database.db).get(MODEL);
    expect(model).toMatchObject({ state: 'READY', path: '/mnt/models/acme/sql-lora', files: { account: 'acme', model: 'sql-lora', sizes: { 'adapter_config.json': files['adapter_config.json']!.length, 'adapter_model.safetensors': files['adapter_model.safetensors']!.length } } });
    const urls = signedModelFileUrls({ sourceUrl: apiUrl, secret: SECRET, clock: realClock })(model!.files!, model!.files!.sizes);
    const filesApi = new HttpModelFilesApi(map.dial);
    expect(await filesApi.put(POD, model!.files!, urls)).toEqual({ ok: true });
    for (const [name, bytes] of Object.entries(files)) expect((await readFile(join(modelRoot, 'acme', 'sql-lora', name))).equals(bytes)).toBe(true);
    const adapters = new HttpAdapterApi(map.dial);
    expect(await adapters.load(POD, MODEL, model!.path)).toEqual({ ok: true });
    expect(await adapters.listAdapters(POD)).toEqual(new Set([MODEL]));
    // A restarted server reloads from the files still there; the sidecar fetches nothing again.
    await fixture.restart();
    expect(await filesApi.put(POD, model!.files!, urls)).toEqual({ ok: true });
    expect(await adapters.load(POD, MODEL, model!.path)).toEqual({ ok: true });
    expect(await adapters.unload(POD, MODEL)).toEqual({ ok: true });
    expect(await filesApi.remove(POD, model!.files!)).toEqual({ ok: true });
    await expect(stat(join(modelRoot, 'acme', 'sql-lora'))).rejects.toThrow(/ENOENT/);
    expect(await adapters.load(POD, MODEL, model!.path)).toMatchObject({ ok: false, status: 404 });
  });
});
