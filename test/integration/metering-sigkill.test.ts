// Issue 15 item 13: exactly-once metering, proven against SIGKILL. The meter runs as it does in
// production — mode `controller` of src/main.ts, a real process — and is killed with SIGKILL at
// seeded random points (while starting, between flushes, in the middle of one), again and again,
// while GPU pods come and go on the simulated cluster and the namespace's account label flickers
// (removed, then another account's) for a while. Afterwards the ledger must hold:
//   - every row under the namespace's account (a flicker moves nothing), aligned, no two rows of a
//     replica overlapping, none more than its interval × GPUs: nothing billed twice;
//   - per pod, no more than its Ready life, and no less than its Ready life minus the documented
//     bound (src/controllers/metering/README.md: a pod deleted while no meter ran loses at most
//     the time since its last row, i.e. the down window plus the flush interval plus one interval).
// The seed is printed; HEARTH_METERING_CHAOS_SEED=<seed> replays the kill points and the traffic.
// HEARTH_METERING_KILLS sets the number of kills (default 20).
import { randomBytes } from 'node:crypto';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { createAccount } from '../../src/db/repositories/accounts.js';
import { usageLedger } from '../../src/db/schema/index.js';
import { loadKubeConfig, type PooledKubeConfig } from '../../src/kube/config.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { databaseUrl, kubeconfigPath } from '../support/env.js';
import { HearthProcess, envNumber, seededRandom } from '../support/hearth-process.js';
import { createTestNamespace } from '../support/namespace.js';
import { dumpNamespace, waitFor } from '../support/wait.js';
import { installTestSeal } from '../support/tenancy.js';

const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `meter-kill-${suffix}`;
const OTHER = `meter-kill-other-${suffix}`;
const NS = `meter-kill-${suffix}`;
const dbName = `hearth_t_meter_kill_${suffix}`;
const KILLS = envNumber('HEARTH_METERING_KILLS', 20);
const INTERVAL_MS = 1000;
const FLUSH_MS = 1000;
/** Scheduling on a loaded 2-core machine: a flush or an event may come this much late. */
const SLACK_MS = 2500;
const MAX_LIVE_PODS = 4;
const rng = seededRandom('HEARTH_METERING_CHAOS_SEED');

let kc: PooledKubeConfig;
let core: CoreV1Api;
let database: Database;
let dbUrl: string;

interface PodRecord {
  name: string;
  uid: string;
  gpus: number;
  createdAt: number;
  /** The Ready condition's lastTransitionTime (second resolution), if it became Ready. */
  readyAt?: number;
  deleteRequestedAt?: number;
  goneSeenAt?: number;
}
interface MeterRecord {
  spawnAt: number;
  /** When it logged 'metering started' (caches synced, flushing). */
  syncedAt?: number;
  killAt?: number;
  /** Stopped with SIGTERM at the end (its stop flushes), not killed. */
  graceful?: boolean;
}
const pods: PodRecord[] = [];
const meters: MeterRecord[] = [];
const procs: HearthProcess[] = [];
const flickers: Array<{ from: number; to: number; label: string | null }> = [];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function startMeter(): HearthProcess {
  const p = new HearthProcess({
    mode: 'controller',
    name: `meter-${procs.length}`,
    env: {
      KUBECONFIG: kubeconfigPath(),
      DATABASE_URL: dbUrl,
      // Scoped to this run: Deployments of its account, the namespaced controllers in its namespace
      // (the cluster is shared); the meter itself reads every pod but writes to this run's database.
      HEARTH_CONTROLLER_SELECTOR: `hearth.dev/account=${ACCOUNT}`,
      HEARTH_CONTROLLER_NAMESPACE: NS,
      HEARTH_CONTROLLER_WORKERS: '2',
      HEARTH_ORPHAN_HOLD_SWEEP: 'off',
      HEARTH_HISTORY_RETENTION: '0s',
      HEARTH_METERING_INTERVAL: `${INTERVAL_MS}ms`,
      HEARTH_METERING_FLUSH_INTERVAL: `${FLUSH_MS}ms`,
    },
  });
  procs.push(p);
  return p;
}

