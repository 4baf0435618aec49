// SFT job routes with app.inject on PGlite: validation without a cluster, the dataset checks
// against real dataset rows, and :cancel/:resume rules over an in-memory kind client that behaves like
// the API server where it matters (409 on a taken name, merge patches). The real API server:
// test/integration/api-jobs.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { openDatabase, type Database } from '../../db/client.js';
import { createDataset } from '../../db/repositories/datasets.js';
import { createModel } from '../../db/repositories/models.js';
import { buildApp } from '../app.js';
import { bootstrap } from '../../auth/bootstrap.js';
import { MemoryKindClient } from './memory-kind-client.test-helper.js';

const NS = 'acct-acme';
let database: Database;
let bare: FastifyInstance;
let app: FastifyInstance;
let key: string;
let jobs: MemoryKindClient;
let now = new Date('2026-01-02T04:00:00Z');

async function call(target: FastifyInstance, method: string, url: string, payload?: unknown) {
  const res = await target.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
}
const fields = (body: Record<string, unknown>) =>
  ((body.details as { fieldViolations?: { field: string; reason?: string }[] }[] | undefined) ?? []).flatMap((d) => d.fieldViolations ?? []).map((v) => `${v.field}:${v.reason}`);

const BASE_MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const JOB = { dataset: 'accounts/acme/datasets/chat', baseModel: BASE_MODEL };
const base = '/v1/accounts/acme/supervisedFineTuningJobs';

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  key = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  await bootstrap(database.db, { accountId: 'globex', email: 'hank@globex.example' });
  await createDataset(database.db, { accountId: 'acme', datasetId: 'chat', state: 'READY' });
  await createDataset(database.db, { accountId: 'acme', datasetId: 'uploading' });
  await createDataset(database.db, { accountId: 'globex', datasetId: 'secret', state: 'READY' });
  await createDataset(database.db, { accountId: 'acme', datasetId: 'sized', state: 'READY', exampleCount: 10_000n, estimatedTokenCount: 50_000_000n });
  await createModel(database.db, { accountId: 'acme', modelId: 'existing-lora', state: 'READY', spec: { peftDetails: { baseModel: BASE_MODEL } } });
  bare = await buildApp({ db: database.db, rateLimit: false });
  jobs = new MemoryKindClient(() => new Date('2026-01-02T03:04:05Z'));
  app = await buildApp({ db: database.db, rateLimit: false, kinds: { supervisedFineTuningJobs: jobs }, now: () => now });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await bare?.close();
  await database?.close();
});

