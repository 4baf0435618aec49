// Batch jobs (issue 13, benchmark `bench/jobs`). Not a test: it prints figures and goal lines.
//
//   KUBECONFIG=… npm run bench:jobs [-- --count 200 --workers 20 --log-lines 100000 --log-calls 200 --scale-up-runs 3]
//
// In one run, on the cluster of KUBECONFIG (or the simulated one this checkout runs; it needs the
// simulated lifecycle of hack/kwok/stages.yaml so that a job pod stays Running):
// 1. A namespace and a node pool of their own: ⌈N/8⌉ KWOK nodes × 8 H100 with the pool's labels and
//    taint (src/fleet/node-pools.ts), and a database of its own.
// 2. Hearth: N one-rank BatchJobs created at once (as kubectl would write them), the BatchJob
//    controller running in this process; each job's create → RUNNING time, from a watch.
// 3. Direct: the BatchJobs are deleted (their pods gone), then the same N Jobs, built by the
//    controller's own builder (buildJob: same pod template, scheduling, resources), created
//    directly with no controller; each Job's create → its pod Running, from a pod watch. Goal:
//    Hearth's p50 and p99 within 1.2× of these.
// 4. `:getLogs` of one job whose rank has 100,000 archived lines: p50/p99 of pages of 100 (newest
//    first, oldest first, following page tokens, a filter), through the REST app in process.
// 5. Node pool scale-up: an unschedulable whole-node pod → the pool's new KWOK node Ready → the pod
//    Running, the NodePool controller in this process (bench/node-pool-scale-up.ts; p50/max).
// Everything it made is removed at the end (also on failure).
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { BatchV1Api, CoreV1Api, CustomObjectsApi, Watch, type KubeConfig, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { clusterUp } from '../hack/lib/cluster.js';
import { installCrds } from '../hack/lib/crds.js';
import { DEFAULT_DATABASE_URL, ensurePostgres } from '../hack/lib/postgres.js';
import { buildApp } from '../src/api/app.js';
import { KubeKindClients } from '../src/api/kube/kind-client.js';
import { NamespaceEnsurer, accountNamespace } from '../src/api/kube/namespaces.js';
import { bootstrap } from '../src/auth/bootstrap.js';
import { batchJobController } from '../src/controllers/batch-job/controller.js';
import { buildJob } from '../src/controllers/batch-job/resources.js';
import { DEFAULT_CONTROLLER_CLIENT } from '../src/controllers/deployment/controller.js';
import type { HearthObject } from '../src/controllers/runtime/writer.js';
import { API_VERSION, GROUP, VERSION } from '../src/crds/group.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { archiveRank } from '../src/db/repositories/batch-job-logs.js';
import { KubeClients } from '../src/kube/client.js';
import { loadKubeConfig } from '../src/kube/config.js';
import { InformerFactory } from '../src/kube/informer-factory.js';
import { KubePodLogs } from '../src/kube/pod-logs.js';
import { realClock } from '../src/util/clock.js';
import { SIM_ENV, poolNode } from '../test/fixtures/kwok-sim/index.js';
import { admin, fmt, percentile, pool, withDatabase } from './lib.js';
import { measureNodePoolScaleUp } from './node-pool-scale-up.js';
import { TEST_SEAL } from '../test/support/tenancy.js';

const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '200' },
    workers: { type: 'string', default: '20' },
    'log-lines': { type: 'string', default: '100000' },
    'log-calls': { type: 'string', default: '200' },
    'scale-up-runs': { type: 'string', default: '3' },
  },
});
const N = Number(args.count);
const WORKERS = Number(args.workers);
const LOG_LINES = Number(args['log-lines']);
const LOG_CALLS = Number(args['log-calls']);
const SCALE_UP_RUNS = Math.max(1, Number(args['scale-up-runs']) || 3);
const GOAL = 1.2;
const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `bench-jobs-${suffix}`;
const NS = accountNamespace(ACCOUNT);
const POOL = 'bench';
const GPUS_PER_NODE = 8;
const NODES = Math.ceil(N / GPUS_PER_NODE);
const DB = `hearth_bench_jobs_${suffix}`;
const log = pino({ level: process.env.HEARTH_BENCH_LOG ?? 'warn' });
const say = (m: string) => process.stderr.write(`[bench:jobs] ${m}\n`);

