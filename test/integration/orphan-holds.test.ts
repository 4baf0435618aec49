// Issue 15 item 10: the orphan sweep on the real cluster and PostgreSQL. Three holds: one of a
// Deployment that exists (kept), one of a Deployment that does not and that nobody wrote for longer
// than the grace (freed, and the quota's usage goes down with it), one of a missing Deployment
// written just now (kept: a create the cache has not seen yet).
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCrds } from '../../hack/lib/crds.js';
import { NamespaceEnsurer, accountNamespace } from '../../src/api/kube/namespaces.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { OrphanHoldSweeper, listAllDeployments } from '../../src/controllers/deployment/orphan-holds.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { getQuota, holdsByHolderPrefix, setHolds } from '../../src/db/repositories/quotas.js';
import { quotaHolds } from '../../src/db/schema/index.js';
import { loadKubeConfig, type PooledKubeConfig } from '../../src/kube/config.js';
import { createLogger } from '../../src/log.js';
import { realClock } from '../../src/util/clock.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { kubeconfigPath } from '../support/env.js';
import { kubeAccess } from '../support/kube.js';
import { waitFor } from '../support/wait.js';
import { TEST_SEAL } from '../support/tenancy.js';

const suffix = randomBytes(3).toString('hex');
const ACME = `orphan-acme-${suffix}`;
const dbName = `hearth_t_orphan_holds_${suffix}`;
const QUOTA = 'h100-us-virginia-2';
const GRACE_MS = 60_000;

let kc: PooledKubeConfig;
let database: Database;
let sweeper: OrphanHoldSweeper | undefined;

beforeAll(async () => {
  kc = loadKubeConfig(kubeconfigPath());
  await installCrds(kc, 'hearth-crds-test');
  database = await createScratchDatabase(dbName);
  await bootstrap(database.db, { accountId: ACME, email: `admin@${ACME}.example` });
  await new NamespaceEnsurer(kc, { seal: TEST_SEAL }).ensure(ACME);
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: accountNamespace(ACME),
    plural: 'deployments',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', metadata: { name: 'live' }, spec: { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct' } },
  });
  for (const name of ['live', 'ghost', 'fresh']) await setHolds(database.db, ACME, `deployment/${name}`, { [QUOTA]: 2 });
  // `live` and `ghost` were last written long ago; `fresh` just now.
  await database.db
    .update(quotaHolds)
    .set({ updateTime: sql`now() - interval '1 hour'` })
    .where(and(eq(quotaHolds.accountId, ACME), sql`${quotaHolds.holder} in ('deployment/live', 'deployment/ghost')`));
}, 180_000);

afterAll(async () => {
  await sweeper?.stop();
  await kc?.makeApiClient(CoreV1Api).deleteNamespace({ name: accountNamespace(ACME) }).catch(() => undefined);
  await database?.close();
  await dropScratchDatabase(dbName).catch(() => undefined);
  kc?.destroy();
});

describe('orphan hold sweep', () => {
  it('frees the hold of a Deployment that no longer exists, keeps the live one and the fresh one', async () => {
    expect((await getQuota(database.db, ACME, QUOTA))?.usage).toBe(6);
    const log = createLogger({ level: 'silent' });
    const { informers } = kubeAccess(kc, { log });
    sweeper = new OrphanHoldSweeper({ db: database.db, informers, clock: realClock, log, graceMs: GRACE_MS, intervalMs: 500 });
    await sweeper.start();
    const holders = async () => (await holdsByHolderPrefix(database.db, 'deployment/')).filter((h) => h.accountId === ACME).map((h) => h.holder);
    await waitFor('the ghost hold is freed', async () => !(await holders()).includes('deployment/ghost'), {
      timeoutMs: 30_000,
      dump: async () => ({ holds: await holdsByHolderPrefix(database.db, 'deployment/') }),
    });
    expect((await holders()).sort()).toEqual(['deployment/fresh', 'deployment/live']);
    expect((await getQuota(database.db, ACME, QUOTA))?.usage).toBe(4);
    // Another sweep changes nothing.
    expect(await sweeper.sweepOnce()).toEqual([]);
  });

  it('a sharded manager\'s sweeper (its cache holds one shard) lists every Deployment from the API server: the live hold stays', async () => {
    await sweeper?.stop();
    await setHolds(database.db, ACME, 'deployment/ghost2', { [QUOTA]: 2 });
    await database.db
      .update(quotaHolds)
      .set({ updateTime: sql`now() - interval '1 hour'` })
      .where(and(eq(quotaHolds.accountId, ACME), sql`${quotaHolds.holder} in ('deployment/live', 'deployment/ghost2')`));
    const log = createLogger({ level: 'silent' });
    const { clients, informers } = kubeAccess(kc, { log });
    sweeper = new OrphanHoldSweeper({ db: database.db, informers, clock: realClock, log, graceMs: GRACE_MS, intervalMs: 60_000, listDeployments: listAllDeployments(clients) });
    await sweeper.start();
    const holders = async () => (await holdsByHolderPrefix(database.db, 'deployment/')).filter((h) => h.accountId === ACME).map((h) => h.holder);
    await waitFor('the ghost2 hold is freed', async () => !(await holders()).includes('deployment/ghost2'), {
      timeoutMs: 30_000,
      dump: async () => ({ holds: await holdsByHolderPrefix(database.db, 'deployment/') }),
    });
    expect((await holders()).sort()).toEqual(['deployment/fresh', 'deployment/live']);
    expect(await sweeper.sweepOnce()).toEqual([]);
  });
});
