// Models through REST on embedded PGlite (no cluster: the collection is PostgreSQL-backed): the
// `{model, modelId}` create wrapper, the kind rules, base-model references, PATCH masks, lists,
// delete, tenancy; time comes from an injected clock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { openDatabase, type Database } from '../../db/client.js';
import { buildApp } from '../app.js';
import { bootstrap } from '../../auth/bootstrap.js';

let database: Database;
let app: FastifyInstance;
const keys: Record<string, string> = {};
let clock = new Date('2026-03-01T10:00:00.000Z');

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const lora = (extra: Record<string, unknown> = {}) => ({ peftDetails: { baseModel: BASE, r: 8, targetModules: ['q_proj', 'v_proj'] }, ...extra });

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  keys.acme = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  keys.globex = (await bootstrap(database.db, { accountId: 'globex', email: 'hank@globex.example' })).apiKey!.key;
  app = await buildApp({ db: database.db, rateLimit: false, authenticatorOptions: { cacheTtlMs: 0 }, now: () => clock });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await database?.close();
});

async function call(method: string, url: string, account: string, payload?: unknown) {
  const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${keys[account]}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
}

const M = (account = 'acme', id = '') => `/v1/accounts/${account}/models${id ? `/${id}` : ''}`;
const fieldsOf = (body: Record<string, unknown>) =>
  ((body.details as { fieldViolations?: { field: string }[] }[]).find((d) => d.fieldViolations)?.fieldViolations ?? []).map((v) => v.field);

