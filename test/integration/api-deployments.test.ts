// The REST facade's deployments against the real (simulated) cluster and a real PostgreSQL: a
// create through REST is an object in the account's namespace, visible through get and list (the
// list from the watch-fed cache); another account gets 404; no key or a revoked key 401; bad
// bodies 400 naming the field; pagination, filter and orderBy over 500 objects; soft delete,
// showDeleted, undelete; quota exhaustion answers 429 naming the quota.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { installCrds } from '../../hack/lib/crds.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { createLogger } from '../../src/log.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { KubeDeploymentClient } from '../../src/api/kube/kind-client.js';
import { NamespaceEnsurer, accountNamespace } from '../../src/api/kube/namespaces.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { loadKubeConfig, type PooledKubeConfig } from '../../src/kube/config.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { callApiWithHeaders } from '../support/api.js';
import { kubeconfigPath } from '../support/env.js';
import { kubeAccess } from '../support/kube.js';
import { waitFor } from '../support/wait.js';
import { TEST_SEAL } from '../support/tenancy.js';

const suffix = randomBytes(3).toString('hex');
const ACME = `api-acme-${suffix}`;
const GLOBEX = `api-globex-${suffix}`;
const PAGED = `api-paged-${suffix}`;
const dbName = `hearth_t_api_deployments_${suffix}`;
const BASE_MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';

let kc: PooledKubeConfig;
let database: Database;
let client: KubeDeploymentClient;
let app: FastifyInstance;
const keys: Record<string, string> = {};

interface Res {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, unknown>;
}

async function call(method: string, url: string, account: string | null, payload?: unknown): Promise<Res> {
  return callApiWithHeaders(app, method, url, account ? keys[account] : undefined, payload);
}

const dep = (account: string, id = '') => `/v1/accounts/${account}/deployments${id ? `/${id}` : ''}`;

async function clusterObject(account: string, name: string): Promise<Record<string, unknown> | undefined> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  try {
    return (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: accountNamespace(account), plural: 'deployments', name })) as Record<string, unknown>;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}

async function dumpAccount(account: string): Promise<unknown> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const list = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: accountNamespace(account), plural: 'deployments' })) as { items: { metadata: { name: string; annotations?: unknown }; status?: unknown }[] };
  return { cached: client.list(accountNamespace(account)).map((o) => o.metadata.name), cluster: list.items.map((o) => ({ name: o.metadata.name, annotations: o.metadata.annotations, status: o.status })) };
}

beforeAll(async () => {
  kc = loadKubeConfig(kubeconfigPath());
  await installCrds(kc, 'hearth-crds-test');
  database = await createScratchDatabase(dbName);
  const namespaces = new NamespaceEnsurer(kc, { seal: TEST_SEAL });
  for (const a of [ACME, GLOBEX, PAGED]) {
    keys[a] = (await bootstrap(database.db, { accountId: a, email: `admin@${a}.example` })).apiKey!.key;
    await namespaces.ensure(a);
  }
  const log = createLogger({ level: 'silent' });
  client = new KubeDeploymentClient(kubeAccess(kc, { log }), { log });
  await client.start();
  app = await buildApp({ db: database.db, deployments: client, ensureNamespace: (a) => namespaces.ensure(a), logger: log, rateLimit: false });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await client?.stop();
  const core = kc.makeApiClient(CoreV1Api);
  for (const a of [ACME, GLOBEX, PAGED]) await core.deleteNamespace({ name: accountNamespace(a) }).catch(() => undefined);
  await database?.close();
  await dropScratchDatabase(dbName).catch(() => undefined);
  kc?.destroy();
});

