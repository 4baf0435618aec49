// The Deployment controller at scale: N hearth.dev Deployments (minReplicaCount 1, one H100 each)
// created at once on a simulated fleet that can hold them, with the controller running in this
// process (issue 4, item 10). Not a test: it prints figures and the goal lines.
//
//   npm run bench:deployments [-- --count 1000 --workers 16 --qps 100 --burst 200 --reconcilers 8 --no-apps-baseline]
//
// What it does, in one run:
// 1. A temporary fleet: ⌈N/8⌉ KWOK nodes × 8 GPUs in US_ARIZONA_1 (NVIDIA_H100_80GB), labelled
//    like hack/fleet/sim-fleet.yaml's and `hearth.dev/bench=true`; a database of its own with the
//    bench account's quota raised to N GPUs there; a namespace of its own; a ServiceCIDR of its
//    own (the cluster's default service range holds only 254 Services).
// 2. The Deployment controller (deploymentController, client rate limit and workers as given;
//    default: what `hearth controller` runs with, DEFAULT_CONTROLLER_CLIENT and DEFAULT_WORKERS)
//    limited by a label selector to this run's objects, its API writes counted through the
//    `writer` option, its reconcile durations read from its own debug log line ("reconciled",
//    durationMs) through a pino hook — nothing in src/ is changed.
// 3. N creates through a bounded worker pool; a watch (not a poll per object) records when each
//    deployment is READY with its replica Ready. apiserver_request_total is read before and after,
//    and the CPU time of every control-plane process (simulated cluster only), of this process and
//    of the whole machine, so the figures say what was busy.
// 4. Raw write ceiling of the API server (bench/cluster-baseline measureWriteCeiling), same run,
//    after the controller has stopped.
// 5. Figures.
// 6. Same-run baseline (skip with --no-apps-baseline): the Hearth objects are removed (their
//    namespace, waited until gone, so the fleet's GPUs are free again), then the same N pods as
//    plain apps/v1 Deployments + ClusterIP Services, created directly with no controller, built by
//    Hearth's own builders (makeWorkload, makeService) from the bench's spec, so pod template,
//    resources, affinity, tolerations and probes are identical; same fleet, same create concurrency.
//    Measured like the Hearth phase: time until every one is Available (readyReplicas 1, by a
//    watch), cluster writes per deployment (apiserver_request_total), control-plane CPU. It answers
//    "how close does Hearth get to what this cluster can do at all with these pods?". Informational:
//    the GOAL lines are not judged against it.
// Then everything it made is removed (also on failure): namespaces, nodes, ServiceCIDR, database.
//
// The throughput goal ("≥ 50% of the ceiling once divided by the writes a deployment needs") is
// judged with the writes the whole cluster makes per deployment (apiserver_request_total write
// verbs: Hearth's, kube-controller-manager's, the scheduler's, KWOK's, the create itself), because
// the ceiling is a cluster-wide write rate: every one of those writes must happen for a deployment
// to be READY, and each takes its share of the same API server. The ratio with Hearth's writes
// alone is printed too, for comparison, but is not the goal line.
import { randomBytes } from 'node:crypto';
import { request, type RequestOptions } from 'node:https';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, NetworkingV1Api, PatchStrategy, setHeaderOptions, Watch, type KubeConfig, type KubernetesObject, type V1Deployment, type V1Node } from '@kubernetes/client-node';
import { pino } from 'pino';
import { clusterProcesses, clusterUp } from '../hack/lib/cluster.js';
import { installCrds } from '../hack/lib/crds.js';
import { fleetNodes, SIMULATED_LABEL } from '../hack/lib/fleet.js';
import { DEFAULT_DATABASE_URL, ensurePostgres } from '../hack/lib/postgres.js';
import { DEFAULT_CONTROLLER_CLIENT, DEFAULT_WORKERS, deploymentController } from '../src/controllers/deployment/controller.js';
import { DbQuotaLedger } from '../src/controllers/deployment/quota-ledger.js';
import { makeService, makeWorkload } from '../src/controllers/deployment/children/index.js';
import { DEFAULT_MODEL_SERVER_CONFIG } from '../src/controllers/deployment/model-server-config.js';
import { buildModelServer } from '../src/controllers/deployment/model-server.js';
import { EVENT_SOURCE } from '../src/controllers/deployment/controller.js';
import { KubeWriter, type EventSeries, type ObjectEvent, type ObjectRef, type ObjectWriter, type StatusOf, type WithStatus } from '../src/controllers/runtime/writer.js';
import { KubeClients } from '../src/kube/client.js';
import { InformerFactory } from '../src/kube/informer-factory.js';
import { isConflict } from '../src/controllers/runtime/result.js';
import { DeploymentSpec, type Deployment, type DeploymentSpecInput } from '../src/crds/deployment.js';
import { GROUP, VERSION } from '../src/crds/group.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { accountsRepo, quotasRepo } from '../src/db/index.js';
import { gpuQuotaName } from '../src/fleet/catalog.js';
import { loadKubeConfig } from '../src/kube/config.js';
import { realClock } from '../src/util/clock.js';
import { createTestNamespace } from '../test/support/namespace.js';
import { measureWriteCeiling } from './cluster-baseline.js';
import { admin, fmt, percentile, pool, withDatabase } from './lib.js';
import { TEST_SEAL } from '../test/support/tenancy.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    /** Concurrent creates of the bench client. */
    workers: { type: 'string', default: '16' },
    /** The controller's client rate limit (default: what `hearth controller` ships). */
    qps: { type: 'string', default: String(DEFAULT_CONTROLLER_CLIENT.qps) },
    burst: { type: 'string', default: String(DEFAULT_CONTROLLER_CLIENT.burst) },
    /** The controller's concurrent reconciles (default: what `hearth controller` ships). */
    reconcilers: { type: 'string', default: String(DEFAULT_WORKERS) },
    configmaps: { type: 'string', default: '2000' },
    'ceiling-workers': { type: 'string', default: '32' },
    'timeout-s': { type: 'string', default: '900' },
    /** Skip phase 6, the same pods as plain apps/v1 Deployments. */
    'no-apps-baseline': { type: 'boolean', default: false },
  },
});
const N = Number(values.count);
const WORKERS = Number(values.workers);
const QPS = Number(values.qps);
const BURST = Number(values.burst);
const RECONCILERS = Number(values.reconcilers);
const TIMEOUT_MS = Number(values['timeout-s']) * 1000;

