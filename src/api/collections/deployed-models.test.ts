// "Load LoRA" bad input (issue 12): each refusal names the field, creates nothing and holds no
// quota. On the in-memory stores (what a cluster would hold) and embedded PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryKindClients, startTestHearth, type TestHearth } from '../../../test/support/hearth-app.js';
import { createModel } from '../../db/repositories/models.js';
import { LORAS_QUOTA, getQuota, reserve, setQuotaValue } from '../../db/repositories/quotas.js';
import { quotaHolder } from '../mappers/deployed-model.js';
import type { CustomObject } from '../kube/kind-client.js';
import type { MemoryKindClient } from '../routes/memory-kind-client.test-helper.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const NS = 'acct-acme';
let h: TestHearth;
let deployments: MemoryKindClient;
let deployedModels: MemoryKindClient;

function deployment(name: string, spec: Record<string, unknown>): CustomObject {
  return { apiVersion: 'hearth.dev/v1alpha1', kind: 'Deployment', metadata: { name, namespace: NS }, spec: { baseModel: BASE, ...spec } } as CustomObject;
}

async function load(body: Record<string, unknown>, key = h.key) {
  const res = await h.app.inject({ method: 'POST', url: '/v1/accounts/acme/deployedModels', headers: { authorization: `Bearer ${key}` }, payload: body });
  return { status: res.statusCode, body: JSON.parse(res.body) as { code?: number; message?: string; name?: string } };
}

const lorasUsage = async (): Promise<number> => (await getQuota(h.database.db, 'acme', LORAS_QUOTA))?.usage ?? 0;

beforeAll(async () => {
  // The stores a cluster would back, kept here so the test can seed and read them.
  const m = memoryKindClients();
  h = await startTestHearth({ app: m });
  deployments = m.deployments as unknown as MemoryKindClient;
  deployedModels = m.kinds.deployedModels as unknown as MemoryKindClient;
}, 60_000);
afterAll(async () => h?.close());

describe('Load LoRA: bad input', () => {
  beforeAll(async () => {
    deployments.seed(deployment('addons', { enableAddons: true, numPeftDeviceCached: 2 }));
    deployments.seed(deployment('plain', {}));
    const db = h.database.db;
    const adapter = (id: string, over: Record<string, unknown> = {}) =>
      createModel(db, { accountId: 'acme', modelId: id, kind: 'HF_PEFT_ADDON', state: 'READY', spec: { peftDetails: { baseModel: BASE, r: 8 } }, ...over });
    await adapter('ready');
    await adapter('ready-2');
    await adapter('ready-3');
    await adapter('uploading', { state: 'UPLOADING' });
    await adapter('other-base', { spec: { peftDetails: { baseModel: 'accounts/fireworks/models/qwen2p5-0p5b-instruct' } } });
    await adapter('base', { kind: 'HF_BASE_MODEL', spec: {} });
    await createModel(db, { accountId: 'globex', modelId: 'secret', kind: 'HF_PEFT_ADDON', state: 'READY', spec: { peftDetails: { baseModel: BASE } } });
  });

  it.each([
    { what: 'an adapter of another base model', body: { model: 'accounts/acme/models/other-base', deployment: 'accounts/acme/deployments/addons' }, status: 400, says: 'model: "accounts/acme/models/other-base" is an addon of accounts/fireworks/models/qwen2p5-0p5b-instruct' },
    { what: 'an adapter that is not READY', body: { model: 'accounts/acme/models/uploading', deployment: 'accounts/acme/deployments/addons' }, status: 400, says: 'model: "accounts/acme/models/uploading" is UPLOADING, not READY' },
    { what: 'a deployment without addons', body: { model: 'accounts/acme/models/ready', deployment: 'accounts/acme/deployments/plain' }, status: 400, says: 'deployment: "accounts/acme/deployments/plain" does not accept addons' },
    { what: 'a base model of the account (not an addon)', body: { model: 'accounts/acme/models/base', deployment: 'accounts/acme/deployments/addons' }, status: 400, says: 'model: "accounts/acme/models/base" is HF_BASE_MODEL, not an addon' },
    { what: 'a shared base model, known by name only (it would capture that model\'s traffic)', body: { model: BASE, deployment: 'accounts/acme/deployments/addons' }, status: 400, says: 'is a shared base model, not an adapter model' },
    { what: "another account's private model", body: { model: 'accounts/globex/models/secret', deployment: 'accounts/acme/deployments/addons' }, status: 404, says: 'model "accounts/globex/models/secret" not found' },
  ])('$what: $status naming it, nothing created, no quota held', async ({ body, status, says }) => {
    const before = await lorasUsage();
    const r = await load(body);
    expect(r.status).toBe(status);
    expect(r.body.message).toContain(says);
    expect(deployedModels.list(NS)).toEqual([]);
    expect(await lorasUsage()).toBe(before);
  });

  it('more adapters than the deployment’s --max-loras (numPeftDeviceCached): 400 naming the deployment; nothing half-created', async () => {
    expect((await load({ model: 'accounts/acme/models/ready', deployment: 'accounts/acme/deployments/addons' })).status).toBe(200);
    expect((await load({ model: 'accounts/acme/models/ready-2', deployment: 'accounts/acme/deployments/addons' })).status).toBe(200);
    const usage = await lorasUsage();
    expect(usage).toBe(2);
    const r = await load({ model: 'accounts/acme/models/ready-3', deployment: 'accounts/acme/deployments/addons' });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('deployment: "addons" already serves 2 adapters');
    expect(deployedModels.list(NS)).toHaveLength(2);
    expect(await lorasUsage()).toBe(usage);
  });

  it('more adapters than the loras quota: 429 RESOURCE_EXHAUSTED naming the quota; nothing created', async () => {
    for (const o of deployedModels.list(NS)) deployedModels.objects.delete(`${NS}/${o.metadata.name}`);
    await setQuotaValue(h.database.db, 'acme', LORAS_QUOTA, await lorasUsage());
    const r = await load({ model: 'accounts/acme/models/ready-3', deployment: 'accounts/acme/deployments/addons' });
    expect(r.status).toBe(429);
    expect(r.body.message).toContain('loras');
    expect(deployedModels.list(NS)).toEqual([]);
  });
});

