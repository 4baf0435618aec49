// Metering on the simulated cluster (KWOK marks a GPU pod Running/Ready) with a real PostgreSQL:
// a pod labelled like Hearth's model servers, on a GPU node, is billed from Ready to gone in the
// ledger — across a restart of the metering runnable (the downtime is reconstructed, not lost).
// 1-second ledger intervals keep the test short; production uses minutes.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { asc, eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meteringRunnable, type Metering } from '../../src/controllers/metering/metering.js';
import type { Database } from '../../src/db/client.js';
import { createAccount } from '../../src/db/repositories/accounts.js';
import { usageLedger } from '../../src/db/schema/index.js';
import { KubeClients } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { InformerFactory } from '../../src/kube/informer-factory.js';
import { realClock } from '../../src/util/clock.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { kubeconfigPath } from '../support/env.js';
import { createTestNamespace } from '../support/namespace.js';
import { dumpNamespace, waitFor } from '../support/wait.js';
import { TEST_SEAL } from '../support/tenancy.js';

const suffix = randomBytes(3).toString('hex');
const NS = `metering-${suffix}`;
const ACCOUNT = `acct-metering-${suffix}`;
const DEPLOYMENT = `meter-${suffix}`;
const dbName = `hearth_t_metering_${suffix}`;
const kc = loadKubeConfig(kubeconfigPath());
const core = kc.makeApiClient(CoreV1Api);
const log = pino({ level: process.env.HEARTH_TEST_LOG ?? 'warn' });
let database: Database;
const meters: Metering[] = [];



async function startMeter(): Promise<Metering> {
  // A cache of its own, as a fresh process would have (a restart is a new process).
  const informers = new InformerFactory(new KubeClients(kc, {}, realClock), { clock: realClock, tenancy: TEST_SEAL, log, backoff: { initialMs: 200, maxMs: 2000 } });
  const m = meteringRunnable({ informers, db: database.db, clock: realClock, log, intervalMs: 1000, flushIntervalMs: 500 });
  meters.push(m);
  await m.start();
  return m;
}

const dump = (): Promise<unknown> => dumpNamespace(kc, NS);

beforeAll(async () => {
  database = await createScratchDatabase(dbName);
  await createAccount(database.db, { accountId: ACCOUNT, email: 'metering@example.com' });
  await createTestNamespace(kc, NS, { 'hearth.dev/account': ACCOUNT });
});

afterAll(async () => {
  for (const m of meters) await m.stop(5000).catch(() => undefined);
  await core.deleteNamespace({ name: NS }).catch(() => undefined);
  await database?.close().catch(() => undefined);
  await dropScratchDatabase(dbName).catch(() => undefined);
});

describe('metering on the simulated cluster', () => {
  it('records a GPU pod’s GPU-seconds from Ready to gone, once, across a restart of the meter', async () => {
    let meter = await startMeter();
    const body: V1Pod = {
      metadata: { name: 'server-0', labels: { 'app.kubernetes.io/managed-by': 'hearth', 'hearth.dev/deployment': DEPLOYMENT } },
      spec: {
        containers: [{ name: 'model-server', image: 'vllm/vllm-openai:fixture', resources: { limits: { 'nvidia.com/gpu': '2' }, requests: { 'nvidia.com/gpu': '2' } } }],
        tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                {
                  matchExpressions: [
                    { key: 'topology.kubernetes.io/region', operator: 'In', values: ['US_ILLINOIS_2'] },
                    { key: 'hearth.dev/accelerator-type', operator: 'In', values: ['NVIDIA_A100_80GB'] },
                  ],
                },
              ],
            },
          },
        },
      },
    };
    const created = await core.createNamespacedPod({ namespace: NS, body });
    const uid = created.metadata!.uid!;
    const readySince = await waitFor(
      'the pod to be Ready on an A100 node',
      async () => {
        const p = await core.readNamespacedPod({ namespace: NS, name: 'server-0' });
        const c = p.status?.conditions?.find((x) => x.type === 'Ready' && x.status === 'True');
        return c?.lastTransitionTime ? new Date(c.lastTransitionTime).getTime() : undefined;
      },
      { timeoutMs: 60_000, dump },
    );
    const rows = () => database.db.select().from(usageLedger).where(eq(usageLedger.replica, uid)).orderBy(asc(usageLedger.intervalStart));
    await waitFor('the first ledger rows', async () => (await rows()).length >= 2, { timeoutMs: 15_000, dump });

    // Restart: the meter is down for ~2 s; its successor resumes from the ledger's last interval.
    await meter.stop(5000);
    await new Promise((r) => setTimeout(r, 2000));
    meter = await startMeter();
    await new Promise((r) => setTimeout(r, 1500));
    await core.deleteNamespacedPod({ namespace: NS, name: 'server-0', gracePeriodSeconds: 0 });
    const deletedAt = Date.now();
    await waitFor('the pod to be gone and its last interval recorded', async () => !meter.isTracking(uid) && (await rows()).length > 0, {
      timeoutMs: 30_000,
      dump: async () => ({ namespace: await dump(), meter: meter.stats, rows: (await rows()).length }),
    });
    const recorded = await rows();
    const total = recorded.reduce((s, r) => s + r.gpuSeconds, 0);
    // Ready (second resolution) to the deletion seen by the meter (well under a second later).
    const expected = ((deletedAt - readySince) / 1000) * 2;
    expect(total).toBeGreaterThan(expected - 2 * 2);
    expect(total).toBeLessThan(expected + 2 * 2);
    for (const [i, r] of recorded.entries()) {
      expect(r).toMatchObject({ accountId: ACCOUNT, deployment: DEPLOYMENT, region: 'US_ILLINOIS_2', acceleratorType: 'NVIDIA_A100_80GB', acceleratorCount: 2 });
      expect(r.intervalStart.getTime() % 1000).toBe(0);
      expect(r.gpuSeconds).toBeLessThanOrEqual(2 + 1e-9);
      // Contiguous, not overlapping: every second from Ready to gone exactly once.
      if (i > 0) expect(r.intervalStart.getTime()).toBe(recorded[i - 1]!.intervalStart.getTime() + 1000);
    }
  });
});
