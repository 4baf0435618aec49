// Batch inference job routes with app.inject on PGlite and an in-memory store: the create checks
// (each failure naming its field), the wire shape, continuation defaults and :cancel. The real API
// server and the controller: test/e2e/batch-inference.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { bootstrap } from '../../auth/bootstrap.js';
import { openDatabase, type Database } from '../../db/client.js';
import { createDataset } from '../../db/repositories/datasets.js';
import { createModel } from '../../db/repositories/models.js';
import type { DeploymentClient } from '../kube/kind-client.js';
import { buildApp } from '../app.js';
import { MemoryKindClient } from './memory-kind-client.test-helper.js';

const NS = 'acct-acme';
const MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const base = '/v1/accounts/acme/batchInferenceJobs';
let database: Database;
let app: FastifyInstance;
let key: string;
let jobs: MemoryKindClient;
let deployments: MemoryKindClient;

async function call(method: string, url: string, payload?: unknown) {
  const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
}

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  key = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  await bootstrap(database.db, { accountId: 'globex', email: 'hank@globex.example' });
  await createDataset(database.db, { accountId: 'acme', datasetId: 'questions', state: 'READY' });
  await createDataset(database.db, { accountId: 'acme', datasetId: 'uploading' });
  await createDataset(database.db, { accountId: 'acme', datasetId: 'taken', state: 'READY' });
  await createDataset(database.db, { accountId: 'globex', datasetId: 'secret', state: 'READY' });
  await createModel(database.db, { accountId: 'acme', modelId: 'mine', state: 'READY' });
  await createModel(database.db, { accountId: 'globex', modelId: 'private', state: 'READY' });
  jobs = new MemoryKindClient(() => new Date('2026-12-06T03:04:05Z'));
  deployments = new MemoryKindClient();
  await deployments.create({ apiVersion: 'hearth.dev/v1alpha1', kind: 'Deployment', metadata: { name: 'd1', namespace: NS }, spec: { baseModel: MODEL } });
  app = await buildApp({ db: database.db, rateLimit: false, kinds: { batchInferenceJobs: jobs }, deployments: deployments as unknown as DeploymentClient });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await database?.close();
});

describe('batch inference jobs: create checks, each naming its field', () => {
  const cases: Array<[string, Record<string, unknown>, number, RegExp]> = [
    ['no model', { inputDatasetId: 'questions' }, 400, /^model: /],
    ['no input', { model: MODEL }, 400, /^inputDatasetId: /],
    ['a model that does not exist', { model: 'accounts/acme/models/nope', inputDatasetId: 'questions' }, 404, /^model: model "accounts\/acme\/models\/nope" not found$/],
    ['another account\'s private model', { model: 'accounts/globex/models/private', inputDatasetId: 'questions' }, 404, /^model: model "accounts\/globex\/models\/private" not found$/],
    ['a deployment that does not exist', { model: `${MODEL}#accounts/acme/deployments/nope`, inputDatasetId: 'questions' }, 404, /^model: deployment "accounts\/acme\/deployments\/nope" not found$/],
    ['a deployed model that does not exist', { model: 'accounts/acme/deployedModels/nope', inputDatasetId: 'questions' }, 404, /^model: deployedModel /],
    ['a malformed model', { model: 'llama', inputDatasetId: 'questions' }, 400, /^model: must be accounts/],
    ['an input dataset that does not exist', { model: MODEL, inputDatasetId: 'nope' }, 404, /^inputDatasetId: dataset "accounts\/acme\/datasets\/nope" not found$/],
    ['another account\'s input dataset', { model: MODEL, inputDatasetId: 'accounts/globex/datasets/secret' }, 404, /^inputDatasetId: dataset "accounts\/globex\/datasets\/secret" not found$/],
    ['an input dataset that is not READY', { model: MODEL, inputDatasetId: 'uploading' }, 400, /^inputDatasetId: dataset "accounts\/acme\/datasets\/uploading" is UPLOADING; only a READY dataset can be read$/],
    ['an output dataset that exists', { model: MODEL, inputDatasetId: 'questions', outputDatasetId: 'taken' }, 400, /^outputDatasetId: dataset "accounts\/acme\/datasets\/taken" already exists/],
    ['an output dataset of another account', { model: MODEL, inputDatasetId: 'questions', outputDatasetId: 'accounts/globex/datasets/x' }, 400, /^outputDatasetId: must be a new dataset of this account/],
    ['a continued job that does not exist', { continuedFromJobName: 'accounts/acme/batchInferenceJobs/nope' }, 404, /^continuedFromJobName: batchInferenceJob "accounts\/acme\/batchInferenceJobs\/nope" not found$/],
    ['an unknown field', { model: MODEL, inputDatasetId: 'questions', maxConcurrency: 3 }, 400, /maxConcurrency/],
  ];
  it.each(cases)('%s → %s naming the field', async (_, body, status, message) => {
    const r = await call('POST', base, body);
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(r.body.message).toMatch(message);
    expect(jobs.list(NS)).toHaveLength(0);
  });
});