const REGION = 'US_ARIZONA_1';
const ACCELERATOR = 'NVIDIA_H100_80GB';
const GPUS_PER_NODE = 8;
const BENCH_LABEL = 'hearth.dev/bench';
const RUN_LABEL = 'hearth.dev/bench-run';
const MiB = 1024 * 1024;

const suffix = randomBytes(3).toString('hex');
const ns = `bench-dep-${suffix}`;
const account = `bench-dep-${suffix}`;
const dbName = `hearth_bench_dep_${suffix}`;
const nodePrefix = `bench-dep-${suffix}-gpu`;
/** Phase 6's namespace (matches the stale-namespace check at start, like `ns`). */
const appsNs = `bench-dep-${suffix}-apps`;

/** The spec of every bench deployment; phase 6 builds its pods from the same one. */
const BENCH_SPEC: DeploymentSpecInput = {
  baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct',
  acceleratorType: ACCELERATOR,
  acceleratorCount: 1,
  minReplicaCount: 1,
  maxReplicaCount: 1,
  placement: { region: REGION },
};

const log = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);
/** The slowest reconcile pass seen and its key (the log hook records it). */
let worstReconcile = { ms: -1, key: '' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Counting: the controller's writes (writer wrapper) and every write the API server served
// (apiserver_request_total, all clients: kube-controller-manager, scheduler, KWOK, this bench…).

type WriteKind = 'create' | 'update' | 'delete' | 'updateStatus' | 'setFinalizers' | 'patchMetadata' | 'event';

class CountingWriter implements ObjectWriter {
  readonly calls = new Map<string, number>();
  readonly failed = new Map<string, number>();
  total = 0;
  constructor(private readonly inner: ObjectWriter) {}
  async #count<R>(kind: WriteKind, what: string, f: () => Promise<R>): Promise<R> {
    const k = what ? `${kind} ${what}` : kind;
    this.calls.set(k, (this.calls.get(k) ?? 0) + 1);
    this.total++;
    try {
      return await f();
    } catch (e) {
      const reason = isConflict(e) ? 'conflict' : 'error';
      this.failed.set(`${k} (${reason})`, (this.failed.get(`${k} (${reason})`) ?? 0) + 1);
      throw e;
    }
  }
  create(obj: KubernetesObject) {
    return this.#count('create', obj.kind ?? '', () => this.inner.create(obj));
  }
  update(obj: KubernetesObject) {
    return this.#count('update', obj.kind ?? '', () => this.inner.update(obj));
  }
  delete(ref: ObjectRef) {
    return this.#count('delete', ref.kind, () => this.inner.delete(ref));
  }
  updateStatus<T extends WithStatus>(obj: T, status: StatusOf<T>) {
    return this.#count('updateStatus', '', () => this.inner.updateStatus(obj, status));
  }
  setFinalizers<T extends KubernetesObject>(obj: T, finalizers: string[]) {
    return this.#count('setFinalizers', '', () => this.inner.setFinalizers(obj, finalizers));
  }
  patchMetadata<T extends KubernetesObject>(obj: T, patch: Parameters<ObjectWriter['patchMetadata']>[1]) {
    return this.#count('patchMetadata', '', () => this.inner.patchMetadata(obj, patch));
  }
  event(obj: KubernetesObject, e: ObjectEvent, series?: EventSeries) {
    return this.#count('event', '', () => this.inner.event(obj, e, series));
  }
}

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION']);

/**
 * apiserver_request_total of write verbs, by "VERB resource[/subresource]": the writes that
 * succeeded (2xx), and apart, the refused ones (conflicts, a terminating namespace, …), which cost
 * the API server too but are not writes a deployment needs.
 */
async function apiserverWrites(kc: KubeConfig): Promise<{ ok: Map<string, number>; refused: Map<string, number>; reads: Map<string, number> }> {
  const server = new URL(kc.getCurrentCluster()!.server);
  const opts: RequestOptions = { hostname: server.hostname, port: server.port, path: '/metrics', method: 'GET', headers: {} };
  await kc.applyToHTTPSOptions(opts);
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET /metrics: ${res.statusCode} ${body.slice(0, 200)}`))));
    });
    req.on('error', reject);
    req.end();
  });
  const ok = new Map<string, number>();
  const refused = new Map<string, number>();
  const reads = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}`;
    const out = !WRITE_VERBS.has(labels.verb ?? '') ? reads : labels.code?.startsWith('2') ? ok : refused;
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return { ok, refused, reads };
}

function diff(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const d = new Map<string, number>();
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) > 0) d.set(k, v - (before.get(k) ?? 0));
  return new Map([...d].sort((a, b) => b[1] - a[1]));
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