const SPEC = { nodePoolId: POOL, numRanks: 1, imageRef: 'python:3.12', shellExecutor: { command: 'python train.py' }, envVars: { [SIM_ENV.duration]: '1h' } };



/** Watches `path` in the namespace and records, per name, the first time `done(obj)` holds. */
async function watchUntil(
  kc: KubeConfig,
  path: string,
  done: (o: KubernetesObject & { status?: unknown }) => boolean,
  seen: Map<string, number>,
  keyOf: (o: KubernetesObject) => string = (o) => o.metadata?.name ?? '',
): Promise<() => void> {
  const req = await new Watch(kc).watch(
    path,
    {},
    (_type, obj: KubernetesObject & { status?: unknown }) => {
      const name = keyOf(obj);
      if (!seen.has(name) && done(obj)) seen.set(name, performance.now());
    },
    (err) => {
      if (err) say(`watch ${path} ended: ${String(err)}`);
    },
  );
  return () => req.abort();
}

async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface Latencies {
  p50: number;
  p99: number;
  max: number;
}

function latencies(created: Map<string, number>, ready: Map<string, number>): Latencies {
  const d = [...created].map(([name, t]) => (ready.get(name) ?? NaN) - t).sort((a, b) => a - b);
  return { p50: percentile(d, 50), p99: percentile(d, 99), max: d[d.length - 1] ?? NaN };
}

async function hearthPhase(kc: KubeConfig, custom: CustomObjectsApi): Promise<Latencies> {
  const created = new Map<string, number>();
  const running = new Map<string, number>();
  const stop = await watchUntil(kc, `/apis/${GROUP}/${VERSION}/namespaces/${NS}/batchjobs`, (o) => (o.status as { state?: string } | undefined)?.state === 'RUNNING', running);
  await pool(N, WORKERS, async (i) => {
    const name = `h-${i}`;
    created.set(name, performance.now());
    await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'batchjobs', body: { apiVersion: API_VERSION, kind: 'BatchJob', metadata: { name }, spec: SPEC } });
  });
  await waitUntil(`${N} batch jobs RUNNING`, 600_000, () => running.size >= N);
  stop();
  return latencies(created, running);
}