function podBody(name: string): V1Pod {
  return {
    metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'hearth', 'hearth.dev/deployment': `meter-${suffix}` } },
    spec: {
      containers: [{ name: 'model-server', image: 'vllm/vllm-openai:fixture', resources: { limits: { 'nvidia.com/gpu': '1' }, requests: { 'nvidia.com/gpu': '1' } } }],
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      nodeSelector: { 'hearth.dev/accelerator-type': 'NVIDIA_H100_80GB' },
      terminationGracePeriodSeconds: 0,
    },
  };
}

async function readyAtOf(name: string): Promise<number | undefined> {
  const p = await core.readNamespacedPod({ namespace: NS, name });
  const c = p.status?.conditions?.find((x) => x.type === 'Ready' && x.status === 'True');
  return c?.lastTransitionTime ? new Date(c.lastTransitionTime).getTime() : undefined;
}

async function createPod(): Promise<void> {
  const name = `gpu-${pods.length}`;
  const created = await core.createNamespacedPod({ namespace: NS, body: podBody(name) });
  const rec: PodRecord = { name, uid: created.metadata!.uid!, gpus: 1, createdAt: Date.now() };
  pods.push(rec);
  rec.readyAt = await waitFor(`pod ${name} Ready`, () => readyAtOf(name), { timeoutMs: 45_000, dump }).catch(() => undefined);
}

async function deletePod(rec: PodRecord): Promise<void> {
  rec.readyAt ??= await readyAtOf(rec.name).catch(() => undefined);
  rec.deleteRequestedAt = Date.now();
  await core.deleteNamespacedPod({ namespace: NS, name: rec.name, gracePeriodSeconds: 0 });
  rec.goneSeenAt = await waitFor(
    `pod ${rec.name} gone`,
    async () => {
      try {
        await core.readNamespacedPod({ namespace: NS, name: rec.name });
        return undefined;
      } catch (e) {
        if ((e as { code?: number }).code === 404) return Date.now();
        throw e;
      }
    },
    { timeoutMs: 30_000, intervalMs: 100, dump },
  );
}

const live = (): PodRecord[] => pods.filter((p) => p.deleteRequestedAt === undefined);

async function rowsOf(uids: string[]) {
  return uids.length === 0 ? [] : database.db.select().from(usageLedger).where(inArray(usageLedger.replica, uids));
}

async function setAccountLabel(value: string | null): Promise<void> {
  await core.patchNamespace({ name: NS, body: { metadata: { labels: { 'hearth.dev/account': value } } } }, mergePatch);
}

/**
 * The label flickers: another account's for 3 s, then none for 3 s, then back. Only once every live
 * pod has a row (its account is pinned by the ledger); no pod is created meanwhile.
 */
async function flicker(): Promise<void> {
  await waitFor(
    'every live pod to have a ledger row before the flicker',
    async () => {
      const l = live().filter((p) => p.readyAt !== undefined);
      const billed = new Set((await rowsOf(l.map((p) => p.uid))).map((r) => r.replica));
      return l.every((p) => billed.has(p.uid));
    },
    { timeoutMs: 60_000, intervalMs: 500, dump },
  );
  for (const label of [OTHER, null]) {
    const from = Date.now();
    await setAccountLabel(label);
    await sleep(3000);
    flickers.push({ from, to: Date.now(), label });
  }
  await setAccountLabel(ACCOUNT);
}

async function dump(): Promise<unknown> {
  return {
    seed: rng.seed,
    namespace: await dumpNamespace(kc, NS).catch((e: unknown) => String(e)),
    meters,
    pods,
    flickers,
    lastMeter: procs.at(-1)?.tail(30),
    problems: procs.flatMap((p) => p.problems().slice(-10).map((l) => `${p.name}: ${l}`)).slice(-40),
  };
}