describe('Load LoRA: DeployedModels made with kubectl (a bare deployment id in spec.deployment)', () => {
  const kubectlMade = (name: string, model: string, dep: string): CustomObject =>
    ({ apiVersion: 'hearth.dev/v1alpha1', kind: 'DeployedModel', metadata: { name, namespace: NS }, spec: { model, deployment: dep } }) as CustomObject;

  beforeAll(async () => {
    for (const o of deployedModels.list(NS)) deployedModels.objects.delete(`${NS}/${o.metadata.name}`);
    await setQuotaValue(h.database.db, 'acme', LORAS_QUOTA, 100);
    deployments.seed(deployment('one-slot', { enableAddons: true, numPeftDeviceCached: 1 }));
    deployments.seed(deployment('hot', { enableHotReloadLatestAddon: true }));
  });

  it('count against the deployment’s --max-loras like REST-made ones', async () => {
    deployedModels.seed(kubectlMade('applied', 'accounts/acme/models/ready', 'one-slot'));
    const r = await load({ model: 'accounts/acme/models/ready-2', deployment: 'accounts/acme/deployments/one-slot' });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('deployment: "one-slot" already serves 1 adapters');
  });

  it('replaceMergedAddon replaces them too (not only REST-made ones stored under the full name)', async () => {
    deployedModels.seed(kubectlMade('applied-hot', 'accounts/acme/models/ready', 'hot'));
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/accounts/acme/deployedModels?replaceMergedAddon=true',
      headers: { authorization: `Bearer ${h.key}` },
      payload: { model: 'accounts/acme/models/ready-2', deployment: 'accounts/acme/deployments/hot' },
    });
    expect(res.statusCode, res.body).toBe(200);
    const onHot = deployedModels.list(NS).filter((o) => o.spec.deployment === 'hot' || o.spec.deployment === 'accounts/acme/deployments/hot');
    expect(onHot.map((o) => o.spec.model)).toEqual(['accounts/acme/models/ready-2']);
    expect(deployedModels.list(NS).map((o) => o.metadata.name)).toContain('applied'); // another deployment's: kept
  });

  it('a hard-deleted deployment takes them with it (deleted, their loras unit released)', async () => {
    deployments.seed(deployment('gone', { enableAddons: true }));
    deployedModels.seed(kubectlMade('applied-gone', 'accounts/acme/models/ready', 'gone'));
    await reserve(h.database.db, 'acme', LORAS_QUOTA, 1, quotaHolder('applied-gone')); // what the controller holds for it
    const before = await lorasUsage();
    const res = await h.app.inject({ method: 'DELETE', url: '/v1/accounts/acme/deployments/gone?hard=true', headers: { authorization: `Bearer ${h.key}` } });
    expect(res.statusCode, res.body).toBe(200);
    expect(deployedModels.list(NS).map((o) => o.metadata.name)).not.toContain('applied-gone');
    expect(await lorasUsage()).toBe(before - 1);
  });
});

describe('Unload LoRA: the default deployed model of a model (the docs: delete the others first, or make another the default)', () => {
  const del = async (id: string) => {
    const res = await h.app.inject({ method: 'DELETE', url: `/v1/accounts/acme/deployedModels/${id}`, headers: { authorization: `Bearer ${h.key}` } });
    return { status: res.statusCode, body: JSON.parse(res.body) as { message?: string } };
  };
  const idOf = (name: string | undefined) => String(name).split('/').pop()!;

  it('refuses to delete the default while other deployed models of the model are not; allowed once another is the default, and for the last one', async () => {
    deployments.seed(deployment('d1', { enableAddons: true }));
    deployments.seed(deployment('d2', { enableAddons: true }));
    const first = await load({ model: 'accounts/acme/models/ready-3', deployment: 'accounts/acme/deployments/d1' });
    const second = await load({ model: 'accounts/acme/models/ready-3', deployment: 'accounts/acme/deployments/d2' });
    expect([first.status, second.status]).toEqual([200, 200]);
    const [a, b] = [idOf(first.body.name), idOf(second.body.name)];
    expect(deployedModels.list(NS).find((o) => o.metadata.name === a)?.spec.default).toBe(true);

    const refused = await del(a);
    expect(refused.status).toBe(400);
    expect(refused.body.message).toContain(`default: "accounts/acme/deployedModels/${a}" is the default deployed model of accounts/acme/models/ready-3`);
    expect(refused.body.message).toContain(`accounts/acme/deployedModels/${b}`);
    expect(deployedModels.list(NS).map((o) => o.metadata.name)).toContain(a); // nothing deleted

    // The non-default one goes freely; so would the default once it is the last.
    const patched = await h.app.inject({ method: 'PATCH', url: `/v1/accounts/acme/deployedModels/${b}`, headers: { authorization: `Bearer ${h.key}` }, payload: { default: true } });
    expect(patched.statusCode, patched.body).toBe(200);
    expect((await del(a)).status).toBe(200);
    expect((await del(b)).status).toBe(200);
  });
});
