// Issue 15 item 12 on the real cluster and PostgreSQL: a create retried with the same
// Idempotency-Key / X-Request-Id — one after the other, or all at once on two API replicas (each
// with its own watches and caches, one database) — makes exactly one object in the cluster, for a
// kind with random ids (deployments) and one with numbered ids (batch jobs).
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCrds } from '../../hack/lib/crds.js';
import { buildApp } from '../../src/api/app.js';
import { KubeKindClients } from '../../src/api/kube/kind-client.js';
import { NamespaceEnsurer, accountNamespace } from '../../src/api/kube/namespaces.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { loadKubeConfig, type PooledKubeConfig } from '../../src/kube/config.js';
import { createLogger } from '../../src/log.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { kubeconfigPath } from '../support/env.js';
import { kubeAccess } from '../support/kube.js';
import { TEST_SEAL } from '../support/tenancy.js';

const suffix = randomBytes(3).toString('hex');
const ACME = `idem-acme-${suffix}`;
const dbName = `hearth_t_idempotency_${suffix}`;
const BASE_MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const JOB = { nodePoolId: 'pool', imageRef: 'busybox:1.36', shellExecutor: { command: 'echo hello' } };

let kc: PooledKubeConfig;
let database: Database;
const replicas: { app: FastifyInstance; kinds: KubeKindClients }[] = [];
let key: string;

async function post(replica: number, path: string, body: unknown, headers: Record<string, string>) {
  const res = await replicas[replica]!.app.inject({ method: 'POST', url: `/v1/accounts/${ACME}/${path}`, headers: { authorization: `Bearer ${key}`, ...headers }, payload: body as object });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown>, headers: res.headers };
}

async function inCluster(plural: string): Promise<string[]> {
  const list = (await kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: accountNamespace(ACME), plural })) as { items: { metadata: { name: string } }[] };
  return list.items.map((o) => o.metadata.name);
}

beforeAll(async () => {
  kc = loadKubeConfig(kubeconfigPath());
  await installCrds(kc, 'hearth-crds-test');
  database = await createScratchDatabase(dbName);
  key = (await bootstrap(database.db, { accountId: ACME, email: `admin@${ACME}.example` })).apiKey!.key;
  const namespaces = new NamespaceEnsurer(kc, { seal: TEST_SEAL });
  await namespaces.ensure(ACME);
  const log = createLogger({ level: 'silent' });
  for (let i = 0; i < 2; i++) {
    const kinds = new KubeKindClients(kubeAccess(kc, { log }), { log });
    await kinds.start();
    const app = await buildApp({ db: database.db, deployments: kinds.deployments, kinds: kinds.others, ensureNamespace: (a) => namespaces.ensure(a), logger: log, rateLimit: false });
    replicas.push({ app, kinds });
  }
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: accountNamespace(ACME),
    plural: 'nodepools',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'NodePool', metadata: { name: 'pool' }, spec: { fakeNodePool: { numNodes: 0 } } },
  });
}, 180_000);

afterAll(async () => {
  for (const r of replicas) {
    await r.app.close();
    await r.kinds.stop();
  }
  await kc?.makeApiClient(CoreV1Api).deleteNamespace({ name: accountNamespace(ACME) }).catch(() => undefined);
  await database?.close();
  await dropScratchDatabase(dbName).catch(() => undefined);
  kc?.destroy();
});

describe('retried creates', () => {
  it('a deployment create sent twice with one Idempotency-Key makes one deployment', async () => {
    const first = await post(0, 'deployments', { baseModel: BASE_MODEL }, { 'idempotency-key': 'dep-seq' });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const retry = await post(1, 'deployments', { baseModel: BASE_MODEL }, { 'idempotency-key': 'dep-seq' });
    expect(retry.status).toBe(200);
    expect(retry.body.name).toBe(first.body.name);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await inCluster('deployments')).toEqual([String(first.body.name).split('/').pop()]);
  });

  it('10 concurrent duplicates of a deployment and of a batch job on two replicas make one of each', async () => {
    const before = (await inCluster('deployments')).length;
    const deps = await Promise.all(Array.from({ length: 10 }, (_, i) => post(i % 2, 'deployments', { baseModel: BASE_MODEL, displayName: 'once' }, { 'x-request-id': 'dep-concurrent' })));
    expect(deps.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(deps.map((r) => r.body.name)).size).toBe(1);
    expect((await inCluster('deployments')).length).toBe(before + 1);

    const jobs = await Promise.all(Array.from({ length: 10 }, (_, i) => post(i % 2, 'batchJobs', JOB, { 'idempotency-key': 'job-concurrent' })));
    expect(jobs.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(jobs.map((r) => r.body.name)).size).toBe(1);
    expect(await inCluster('batchjobs')).toHaveLength(1);
  });

  it('the same key with another body is a 400 naming the header, and creates nothing', async () => {
    const before = (await inCluster('batchjobs')).length;
    const other = await post(1, 'batchJobs', { ...JOB, displayName: 'different' }, { 'idempotency-key': 'job-concurrent' });
    expect(other.status).toBe(400);
    expect(JSON.stringify(other.body)).toMatch(/"field":"Idempotency-Key"/);
    expect(await inCluster('batchjobs')).toHaveLength(before);
    // A new key is a new job.
    expect((await post(0, 'batchJobs', JOB, { 'idempotency-key': 'job-2' })).status).toBe(200);
    expect(await inCluster('batchjobs')).toHaveLength(before + 1);
  });
});