describe('deployments through REST', () => {
  it('creates the object in the account namespace, visible through get and list at once', async () => {
    const created = await call('POST', `${dep(ACME)}?deploymentId=web`, ACME, {
      baseModel: BASE_MODEL,
      displayName: 'Web',
      minReplicaCount: 0,
      maxReplicaCount: 2,
      autoscalingPolicy: { scaleDownWindow: '5m' },
      state: 'READY', // output only: ignored
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toMatchObject({
      name: `accounts/${ACME}/deployments/web`,
      displayName: 'Web',
      baseModel: BASE_MODEL,
      state: 'CREATING',
      acceleratorType: 'NVIDIA_A100_80GB',
      autoscalingPolicy: { scaleUpWindow: '30s', scaleDownWindow: '300s', scaleToZeroWindow: '3600s' } });
    expect(created.body.createTime).toMatch(/^\d{4}-\d\d-\d\dT/);

    const obj = await clusterObject(ACME, 'web');
    expect(obj).toMatchObject({ metadata: { name: 'web', namespace: accountNamespace(ACME), labels: { 'hearth.dev/account': ACME } }, spec: { baseModel: BASE_MODEL } });

    const got = await call('GET', dep(ACME, 'web'), ACME);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ name: `accounts/${ACME}/deployments/web`, displayName: 'Web' });
    const listed = await call('GET', dep(ACME), ACME);
    expect((listed.body.deployments as { name: string }[]).map((d) => d.name)).toContain(`accounts/${ACME}/deployments/web`);
    expect((await call('GET', `${dep(ACME, 'web')}?readMask=name,state`, ACME)).body).toEqual({ name: `accounts/${ACME}/deployments/web`, state: 'CREATING' });

    expect((await call('POST', `${dep(ACME)}?deploymentId=web`, ACME, { baseModel: BASE_MODEL })).status).toBe(409);
  });

  it('lists objects made with kubectl too (the cache is fed by the watch)', async () => {
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: accountNamespace(ACME),
      plural: 'deployments',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', metadata: { name: 'from-kubectl' }, spec: { baseModel: BASE_MODEL } } });
    await waitFor('the kubectl-made deployment in the REST list', async () => {
      const r = await call('GET', `${dep(ACME)}?filter=${encodeURIComponent('name = "accounts/' + ACME + '/deployments/from-kubectl"')}`, ACME);
      return r.body.totalSize === 1;
    }, { timeoutMs: 15_000, dump: () => dumpAccount(ACME) });
  });

  it('validates: validateOnly creates nothing; PATCH derives the mask and keeps region immutable; :scale writes replicaCount', async () => {
    const dry = await call('POST', `${dep(ACME)}?deploymentId=dry&validateOnly=true`, ACME, { baseModel: BASE_MODEL, precision: 'FP16' });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ name: `accounts/${ACME}/deployments/dry`, precision: 'FP16', acceleratorType: 'NVIDIA_A100_80GB' });
    expect(await clusterObject(ACME, 'dry')).toBeUndefined();

    const placed = await call('POST', `${dep(ACME)}?deploymentId=placed`, ACME, { baseModel: BASE_MODEL, placement: { region: 'US_ILLINOIS_2' } });
    expect(placed.status, JSON.stringify(placed.body)).toBe(200);
    const patched = await call('PATCH', dep(ACME, 'placed'), ACME, { displayName: 'Renamed', maxReplicaCount: 3, createTime: 'ignored' });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ displayName: 'Renamed', maxReplicaCount: 3, baseModel: BASE_MODEL, placement: { region: 'US_ILLINOIS_2' } });
    const moved = await call('PATCH', dep(ACME, 'placed'), ACME, { placement: { region: 'US_VIRGINIA_2' } });
    expect(moved.status).toBe(400);
    expect(moved.body.message).toContain('placement.region');
    const cleared = await call('PATCH', `${dep(ACME, 'placed')}?updateMask=displayName`, ACME, {});
    expect(cleared.status).toBe(200);
    expect(cleared.body).not.toHaveProperty('displayName');
    const badMask = await call('PATCH', `${dep(ACME, 'placed')}?updateMask=noSuchField`, ACME, {});
    expect(badMask.status).toBe(400);

    expect((await call('PATCH', `${dep(ACME, 'placed')}:scale`, ACME, { replicaCount: 2 })).body).toEqual({});
    expect(await clusterObject(ACME, 'placed')).toMatchObject({ spec: { replicaCount: 2 } });
    expect((await call('PATCH', `${dep(ACME, 'placed')}:scale`, ACME, { replicaCount: -1 })).status).toBe(400);
  });

  it('answers bad bodies with 400 naming the field and the rule', async () => {
    const cases: [unknown, string, string][] = [
      [{ displayName: 'x' }, 'baseModel', 'is required'],
      [{ baseModel: BASE_MODEL, autoscalingPolicy: { scaleToZeroWindow: '60s' } }, 'autoscalingPolicy.scaleToZeroWindow', 'at least 5m'],
      [{ baseModel: BASE_MODEL, precision: 'FP8', acceleratorType: 'NVIDIA_A100_80GB' }, 'precision', 'NVIDIA_H100_80GB'],
      [{ baseModel: BASE_MODEL, unknownField: true }, 'unknownField', 'unknown field'],
      [{ baseModel: BASE_MODEL, minReplicaCount: 'two' }, 'minReplicaCount', ''],
      [{ baseModel: BASE_MODEL, acceleratorType: 'CPU', acceleratorCount: 1 }, 'acceleratorCount', 'must be unset with acceleratorType CPU'],
      [{ baseModel: BASE_MODEL, acceleratorType: 'CPU', placement: { region: 'US_IOWA_1' } }, 'placement', 'must be unset with acceleratorType CPU'],
      [{ baseModel: BASE_MODEL, acceleratorType: 'TPU' }, 'acceleratorType', ''],
    ];
    for (const [body, field, rule] of cases) {
      const r = await call('POST', dep(ACME), ACME, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.code).toBe(3);
      const violations = (r.body.details as { fieldViolations?: { field: string; description: string }[] }[]).find((d) => d.fieldViolations)!.fieldViolations!;
      expect(violations.some((v) => v.field === field && v.description.includes(rule)), JSON.stringify(r.body)).toBe(true);
    }
  });
});