// ---------------------------------------------------------------------------------------------
// CPU: seconds used by each control-plane process (the simulated cluster's, found by its kwok
// workdir), by this process (controller + the bench's creates and watch) and by the whole machine
// (/proc/stat), between two snapshots. Whatever the machine used beyond ours is other work on it.

const TICK = 100; // USER_HZ: /proc times are in 1/100 s on Linux

interface CpuSnapshot {
  at: number;
  procs: Map<number, { name: string; secs: number }>;
  self: number;
  machineBusy: number;
  machineTotal: number;
}

function procSecs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK; // utime + stime
  } catch {
    return undefined;
  }
}

function cpuSnapshot(): CpuSnapshot {
  const procs = new Map<number, { name: string; secs: number }>();
  for (const p of clusterProcesses()) {
    const secs = procSecs(p.pid);
    if (secs !== undefined) procs.set(p.pid, { name: basename(p.cmd.split(' ')[0] ?? '?'), secs });
  }
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  const u = process.cpuUsage();
  return { at: performance.now(), procs, self: (u.user + u.system) / 1e6, machineBusy: (total - idle) / TICK, machineTotal: total / TICK };
}

/** "kube-apiserver 41% · etcd 12% · …" as shares of the machine's capacity (all cores) over the interval. */
function cpuLine(a: CpuSnapshot, b: CpuSnapshot): string {
  const capacity = b.machineTotal - a.machineTotal;
  const by = new Map<string, number>();
  for (const [pid, p] of b.procs) by.set(p.name, (by.get(p.name) ?? 0) + p.secs - (a.procs.get(pid)?.secs ?? 0));
  const cluster = [...by.values()].reduce((x, y) => x + y, 0);
  const self = b.self - a.self;
  const busy = b.machineBusy - a.machineBusy;
  const pct = (s: number): string => `${fmt((s / capacity) * 100, 0)}%`;
  const parts = [...by].sort((x, y) => y[1] - x[1]).map(([n, s]) => `${n} ${pct(s)}`);
  return (
    `machine busy ${pct(busy)} of ${loadCores()} cores over ${fmt((b.at - a.at) / 1000, 0)} s: ` +
    `${parts.join(' · ')} · this process (controller + bench client) ${pct(self)} · everything else on the machine ${pct(Math.max(0, busy - cluster - self))}`
  );
}

/** CPU seconds of the control plane (all its processes) and of kube-apiserver alone between two snapshots. */
function controlPlaneSecs(a: CpuSnapshot, b: CpuSnapshot): { all: number; apiserver: number } {
  let all = 0;
  let apiserver = 0;
  for (const [pid, p] of b.procs) {
    const d = p.secs - (a.procs.get(pid)?.secs ?? 0);
    all += d;
    if (p.name === 'kube-apiserver') apiserver += d;
  }
  return { all, apiserver };
}

function loadCores(): number {
  return readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d/.test(l)).length;
}

// ---------------------------------------------------------------------------------------------
// Memory: process RSS sampled every 250 ms.

class RssSampler {
  baseline = process.memoryUsage().rss;
  peak = this.baseline;
  peakHeap = process.memoryUsage().heapUsed;
  #timer?: NodeJS.Timeout;
  start(): void {
    this.baseline = process.memoryUsage().rss;
    this.peak = this.baseline;
    this.#timer = setInterval(() => this.sample(), 250);
    this.#timer.unref();
  }
  sample(): void {
    const m = process.memoryUsage();
    this.peak = Math.max(this.peak, m.rss);
    this.peakHeap = Math.max(this.peakHeap, m.heapUsed);
  }
  stop(): void {
    this.sample();
    clearInterval(this.#timer);
  }
}

// ---------------------------------------------------------------------------------------------
// READY: one list, then a watch from its resourceVersion (re-listed if the watch ends early).

function readyWatcher(kc: KubeConfig, custom: CustomObjectsApi, onReady: (name: string) => void): { stop: () => void } {
  const seen = (d: Deployment): void => {
    const s = d.status;
    if (s?.state === 'READY' && (s.replicaStats?.readyReplicaCount ?? 0) >= 1 && s.observedGeneration === d.metadata.generation) onReady(d.metadata.name!);
  };
  const list = async () =>
    (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'deployments' })) as { items: Deployment[]; metadata?: { resourceVersion?: string } };
  return listWatch(kc, list, `/apis/${GROUP}/${VERSION}/namespaces/${ns}/deployments`, seen);
}

/** Phase 6: an apps/v1 Deployment is Available with its one replica ready. */
function availableWatcher(kc: KubeConfig, apps: AppsV1Api, onAvailable: (name: string) => void): { stop: () => void } {
  const seen = (d: V1Deployment): void => {
    const s = d.status;
    if ((s?.readyReplicas ?? 0) >= 1 && (s?.availableReplicas ?? 0) >= 1 && s?.observedGeneration === d.metadata?.generation) onAvailable(d.metadata!.name!);
  };
  return listWatch(kc, () => apps.listNamespacedDeployment({ namespace: appsNs }), `/apis/apps/v1/namespaces/${appsNs}/deployments`, seen);
}

