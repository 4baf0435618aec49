// Issue 15, "the tests that prove it": the crash test. Hearth's controller and API run as real
// processes (src/main.ts modes `controller` and `api`); a seeded run kills one or both with SIGKILL
// at random points while REST traffic creates, updates, scales, soft-deletes, undeletes and
// hard-deletes deployments (and a "kubectl delete" goes straight to the API server). After each kill
// the killed processes are started again, traffic pauses, and within 30 s (from the restarted
// processes being up; how long Node takes to start them is measured apart):
//   one workload and one Service per live deployment, quota holds equal to footprints, soft-deleted
//   ones DELETED with nothing held, no finalizer stuck, no orphaned hold or child, the ledger
//   consistent — and no request ever answered 500.
// The seed is printed; HEARTH_CRASH_SEED=<seed> replays it. HEARTH_CRASH_KILLS sets the number of
// kills: the default fits CI; the full run is
//   HEARTH_CRASH_KILLS=100 KUBECONFIG=… HEARTH_KEEP_CLUSTER=1 npx vitest run --project integration test/integration/crash.test.ts
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NamespaceEnsurer, accountNamespace } from '../../src/api/kube/namespaces.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { loadKubeConfig, type PooledKubeConfig } from '../../src/kube/config.js';
import { describeState, invariantViolations, ledgerViolations, readState } from '../support/chaos-cluster.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { databaseUrl, kubeconfigPath } from '../support/env.js';
import { HearthProcess, envNumber, seededRandom } from '../support/hearth-process.js';
import { waitFor } from '../support/wait.js';
import { TEST_SEAL, installTestSeal } from '../support/tenancy.js';
import { freePort } from '../../hack/lib/free-port.js';

const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `crash-${suffix}`;
const NS = accountNamespace(ACCOUNT);
const dbName = `hearth_t_crash_${suffix}`;
const KILLS = envNumber('HEARTH_CRASH_KILLS', 8);
const CONVERGE_MS = 30_000;
const METER_INTERVAL_MS = 1000;
const NAMES = ['d0', 'd1', 'd2', 'd3', 'd4'];
const BASE_MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const rng = seededRandom('HEARTH_CRASH_SEED');

let kc: PooledKubeConfig;
let database: Database;
let dbUrl = '';
let key = '';
let apiPort = 0;
let artifactDir = '';
const procs: HearthProcess[] = [];
const current: { api?: HearthProcess; controller?: HearthProcess } = {};
const statuses = new Map<number | string, number>();
const fiveHundreds: string[] = [];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const common = (): Record<string, string> => ({ KUBECONFIG: kubeconfigPath(), DATABASE_URL: dbUrl, HEARTH_HISTORY_RETENTION: '0s' });

function start(which: 'api' | 'controller'): HearthProcess {
  const env =
    which === 'api'
      ? { ...common(), PORT: String(apiPort), HEARTH_RATE_LIMIT_RPS: '1000', HEARTH_RATE_LIMIT_BURST: '1000', HEARTH_ARTIFACT_DIR: artifactDir, HEARTH_PAGE_TOKEN_SECRET: `crash-test-secret-${suffix}` }
      : {
          ...common(),
          // Only this run's objects (the cluster is shared); the sweep still runs, and fast.
          HEARTH_CONTROLLER_SELECTOR: `hearth.dev/account=${ACCOUNT}`,
          HEARTH_CONTROLLER_NAMESPACE: NS,
          HEARTH_CONTROLLER_WORKERS: '4',
          HEARTH_ORPHAN_HOLD_SWEEP: 'on', // with the selector: lists every Deployment at each sweep
          HEARTH_ORPHAN_HOLD_SWEEP_INTERVAL: '2s',
          HEARTH_ORPHAN_HOLD_GRACE: '5s',
          HEARTH_METERING_INTERVAL: `${METER_INTERVAL_MS}ms`,
          HEARTH_METERING_FLUSH_INTERVAL: '1s',
        };
  const p = new HearthProcess({ mode: which, name: `${which}-${procs.filter((x) => x.name.startsWith(which)).length}`, env });
  procs.push(p);
  current[which] = p;
  return p;
}