beforeAll(async () => {
  kc = loadKubeConfig(kubeconfigPath());
  core = kc.makeApiClient(CoreV1Api);
  database = await createScratchDatabase(dbName, { maxConnections: 3 });
  const u = new URL(databaseUrl());
  u.pathname = `/${dbName}`;
  dbUrl = u.toString();
  for (const a of [ACCOUNT, OTHER]) await createAccount(database.db, { accountId: a, email: `billing@${a}.example` });
  // The meter verifies namespaces with the installation's secret: the test's, as createTestNamespace seals.
  await installTestSeal(database.db);
  await createTestNamespace(kc, NS, { 'hearth.dev/account': ACCOUNT });
}, 120_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  await core?.deleteNamespace({ name: NS }).catch(() => undefined);
  await database?.close().catch(() => undefined);
  await dropScratchDatabase(dbName).catch(() => undefined);
  kc?.destroy();
});

/** Pod churn until `done()`: create while fewer than the maximum live, delete at random; two flickers. */
async function churn(done: () => boolean, flickerAt: readonly number[]): Promise<void> {
  let step = 0;
  while (!done()) {
    step++;
    if (flickerAt.includes(step)) await flicker();
    const l = live();
    if (l.length < MAX_LIVE_PODS && (l.length === 0 || rng.next() < 0.55)) await createPod();
    else await deletePod(rng.pick(l));
    await sleep(rng.int(300, 2500));
  }
}

