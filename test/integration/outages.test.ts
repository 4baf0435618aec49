// Issue 15 item 11: an outage of a dependency answers 503 UNAVAILABLE with Retry-After, never 500,
// and the API recovers by itself once the dependency is back. The API under test reaches the
// shared cluster and PostgreSQL through TCP proxies this file opens and closes (the shared servers
// themselves are never stopped): closed, new connections are refused and open ones reset.
// - PostgreSQL down: what needs it (datasets, creates) is 503; reads of cached custom objects keep
//   working; /readyz names the database; /healthz stays 200.
// - API server down: writes and cache misses are 503; lists and gets from the caches keep working;
//   /readyz names the API server.
// - Both back: every request succeeds again, with no restart of the app.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCrds } from '../../hack/lib/crds.js';
import { buildApp } from '../../src/api/app.js';
import { KubeKindClients } from '../../src/api/kube/kind-client.js';
import { NamespaceEnsurer, accountNamespace } from '../../src/api/kube/namespaces.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { loadKubeConfig, type PooledKubeConfig } from '../../src/kube/config.js';
import { createLogger } from '../../src/log.js';
import { callApiWithHeaders } from '../support/api.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { databaseUrl, kubeconfigPath } from '../support/env.js';
import { kubeAccess } from '../support/kube.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';
import { TEST_SEAL } from '../support/tenancy.js';

const suffix = randomBytes(3).toString('hex');
const ACME = `outage-acme-${suffix}`;
const dbName = `hearth_t_outages_${suffix}`;
const BASE_MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';

let direct: PooledKubeConfig;
let proxiedKc: PooledKubeConfig;
let tmp: string;
let setupDb: Database;
let appDb: Database;
let kinds: KubeKindClients;
let app: FastifyInstance;
let key: string;
/** A key never used before the outage: authenticating it needs the database. */
let unusedKey: string;
let dbProxy: TcpProxy;
let kubeProxy: TcpProxy;

const dep = (id = '') => `/v1/accounts/${ACME}/deployments${id ? `/${id}` : ''}`;
const call = (method: string, url: string, payload?: unknown) => callApiWithHeaders(app, method, url, key, payload);

/** A 503 UNAVAILABLE with Retry-After naming `what`. */
function expectUnavailable(r: Awaited<ReturnType<typeof call>>, what: RegExp): void {
  expect(r.status, JSON.stringify(r.body)).toBe(503);
  expect(r.body.code).toBe(14);
  expect(String(r.body.message)).toMatch(what);
  expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
}

beforeAll(async () => {
  direct = loadKubeConfig(kubeconfigPath());
  await installCrds(direct, 'hearth-crds-test');
  setupDb = await createScratchDatabase(dbName);
  key = (await bootstrap(setupDb.db, { accountId: ACME, email: `admin@${ACME}.example` })).apiKey!.key;
  unusedKey = (await bootstrap(setupDb.db, { accountId: `${ACME}-b`, email: `admin@${ACME}-b.example` })).apiKey!.key;
  await new NamespaceEnsurer(direct, { seal: TEST_SEAL }).ensure(ACME);

  // PostgreSQL through a proxy.
  const pgUrl = new URL(databaseUrl());
  dbProxy = new TcpProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
  pgUrl.port = String(await dbProxy.open());
  pgUrl.hostname = '127.0.0.1';
  pgUrl.pathname = `/${dbName}`;
  appDb = await openDatabase({ url: pgUrl.toString(), connectTimeoutMs: 2_000 });

  // The API server through a proxy: the same kubeconfig with the server's port replaced.
  const server = new URL(direct.getCurrentCluster()!.server);
  kubeProxy = new TcpProxy({ host: server.hostname, port: Number(server.port || 443) });
  const port = await kubeProxy.open();
  tmp = mkdtempSync(join(tmpdir(), 'hearth-outage-'));
  const path = join(tmp, 'kubeconfig');
  writeFileSync(path, readFileSync(kubeconfigPath(), 'utf8').replaceAll(server.origin, `${server.protocol}//${server.hostname}:${port}`));
  proxiedKc = loadKubeConfig(path);

  const log = createLogger({ level: 'silent' });
  const access = kubeAccess(proxiedKc, { log });
  kinds = new KubeKindClients(access, { log });
  await kinds.start();
  const namespaces = new NamespaceEnsurer(proxiedKc, { seal: TEST_SEAL });
  app = await buildApp({
    db: appDb.db,
    deployments: kinds.deployments,
    kinds: kinds.others,
    ensureNamespace: (a) => namespaces.ensure(a),
    logger: log,
    rateLimit: false,
    readiness: [{ name: 'kubernetes', check: async () => void (await access.clients.getJSON('/version')) }],
  });
  const created = await call('POST', `${dep()}?deploymentId=before`, { baseModel: BASE_MODEL });
  expect(created.status, JSON.stringify(created.body)).toBe(200);
}, 180_000);

