// Cross-account references over REST (issue 15 item 7): a Deployment's baseModel (create and
// update), an SFT job's baseModel and warmStartFrom, a DeployedModel's model — naming another
// account's PRIVATE model answers exactly as a model that does not exist (404), and nothing is
// created; the same account's model, or another account's public one, passes the reference check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryKindClients, startTestHearth, type TestHearth } from '../../../test/support/hearth-app.js';
import { createDataset } from '../../db/repositories/datasets.js';
import { createModel } from '../../db/repositories/models.js';
import type { CustomObject } from '../kube/kind-client.js';
import type { MemoryKindClient } from './memory-kind-client.test-helper.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const PRIVATE = 'accounts/globex/models/secret-base';
const PRIVATE_LORA = 'accounts/globex/models/secret-lora';
const MISSING = 'accounts/globex/models/does-not-exist';
let h: TestHearth;
let deployments: MemoryKindClient;
let sftJobs: MemoryKindClient;
let deployedModels: MemoryKindClient;

async function call(method: 'POST' | 'PATCH', url: string, payload: unknown) {
  const res = await h.app.inject({ method, url, headers: { authorization: `Bearer ${h.key}` }, payload: payload as object });
  return { status: res.statusCode, body: JSON.parse(res.body) as { code?: number; message?: string } };
}

/** The answer for `ref` must be the answer for a model that does not exist, with its name swapped. */
async function expectLikeMissing(send: (model: string) => Promise<{ status: number; body: { code?: number; message?: string } }>, ref: string): Promise<void> {
  const hidden = await send(ref);
  const missing = await send(MISSING);
  expect(hidden.status, JSON.stringify(hidden.body)).toBe(404);
  expect(hidden.body.message).toBe(missing.body.message?.replace(MISSING, ref));
  expect(hidden.body.code).toBe(missing.body.code);
}

beforeAll(async () => {
  const m = memoryKindClients();
  h = await startTestHearth({ app: m });
  deployments = m.deployments as unknown as MemoryKindClient;
  sftJobs = m.kinds.supervisedFineTuningJobs as unknown as MemoryKindClient;
  deployedModels = m.kinds.deployedModels as unknown as MemoryKindClient;
  const db = h.database.db;
  await createModel(db, { accountId: 'globex', modelId: 'secret-base', kind: 'HF_BASE_MODEL', state: 'READY', spec: {} });
  await createModel(db, { accountId: 'globex', modelId: 'secret-lora', kind: 'HF_PEFT_ADDON', state: 'READY', spec: { peftDetails: { baseModel: BASE, r: 8 } } });
  await createModel(db, { accountId: 'globex', modelId: 'open-base', kind: 'HF_BASE_MODEL', state: 'READY', spec: { public: true } });
  await createDataset(db, { accountId: 'acme', datasetId: 'chat', state: 'READY' });
  deployments.seed({ apiVersion: 'hearth.dev/v1alpha1', kind: 'Deployment', metadata: { name: 'addons', namespace: 'acct-acme' }, spec: { baseModel: BASE, enableAddons: true } } as CustomObject);
}, 60_000);
afterAll(async () => h?.close());

describe("another account's private model is 404, like a missing one", () => {
  it('Deployment.baseModel on create; nothing created', async () => {
    const before = deployments.objects.size;
    await expectLikeMissing((m) => call('POST', '/v1/accounts/acme/deployments?deploymentId=d-priv', { baseModel: m }), PRIVATE);
    expect(deployments.objects.size).toBe(before);
    // Another account's PUBLIC model passes the reference check.
    const open = await call('POST', '/v1/accounts/acme/deployments?deploymentId=d-open', { baseModel: 'accounts/globex/models/open-base' });
    expect(open.status, JSON.stringify(open.body)).not.toBe(404);
  });

  it('Deployment.baseModel and draftModel on update; the object is unchanged', async () => {
    const made = await call('POST', '/v1/accounts/acme/deployments?deploymentId=d-upd', { baseModel: BASE });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    const before = JSON.stringify(deployments.objects.get('acct-acme/d-upd')?.spec);
    await expectLikeMissing((m) => call('PATCH', '/v1/accounts/acme/deployments/d-upd?updateMask=baseModel', { baseModel: m }), PRIVATE);
    await expectLikeMissing((m) => call('PATCH', '/v1/accounts/acme/deployments/d-upd?updateMask=draftModel', { draftModel: m }), PRIVATE);
    expect(JSON.stringify(deployments.objects.get('acct-acme/d-upd')?.spec)).toBe(before);
  });

  it('supervisedFineTuningJob.baseModel and warmStartFrom; nothing created', async () => {
    const before = sftJobs.objects.size;
    await expectLikeMissing((m) => call('POST', '/v1/accounts/acme/supervisedFineTuningJobs', { dataset: 'accounts/acme/datasets/chat', baseModel: m }), PRIVATE);
    await expectLikeMissing((m) => call('POST', '/v1/accounts/acme/supervisedFineTuningJobs', { dataset: 'accounts/acme/datasets/chat', warmStartFrom: m }), PRIVATE_LORA);
    expect(sftJobs.objects.size).toBe(before);
  });

  it('deployedModel.model; nothing created', async () => {
    const before = deployedModels.objects.size;
    await expectLikeMissing((m) => call('POST', '/v1/accounts/acme/deployedModels', { model: m, deployment: 'accounts/acme/deployments/addons' }), PRIVATE_LORA);
    expect(deployedModels.objects.size).toBe(before);
  });
});