describe('metering under SIGKILL', () => {
  it(`bills every Ready second of every pod once, nothing twice, losing no more than the bound (${KILLS} kills)`, async () => {
    process.stderr.write(`[metering-sigkill] seed ${rng.seed} (replay: HEARTH_METERING_CHAOS_SEED=${rng.seed}), ${KILLS} kills\n`);
    const t0 = Date.now();
    let killsDone = false;
    const traffic = churn(() => killsDone, [4, 12]);
    traffic.catch(() => undefined);
    try {
      for (let k = 0; k < KILLS; k++) {
        const rec: MeterRecord = { spawnAt: Date.now() };
        meters.push(rec);
        const p = startMeter();
        if (rng.next() < 0.25) {
          // While it starts: loading, listing, its first flush.
          await sleep(rng.int(200, 4000));
        } else {
          await p.waitForLog('metering started', 90_000);
          await sleep(rng.int(0, 4000));
        }
        rec.syncedAt = p.loggedAt('metering started');
        rec.killAt = Date.now();
        await p.kill('SIGKILL');
        expect(p.running).toBe(false);
        await sleep(rng.int(0, 2000));
      }
      // The last meter stays up: the remaining pods go while it runs, and it stops gracefully.
      const last: MeterRecord = { spawnAt: Date.now(), graceful: true };
      meters.push(last);
      const p = startMeter();
      last.syncedAt = await p.waitForLog('metering started', 90_000);
      killsDone = true;
      await traffic;
      for (const rec of live()) await deletePod(rec);
      await sleep(FLUSH_MS + SLACK_MS);
      last.killAt = Date.now();
      await p.stop();
    } finally {
      killsDone = true;
      await traffic.catch(() => undefined);
    }
    const perKillMs = Math.round((Date.now() - t0) / KILLS);

    const rows = await rowsOf(pods.map((p) => p.uid));
    const problems: string[] = [];
    // Nothing twice: rows aligned, each within its interval, never overlapping for one replica.
    const byReplica = new Map<string, typeof rows>();
    for (const r of rows) {
      if (r.accountId !== ACCOUNT) problems.push(`row of ${r.replica} at ${r.intervalStart.toISOString()} billed to ${r.accountId}`);
      if (r.intervalStart.getTime() % INTERVAL_MS !== 0) problems.push(`row of ${r.replica} not aligned: ${r.intervalStart.toISOString()}`);
      if (r.intervalEnd.getTime() > r.intervalStart.getTime() + INTERVAL_MS) problems.push(`row of ${r.replica} longer than an interval`);
      if (r.gpuSeconds > (INTERVAL_MS / 1000) * r.acceleratorCount + 1e-9) problems.push(`row of ${r.replica} bills ${r.gpuSeconds} GPU-s in one interval`);
      byReplica.set(r.replica, [...(byReplica.get(r.replica) ?? []), r]);
    }
    for (const [replica, rs] of byReplica) {
      const starts = rs.map((r) => r.intervalStart.getTime()).sort((a, b) => a - b);
      for (let i = 1; i < starts.length; i++) if (starts[i]! - starts[i - 1]! < INTERVAL_MS) problems.push(`${replica}: intervals overlap at ${new Date(starts[i]!).toISOString()}`);
    }
    // Per pod: at most its Ready life, at least its Ready life less the documented bound.
    const summary: Array<Record<string, unknown>> = [];
    let billedTotal = 0;
    let readyTotal = 0;
    for (const p of pods) {
      const billed = (byReplica.get(p.uid) ?? []).reduce((s, r) => s + r.gpuSeconds, 0) / p.gpus;
      billedTotal += billed;
      if (p.readyAt === undefined || p.deleteRequestedAt === undefined || p.goneSeenAt === undefined) {
        if (billed > 0 && p.readyAt === undefined) problems.push(`${p.name}: never seen Ready, billed ${billed}s`);
        continue;
      }
      const maxLife = (p.goneSeenAt - p.readyAt) / 1000;
      const minLife = (p.deleteRequestedAt - p.readyAt) / 1000;
      readyTotal += minLife;
      const allowedLoss = allowedLossOf(p) / 1000;
      // Ready stamps have second resolution: billing may start up to 1 s before the real transition.
      if (billed > maxLife + 1 + SLACK_MS / 1000) problems.push(`${p.name}: billed ${billed.toFixed(2)}s, Ready for at most ${maxLife.toFixed(2)}s`);
      if (billed < minLife - allowedLoss - 1) problems.push(`${p.name}: billed ${billed.toFixed(2)}s, Ready for ${minLife.toFixed(2)}s, bound allows losing ${allowedLoss.toFixed(2)}s`);
      summary.push({ pod: p.name, billed: +billed.toFixed(2), ready: +minLife.toFixed(2), allowedLoss: +allowedLoss.toFixed(2) });
    }
    process.stderr.write(
      `[metering-sigkill] seed ${rng.seed}: ${KILLS} kills survived (${meters.filter((m) => m.syncedAt !== undefined && !m.graceful).length} after the meter had synced), ` +
        `${pods.length} pods, ${flickers.length} label flickers, ${rows.length} rows, ${billedTotal.toFixed(1)} GPU-s billed of ${readyTotal.toFixed(1)} Ready; ${perKillMs} ms per kill\n`,
    );
    expect(problems, JSON.stringify({ problems, summary, ...((await dump()) as object) }, null, 1).slice(0, 20_000)).toEqual([]);
    expect(pods.filter((p) => p.readyAt !== undefined).length).toBeGreaterThanOrEqual(3);
  }, 30 * 60_000);
});

/**
 * The documented bound (src/controllers/metering/README.md) for one pod: nothing, when a synced
 * meter saw it go and ran a flush after; else what came after the last time a meter had certainly
 * written its closed intervals (kill − flush − interval), up to when it was gone.
 */
function allowedLossOf(p: PodRecord): number {
  const gone = p.goneSeenAt!;
  const sawItGo = meters.some((m) => m.syncedAt !== undefined && m.syncedAt <= p.deleteRequestedAt! && m.killAt !== undefined && (m.graceful || gone + FLUSH_MS + SLACK_MS <= m.killAt));
  if (sawItGo) return 0;
  let covered = -Infinity;
  for (const m of meters) {
    // A meter that synced after the pod was gone never saw it; one killed before it could flush wrote nothing.
    if (m.syncedAt === undefined || m.killAt === undefined || m.syncedAt > gone || m.killAt - m.syncedAt < FLUSH_MS + SLACK_MS) continue;
    covered = Math.max(covered, Math.min(m.killAt, gone) - FLUSH_MS - INTERVAL_MS - SLACK_MS);
  }
  return Math.max(0, gone - Math.max(p.readyAt!, covered));
}