describe('SFT jobs: validation (no cluster needed)', () => {
  it('names the field and the rule of a bad body or id, and answers UNAVAILABLE for a good one without a cluster', async () => {
    const cases: [unknown, string][] = [
      [{ baseModel: BASE_MODEL }, 'dataset:REQUIRED'],
      [{ ...JOB, bogus: 1 }, 'bogus:UNKNOWN_FIELD'],
      [{ ...JOB, loraRank: 3 }, 'loraRank:INVALID'],
      [{ ...JOB, epochs: 0 }, 'epochs:MIN'],
      [{ ...JOB, maxContextLength: 70000 }, 'maxContextLength:MAX'],
      [{ ...JOB, learningRate: 0 }, 'learningRate:MIN'],
      [{ dataset: JOB.dataset }, 'baseModel:INVALID'],
      [{ ...JOB, warmStartFrom: 'accounts/acme/models/lora' }, 'baseModel:INVALID'],
      [{ ...JOB, purpose: 'PURPOSE_FAST' }, 'purpose:ENUM'],
    ];
    for (const [body, want] of cases) {
      const r = await call(bare, 'POST', base, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(fields(r.body), JSON.stringify(r.body)).toContain(want);
    }
    const badId = await call(bare, 'POST', `${base}?supervisedFineTuningJobId=9lives`, JOB);
    expect(fields(badId.body)).toEqual(['supervisedFineTuningJobId:FORMAT']);
    const ok = await call(bare, 'POST', base, { ...JOB, nodes: 4, mtpEnabled: false, state: 'JOB_STATE_COMPLETED' });
    expect(ok.status).toBe(503);
    expect(ok.body.code).toBe(14);
  });
});

describe('SFT jobs over a store', () => {
  it('creates with the given id or a random one; a taken id is 409', async () => {
    const a = await call(app, 'POST', `${base}?supervisedFineTuningJobId=tune`, { ...JOB, displayName: 'Tune', wandbConfig: { enabled: true, url: 'ignored' } });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body).toMatchObject({ name: 'accounts/acme/supervisedFineTuningJobs/tune', dataset: JOB.dataset, baseModel: BASE_MODEL, state: 'JOB_STATE_CREATING', createdBy: 'ann@acme.example', wandbConfig: { enabled: true } });
    expect(jobs.objects.get(`${NS}/tune`)?.spec.wandbConfig).toEqual({ enabled: true });
    expect((await call(app, 'POST', `${base}?supervisedFineTuningJobId=tune`, JOB)).status).toBe(409);
    const r = await call(app, 'POST', base, { ...JOB, dataset: 'chat' });
    expect(r.body.name).toMatch(/^accounts\/acme\/supervisedFineTuningJobs\/[a-z][a-z0-9]{11}$/);
    expect(r.body.dataset).toBe(JOB.dataset); // a bare id is the account's dataset
  });

  it('takes outputModel and the base model as ids or full names; outputModel must be of the caller account', async () => {
    const full = await call(app, 'POST', `${base}?supervisedFineTuningJobId=refs`, { ...JOB, outputModel: 'accounts/acme/models/tuned-1' });
    expect(full.status, JSON.stringify(full.body)).toBe(200);
    expect(jobs.objects.get(`${NS}/refs`)?.spec.outputModel).toBe('tuned-1');
    // A bare id names the account's model (issue 14: it must exist and be tunable).
    const bareBase = await call(app, 'POST', `${base}?supervisedFineTuningJobId=refs2`, { ...JOB, baseModel: 'my-base' });
    expect(bareBase.status, JSON.stringify(bareBase.body)).toBe(404);
    expect(bareBase.body.message).toBe('baseModel: model "accounts/acme/models/my-base" not found');
    const foreignOut = await call(app, 'POST', base, { ...JOB, outputModel: 'accounts/globex/models/tuned-1' });
    expect(foreignOut.status).toBe(400);
    expect(foreignOut.body.message).toBe('outputModel: must name a model of account acme, not accounts/globex/models/tuned-1');
    const foreignBase = await call(app, 'POST', base, { ...JOB, baseModel: 'accounts/globex/models/private' });
    expect(foreignBase.status).toBe(404);
    expect(foreignBase.body.message).toBe('model "accounts/globex/models/private" not found');
  });

  it('accepts only READY datasets of the account or shared ones; another account’s reads as missing', async () => {
    const missing = await call(app, 'POST', base, { ...JOB, dataset: 'accounts/acme/datasets/nope' });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toBe('dataset: dataset "accounts/acme/datasets/nope" not found');
    const foreign = await call(app, 'POST', base, { ...JOB, dataset: 'accounts/globex/datasets/secret' });
    expect(foreign.status).toBe(404);
    expect(foreign.body.message).toBe('dataset: dataset "accounts/globex/datasets/secret" not found');
    const evalMissing = await call(app, 'POST', base, { ...JOB, evaluationDataset: 'nope' });
    expect(fields(evalMissing.body)).toEqual(['evaluationDataset:NOT_FOUND']);
    const uploading = await call(app, 'POST', base, { ...JOB, dataset: 'uploading' });
    expect(uploading.status).toBe(400);
    expect(uploading.body.code).toBe(9);
    expect(fields((await call(app, 'POST', base, { ...JOB, dataset: 'a/b' })).body)).toEqual(['dataset:FORMAT']);
    const shared = await call(app, 'POST', base, { ...JOB, dataset: 'accounts/fireworks/datasets/public-chat' });
    expect(shared.status).toBe(200);
  });

  it('refuses what the controller could not train (issue 14): the base model, the ranges, a taken output model; no object made', async () => {
    const before = jobs.objects.size;
    const cases: [Record<string, unknown>, number, string][] = [
      [{ ...JOB, baseModel: 'accounts/fireworks/models/nope' }, 404, 'baseModel: model "accounts/fireworks/models/nope" not found'],
      [{ ...JOB, baseModel: 'accounts/fireworks/models/deepseek-v3' }, 400, 'baseModel: model "accounts/fireworks/models/deepseek-v3": mixture-of-experts models cannot be fine-tuned (Tunable: false)'],
      [{ ...JOB, baseModel: 'accounts/fireworks/models/llama-v3p1-405b-instruct' }, 400, 'baseModel: model "accounts/fireworks/models/llama-v3p1-405b-instruct": models over 72B parameters cannot be fine-tuned (Tunable: false)'],
      [{ ...JOB, epochs: 1000 }, 400, 'epochs: must be at most 100'],
      [{ ...JOB, learningRate: 3 }, 400, 'learningRate: must be at most 1'],
      [{ ...JOB, outputModel: 'existing-lora' }, 400, 'outputModel: model "accounts/acme/models/existing-lora" already exists; name a new model'],
      [{ dataset: JOB.dataset, warmStartFrom: 'accounts/acme/models/nope' }, 404, 'warmStartFrom: model "accounts/acme/models/nope" not found'],
    ];
    for (const [body, status, message] of cases) {
      const r = await call(app, 'POST', base, body);
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.body.message).toBe(message);
    }
    expect(jobs.objects.size).toBe(before);
  });

  it(':estimateCost prices the job from the dataset\'s tokens, the epochs and the GPU', async () => {
    const one = await call(app, 'POST', `${base}:estimateCost`, { ...JOB, dataset: 'sized' });
    expect(one.status, JSON.stringify(one.body)).toBe(200);
    const two = await call(app, 'POST', `${base}:estimateCost`, { ...JOB, dataset: 'sized', epochs: 2 });
    const usd = (b: Record<string, unknown>) => Number((b.estimatedCost as { units: string }).units) + (b.estimatedCost as { nanos: number }).nanos / 1e9;
    expect(one.body.estimatedCost).toMatchObject({ currencyCode: 'USD' });
    expect(usd(one.body)).toBeGreaterThan(0);
    expect(usd(two.body)).toBeCloseTo(usd(one.body) * 2, 1);
  });

  it('gets, lists by name, filters, and answers 404 for unknown ids', async () => {
    expect((await call(app, 'GET', `${base}/tune?readMask=name,state`)).body).toEqual({ name: 'accounts/acme/supervisedFineTuningJobs/tune', state: 'JOB_STATE_CREATING' });
    expect((await call(app, 'GET', `${base}/nope`)).status).toBe(404);
    expect((await call(app, 'GET', `${base}/NOPE`)).status).toBe(404);
    const list = await call(app, 'GET', base);
    const names = (list.body.supervisedFineTuningJobs as { name: string }[]).map((j) => j.name);
    expect(names).toEqual([...names].sort());
    const filtered = await call(app, 'GET', `${base}?filter=${encodeURIComponent('displayName = "Tune"')}`);
    expect(filtered.body.totalSize).toBe(1);
  });

  it(':cancel stops an unfinished job; :resume restarts only failed, cancelled or paused ones', async () => {
    const resumeEarly = await call(app, 'POST', `${base}/tune:resume`, {});
    expect(resumeEarly.status).toBe(400);
    expect(resumeEarly.body).toMatchObject({ code: 9 });
    expect(resumeEarly.body.message).toContain('is JOB_STATE_CREATING');
    expect(await call(app, 'POST', `${base}/tune:cancel`, {})).toEqual({ status: 200, body: {} });
    expect((await call(app, 'GET', `${base}/tune`)).body.state).toBe('JOB_STATE_CANCELLING');
    expect((await call(app, 'POST', `${base}/tune:cancel`, {})).status).toBe(200);
    expect((await call(app, 'POST', `${base}/tune:resume`, {})).status).toBe(400);
    // The controller reports CANCELLED.
    jobs.objects.get(`${NS}/tune`)!.status = { state: 'JOB_STATE_CANCELLED', updateTime: '2026-01-02T04:00:30Z' };
    expect((await call(app, 'POST', `${base}/tune:cancel`, {})).status).toBe(400);
    now = new Date('2026-01-02T04:01:00Z');
    const resumed = await call(app, 'POST', `${base}/tune:resume`, {});
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ name: 'accounts/acme/supervisedFineTuningJobs/tune', state: 'JOB_STATE_RE_QUEUEING' });
    expect(jobs.objects.get(`${NS}/tune`)?.metadata.annotations).toMatchObject({ 'hearth.dev/resume-requested': '2026-01-02T04:01:00Z' });
    expect(jobs.objects.get(`${NS}/tune`)?.metadata.annotations?.['hearth.dev/cancel-requested']).toBeUndefined();
    expect((await call(app, 'POST', `${base}/tune:resume`, {})).status).toBe(200); // idempotent
    // Cancelling before the controller acts withdraws the resume.
    expect((await call(app, 'POST', `${base}/tune:cancel`, {})).status).toBe(200);
    expect((await call(app, 'GET', `${base}/tune`)).body.state).toBe('JOB_STATE_CANCELLED');
    jobs.objects.get(`${NS}/tune`)!.status = { state: 'JOB_STATE_COMPLETED', updateTime: '2026-01-02T05:00:00Z' };
    expect((await call(app, 'POST', `${base}/tune:resume`, {})).body.message).toContain('only JOB_STATE_FAILED, JOB_STATE_CANCELLED, JOB_STATE_PAUSED jobs can be resumed');
    expect((await call(app, 'POST', `${base}/tune:cancel`, {})).status).toBe(400);
  });

  it('DELETE removes the job', async () => {
    expect(await call(app, 'DELETE', `${base}/tune`)).toEqual({ status: 200, body: {} });
    expect((await call(app, 'GET', `${base}/tune`)).status).toBe(404);
    expect((await call(app, 'DELETE', `${base}/tune`)).status).toBe(404);
    expect((await call(app, 'POST', `${base}/tune:cancel`, {})).status).toBe(404);
  });
});