afterAll(async () => {
  await app?.close();
  await kinds?.stop();
  await appDb?.close().catch(() => undefined);
  await dbProxy?.close();
  await kubeProxy?.close();
  for (const a of [ACME, `${ACME}-b`]) await direct?.makeApiClient(CoreV1Api).deleteNamespace({ name: accountNamespace(a) }).catch(() => undefined);
  await setupDb?.close();
  await dropScratchDatabase(dbName).catch(() => undefined);
  proxiedKc?.destroy();
  direct?.destroy();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('PostgreSQL unreachable', () => {
  it('answers 503 with Retry-After for what needs the database, serves cached reads, and /readyz says why', async () => {
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    await dbProxy.close();
    try {
      expectUnavailable(await call('GET', `/v1/accounts/${ACME}/datasets`), /database/);
      expectUnavailable(await call('GET', `/v1/accounts/${ACME}/users`), /database/);
      // A key not in the authenticator's cache cannot be checked: 503, not 401 and not 500.
      expectUnavailable(await callApiWithHeaders(app, 'GET', `/v1/accounts/${ACME}-b/deployments`, unusedKey), /database/);
      expectUnavailable(await call('POST', `/v1/accounts/${ACME}/datasets`, { dataset: { format: 'CHAT' }, datasetId: 'during-db' }), /database/);
      // The key was authenticated before (cached), the deployment is in the informer's cache, and a
      // deployment's create needs only the cluster.
      const got = await call('GET', dep('before'));
      expect(got.status, JSON.stringify(got.body)).toBe(200);
      const created = await call('POST', `${dep()}?deploymentId=during-db`, { baseModel: BASE_MODEL });
      expect(created.status, JSON.stringify(created.body)).toBe(200);
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.headers['retry-after']).toBeDefined();
      expect(JSON.parse(ready.body)).toMatchObject({ status: 'not ready', checks: { kubernetes: 'ok' } });
      expect(JSON.parse(ready.body).checks.database).not.toBe('ok');
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await dbProxy.open();
    }
    // Recovery: the pool reconnects on its own.
    await waitFor('the datasets list answers again', async () => (await call('GET', `/v1/accounts/${ACME}/datasets`)).status === 200, { timeoutMs: 20_000 });
    const after = await call('POST', `${dep()}?deploymentId=after-db`, { baseModel: BASE_MODEL });
    expect(after.status, JSON.stringify(after.body)).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});

describe('API server unreachable', () => {
  it('answers 503 with Retry-After for writes and cache misses, serves lists and gets from the caches', async () => {
    await kubeProxy.close();
    try {
      expectUnavailable(await call('POST', `${dep()}?deploymentId=during-kube`, { baseModel: BASE_MODEL }), /API server|cluster/);
      expectUnavailable(await call('PATCH', dep('before'), { displayName: 'x' }), /API server|cluster/);
      // Not in the cache: only the API server could say whether it exists.
      expectUnavailable(await call('GET', dep('never-made')), /API server|cluster/);
      const list = await call('GET', dep());
      expect(list.status, JSON.stringify(list.body)).toBe(200);
      expect((list.body.deployments as { name: string }[]).map((d) => d.name)).toContain(`accounts/${ACME}/deployments/before`);
      expect((await call('GET', dep('before'))).status).toBe(200);
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(JSON.parse(ready.body).checks).toMatchObject({ database: 'ok' });
      expect(JSON.parse(ready.body).checks.kubernetes).not.toBe('ok');
    } finally {
      await kubeProxy.open();
    }
    await waitFor(
      'a create succeeds again',
      async () => {
        const r = await call('POST', `${dep()}?deploymentId=after-kube`, { baseModel: BASE_MODEL });
        expect(r.status, JSON.stringify(r.body)).not.toBe(500);
        return r.status === 200 || r.status === 409;
      },
      { timeoutMs: 30_000 },
    );
    expect((await call('GET', dep('after-kube'))).status).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});
