// Deployment shapes against the real (simulated) cluster and PostgreSQL: a caller reads the shared
// shapes of accounts/fireworks, creates a deployment from one over REST and reads it back — over
// REST and from the API server — with the shape's settings and its version name; the CRD's CEL rule
// refuses a shape that is not a version name when written directly.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCrds } from '../../hack/lib/crds.js';
import { buildApp } from '../../src/api/app.js';
import { KubeDeploymentClient } from '../../src/api/kube/kind-client.js';
import { NamespaceEnsurer, accountNamespace } from '../../src/api/kube/namespaces.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { deploymentShape } from '../../src/fleet/deployment-shapes.js';
import { loadKubeConfig, type PooledKubeConfig } from '../../src/kube/config.js';
import { createLogger } from '../../src/log.js';
import { callApiWithHeaders } from '../support/api.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { kubeconfigPath } from '../support/env.js';
import { kubeAccess } from '../support/kube.js';
import { TEST_SEAL } from '../support/tenancy.js';

const suffix = randomBytes(3).toString('hex');
const ACME = `shape-acme-${suffix}`;
const dbName = `hearth_t_api_shapes_${suffix}`;
const SHAPE_ID = 'llama-v3p1-8b-instruct-h100';
const SHAPE = `accounts/fireworks/deploymentShapes/${SHAPE_ID}`;
const VERSION_NAME = `${SHAPE}/versions/${deploymentShape(SHAPE_ID)!.versionId}`;

let kc: PooledKubeConfig;
let database: Database;
let store: KubeDeploymentClient;
let app: FastifyInstance;
let key: string;

const call = (method: string, url: string, payload?: unknown) => callApiWithHeaders(app, method, url, key, payload);

beforeAll(async () => {
  kc = loadKubeConfig(kubeconfigPath());
  await installCrds(kc, 'hearth-crds-test');
  database = await createScratchDatabase(dbName);
  const namespaces = new NamespaceEnsurer(kc, { seal: TEST_SEAL });
  key = (await bootstrap(database.db, { accountId: ACME, email: `admin@${ACME}.example` })).apiKey!.key;
  await namespaces.ensure(ACME);
  const log = createLogger({ level: 'silent' });
  store = new KubeDeploymentClient(kubeAccess(kc, { log }), { log });
  await store.start();
  app = await buildApp({ db: database.db, deployments: store, ensureNamespace: (a) => namespaces.ensure(a), logger: log, rateLimit: false });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await store?.stop();
  await kc?.makeApiClient(CoreV1Api).deleteNamespace({ name: accountNamespace(ACME) }).catch(() => undefined);
  await database?.close();
  await dropScratchDatabase(dbName).catch(() => undefined);
  kc?.destroy();
});

describe('a deployment from a deployment shape, on the cluster', () => {
  it('reads the shared shape, creates a deployment from it and reads the deployment back with the shape', async () => {
    const shape = await call('GET', `/v1/${SHAPE}`);
    expect(shape.status, JSON.stringify(shape.body)).toBe(200);
    expect(shape.body).toMatchObject({ name: SHAPE, acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 1, precision: 'FP8' });

    const created = await call('POST', `/v1/accounts/${ACME}/deployments?deploymentId=shaped`, {
      baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct',
      deploymentShape: SHAPE,
      placement: { region: 'US_VIRGINIA_2' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toMatchObject({ deploymentShape: VERSION_NAME, acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 1, precision: 'FP8', maxContextLength: 131072 });

    const read = await call('GET', `/v1/accounts/${ACME}/deployments/shaped`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ name: `accounts/${ACME}/deployments/shaped`, deploymentShape: VERSION_NAME, acceleratorType: 'NVIDIA_H100_80GB', precision: 'FP8' });

    const custom = kc.makeApiClient(CustomObjectsApi);
    const obj = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: accountNamespace(ACME), plural: 'deployments', name: 'shaped' })) as { spec: Record<string, unknown> };
    expect(obj.spec).toMatchObject({ deploymentShape: VERSION_NAME, acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 1, precision: 'FP8', maxContextLength: 131072 });
  });

  it('refuses bad shape input over REST: unknown shape 404, region without the accelerator 400, contradiction 400', async () => {
    const base = { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct' };
    const unknown = await call('POST', `/v1/accounts/${ACME}/deployments`, { ...base, deploymentShape: 'accounts/fireworks/deploymentShapes/nope' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain('accounts/fireworks/deploymentShapes/nope');
    const region = await call('POST', `/v1/accounts/${ACME}/deployments`, { ...base, deploymentShape: SHAPE, placement: { region: 'EU_PARIS_1' } });
    expect(region.status).toBe(400);
    expect(region.body.message).toMatch(/^placement\.region: /);
    const contra = await call('POST', `/v1/accounts/${ACME}/deployments`, { ...base, deploymentShape: SHAPE, precision: 'FP16' });
    expect(contra.status).toBe(400);
    expect(contra.body.message).toMatch(/^precision: .*; deploymentShape: /);
  });

  it('the CRD refuses a deploymentShape that is not a shape version name', async () => {
    const custom = kc.makeApiClient(CustomObjectsApi);
    const body = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Deployment',
      metadata: { name: 'bare-shape' },
      spec: { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', deploymentShape: SHAPE_ID },
    };
    const err = await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: accountNamespace(ACME), plural: 'deployments', body }).then(
      () => undefined,
      (e: unknown) => e as { code?: number; body?: unknown },
    );
    expect(err?.code).toBe(422);
    expect(String(err?.body)).toContain('deploymentShape must be a shape version name');
  });
});
