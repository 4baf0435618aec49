// Scale from zero: what Hearth's control plane adds to a cold start, as figures and ratios measured
// in the same run (machines are noisy), and the autoscaler's CPU at fleet scale.
//
//   npm run bench:cold-start [-- --cold-starts 30 --deployments 6 --autoscaler-deployments 1000]
//   npm run bench:cold-start -- --cpu-only          (part 3 alone: no cluster)
//
// 1. Cold starts on the simulated cluster (KUBECONFIG, or the one `npm run cluster:up` starts), the
//    split-process path over loopback: gateway (admin listener) → GatewayLoadScraper long-poll →
//    Autoscaler → Deployment controller → apps/v1 Deployment → KWOK pod Ready → EndpointSlice →
//    gateway → the model-server fixture (instantly ready, no token latency). Per cold start:
//      - control-plane overhead: the gateway holds the first request → replicas 1 written to the
//        apps/v1 Deployment (seen by a watch), p50/p99 (goal p99 < 500 ms);
//      - first request → first response byte (goal < 3 s).
//    Deployments are reused round-robin once the (overridden, 2 s) scale-to-zero window has taken
//    them back to 0.
// 2. Same-run baselines: a direct write of replicas 0 → 1 to a plain apps/v1 Deployment (seen by the
//    same kind of watch), and a bare pod with the same spec as Hearth's model-server pod, created →
//    Ready. Ratios: Hearth overhead / direct write; Hearth first byte / bare pod Ready.
// 3. Autoscaler CPU for N deployments (default 1,000) ticking every 2 s: the real Autoscaler and
//    decide() over synthetic policies and load (random walks, some idle, some with schedules),
//    including the reconcile-pass decisions the ticks ask for; process.cpuUsage() per tick as a
//    fraction of one core. Pure CPU, no cluster.
// Bounded in count and time; everything it creates carries a run label and is deleted at the end.
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { loadavg, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, Watch, setHeaderOptions, type KubeConfig, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { clusterUp } from '../hack/lib/cluster.js';
import { bootstrap } from '../src/auth/bootstrap.js';
import { Autoscaler, type LoadSource } from '../src/controllers/autoscaler/autoscaler.js';
import type { LoadSample } from '../src/controllers/autoscaler/history.js';
import { GatewayLoadScraper } from '../src/controllers/autoscaler/load-scraper.js';
import { EVENT_SOURCE } from '../src/controllers/deployment/controller.js';
import { controllerManager } from '../src/controllers/manager.js';
import { KubeWriter, type ObjectWriter } from '../src/controllers/runtime/writer.js';
import { KubeClients } from '../src/kube/client.js';
import { InformerFactory } from '../src/kube/informer-factory.js';
import { hearthDeployment } from '../src/controllers/deployment/testing.js';
import type { Deployment } from '../src/crds/deployment.js';
import { GROUP, VERSION } from '../src/crds/group.js';
import pg from 'pg';
import { openDatabase, type Database } from '../src/db/client.js';
import { startGateway } from '../src/gateway/index.js';
import { loadKubeConfig } from '../src/kube/config.js';
import { realClock } from '../src/util/clock.js';
import { FakeClock } from '../src/util/fake-clock.js';
import { startModelServerFixture } from '../test/fixtures/model-server/index.js';
import { createTestNamespace } from '../test/support/namespace.js';
import { kubeAccess } from '../test/support/kube.js';
import { fmt, percentile } from './lib.js';
import { TEST_SEAL } from '../test/support/tenancy.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const RUN_LABEL = 'hearth.dev/bench-cold-start';
const TOKEN = randomBytes(24).toString('hex');

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    'cold-starts': { type: 'string', default: '30' },
    deployments: { type: 'string', default: '6' },
    'autoscaler-deployments': { type: 'string', default: '1000' },
    'autoscaler-ticks': { type: 'string', default: '150' },
    'cpu-only': { type: 'boolean', default: false },
    /** Quotas and keys in a scratch PostgreSQL database (DATABASE_URL, default local), or `pglite`. */
    database: { type: 'string', default: 'postgres' },
    /**
     * Time the workload write (a writer on a KubeClients of its own wraps the real one); `off`: the
     * controller's default writer on the manager's shared clients (no "write sent" figure).
     */
    'writer-probe': { type: 'string', default: 'on' },
  },
});