/** One REST call; a refused connection (the API is down) counts as 'down', never as a failure. */
async function rest(method: string, path: string, body?: unknown): Promise<number | 'down'> {
  try {
    const r = await fetch(`http://127.0.0.1:${apiPort}/v1/accounts/${ACCOUNT}/${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'x-request-id': randomUUID(), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await r.text();
    if (r.status >= 500 && r.status !== 503) fiveHundreds.push(`${method} ${path} → ${r.status} ${text.slice(0, 300)}`);
    return r.status;
  } catch {
    return 'down';
  }
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** One seeded operation on one of the run's deployment names. */
async function operate(): Promise<void> {
  const name = rng.pick(NAMES);
  const dep = `deployments/${name}`;
  const r = rng.next();
  let status: number | 'down';
  if (r < 0.3) {
    status = await rest('POST', `deployments?deploymentId=${name}`, {
      baseModel: BASE_MODEL,
      acceleratorType: 'NVIDIA_H100_80GB',
      acceleratorCount: 1,
      minReplicaCount: rng.int(0, 1),
      maxReplicaCount: 2,
      placement: { region: 'US_VIRGINIA_2' },
    });
  } else if (r < 0.5) status = await rest('PATCH', dep, { displayName: `v${rng.int(0, 999)}`, minReplicaCount: rng.int(0, 2), maxReplicaCount: 2 });
  else if (r < 0.7) status = await rest('PATCH', `${dep}:scale`, { replicaCount: rng.int(0, 2) });
  else if (r < 0.8) status = await rest('DELETE', dep);
  else if (r < 0.88) status = await rest('POST', `${dep}:undelete`, {});
  else if (r < 0.94) status = await rest('DELETE', `${dep}?hard=true`);
  else {
    // kubectl delete: straight to the API server, the finalizer must still be run.
    status = await kc
      .makeApiClient(CustomObjectsApi)
      .deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'deployments', name })
      .then(
        () => 200,
        (e: unknown) => (e as { code?: number }).code ?? 'down',
      );
  }
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
}

/** Traffic until `stop.done`: a few requests at once, as clients would send them. */
async function traffic(stop: { done: boolean }): Promise<void> {
  await Promise.all(
    [0, 1].map(async () => {
      while (!stop.done) {
        await operate();
        await sleep(rng.int(20, 400));
      }
    }),
  );
}

async function dump(extra: Record<string, unknown> = {}): Promise<unknown> {
  const state = await readState(kc, database.db, NS, ACCOUNT).catch((e: unknown) => String(e));
  return {
    seed: rng.seed,
    ...extra,
    state: typeof state === 'string' ? state : describeState(state),
    api: current.api?.problems().slice(-15),
    controller: current.controller?.problems().slice(-25),
    controllerTail: current.controller?.tail(15),
  };
}

beforeAll(async () => {
  kc = loadKubeConfig(kubeconfigPath());
  database = await createScratchDatabase(dbName, { maxConnections: 3 });
  const u = new URL(databaseUrl());
  u.pathname = `/${dbName}`;
  dbUrl = u.toString();
  key = (await bootstrap(database.db, { accountId: ACCOUNT, email: `admin@${ACCOUNT}.example` })).apiKey!.key;
  // The processes seal and verify namespaces with the installation's secret: the test's, here.
  await installTestSeal(database.db);
  await new NamespaceEnsurer(kc, { seal: TEST_SEAL }).ensure(ACCOUNT);
  apiPort = await freePort();
  artifactDir = mkdtempSync(join(tmpdir(), 'hearth-crash-'));
}, 120_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  // No controller runs any more: drop the finalizers so the namespace can go.
  const custom = kc.makeApiClient(CustomObjectsApi);
  const list = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'deployments' }).catch(() => ({ items: [] }))) as { items: Array<{ metadata: { name: string } }> };
  for (const d of list.items) {
    await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'deployments', name: d.metadata.name, body: { metadata: { finalizers: null } } }, mergePatch).catch(() => undefined);
  }
  await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: NS }).catch(() => undefined);
  await database?.close().catch(() => undefined);
  await dropScratchDatabase(dbName).catch(() => undefined);
  if (artifactDir) rmSync(artifactDir, { recursive: true, force: true });
  kc?.destroy();
});

describe('crash test', () => {
  it(`converges within 30 s after each of ${KILLS} SIGKILLs of the controller and the API during traffic`, async () => {
    process.stderr.write(`[crash] seed ${rng.seed} (replay: HEARTH_CRASH_SEED=${rng.seed}), ${KILLS} kills\n`);
    await Promise.all([start('api').waitForLog('ready', 120_000), start('controller').waitForLog('ready', 120_000)]);
    const t0 = Date.now();
    const converge: number[] = [];
    const startup: number[] = [];
    const killed = { api: 0, controller: 0 };
    for (let k = 0; k < KILLS; k++) {
      const stop = { done: false };
      const load = traffic(stop);
      const targets = rng.pick([['controller'], ['api'], ['controller', 'api']] as Array<Array<'api' | 'controller'>>);
      await sleep(rng.int(300, 4000));
      await Promise.all(targets.map((t) => current[t]!.kill('SIGKILL')));
      for (const t of targets) killed[t]++;
      await sleep(rng.int(0, 1500)); // traffic meets the dead process
      const restartAt = Date.now();
      await Promise.all(targets.map((t) => start(t).waitForLog('ready', 120_000)));
      startup.push(Date.now() - restartAt);
      // The 30 s run from when the restarted processes are up (starting Node and tsx on a loaded
      // 2-core machine takes a while of its own, measured apart).
      const restarted = Date.now();
      await sleep(rng.int(0, 1500)); // traffic meets the restarted process
      stop.done = true;
      await load;
      let last: string[] = [];
      await waitFor(
        `convergence after kill ${k + 1} (${targets.join('+')})`,
        async () => {
          const state = await readState(kc, database.db, NS, ACCOUNT);
          last = [...invariantViolations(state), ...(await ledgerViolations(database.db, ACCOUNT, METER_INTERVAL_MS)).violations];
          return last.length === 0;
        },
        { timeoutMs: Math.max(1000, CONVERGE_MS - (Date.now() - restarted)), intervalMs: 500, dump: () => dump({ kill: k + 1, targets, violations: last }) },
      );
      converge.push(Date.now() - restarted);
      expect(fiveHundreds, JSON.stringify(await dump())).toEqual([]);
    }
    const ledger = await ledgerViolations(database.db, ACCOUNT, METER_INTERVAL_MS);
    const sorted = [...converge].sort((a, b) => a - b);
    process.stderr.write(
      `[crash] seed ${rng.seed}: ${KILLS} kills survived (controller ${killed.controller}, api ${killed.api}); ` +
        `converged after restart in p50 ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms; process start max ${Math.max(...startup)} ms; ` +
        `${Math.round((Date.now() - t0) / KILLS)} ms per kill; responses ${JSON.stringify(Object.fromEntries(statuses))}; ledger rows ${ledger.rows}\n`,
    );
    expect(ledger.violations).toEqual([]);
    // The traffic did reach Hearth: creates and changes were acknowledged.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(KILLS);
  }, 60 * 60_000);
});