describe('batch inference jobs: the resource', () => {
  it('create stores full dataset names and the default output; get and list show the published shape, CREATING until the controller reports', async () => {
    const r = await call('POST', `${base}?batchInferenceJobId=first`, { displayName: 'First', model: MODEL, inputDatasetId: 'questions', inferenceParameters: { maxTokens: 16 } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({
      name: 'accounts/acme/batchInferenceJobs/first',
      displayName: 'First',
      model: MODEL,
      inputDatasetId: 'accounts/acme/datasets/questions',
      outputDatasetId: 'accounts/acme/datasets/first-output',
      inferenceParameters: { maxTokens: 16 },
      createTime: '2026-12-06T03:04:05Z',
      updateTime: '2026-12-06T03:04:05Z',
      createdBy: 'ann@acme.example',
      state: 'JOB_STATE_CREATING',
    });
    expect((await call('GET', `${base}/first`)).body).toEqual(r.body);
    expect((await call('GET', base)).body).toMatchObject({ batchInferenceJobs: [r.body], totalSize: 1 });
  });

  it('a model on a deployment of the account and a model of the account are accepted', async () => {
    expect((await call('POST', `${base}?batchInferenceJobId=on-dep`, { model: `${MODEL}#accounts/acme/deployments/d1`, inputDatasetId: 'accounts/acme/datasets/questions' })).status).toBe(200);
    expect((await call('POST', `${base}?batchInferenceJobId=own-model`, { model: 'acme/mine', inputDatasetId: 'questions', outputDatasetId: 'accounts/acme/datasets/own-out' })).status).toBe(200);
  });

  it(':cancel marks it CANCELLING; a job that ended cannot be cancelled; continuing needs an ended job and takes its model and input', async () => {
    expect((await call('POST', base, { continuedFromJobName: 'accounts/acme/batchInferenceJobs/on-dep' })).body.message).toMatch(/^continuedFromJobName: batch inference job .* is JOB_STATE_CREATING; only a job that has ended can be continued$/);
    const c = await call('POST', `${base}/on-dep:cancel`, {});
    expect(c.status).toBe(200);
    expect(c.body.state).toBe('JOB_STATE_CANCELLING');
    expect(jobs.list(NS).find((j) => j.metadata.name === 'on-dep')?.spec.cancelRequested).toBe(true);
    const obj = jobs.list(NS).find((j) => j.metadata.name === 'own-model')!;
    jobs.seed({ ...obj, status: { state: 'JOB_STATE_COMPLETED', outputDatasetId: 'own-out' } });
    const again = await call('POST', `${base}/own-model:cancel`, {});
    expect(again.status).toBe(400);
    expect(again.body.message).toMatch(/is JOB_STATE_COMPLETED; only a job that has not ended can be cancelled/);
    const cont = await call('POST', `${base}?batchInferenceJobId=retry`, { continuedFromJobName: 'accounts/acme/batchInferenceJobs/own-model' });
    expect(cont.status, JSON.stringify(cont.body)).toBe(200);
    expect(cont.body).toMatchObject({ model: 'acme/mine', inputDatasetId: 'accounts/acme/datasets/questions', outputDatasetId: 'accounts/acme/datasets/retry-output', continuedFromJobName: 'accounts/acme/batchInferenceJobs/own-model' });
  });

  it('delete removes the job', async () => {
    expect((await call('DELETE', `${base}/first`)).status).toBe(200);
    expect((await call('GET', `${base}/first`)).status).toBe(404);
  });
});