const stats = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${fmt(percentile(s, 50))} ms, p99 ${fmt(percentile(s, 99))} ms, max ${fmt(s.at(-1) ?? NaN)} ms (n=${s.length})`;
};
const p50 = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Watches apps/v1 Deployments of a namespace; calls `fn` on every event with the receipt time. */
async function watchWorkloads(kc: KubeConfig, ns: string, fn: (d: V1Deployment, at: number) => void): Promise<{ abort(): void }> {
  return new Watch(kc).watch(`/apis/apps/v1/namespaces/${ns}/deployments`, {}, (_t: string, d: V1Deployment) => fn(d, performance.now()), () => undefined);
}

/** A scratch PostgreSQL database (created, migrated; `drop` removes it). */
async function scratchDatabase(name: string): Promise<{ database: Database; drop(): Promise<void> }> {
  const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const sql = async (q: string): Promise<void> => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(q);
    } finally {
      await c.end();
    }
  };
  await sql(`CREATE DATABASE ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const database = await openDatabase({ url: u.toString(), maxConnections: 5 });
  await database.migrate();
  return { database, drop: () => sql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

// ---- 1 + 2: cold starts and baselines on the cluster ---------------------------------------------

async function clusterPart(kc: KubeConfig, coldStarts: number, nDeployments: number): Promise<void> {
  const suffix = randomBytes(3).toString('hex');
  const account = `cs-${suffix}`;
  const ns = `acct-${account}`;
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
  const dbName = `hearth_bench_cs_${suffix}`;
  const pglite = values.database === 'pglite';
  const scratch = pglite ? undefined : await scratchDatabase(dbName);
  const database = scratch?.database ?? (await openDatabase({}));
  if (pglite) await database.migrate();
  await bootstrap(database.db, { accountId: account, email: `admin@${account}.example` });
  await createTestNamespace(kc, ns, { 'hearth.dev/account': account });
  const fx = await startModelServerFixture({ model: BASE, tokenLatencyMs: 0 });
  const gw = await startGateway(
    { host: '127.0.0.1', port: 0, adminPort: 0, internalToken: TOKEN, processMetrics: false },
    { informers: kubeAccess(kc, { log }).informers, authenticate: () => Promise.resolve({ ok: true, accountId: account }), log, dialTarget: () => ({ host: '127.0.0.1', port: fx.port }) },
  );
  await gw.synced;
  const scraper = new GatewayLoadScraper({ clock: realClock, token: TOKEN, targets: [gw.adminUrl!], log });
  // When the controller side learns of the held request (the long-poll answered: the wake).
  const wokenAt = new Map<string, number>();
  scraper.onDemand((_ns, deployment) => {
    if (!wokenAt.has(deployment)) wokenAt.set(deployment, performance.now());
  });
  scraper.start();
  const autoscaler = new Autoscaler({ load: scraper, clock: realClock, scaleToZeroWindowOverrideMs: 2_000, tickMs: 500, log });
  // When the reconcile pass reaches the autoscaler (after the queue and the cache reads, before the
  // quota check and the write).
  const decidedAt = new Map<string, number>();
  const hook = {
    attach: autoscaler.attach.bind(autoscaler),
    desiredReplicas: ((dep, spec, now) => {
      const r = autoscaler.desiredReplicas(dep, spec, now);
      const n = typeof r === 'number' ? r : r.replicas;
      const name = dep.metadata.name ?? '';
      if (n >= 1 && !decidedAt.has(name)) decidedAt.set(name, performance.now());
      return r;
    }) satisfies Autoscaler['desiredReplicas'],
  };
  // When the reconciler sends the workload write with replicas ≥ 1 (after its quota check and holds).
  const sentAt = new Map<string, number>();
  // As main.ts wires the `controller` mode: one client and one informer cache for the process.
  const clients = new KubeClients(kc, { qps: 50, burst: 100 }, realClock);
  const informers = new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log });
  const kubeWriter = new KubeWriter(clients, { component: EVENT_SOURCE });
  const writer: ObjectWriter = {
    create: (obj) => kubeWriter.create(obj),
    update: (obj) => {
      const w = obj as V1Deployment;
      const name = w.metadata?.name ?? '';
      if (w.kind === 'Deployment' && (w.spec?.replicas ?? 0) >= 1 && !sentAt.has(name)) sentAt.set(name, performance.now());
      return kubeWriter.update(obj);
    },
    delete: (ref) => kubeWriter.delete(ref),
    updateStatus: (dep, status) => kubeWriter.updateStatus(dep, status),
    setFinalizers: (dep, finalizers) => kubeWriter.setFinalizers(dep, finalizers),
    patchMetadata: (dep, patch) => kubeWriter.patchMetadata(dep, patch),
    event: (dep, e, series) => kubeWriter.event(dep, e, series),
  };
  const manager = controllerManager({
    clients,
    informers,
    db: database.db,
    log,
    shutdownTimeoutMs: 5000,
    deployment: { selector: `${RUN_LABEL}=${suffix}`, autoscaler: hook, ...(values['writer-probe'] !== 'off' ? { writer } : {}), capacityRetryMs: 2000, quotaRetryMs: 2000 },
  });
  void manager.start();

  // When the gateway first holds a request for a deployment (the start of the control-plane path).
  const heldAt = new Map<string, number>();
  const tracker = gw.core.load;
  const heldStart = tracker.heldStart.bind(tracker);
  tracker.heldStart = (namespace, deployment) => {
    if (!heldAt.has(deployment)) heldAt.set(deployment, performance.now());
    heldStart(namespace, deployment);
  };
  // replicas per workload as the watch last saw them, and when it first saw 1 after 0.
  const replicas = new Map<string, number>();
  const scaledAt = new Map<string, number>();
  const watch = await watchWorkloads(kc, ns, (d, at) => {
    const name = d.metadata?.name ?? '';
    const n = d.spec?.replicas ?? 0;
    if (n >= 1 && (replicas.get(name) ?? 0) === 0 && !scaledAt.has(name)) scaledAt.set(name, at);
    replicas.set(name, n);
  });

  const names = Array.from({ length: nDeployments }, (_, i) => `cold-${i}`);
  const overhead: number[] = [];
  const wake: number[] = [];
  const toPass: number[] = [];
  const toSend: number[] = [];
  const firstByte: number[] = [];
  const direct: number[] = [];
  const bare: number[] = [];
  try {
    for (const name of names) {
      await custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: 'deployments',
        body: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'Deployment',
          metadata: { name, labels: { [RUN_LABEL]: suffix } },
          spec: { baseModel: BASE, acceleratorType: 'AMD_MI300X_192GB', acceleratorCount: 1, minReplicaCount: 0, maxReplicaCount: 1 },
        },
      });
    }
    const atZero = async (name: string): Promise<boolean> => {
      const d = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'deployments', name })) as Deployment;
      return d.status?.state === 'READY' && d.status.desiredReplicaCount === 0 && replicas.get(`${name}-server`) === 0 && gw.core.upstreams.readyCount(`${ns}/${name}`) === 0 && gw.core.catalog.deployment(`${ns}/${name}`) !== undefined;
    };
    for (const name of names) await until(`${name} READY at 0`, () => atZero(name), 120_000);
    console.log(`cold starts: ${coldStarts} over ${nDeployments} deployments (split path over loopback; load ${load()})`);
    for (let i = 0; i < coldStarts; i++) {
      const name = names[i % names.length]!;
      const workload = `${name}-server`;
      await until(`${name} back at 0`, () => atZero(name), 60_000);
      heldAt.delete(name);
      wokenAt.delete(name);
      decidedAt.delete(name);
      sentAt.delete(workload);
      scaledAt.delete(workload);
      const sent = performance.now();
      const first = await new Promise<number>((resolve, reject) => {
        const req = request(new URL('/inference/v1/completions', gw.url), { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer bench' } }, (res) => {
          let t = 0;
          res.on('data', () => (t ||= performance.now()));
          res.on('end', () => (res.statusCode === 200 ? resolve(t) : reject(new Error(`HTTP ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ model: `${BASE}#${account}/${name}`, prompt: 'hi', max_tokens: 1 }));
      });
      await until(`the watch to see ${workload} at 1`, () => scaledAt.has(workload), 10_000);
      overhead.push(scaledAt.get(workload)! - heldAt.get(name)!);
      wake.push(wokenAt.get(name)! - heldAt.get(name)!);
      toPass.push(decidedAt.get(name)! - heldAt.get(name)!);
      if (sentAt.has(workload)) toSend.push(sentAt.get(workload)! - heldAt.get(name)!);
      firstByte.push(first - sent);
    }
    console.log(`  control-plane overhead (held → replicas 1 written): ${stats(overhead)}   goal p99 < 500 ms`);
    console.log(`    held → the controller's scraper has it (the wake, over HTTP): ${stats(wake)}`);
    console.log(`    held → the reconcile pass decides 1 (queue, cache reads): ${stats(toPass)}`);
    if (toSend.length > 0) console.log(`    held → the workload write sent (+ quota check and holds in ${pglite ? 'PGlite' : 'PostgreSQL'}): ${stats(toSend)}`);
    else console.log('    (--writer-probe off: the default writer on the manager\'s shared clients)');
    console.log(`    (the rest: the write's round trip and the watch event; compare the direct write below)`);
    console.log(`  first request → first byte (instantly-ready fixture): ${stats(firstByte)}   goal < 3000 ms`);

    // Baseline 1: a direct write of replicas 0 → 1, seen by the same kind of watch.
    const plain = `direct-${suffix}`;
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: plain },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: plain } },
          // Pods of it would stay Pending (no node has this label): only the write is measured.
          template: { metadata: { labels: { app: plain } }, spec: { nodeSelector: { 'hearth.dev/bench': 'nowhere' }, containers: [{ name: 'c', image: 'x' }] } },
        },
      },
    });
    await until('the watch to see the plain Deployment', () => replicas.has(plain), 10_000);
    for (let i = 0; i < coldStarts; i++) {
      scaledAt.delete(plain);
      const t0 = performance.now();
      await apps.patchNamespacedDeployment({ namespace: ns, name: plain, body: { spec: { replicas: 1 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await until('the watch to see replicas 1', () => scaledAt.has(plain), 10_000);
      direct.push(scaledAt.get(plain)! - t0);
      await apps.patchNamespacedDeployment({ namespace: ns, name: plain, body: { spec: { replicas: 0 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await until('the watch to see replicas 0', () => replicas.get(plain) === 0, 10_000);
    }

    // Baseline 2: a bare pod with the model server's pod spec, created → Ready.
    const tpl = (await apps.readNamespacedDeployment({ namespace: ns, name: `${names[0]}-server` })).spec!.template.spec!;
    const ready = new Map<string, number>();
    const podWatch = await new Watch(kc).watch(
      `/api/v1/namespaces/${ns}/pods`,
      { labelSelector: `bench-bare=${suffix}` },
      (_t: string, p: V1Pod) => {
        if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && !ready.has(p.metadata!.name!)) ready.set(p.metadata!.name!, performance.now());
      },
      () => undefined,
    );
    try {
      for (let i = 0; i < coldStarts; i++) {
        const pod = `bare-${i}`;
        const t0 = performance.now();
        await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: pod, labels: { 'bench-bare': suffix } }, spec: { ...tpl, nodeName: undefined } } });
        await until(`${pod} Ready`, () => ready.has(pod), 60_000);
        bare.push(ready.get(pod)! - t0);
        await core.deleteNamespacedPod({ name: pod, namespace: ns, gracePeriodSeconds: 0 }).catch(() => undefined);
      }
    } finally {
      podWatch.abort();
    }
    console.log(`baselines (same run; load ${load()}):`);
    console.log(`  direct write replicas 0 → 1 on an apps/v1 Deployment, seen by a watch: ${stats(direct)}`);
    console.log(`  bare pod (the model server's pod spec) created → Ready: ${stats(bare)}`);
    console.log(
      `ratios (p50): control-plane overhead / direct write = ${fmt(p50(overhead) / p50(direct), 2)}x (+${fmt(p50(overhead) - p50(direct))} ms); ` +
        `first byte / bare pod Ready = ${fmt(p50(firstByte) / p50(bare), 2)}x (+${fmt(p50(firstByte) - p50(bare))} ms)`,
    );
  } finally {
    watch.abort();
    autoscaler.stop();
    await scraper.stop();
    await manager.stop();
    await informers.stop();
    await gw.close(1000);
    await fx.close();
    for (const name of names) {
      await custom
        .patchNamespacedCustomObject(
          { group: GROUP, version: VERSION, namespace: ns, plural: 'deployments', name, body: { metadata: { finalizers: null } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        )
        .catch(() => undefined);
    }
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
    await database.close();
    await scratch?.drop();
  }
}

// ---- 3: autoscaler CPU at fleet scale ----------------------------------------------------------------

/** Deterministic pseudo-random numbers (mulberry32), so runs are comparable. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function autoscalerCpu(n: number, ticks: number): void {
  const TICK_MS = 2_000;
  const clock = new FakeClock(Date.parse('2026-11-26T08:00:00Z'));
  const rand = rng(42);
  // Per deployment: a load level that random-walks; a fifth idle (scale-to-zero candidates).
  const level = new Map<string, number>();
  const source: LoadSource = {
    sample: (namespace, deployment, now): LoadSample => {
      const l = level.get(`${namespace}/${deployment}`) ?? 0;
      return { at: now, inFlight: Math.round(l), requestsPerSecond: l / 2, tokensPerSecond: l * 40 };
    },
  };
  const scaler = new Autoscaler({ load: source, clock, tickMs: TICK_MS });
  const deps: Deployment[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 5;
    const spec: Parameters<typeof hearthDeployment>[0] = {
      minReplicaCount: kind === 0 ? 0 : 1,
      maxReplicaCount: 2 + (i % 15),
      autoscalingPolicy: {
        scaleUpWindow: `${10 + (i % 50)}s`,
        scaleDownWindow: `${1 + (i % 10)}m`,
        ...(kind === 3 ? { loadTargets: { default: 0.7, tokens_generated_per_second: 300 } } : {}),
        ...(kind === 4 ? { scalingSchedules: { business: { minReplicaCount: 2, schedule: '0 9 * * 1-5', duration: '8h', timezone: 'America/New_York' } } } : {}),
      },
    };
    const dep = hearthDeployment(spec, { name: `d-${i}`, namespace: `acct-${i % 50}` });
    dep.metadata = { ...dep.metadata, creationTimestamp: new Date(clock.now() - 86_400_000).toISOString() as unknown as Date };
    dep.status = { state: 'READY', desiredReplicaCount: kind === 0 ? 0 : 1 } as Deployment['status'];
    deps.push(dep);
    level.set(`${dep.metadata.namespace}/${dep.metadata.name}`, kind === 0 ? 0 : rand() * 40);
  }
  const byKey = new Map(deps.map((d) => [`${d.metadata.namespace}/${d.metadata.name}`, d]));
  /** A reconcile pass for a key: the decision, its status fields written back as the reconciler does. */
  const pass = (d: Deployment): void => {
    const r = scaler.desiredReplicas(d, d.spec, clock.now());
    if (typeof r === 'number') return;
    d.status = { ...d.status!, desiredReplicaCount: r.replicas, ...(r.status?.scalingDecisions ? { scalingDecisions: r.status.scalingDecisions } : {}) };
  };
  for (const d of deps) pass(d);
  const tickCpu: number[] = [];
  const passCpu: number[] = [];
  let due = 0;
  for (let t = 0; t < ticks; t++) {
    clock.advance(TICK_MS);
    for (const [k, l] of level) if (l > 0 || rand() < 0.002) level.set(k, Math.max(0, l + (rand() - 0.5) * 6));
    const c0 = process.cpuUsage();
    const keys = scaler.tick(clock.now());
    const c1 = process.cpuUsage(c0);
    for (const k of keys) pass(byKey.get(k)!);
    const c2 = process.cpuUsage(c0);
    tickCpu.push((c1.user + c1.system) / 1000);
    passCpu.push((c2.user + c2.system - c1.user - c1.system) / 1000);
    due += keys.length;
  }
  const skip = Math.min(10, Math.floor(ticks / 5)); // JIT warm-up
  const tk = tickCpu.slice(skip);
  const ps = passCpu.slice(skip);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const total = mean(tk) + mean(ps);
  console.log(`autoscaler CPU for ${n} deployments ticking every 2 s (${ticks} ticks = ${fmt((ticks * TICK_MS) / 60_000)} min simulated; first ${skip} ticks are warm-up; load ${load()}):`);
  console.log(`  tick (decide() over every tracked deployment): mean ${fmt(mean(tk), 2)} ms CPU, ${stats(tk)}`);
  console.log(`  passes the ticks asked for (${fmt(due / ticks)} deployments per tick): mean ${fmt(mean(ps), 2)} ms CPU`);
  console.log(`  = ${fmt((total / TICK_MS) * 100, 2)} % of one core (${fmt((total * 1000) / n, 1)} µs per deployment per tick; ${cpus().length} cores here)`);
}

async function main(): Promise<void> {
  const coldStarts = Number(values['cold-starts']);
  const nDeployments = Number(values.deployments);
  if (!values['cpu-only']) {
    const h = await clusterUp();
    const kc = loadKubeConfig(h.kubeconfig);
    console.log(`cluster: ${kc.getCurrentCluster()?.server} (${h.external ? 'KUBECONFIG' : 'simulated'}); load ${load()} on ${cpus().length} cores`);
    try {
      await clusterPart(kc, coldStarts, nDeployments);
    } finally {
      kc.destroy();
    }
  }
  autoscalerCpu(Number(values['autoscaler-deployments']), Number(values['autoscaler-ticks']));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