describe('models: create', () => {
  it('creates a LoRA from the {model, modelId} wrapper: HF_PEFT_ADDON by default, UPLOADING, output-only fields ignored', async () => {
    const r = await call('POST', M(), 'acme', { modelId: 'my-lora', model: lora({ displayName: 'My LoRA', state: 'READY', name: 'accounts/x/models/y', createTime: 'x' }) });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({
      name: 'accounts/acme/models/my-lora',
      displayName: 'My LoRA',
      createTime: '2026-03-01T10:00:00Z',
      updateTime: '2026-03-01T10:00:00Z',
      state: 'UPLOADING',
      status: { code: 'OK' },
      kind: 'HF_PEFT_ADDON',
      peftDetails: { baseModel: BASE, r: 8, targetModules: ['q_proj', 'v_proj'] },
    });
    const again = await call('POST', M(), 'acme', { modelId: 'my-lora', model: lora() });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 6, message: 'model "accounts/acme/models/my-lora" already exists' });
  });

  it('creates a base model with int64 parameterCount as a string; KIND_UNSPECIFIED is the default kind', async () => {
    const base = await call('POST', M(), 'acme', {
      modelId: 'my-base',
      model: { kind: 'HF_BASE_MODEL', baseModelDetails: { parameterCount: 8030261248, checkpointFormat: 'HUGGINGFACE', huggingfaceFiles: ['model.safetensors'], defaultPrecision: 'FP8' }, contextLength: 131072 },
    });
    expect(base.status, JSON.stringify(base.body)).toBe(200);
    expect(base.body).toMatchObject({ kind: 'HF_BASE_MODEL', contextLength: 131072, baseModelDetails: { parameterCount: '8030261248', checkpointFormat: 'HUGGINGFACE' } });
    expect(base.body.baseModelDetails).not.toHaveProperty('defaultPrecision');
    const unspecified = await call('POST', M(), 'acme', { modelId: 'unspecified-kind', model: lora({ kind: 'KIND_UNSPECIFIED' }) });
    expect(unspecified.body.kind).toBe('HF_PEFT_ADDON');
  });

  it('accepts base models by name under accounts/fireworks, the account’s own existing ones, and another account’s public ones', async () => {
    expect((await call('POST', M(), 'acme', { modelId: 'on-own-base', model: lora({ peftDetails: { baseModel: 'accounts/acme/models/my-base', r: 4, targetModules: ['q_proj'] } }) })).status).toBe(200);
    const missing = await call('POST', M(), 'acme', { modelId: 'on-missing', model: lora({ peftDetails: { baseModel: 'accounts/acme/models/nope', r: 4, targetModules: ['q_proj'] } }) });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('model "accounts/acme/models/nope" not found');
    // globex's private model reads like a missing one; its public model can be referenced.
    await call('POST', M('globex'), 'globex', { modelId: 'private-base', model: { kind: 'HF_BASE_MODEL', baseModelDetails: {} } });
    await call('POST', M('globex'), 'globex', { modelId: 'public-base', model: { kind: 'HF_BASE_MODEL', baseModelDetails: { worldSize: 2 }, public: true } });
    const priv = await call('POST', M(), 'acme', { modelId: 'on-private', model: lora({ peftDetails: { baseModel: 'accounts/globex/models/private-base', r: 4, targetModules: ['q_proj'] } }) });
    expect(priv.status).toBe(404);
    expect(priv.body.message).toBe('model "accounts/globex/models/private-base" not found');
    expect((await call('POST', M(), 'acme', { modelId: 'on-public', model: lora({ peftDetails: { baseModel: 'accounts/globex/models/public-base', r: 4, targetModules: ['q_proj'] } }) })).status).toBe(200);
  });

  it('answers bad input with 400 naming the field and the rule', async () => {
    const cases: [unknown, string][] = [
      [{ model: lora() }, 'modelId'],
      [{ modelId: 'Bad_Id', model: lora() }, 'modelId'],
      [{ modelId: 'x1', model: {} }, 'model.peftDetails'],
      [{ modelId: 'x1', model: lora({ peftDetails: { baseModel: BASE, r: 3, targetModules: ['q_proj'] } }) }, 'model.peftDetails.r'],
      [{ modelId: 'x1', model: lora({ peftDetails: { baseModel: BASE, r: 8 } }) }, 'model.peftDetails.targetModules'],
      [{ modelId: 'x1', model: lora({ peftDetails: { r: 8, targetModules: ['q_proj'] } }) }, 'model.peftDetails.baseModel'],
      [{ modelId: 'x1', model: lora({ peftDetails: { baseModel: 'llama', r: 8, targetModules: ['q_proj'] } }) }, 'model.peftDetails.baseModel'],
      [{ modelId: 'x1', model: { kind: 'HF_BASE_MODEL' } }, 'model.baseModelDetails'],
      [{ modelId: 'x1', model: lora({ baseModelDetails: {} }) }, 'model.baseModelDetails'],
      [{ modelId: 'x1', model: { kind: 'HF_TEFT_ADDON', peftDetails: lora().peftDetails } }, 'model.teftDetails'],
      [{ modelId: 'x1', model: { kind: 'HF_BASE_MODEL', baseModelDetails: { huggingfaceFiles: ['a'] } } }, 'model.baseModelDetails.huggingfaceFiles'],
      [{ modelId: 'x1', model: lora({ kind: 'GGUF' }) }, 'model.kind'],
      [{ modelId: 'x1', model: lora({ bogus: 1 }) }, 'model.bogus'],
      [{ modelId: 'x1', model: lora({ displayName: 'x'.repeat(64) }) }, 'model.displayName'],
      [{ modelId: 'x1', model: lora({ conversationConfig: { system: 'hi' } }) }, 'model.conversationConfig.style'],
      [{ modelId: 'x1', model: lora({ defaultDraftModel: BASE }) }, 'model.defaultDraftTokenCount'],
      [{ modelId: 'x1', model: { kind: 'HF_BASE_MODEL', baseModelDetails: { parameterCount: '-5' } } }, 'model.baseModelDetails.parameterCount'],
      [{ modelId: 'x1', model: lora(), cluster: 'accounts/acme/clusters/c' }, 'cluster'],
      [{ modelId: 'x1', model: lora(), extra: true }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const r = await call('POST', M(), 'acme', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.code).toBe(3);
      expect(fieldsOf(r.body), JSON.stringify(r.body)).toContain(field);
    }
    expect((await call('GET', M('acme', 'x1'), 'acme')).status).toBe(404);
  });
});