async function directPhase(kc: KubeConfig, batch: BatchV1Api): Promise<Latencies> {
  const created = new Map<string, number>();
  const running = new Map<string, number>();
  // The Job's pod Running, from the pod watch: the same event Hearth's RUNNING follows (the Job's
  // own status.ready comes later, when the Job controller next syncs it).
  const stop = await watchUntil(kc, `/api/v1/namespaces/${NS}/pods`, (o) => (o as V1Pod).status?.phase === 'Running', running, (o) => o.metadata?.labels?.['hearth.dev/batch-job'] ?? '');
  const poolObj = { metadata: { name: POOL }, spec: { minNodeCount: 0, maxNodeCount: NODES, overprovisionNodeCount: 0, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB' as const, acceleratorCount: GPUS_PER_NODE } } };
  await pool(N, WORKERS, async (i) => {
    const name = `d-${i}`;
    const bj = { apiVersion: API_VERSION, kind: 'BatchJob', metadata: { name, namespace: NS, uid: 'none' }, spec: SPEC } as unknown as HearthObject<'BatchJob'>;
    const job = buildJob({ bj, account: ACCOUNT, image: SPEC.imageRef, pool: poolObj });
    delete job.metadata!.ownerReferences; // no owner: nothing would run it otherwise
    created.set(name, performance.now());
    await batch.createNamespacedJob({ namespace: NS, body: job });
  });
  await waitUntil(`${N} Jobs with their pod Running`, 600_000, () => running.size >= N);
  stop();
  return latencies(created, running);
}

async function logsPhase(database: Database, custom: CustomObjectsApi, clients: KubeClients): Promise<{ p50: number; p99: number; archiveMs: number }> {
  // One job (its pool does not exist, so the controller fails it at once: nothing runs) whose rank
  // 0 has LOG_LINES archived lines, as the controller leaves them when a rank finishes.
  const obj = (await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'batchjobs', body: { apiVersion: API_VERSION, kind: 'BatchJob', metadata: { name: 'bj-1' }, spec: { ...SPEC, nodePoolId: 'none' } } })) as KubernetesObject;
  const t0 = Date.now() * 1000;
  const lines = Array.from({ length: LOG_LINES }, (_, i) => ({ timeMicros: t0 + i * 10, message: `step ${i} loss ${(1 / (i + 1)).toFixed(6)}${i % 1000 === 0 ? ' checkpoint' : ''}` }));
  const a0 = performance.now();
  await archiveRank(database.db, { jobUid: obj.metadata!.uid!, rank: 0, accountId: ACCOUNT, jobKey: `${NS}/bj-1`, lines, now: new Date() });
  const archiveMs = performance.now() - a0;
  const kinds = new KubeKindClients({ clients, informers: new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log }) }, { log });
  await kinds.start();
  const key = (await bootstrap(database.db, { accountId: ACCOUNT, email: `admin@${ACCOUNT}.example` })).apiKey!.key;
  const app = await buildApp({ db: database.db, kinds: kinds.others, logger: log, rateLimit: false, podLogs: new KubePodLogs(clients) });
  try {
    const url = (q: string) => `/v1/accounts/${ACCOUNT}/batchJobs/1:getLogs?pageSize=100&${q}`;
    const call = async (q: string) => {
      const r = await app.inject({ method: 'GET', url: url(q), headers: { authorization: `Bearer ${key}` } });
      if (r.statusCode !== 200) throw new Error(`getLogs ${q}: ${r.statusCode} ${r.body}`);
      return JSON.parse(r.body) as { entries: unknown[]; nextPageToken?: string };
    };
    await waitUntil('the job in the API cache', 30_000, async () => (await app.inject({ method: 'GET', url: url(''), headers: { authorization: `Bearer ${key}` } })).statusCode === 200);
    let headToken: string | undefined;
    let tailToken: string | undefined;
    const queries = [
      async () => (tailToken = (await call(tailToken ? `pageToken=${encodeURIComponent(tailToken)}` : '')).nextPageToken),
      async () => (headToken = (await call(`startFromHead=true${headToken ? `&pageToken=${encodeURIComponent(headToken)}` : ''}`)).nextPageToken),
      async () => call('filter=checkpoint'),
      async () => call(`startFromHead=true&startTime=${encodeURIComponent(new Date(t0 / 1000 + 500).toISOString())}`),
    ];
    const d = await pool(LOG_CALLS, 4, (i) => queries[i % queries.length]!());
    return { p50: percentile(d, 50), p99: percentile(d, 99), archiveMs };
  } finally {
    await app.close();
    await kinds.stop();
  }
}