function listWatch<T extends KubernetesObject>(
  kc: KubeConfig,
  list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>,
  path: string,
  seen: (o: T) => void,
): { stop: () => void } {
  let stopped = false;
  let current: AbortController | undefined;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        const listed = await list();
        for (const d of listed.items) seen(d);
        const ended = new Promise<void>((resolve) => {
          void new Watch(kc)
            .watch(
              path,
              { resourceVersion: listed.metadata?.resourceVersion, allowWatchBookmarks: true },
              (type: string, d: T) => {
                if (type === 'ADDED' || type === 'MODIFIED') seen(d);
              },
              () => resolve(),
            )
            .then((c) => (current = c), () => resolve());
        });
        await ended;
      } catch (e) {
        if (!stopped) log(`watch ${path}: ${(e as Error).message}; re-listing`);
      }
      if (!stopped) await sleep(200);
    }
  };
  void loop();
  return {
    stop: () => {
      stopped = true;
      current?.abort();
    },
  };
}

// ---------------------------------------------------------------------------------------------

function benchNodes(count: number): V1Node[] {
  const nodes = fleetNodes({
    gpusPerNode: GPUS_PER_NODE,
    acceleratorTypes: { [ACCELERATOR]: { resource: 'nvidia.com/gpu', product: 'NVIDIA-H100-80GB-HBM3', instanceType: 'p5.48xlarge' } },
    pools: [{ region: REGION, acceleratorType: ACCELERATOR, nodes: count }],
  });
  return nodes.map((n, i) => {
    const name = `${nodePrefix}-${i}`;
    const labels: Record<string, string> = { ...n.metadata!.labels, 'kubernetes.io/hostname': name, [BENCH_LABEL]: 'true', [RUN_LABEL]: suffix };
    delete labels[SIMULATED_LABEL]; // not part of the sim fleet: `cluster:up` must not manage them
    return { ...n, metadata: { ...n.metadata, name, labels } };
  });
}



function line(m: Map<string, number>, per: number, top = 12): string {
  return [...m]
    .slice(0, top)
    .map(([k, v]) => `${k} ${fmt(v / per, 2)}`)
    .join(', ');
}

/** Rejects on SIGINT/SIGTERM, so the waits end and `finally` cleans up. */
const interrupted = new Promise<never>((_, reject) => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => reject(new Error(`interrupted by ${sig}`)));
});
interrupted.catch(() => undefined);

/**
 * A ServiceCIDR big enough for N more Services. Every deployment has a ClusterIP Service, and the
 * simulated cluster's default service range is kube-apiserver's 10.0.0.0/24 (254 addresses, shared
 * with everyone's tests): without this, Service creation fails with "range is full" after ~250.
 */
function serviceCidrFor(n: number): string {
  const bits = Math.max(8, Math.ceil(Math.log2(n + 64)));
  return `10.112.0.0/${32 - bits}`;
}