describe('tenancy and authentication', () => {
  it("answers another account's deployment exactly like a missing one: 404", async () => {
    const foreign = await call('GET', dep(ACME, 'web'), GLOBEX);
    const missing = await call('GET', dep(GLOBEX, 'web'), GLOBEX);
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(foreign.body.code).toBe(missing.body.code);
    expect(foreign.body.message).toBe(`deployment "accounts/${ACME}/deployments/web" not found`);
    for (const [m, u, p] of [
      ['PATCH', dep(ACME, 'web'), { displayName: 'pwned' }],
      ['DELETE', `${dep(ACME, 'web')}?hard=true`, undefined],
      ['POST', `${dep(ACME, 'web')}:undelete`, {}],
      ['PATCH', `${dep(ACME, 'web')}:scale`, { replicaCount: 5 }],
      ['GET', dep(ACME), undefined],
      ['POST', dep(ACME), { baseModel: BASE_MODEL }],
    ] as const) {
      const r = await call(m, u, GLOBEX, p);
      expect(r.status, `${m} ${u}`).toBe(404);
      expect(JSON.stringify(r.body)).not.toContain('Web');
    }
    expect(await clusterObject(ACME, 'web')).toMatchObject({ spec: { displayName: 'Web' } });
    expect((await call('GET', dep(GLOBEX), GLOBEX)).body).toMatchObject({ deployments: [], totalSize: 0 });
  });

  it('answers no key, a malformed key and a revoked key with 401', async () => {
    expect((await call('GET', dep(ACME, 'web'), null)).status).toBe(401);
    const extra = await call('POST', `/v1/accounts/${ACME}/users/admin/apiKeys`, ACME, { apiKey: { displayName: 'temp' } });
    expect(extra.status, JSON.stringify(extra.body)).toBe(200);
    keys.temp = extra.body.key as string;
    expect((await call('GET', dep(ACME, 'web'), 'temp')).status).toBe(200);
    expect((await call('POST', `/v1/accounts/${ACME}/users/admin/apiKeys:delete`, ACME, { keyId: extra.body.keyId })).status).toBe(200);
    const revoked = await call('GET', dep(ACME, 'web'), 'temp');
    expect(revoked.status).toBe(401);
    expect(revoked.body.code).toBe(16);
  });
});