async function main(): Promise<void> {
  if (!process.env.KUBECONFIG) say('KUBECONFIG unset: using (or starting) the simulated cluster of this checkout');
  const h = await clusterUp({ log: say, nodes: false });
  const kc = loadKubeConfig(h.kubeconfig);
  const clients = new KubeClients(kc, { qps: 100, burst: 200 });
  const core = clients.api(CoreV1Api);
  const custom = clients.api(CustomObjectsApi);
  const batch = clients.api(BatchV1Api);
  const dbUrl = await ensurePostgres(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL, say);
  await installCrds(kc, 'hearth-bench-jobs');
  await admin(withDatabase(dbUrl, 'postgres'), `create database ${DB}`);
  const database = await openDatabase({ url: withDatabase(dbUrl, DB), maxConnections: 10, applicationName: 'bench-jobs' });
  // The controller as its own process would have it: its own client (rate limit) and cache.
  const controllerClients = new KubeClients(kc, DEFAULT_CONTROLLER_CLIENT);
  const informers = new InformerFactory(controllerClients, { clock: realClock, tenancy: TEST_SEAL, log });
  const nodes = Array.from({ length: NODES }, (_, i) => `bench-jobs-${suffix}-${i}`);
  let controller: { stop(ms?: number): Promise<boolean> } | undefined;
  try {
    await database.migrate();
    await new NamespaceEnsurer(kc, { seal: TEST_SEAL }).ensure(ACCOUNT);
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NS,
      plural: 'nodepools',
      body: { apiVersion: API_VERSION, kind: 'NodePool', metadata: { name: POOL }, spec: { maxNodeCount: NODES, fakeNodePool: { acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: GPUS_PER_NODE } } },
    });
    for (const n of nodes) await core.createNode({ body: poolNode(n, ACCOUNT, POOL, GPUS_PER_NODE) });
    await waitUntil(`${NODES} pool nodes Ready`, 120_000, async () => {
      const list = await core.listNode({ labelSelector: `hearth.dev/node-pool=${POOL},hearth.dev/node-pool-account=${ACCOUNT}` });
      return list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === NODES;
    });
    console.log(`cluster ${kc.getCurrentCluster()?.server}; ${N} one-rank jobs on ${NODES} nodes × ${GPUS_PER_NODE} GPUs; ${WORKERS} create workers`);

    const c = batchJobController({ clients: controllerClients, informers, db: database.db, clock: realClock, log, settings: { logRetentionMs: 3600_000, namespace: NS } });
    controller = c;
    await c.start();
    const hearth = await hearthPhase(kc, custom);
    say('Hearth phase done; deleting its jobs (the controller finalizes them)');
    await custom.deleteCollectionNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'batchjobs' });
    await waitUntil('the Hearth phase jobs and pods gone', 300_000, async () => {
      const jobs = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'batchjobs' })) as { items: unknown[] };
      return jobs.items.length === 0 && (await core.listNamespacedPod({ namespace: NS })).items.length === 0;
    });
    await c.stop(5000);
    controller = undefined;
    const direct = await directPhase(kc, batch);
    await batch.deleteCollectionNamespacedJob({ namespace: NS, propagationPolicy: 'Background' });
    const logs = await logsPhase(database, custom, clients);
    const scaleUp = await measureNodePoolScaleUp(kc, { runs: SCALE_UP_RUNS, log, progress: say });
    const sorted = (a: number[]) => [...a].sort((x, y) => x - y);

    const r50 = hearth.p50 / direct.p50;
    const r99 = hearth.p99 / direct.p99;
    console.log(`create → RUNNING, Hearth BatchJob: p50 ${fmt(hearth.p50, 0)} ms, p99 ${fmt(hearth.p99, 0)} ms, max ${fmt(hearth.max, 0)} ms`);
    console.log(`create → pod Running, direct Job:  p50 ${fmt(direct.p50, 0)} ms, p99 ${fmt(direct.p99, 0)} ms, max ${fmt(direct.max, 0)} ms`);
    console.log(`ratio Hearth / direct: p50 ${fmt(r50, 2)}×, p99 ${fmt(r99, 2)}×`);
    console.log(`GOAL create → RUNNING p50 within ${GOAL}× of the direct Job: ${r50 <= GOAL ? 'PASS' : 'MISS'} (${fmt(r50, 2)}×)`);
    console.log(`GOAL create → RUNNING p99 within ${GOAL}× of the direct Job: ${r99 <= GOAL ? 'PASS' : 'MISS'} (${fmt(r99, 2)}×)`);
    console.log(`:getLogs on ${LOG_LINES} archived lines (pages of 100, ${LOG_CALLS} calls): p50 ${fmt(logs.p50, 1)} ms, p99 ${fmt(logs.p99, 1)} ms; archiving the rank took ${fmt(logs.archiveMs, 0)} ms`);
    console.log(
      `node pool scale-up (${SCALE_UP_RUNS} runs, an unschedulable 8-GPU pod → the pool's new node Ready): p50 ${fmt(percentile(sorted(scaleUp.toNode), 50), 0)} ms, max ${fmt(Math.max(...scaleUp.toNode), 0)} ms; → the pod Running: p50 ${fmt(percentile(sorted(scaleUp.toRunning), 50), 0)} ms, max ${fmt(Math.max(...scaleUp.toRunning), 0)} ms`,
    );
  } finally {
    await controller?.stop(2000);
    await informers.stop();
    await core.deleteNamespace({ name: NS }).catch(() => undefined);
    for (const n of nodes) await core.deleteNode({ name: n }).catch(() => undefined);
    await database.close();
    await admin(withDatabase(dbUrl, 'postgres'), `drop database if exists ${DB} with (force)`);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