describe('models: read, update, delete', () => {
  it('gets with a readMask, and lists with filter, orderBy, paging and totalSize', async () => {
    expect((await call('GET', `${M('acme', 'my-lora')}?readMask=name,peftDetails.r`, 'acme')).body).toEqual({ name: 'accounts/acme/models/my-lora', peftDetails: { r: 8 } });
    const all = await call('GET', M(), 'acme');
    const names = (all.body.models as { name: string }[]).map((m) => m.name);
    expect(names).toEqual([...names].sort());
    expect(names).toContain('accounts/acme/models/my-base');
    expect(all.body.totalSize).toBe(names.length);
    const bases = await call('GET', `${M()}?filter=${encodeURIComponent('kind = "HF_BASE_MODEL"')}`, 'acme');
    expect(bases.body).toMatchObject({ totalSize: 1, models: [{ name: 'accounts/acme/models/my-base' }] });
    const first = await call('GET', `${M()}?pageSize=2&orderBy=name%20desc`, 'acme');
    expect(first.body.models).toHaveLength(2);
    const second = await call('GET', `${M()}?pageSize=2&orderBy=name%20desc&pageToken=${encodeURIComponent(first.body.nextPageToken as string)}`, 'acme');
    const paged = [...(first.body.models as { name: string }[]), ...(second.body.models as { name: string }[])].map((m) => m.name);
    expect(paged).toEqual([...names].reverse().slice(0, paged.length));
    // Another account's model reads like a missing one; lists show only the caller's.
    expect((await call('GET', M('acme', 'private-base'), 'acme')).status).toBe(404);
    expect((await call('GET', M('globex', 'private-base'), 'acme')).status).toBe(404);
    expect(names.some((n) => n.includes('globex'))).toBe(false);
  });

  it('PATCH derives the mask from the body, merges nested fields, ignores output-only ones and re-checks the kind rules', async () => {
    clock = new Date('2026-03-02T00:00:00.000Z');
    const r = await call('PATCH', M('acme', 'my-lora'), 'acme', { description: 'tuned on support tickets', peftDetails: { r: 16, baseModelType: 'llama' }, state: 'READY' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      description: 'tuned on support tickets',
      displayName: 'My LoRA',
      state: 'UPLOADING',
      peftDetails: { baseModel: BASE, r: 16, targetModules: ['q_proj', 'v_proj'] },
      createTime: '2026-03-01T10:00:00Z',
      updateTime: '2026-03-02T00:00:00Z',
    });
    const kind = await call('PATCH', M('acme', 'my-lora'), 'acme', { kind: 'HF_BASE_MODEL' });
    expect(kind.status).toBe(400);
    expect(fieldsOf(kind.body)).toEqual(expect.arrayContaining(['baseModelDetails']));
    const cleared = await call('PATCH', `${M('acme', 'my-lora')}?updateMask=description`, 'acme', {});
    expect(cleared.body).not.toHaveProperty('description');
    expect((await call('PATCH', `${M('acme', 'my-lora')}?updateMask=nope`, 'acme', {})).status).toBe(400);
    expect((await call('PATCH', M('acme', 'my-lora'), 'acme', { peftDetails: { r: 65 } })).status).toBe(400);
    expect((await call('PATCH', M('acme', 'missing'), 'acme', { displayName: 'x' })).status).toBe(404);
    expect((await call('PATCH', M('acme', 'my-lora'), 'acme', {})).body).toMatchObject({ name: 'accounts/acme/models/my-lora' });
  });

  it('DELETE answers {} and the model is gone; a second delete is 404', async () => {
    expect(await call('DELETE', M('acme', 'unspecified-kind'), 'acme')).toEqual({ status: 200, body: {} });
    expect((await call('GET', M('acme', 'unspecified-kind'), 'acme')).status).toBe(404);
    expect((await call('DELETE', M('acme', 'unspecified-kind'), 'acme')).status).toBe(404);
  });
});