async function main(): Promise<void> {
  const load0 = loadavg();
  const rssAtStart = process.memoryUsage().rss;
  const h = await clusterUp({ log });
  const kc = loadKubeConfig(h.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const dbUrl = await ensurePostgres(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL, log);
  const adminUrl = withDatabase(dbUrl, 'postgres');
  console.log(`cluster: ${kc.getCurrentCluster()?.server} (${h.external ? 'KUBECONFIG' : 'simulated'}); load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}`);
  console.log(
    `deployments: ${N} (minReplicaCount 1, 1 × ${ACCELERATOR} in ${REGION}), ${WORKERS} create workers; controller: ${RECONCILERS} reconcile workers, client ${QPS} qps / burst ${BURST}`,
  );

  // An earlier run's teardown (1,000 pods terminating) would be measured as this run's load.
  for (const until = Date.now() + 600_000; ; ) {
    const left = (await core.listNamespace()).items.map((n) => n.metadata!.name!).filter((n) => /^bench-(dep|cm)-/.test(n));
    if (left.length === 0) break;
    if (Date.now() > until) {
      console.log(`WARNING: earlier bench namespaces still terminating (${left.join(', ')}): their teardown is in these figures`);
      break;
    }
    log(`waiting for earlier bench namespaces to go: ${left.join(', ')}`);
    await Promise.race([sleep(5000), interrupted]);
  }

  const nodes = benchNodes(Math.ceil(N / GPUS_PER_NODE));
  let database: Database | undefined;
  let dbCreated = false;
  let nsCreated = false;
  let cidrCreated = false;
  const cidrName = `bench-dep-${suffix}`;
  const net = kc.makeApiClient(NetworkingV1Api);
  let stopController: (() => Promise<unknown>) | undefined;
  let watcher: { stop: () => void } | undefined;
  let appsNsCreated = false;
  let appsWatcher: { stop: () => void } | undefined;
  /** The Hearth objects go with their namespace; the controller is stopped, so its finalizers are dropped first. */
  const removeHearthNamespace = async (): Promise<void> => {
    const list = (await custom
      .listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'deployments' })
      .catch(() => ({ items: [] }))) as { items: Deployment[] };
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await pool(list.items.length, 16, (i) =>
      custom
        .patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'deployments', name: list.items[i]!.metadata.name!, body: { metadata: { finalizers: null } } }, merge)
        .catch(() => undefined),
    );
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  };
  try {
    await installCrds(kc);

    // 1. Fleet, database, account, namespace.
    log(`adding ${nodes.length} bench nodes (${nodes.length * GPUS_PER_NODE} GPUs) in ${REGION} ...`);
    await pool(nodes.length, 16, (i) => core.createNode({ body: nodes[i]! }));
    await admin(adminUrl, `create database ${dbName}`);
    dbCreated = true;
    database = await openDatabase({ url: withDatabase(dbUrl, dbName), maxConnections: 10, applicationName: 'bench-deployments' });
    await database.migrate();
    await accountsRepo.createAccount(database.db, { accountId: account, email: `bench@${account}.example` });
    await quotasRepo.ensureDefaultQuotas(database.db, account);
    await quotasRepo.setQuotaLimits(database.db, account, gpuQuotaName(ACCELERATOR, REGION), { maxValue: N, value: N });
    await net.createServiceCIDR({ body: { metadata: { name: cidrName, labels: { [BENCH_LABEL]: 'true', [RUN_LABEL]: suffix } }, spec: { cidrs: [serviceCidrFor(N)] } } });
    cidrCreated = true;
    for (;;) {
      const c = await net.readServiceCIDR({ name: cidrName });
      if (c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')) break;
      await Promise.race([sleep(200), interrupted]);
    }
    await createTestNamespace(kc, ns, { 'hearth.dev/account': account, [BENCH_LABEL]: 'true' });
    nsCreated = true;
    // Wait until the scheduler can see every bench node as Ready (KWOK heartbeats them).
    for (;;) {
      const list = await core.listNode({ labelSelector: `${RUN_LABEL}=${suffix}` });
      const ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
      if (ready === nodes.length) break;
      await Promise.race([sleep(500), interrupted]);
    }

    // 2. The controller, in this process.
    global.gc?.();
    const rss = new RssSampler();
    rss.start();
    const reconcileMs: number[] = [];
    worstReconcile = { ms: -1, key: '' };
    const clog = pino({
      level: 'debug',
      hooks: {
        logMethod(args, method, level) {
          const [obj, msg] = args as unknown as [Record<string, unknown>, string?];
          const timed = typeof obj?.durationMs === 'number' && (msg === 'reconciled' || msg?.startsWith('reconcile failed'));
          if (timed) {
            const ms = obj.durationMs as number;
            reconcileMs.push(ms);
            if (ms > worstReconcile.ms) worstReconcile = { ms, key: String((this as unknown as { bindings(): Record<string, unknown> }).bindings().key ?? '?') };
          }
          if (level >= 40) method.apply(this, args);
        },
      },
    }, pino.destination(2));
    const clients = new KubeClients(kc, { qps: QPS, burst: BURST });
    const writer = new CountingWriter(new KubeWriter(clients, { component: EVENT_SOURCE }));
    const controller = deploymentController({
      clients,
      informers: new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log: clog }),
      quotas: new DbQuotaLedger(database.db, realClock),
      clock: realClock,
      log: clog,
      selector: `${RUN_LABEL}=${suffix}`,
      writer,
      workers: RECONCILERS,
    });
    const tStart = performance.now();
    await controller.start();
    stopController = () => controller.stop(10_000);
    const syncMs = performance.now() - tStart;
    const rssSynced = process.memoryUsage().rss;

    // 3. Create N, watch them become READY.
    const created = new Map<string, number>();
    const ready = new Map<string, number>();
    let resolveAll!: () => void;
    const allReady = new Promise<void>((r) => (resolveAll = r));
    watcher = readyWatcher(kc, custom, (name) => {
      if (!ready.has(name)) {
        ready.set(name, performance.now());
        if (ready.size === N) resolveAll();
      }
    });
    const writes0 = await apiserverWrites(kc);
    const w0 = writer.total;
    const r0 = controller.stats.reconciles;
    const cpu0 = cpuSnapshot();
    const loads: number[] = [];
    const t0 = performance.now();
    const progress = setInterval(() => {
      loads.push(loadavg()[0]!);
      const q = controller.queue;
      log(
        `${fmt((performance.now() - t0) / 1000, 0)} s: ${created.size} created, ${ready.size} READY, ${writer.total - w0} controller writes, ` +
          `queue ${q.len('normal')} normal + ${q.len('low')} low, ${q.inFlight()} in flight; load ${loadavg()[0]!.toFixed(2)}`,
      );
    }, 15_000);
    progress.unref();
    const createLat = await pool(N, WORKERS, async (i) => {
      const name = `d-${i}`;
      created.set(name, performance.now());
      await custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: 'deployments',
        body: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'Deployment',
          metadata: { name, labels: { [RUN_LABEL]: suffix } },
          spec: BENCH_SPEC,
        },
      });
    });
    const createdSecs = (performance.now() - t0) / 1000;
    let timedOut = false;
    const timeout = new Promise<void>((r) => setTimeout(r, TIMEOUT_MS).unref());
    await Promise.race([allReady, timeout.then(() => (timedOut = true)), interrupted]);
    const secs = (performance.now() - t0) / 1000;
    clearInterval(progress);
    // Let the last status writes and events land before reading the counters.
    await sleep(2000);
    rss.stop();
    const cpu1 = cpuSnapshot();
    const writes1 = await apiserverWrites(kc);
    const writes = diff(writes1.ok, writes0.ok);
    const refused = diff(writes1.refused, writes0.refused);
    const reads = diff(writes1.reads, writes0.reads);
    const controllerWrites = writer.total - w0;
    const reconciles = controller.stats.reconciles - r0;
    watcher.stop();

    // 4. The ceiling, same run, once the controller is stopped (measured here rather than first so
    //    that its 2,000 ConfigMaps' garbage is not in the controller's RSS baseline). The cluster
    //    still holds the N deployments, their pods and the bench nodes, as it would in service.
    await controller.stop(10_000);
    stopController = undefined;
    log(`measuring the raw write ceiling (${values.configmaps} ConfigMap creates, ${values['ceiling-workers']} workers) ...`);
    const cpu2 = cpuSnapshot();
    const ceiling = await measureWriteCeiling(kc, Number(values.configmaps), Number(values['ceiling-workers']));
    const cpu3 = cpuSnapshot();
    console.log(
      `api write ceiling: ${fmt(ceiling.perSec)} ConfigMap creates/s (${values.configmaps} creates, ${values['ceiling-workers']} workers, p50 ${fmt(ceiling.p50)} ms, p99 ${fmt(ceiling.p99)} ms; measured after the deployments, controller stopped; load ${loadavg()[0]!.toFixed(2)})`,
    );
    console.log(`  CPU during the ceiling: ${cpuLine(cpu2, cpu3)}`);

    // 5. Figures.
    const done = ready.size;
    const e2e = [...ready].map(([n, t]) => t - created.get(n)!).sort((a, b) => a - b);
    const rec = [...reconcileMs].sort((a, b) => a - b);
    const perSec = done / secs;
    const wpd = controllerWrites / Math.max(1, done);
    const allWpd = sum(writes) / Math.max(1, done);
    const ratio = (perSec * wpd) / ceiling.perSec;
    const clusterRatio = (perSec * allWpd) / ceiling.perSec;
    const ours = new Map([...writes].filter(([k]) => /deployments|services|events/.test(k)));
    console.log(`${timedOut ? `TIMED OUT after ${fmt(secs, 0)} s: ` : ''}${done}/${N} READY`);
    console.log(`time to all READY: ${fmt(secs, 1)} s (creates took ${fmt(createdSecs, 1)} s, create p50 ${fmt(percentile(createLat, 50))} ms, p99 ${fmt(percentile(createLat, 99))} ms)`);
    console.log(`created→READY per deployment: p50 ${fmt(percentile(e2e, 50) / 1000, 2)} s, p99 ${fmt(percentile(e2e, 99) / 1000, 2)} s`);
    console.log(
      `reconcile latency (one pass, from the controller's "reconciled" log line): p50 ${fmt(percentile(rec, 50))} ms, p99 ${fmt(percentile(rec, 99))} ms, max ${fmt(rec.at(-1) ?? NaN)} ms (${worstReconcile.key}); ${reconciles} reconciles (${fmt(reconciles / Math.max(1, done), 2)} per deployment), ${controller.stats.errors} retried errors`,
    );
    console.log(`writes per deployment, controller (counted in its writer): ${fmt(wpd, 2)} — ${line(writer.calls, Math.max(1, done))}`);
    if (writer.failed.size > 0) console.log(`  of which failed: ${line(writer.failed, Math.max(1, done))}`);
    console.log(
      `writes per deployment, whole cluster (apiserver_request_total write verbs answered 2xx, all clients incl. kube-controller-manager, scheduler, KWOK, this bench's creates, and anyone else's traffic): ${fmt(allWpd, 2)}`,
    );
    console.log(`  ${line(writes, Math.max(1, done), 16)}`);
    if (refused.size > 0) console.log(`  refused writes (not counted above): ${fmt(sum(refused) / Math.max(1, done), 2)} per deployment — ${line(refused, Math.max(1, done), 8)}`);
    console.log(`  of which deployments/services/events: ${fmt(sum(ours) / Math.max(1, done), 2)}`);
    console.log(`  reads the API server also served per deployment (GET/LIST/WATCH, not in the ceiling's denominator): ${fmt(sum(reads) / Math.max(1, done), 2)} — ${line(reads, Math.max(1, done), 6)}`);
    console.log(
      `controller RSS (this process: controller + the bench's creating client and watch; tsx and modules loaded: ${fmt(rssAtStart / MiB)} MiB): before the controller started ${fmt(rss.baseline / MiB)} MiB, after cache sync ${fmt(rssSynced / MiB)} MiB (sync ${fmt(syncMs)} ms), peak ${fmt(rss.peak / MiB)} MiB (delta ${fmt((rss.peak - rss.baseline) / MiB)} MiB), peak heap ${fmt(rss.peakHeap / MiB)} MiB`,
    );
    console.log(`CPU while creating → all READY: ${cpuLine(cpu0, cpu1)}`);
    const run = controlPlaneSecs(cpu0, cpu1);
    const ceil = controlPlaneSecs(cpu2, cpu3);
    const ceilWrites = Number(values.configmaps) + 64;
    if (run.all > 0 && ceil.all > 0) {
      console.log(
        `control-plane CPU per write: ${fmt((run.all * 1000) / Math.max(1, sum(writes)), 2)} ms while the deployments became READY (kube-apiserver ${fmt((run.apiserver * 1000) / Math.max(1, sum(writes)), 2)} ms), ` +
          `${fmt((ceil.all * 1000) / ceilWrites, 2)} ms in the ceiling's ConfigMap creates (kube-apiserver ${fmt((ceil.apiserver * 1000) / ceilWrites, 2)} ms): a deployment's writes cost ${fmt(run.all / Math.max(1, sum(writes)) / (ceil.all / ceilWrites), 1)}× as much each`,
      );
    }
    console.log(
      `throughput: ${fmt(perSec, 2)} deployments READY/s; × ${fmt(allWpd, 2)} cluster writes each = ${fmt(perSec * allWpd, 1)} writes/s = ${fmt(clusterRatio * 100, 1)}% of the ceiling (${fmt(ceiling.perSec)} writes/s)`,
    );
    console.log(`  counting Hearth's writes only (${fmt(wpd, 2)} each, not the goal's denominator): ${fmt(perSec * wpd, 1)} writes/s = ${fmt(ratio * 100, 1)}% of the ceiling`);
    console.log(`  controller client limit: ${QPS} qps → at most ${fmt(QPS / wpd, 2)} deployments/s (${fmt((QPS / ceiling.perSec) * 100, 1)}% of the ceiling)`);
    const load1 = loadavg();
    const meanLoad = loads.length ? loads.reduce((a, b) => a + b, 0) / loads.length : load1[0]!;
    console.log(`load average at end ${load1.map((x) => x.toFixed(2)).join(' ')}; 1-min load during the run: mean ${fmt(meanLoad, 2)}, max ${fmt(Math.max(...loads, load1[0]!), 2)} (${loadCores()} cores)`);
    const events = writer.calls.get('event') ?? 0;
    const ownWrites = controllerWrites - events;
    console.log(`GOAL Hearth's writes per deployment ≤ 3 (children + one status; the region is given, finalizer counted): ${fmt(ownWrites / Math.max(1, done), 2)} — ${ownWrites / Math.max(1, done) <= 3 ? 'PASS' : 'MISS'}`);
    console.log(`GOAL events per deployment ≤ 1: ${fmt(events / Math.max(1, done), 2)} — ${events / Math.max(1, done) <= 1 ? 'PASS' : 'MISS'}`);
    console.log(`GOAL reconcile p99 < 250 ms: p50 ${fmt(percentile(rec, 50))} ms, p99 ${fmt(percentile(rec, 99))} ms, worst ${fmt(worstReconcile.ms)} ms (${worstReconcile.key}) — ${percentile(rec, 99) < 250 ? 'PASS' : 'MISS'}`);
    console.log(`GOAL controller RSS < 300 MiB (peak RSS of this process: the controller and the bench's client together, not the controller alone): ${fmt(rss.peak / MiB)} MiB — ${rss.peak < 300 * MiB ? 'PASS' : 'MISS'}`);

    // 6. The same pods as plain apps/v1 Deployments + Services, no controller, same fleet.
    if (values['no-apps-baseline']) return;
    log(`phase 6: removing the Hearth objects (namespace ${ns}) and waiting until they are gone ...`);
    await removeHearthNamespace();
    for (const until = Date.now() + 600_000; ; ) {
      const left = await core.listNamespace({ fieldSelector: `metadata.name=${ns}` });
      if (left.items.length === 0) break;
      if (Date.now() > until) throw new Error(`namespace ${ns} still terminating after 600 s: no apps/v1 baseline`);
      await Promise.race([sleep(2000), interrupted]);
    }
    nsCreated = false;
    const apps = kc.makeApiClient(AppsV1Api);
    const server = buildModelServer(DeploymentSpec.parse(BENCH_SPEC), DEFAULT_MODEL_SERVER_CONFIG);
    if (!server.ok) throw new Error(`bench spec: ${server.message}`);
    const baselineObjects = (name: string) => {
      // The same owner the controller builds from (the hearth.dev Deployment `name`), so names,
      // labels and the pod template are what Hearth makes; but no ownerReference: the owner does
      // not exist, and the garbage collector would delete a child pointing at it.
      const owner = { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', metadata: { name, namespace: appsNs, uid: `apps-baseline-${suffix}-${name}` } };
      const workload = makeWorkload(owner, server.value, { replicas: 1, region: REGION, workload: DEFAULT_MODEL_SERVER_CONFIG.workload });
      const service = makeService(owner);
      for (const o of [workload, service]) {
        delete o.metadata!.ownerReferences;
        o.metadata!.labels = { ...o.metadata!.labels, [RUN_LABEL]: suffix };
      }
      return { workload, service };
    };
    await createTestNamespace(kc, appsNs, { [BENCH_LABEL]: 'true' });
    appsNsCreated = true;
    const bCreated = new Map<string, number>();
    const bAvailable = new Map<string, number>();
    let resolveAvailable!: () => void;
    const allAvailable = new Promise<void>((r) => (resolveAvailable = r));
    appsWatcher = availableWatcher(kc, apps, (name) => {
      if (!bAvailable.has(name)) {
        bAvailable.set(name, performance.now());
        if (bAvailable.size === N) resolveAvailable();
      }
    });
    const bWrites0 = await apiserverWrites(kc);
    const bCpu0 = cpuSnapshot();
    const bLoads: number[] = [];
    const bt0 = performance.now();
    const bProgress = setInterval(() => {
      bLoads.push(loadavg()[0]!);
      log(`apps/v1 baseline ${fmt((performance.now() - bt0) / 1000, 0)} s: ${bCreated.size} created, ${bAvailable.size} Available; load ${loadavg()[0]!.toFixed(2)}`);
    }, 15_000);
    bProgress.unref();
    // Same client concurrency as the Hearth creates; the two children at once, as the controller writes them.
    const bCreateLat = await pool(N, WORKERS, async (i) => {
      const name = `d-${i}`;
      const { workload, service } = baselineObjects(name);
      bCreated.set(workload.metadata!.name!, performance.now());
      await Promise.all([apps.createNamespacedDeployment({ namespace: appsNs, body: workload }), core.createNamespacedService({ namespace: appsNs, body: service })]);
    });
    const bCreatedSecs = (performance.now() - bt0) / 1000;
    let bTimedOut = false;
    await Promise.race([allAvailable, new Promise<void>((r) => setTimeout(r, TIMEOUT_MS).unref()).then(() => (bTimedOut = true)), interrupted]);
    const bSecs = (performance.now() - bt0) / 1000;
    clearInterval(bProgress);
    await sleep(2000); // as in phase 3: let the last status writes land
    const bCpu1 = cpuSnapshot();
    const bWrites1 = await apiserverWrites(kc);
    appsWatcher.stop();
    const bWrites = diff(bWrites1.ok, bWrites0.ok);
    const bRefused = diff(bWrites1.refused, bWrites0.refused);
    const bDone = bAvailable.size;
    const bPerSec = bDone / bSecs;
    const bE2e = [...bAvailable].map(([n, t]) => t - bCreated.get(n)!).sort((a, b) => a - b);
    const bWpd = sum(bWrites) / Math.max(1, bDone);
    console.log(
      `apps/v1 baseline (the same pods as plain apps/v1 Deployments + ClusterIP Services from Hearth's builders, no controller, same fleet, ${WORKERS} create workers): ` +
        `${bTimedOut ? `TIMED OUT after ${fmt(bSecs, 0)} s: ` : ''}${bDone}/${N} Available in ${fmt(bSecs, 1)} s (creates took ${fmt(bCreatedSecs, 1)} s, create p50 ${fmt(percentile(bCreateLat, 50))} ms, p99 ${fmt(percentile(bCreateLat, 99))} ms)`,
    );
    console.log(`  ${fmt(bPerSec, 2)} deployments Available/s; created→Available p50 ${fmt(percentile(bE2e, 50) / 1000, 2)} s, p99 ${fmt(percentile(bE2e, 99) / 1000, 2)} s`);
    console.log(`  writes per deployment, whole cluster (same method as above): ${fmt(bWpd, 2)} — ${line(bWrites, Math.max(1, bDone), 16)}`);
    if (bRefused.size > 0) console.log(`  refused writes (not counted above): ${fmt(sum(bRefused) / Math.max(1, bDone), 2)} per deployment — ${line(bRefused, Math.max(1, bDone), 8)}`);
    console.log(`  CPU while creating → all Available: ${cpuLine(bCpu0, bCpu1)}`);
    const bRun = controlPlaneSecs(bCpu0, bCpu1);
    if (bRun.all > 0 && ceil.all > 0) {
      console.log(
        `  control-plane CPU per write: ${fmt((bRun.all * 1000) / Math.max(1, sum(bWrites)), 2)} ms (kube-apiserver ${fmt((bRun.apiserver * 1000) / Math.max(1, sum(bWrites)), 2)} ms), ` +
          `${fmt(bRun.all / Math.max(1, sum(bWrites)) / (ceil.all / ceilWrites), 1)}× a ConfigMap create; per deployment ${fmt(bRun.all / Math.max(1, bDone), 3)} s (Hearth phase ${fmt(run.all / Math.max(1, done), 3)} s)`,
      );
    }
    const bMeanLoad = bLoads.length ? bLoads.reduce((a, b) => a + b, 0) / bLoads.length : loadavg()[0]!;
    console.log(`  1-min load during the baseline: mean ${fmt(bMeanLoad, 2)}, max ${fmt(Math.max(...bLoads, loadavg()[0]!), 2)}; load average now ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    const vsThroughput = perSec / bPerSec;
    const p50Hearth = percentile(e2e, 50);
    const p50Apps = percentile(bE2e, 50);
    console.log(
      `  Hearth ÷ baseline: ${fmt(perSec, 2)} READY/s ÷ ${fmt(bPerSec, 2)} Available/s = ${fmt(vsThroughput * 100, 1)}%; ` +
        `created→ready p50 ${fmt(p50Hearth / 1000, 2)} s vs ${fmt(p50Apps / 1000, 2)} s (baseline ÷ Hearth = ${fmt((p50Apps / p50Hearth) * 100, 1)}%); ` +
        `cluster writes per deployment ${fmt(allWpd, 2)} vs ${fmt(bWpd, 2)}`,
    );
    console.log(`Hearth vs the same pods as plain apps/v1 Deployments: ${fmt(vsThroughput * 100, 1)}%${bTimedOut || timedOut ? ' (a phase timed out: not a full comparison)' : ''}`);
    const partial = bTimedOut || timedOut ? ' (a phase timed out)' : '';
    const p50Ratio = p50Hearth / p50Apps;
    const p99Ratio = percentile(e2e, 99) / percentile(bE2e, 99);
    console.log(`GOAL throughput ≥ 90% of the same-run apps/v1 baseline: ${fmt(vsThroughput * 100, 1)}% — ${vsThroughput >= 0.9 && !partial ? 'PASS' : 'MISS'}${partial}`);
    console.log(`GOAL created→READY p50 ≤ 1.2× the baseline's: ${fmt(p50Ratio, 2)}× — ${p50Ratio <= 1.2 && !partial ? 'PASS' : 'MISS'}${partial}`);
    console.log(`GOAL created→READY p99 ≤ 1.3× the baseline's: ${fmt(p99Ratio, 2)}× — ${p99Ratio <= 1.3 && !partial ? 'PASS' : 'MISS'}${partial}`);
  } finally {
    log('cleaning up ...');
    watcher?.stop();
    await stopController?.().catch(() => undefined);
    appsWatcher?.stop();
    if (nsCreated) await removeHearthNamespace();
    if (appsNsCreated) await core.deleteNamespace({ name: appsNs }).catch(() => undefined);
    await pool(nodes.length, 16, (i) => core.deleteNode({ name: nodes[i]!.metadata!.name! }).catch(() => undefined));
    // Goes once the namespace's Services have released its addresses (its finalizer waits for that).
    if (cidrCreated) await net.deleteServiceCIDR({ name: cidrName }).catch(() => undefined);
    await database?.close().catch(() => undefined);
    if (dbCreated) await admin(adminUrl, `drop database if exists ${dbName} with (force)`).catch((e: unknown) => log(`could not drop ${dbName}: ${String(e)}`));
    kc.destroy();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