describe('lists', () => {
  it('pages 500 deployments with filter and orderBy, with totalSize and a token bound to its query', async () => {
    const N = 500;
    const pad = (i: number) => String(i).padStart(3, '0');
    const create = async (i: number) => {
      const r = await call('POST', `${dep(PAGED)}?deploymentId=d${pad(i)}`, PAGED, {
        baseModel: BASE_MODEL,
        displayName: `deployment ${pad(i)}`,
        minReplicaCount: 0,
        maxReplicaCount: (i % 3) + 1 });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    };
    // The first three one by one (the default order is by create time), the rest 8 at a time.
    for (let i = 0; i < 3; i++) await create(i);
    let next = 3;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < N) await create(next++);
    }));
    // All of them at once, then page through a filtered, ordered view.
    const all = await call('GET', `${dep(PAGED)}?pageSize=200`, PAGED);
    expect(all.body.totalSize).toBe(N);
    expect(all.body.deployments).toHaveLength(200);
    expect(all.body).toHaveProperty('nextPageToken');
    // pageSize above 200 is capped at 200.
    expect((await call('GET', `${dep(PAGED)}?pageSize=1000`, PAGED)).body.deployments).toHaveLength(200);

    const filter = encodeURIComponent('maxReplicaCount >= 2 AND displayName != "deployment 007"');
    const orderBy = encodeURIComponent('displayName desc');
    const expected = Array.from({ length: N }, (_, i) => i)
      .filter((i) => (i % 3) + 1 >= 2 && i !== 7)
      .sort((a, b) => b - a)
      .map((i) => `deployment ${pad(i)}`);
    const PAGE = 37;
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const r = await call('GET', `${dep(PAGED)}?pageSize=${PAGE}&filter=${filter}&orderBy=${orderBy}${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`, PAGED);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.totalSize).toBe(expected.length);
      const items = r.body.deployments as { displayName: string }[];
      expect(items.length).toBeLessThanOrEqual(PAGE);
      seen.push(...items.map((d) => d.displayName));
      token = (r.body.nextPageToken as string | undefined) ?? '';
      if (pages === 0) {
        const other = await call('GET', `${dep(PAGED)}?pageSize=${PAGE}&orderBy=name&pageToken=${encodeURIComponent(token)}`, PAGED);
        expect(other.status).toBe(400);
        expect(other.body.message).toContain('pageToken');
      }
      pages++;
    } while (token);
    expect(seen).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / PAGE));

    const byCreate = await call('GET', `${dep(PAGED)}?pageSize=3`, PAGED);
    expect((byCreate.body.deployments as { name: string }[]).map((d) => d.name.split('/').pop())).toEqual(['d000', 'd001', 'd002']);
    const badFilter = await call('GET', `${dep(PAGED)}?filter=${encodeURIComponent('displayName ~ "x"')}`, PAGED);
    expect(badFilter.status).toBe(400);
  });
});

describe('soft delete', () => {
  it('marks the object, hides it unless showDeleted, and undeletes it', async () => {
    expect((await call('POST', `${dep(ACME)}?deploymentId=gone`, ACME, { baseModel: BASE_MODEL })).status).toBe(200);
    const live = await call('POST', `${dep(ACME, 'gone')}:undelete`, ACME, {});
    expect(live.status).toBe(400);
    expect(live.body.code).toBe(9);

    expect((await call('DELETE', dep(ACME, 'gone'), ACME)).body).toEqual({});
    const obj = await clusterObject(ACME, 'gone');
    expect(obj, 'a soft delete keeps the object').toBeDefined();
    const got = await call('GET', dep(ACME, 'gone'), ACME);
    expect(got.body).toMatchObject({ state: expect.stringMatching(/^DELETING|DELETED$/) });
    expect(Date.parse(got.body.purgeTime as string)).toBeGreaterThan(Date.parse(got.body.deleteTime as string));

    const names = async (q: string) => ((await call('GET', `${dep(ACME)}?pageSize=200${q}`, ACME)).body.deployments as { name: string }[]).map((d) => d.name);
    expect(await names('')).not.toContain(`accounts/${ACME}/deployments/gone`);
    expect(await names('&showDeleted=true')).toContain(`accounts/${ACME}/deployments/gone`);
    expect((await call('PATCH', dep(ACME, 'gone'), ACME, { displayName: 'x' })).status).toBe(400);

    const back = await call('POST', `${dep(ACME, 'gone')}:undelete`, ACME, {});
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    expect(back.body.state).not.toMatch(/DELET/);
    expect(back.body).not.toHaveProperty('deleteTime');
    expect(await names('')).toContain(`accounts/${ACME}/deployments/gone`);

    expect((await call('DELETE', `${dep(ACME, 'gone')}?hard=true`, ACME)).body).toEqual({});
    expect(await clusterObject(ACME, 'gone')).toBeUndefined();
    expect((await call('GET', dep(ACME, 'gone'), ACME)).status).toBe(404);
    expect(await names('&showDeleted=true')).not.toContain(`accounts/${ACME}/deployments/gone`);
  });
});

describe('quota', () => {
  it('answers 429 RESOURCE_EXHAUSTED naming the quota on create and :scale, and frees it on delete', async () => {
    const h100 = { baseModel: BASE_MODEL, acceleratorType: 'NVIDIA_H100_80GB', placement: { region: 'US_VIRGINIA_2' } };
    const big = await call('POST', `${dep(ACME)}?deploymentId=big`, ACME, { ...h100, acceleratorCount: 8, minReplicaCount: 1 });
    expect(big.status, JSON.stringify(big.body)).toBe(200);
    const quota = await call('GET', `/v1/accounts/${ACME}/quotas/h100-us-virginia-2`, ACME);
    expect(quota.body).toMatchObject({ value: '8', usage: 8 });

    const more = await call('POST', `${dep(ACME)}?deploymentId=more`, ACME, { ...h100, acceleratorCount: 1, minReplicaCount: 1 });
    expect(more.status).toBe(429);
    expect(more.body.code).toBe(8);
    expect(more.body.message).toContain(`accounts/${ACME}/quotas/h100-us-virginia-2`);
    expect(await clusterObject(ACME, 'more')).toBeUndefined();

    const scaled = await call('PATCH', `${dep(ACME, 'big')}:scale`, ACME, { replicaCount: 2 });
    expect(scaled.status).toBe(429);
    expect(scaled.body.message).toContain('h100-us-virginia-2');

    // A deployment that needs no GPUs while idle (min 0) fits; a dry run says the same as a create.
    expect((await call('POST', `${dep(ACME)}?deploymentId=idle`, ACME, { ...h100, acceleratorCount: 1 })).status).toBe(200);
    expect((await call('POST', `${dep(ACME)}?deploymentId=more&validateOnly=true`, ACME, { ...h100, acceleratorCount: 1, minReplicaCount: 1 })).status).toBe(429);

    expect((await call('DELETE', dep(ACME, 'big'), ACME)).status).toBe(200);
    expect((await call('GET', `/v1/accounts/${ACME}/quotas/h100-us-virginia-2`, ACME)).body).toMatchObject({ usage: 0 });
    const now = await call('POST', `${dep(ACME)}?deploymentId=more`, ACME, { ...h100, acceleratorCount: 1, minReplicaCount: 1 });
    expect(now.status, JSON.stringify(now.body)).toBe(200);
  });

  it('never oversubscribes under 50 concurrent creates', async () => {
    const h100 = { baseModel: BASE_MODEL, acceleratorType: 'NVIDIA_H100_80GB', placement: { region: 'US_VIRGINIA_2' }, acceleratorCount: 1, minReplicaCount: 1 };
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => call('POST', `${dep(GLOBEX)}?deploymentId=c${i}`, GLOBEX, h100)));
    const codes = results.map((r) => r.status);
    expect(codes.filter((c) => c === 200)).toHaveLength(8);
    expect(codes.filter((c) => c === 429)).toHaveLength(42);
    expect((await call('GET', `/v1/accounts/${GLOBEX}/quotas/h100-us-virginia-2`, GLOBEX)).body).toMatchObject({ usage: 8 });
    expect((await call('GET', dep(GLOBEX), GLOBEX)).body.totalSize).toBe(8);
  });
});
