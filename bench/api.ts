// The REST facade's speed on loopback (issue 6, item 8), as figures and ratios measured in one run:
//
//   npm run bench:api [-- --connections 10 --seconds 12 --blocks 4 --creates 200 --total 1000]
//
// Three processes: a bare fastify 5 "hello world" app, the real Hearth API (buildApp with the real
// API-key auth against a scratch PostgreSQL database, and the watch-fed deployments client of the
// cluster in KUBECONFIG — or the simulated one hack/lib/cluster.ts starts), and this driver, which
// generates load with undici over real HTTP on 127.0.0.1.
//   3. POST deployment: `--creates` creates one at a time (p50/p99), each followed by the same
//      create straight at the API server (the baseline: what the API server alone takes now), then
//      the rest up to `--total` with `--bulk-workers` in flight (p50/p99 under concurrency).
//   4. List `--total` deployments with a filter (half of them match; default page of 50),
//      `--list-requests` one at a time: p50/p99.
//   1+2. Closed-loop throughput with `--connections` keep-alive connections, the same generator and
//      settings for both: GET {"hello":"world"} from the bare app, then authenticated
//      `GET /v1/accounts/a/deployments/d` (served from the cache) from Hearth, in alternating blocks;
//      the ratio, and the CPU each server spent per request (less sensitive to a noisy machine).
// The Hearth process runs as shipped: LOG_LEVEL info (request logs written to /dev/null), the per-key
// rate limiter in the path (with a limit too high to bite). Created objects (namespace, deployments,
// database) are removed at the end, also on failure or Ctrl-C. Not a test: it prints figures.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Pool } from 'undici';
import { admin, fmt, percentile, pool, withDatabase } from './lib.js';
import { TEST_SEAL } from '../test/support/tenancy.js';

const { values } = parseArgs({
  // `npm run`/tsx pass a literal `--` through; it separates nothing here.
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    role: { type: 'string', default: 'driver' },
    connections: { type: 'string', default: '10' },
    /** Measured seconds per server, split into `blocks` alternating blocks. */
    seconds: { type: 'string', default: '12' },
    blocks: { type: 'string', default: '4' },
    creates: { type: 'string', default: '200' },
    total: { type: 'string', default: '1000' },
    'bulk-workers': { type: 'string', default: '8' },
    'list-requests': { type: 'string', default: '300' },
    /** minReplicaCount of the created deployments (0: no GPUs held, no pods even if a controller runs). */
    'min-replicas': { type: 'string', default: '0' },
    'log-level': { type: 'string', default: 'info' },
    /** Write a V8 CPU profile of the Hearth API process here. */
    'profile-dir': { type: 'string' },
    'database-url': { type: 'string' },
    account: { type: 'string' },
  },
});

const BASE_MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const REGION = 'US_VIRGINIA_2';
const ACCELERATORS = ['NVIDIA_H100_80GB', 'AMD_MI300X_192GB'] as const;
const log = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);

// ---- server roles ------------------------------------------------------------------------------

async function runHello(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  app.get('/', async () => ({ hello: 'world' }));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

async function runHearth(databaseUrl: string, level: string): Promise<void> {
  const { pino } = await import('pino');
  const { buildApp } = await import('../src/api/app.js');
  const { createLogger } = await import('../src/log.js');
  const { KubeDeploymentClient } = await import('../src/api/kube/kind-client.js');
  const { NamespaceEnsurer } = await import('../src/api/kube/namespaces.js');
  const { openDatabase } = await import('../src/db/client.js');
  const { loadKubeConfig } = await import('../src/kube/config.js');
  const database = await openDatabase({ url: databaseUrl, applicationName: 'bench-api' });
  const kc = loadKubeConfig(process.env.KUBECONFIG);
  // As `hearth api` logs (pino, LOG_LEVEL, redaction), into /dev/null instead of stdout.
  const logger = createLogger({ level, destination: pino.destination({ dest: '/dev/null', sync: true }) });
  const { KubeClients } = await import('../src/kube/client.js');
  const { InformerFactory } = await import('../src/kube/informer-factory.js');
  const { realClock } = await import('../src/util/clock.js');
  // As main.ts wires a process: one rate-limited client (its default limit), one informer layer.
  const clients = new KubeClients(kc, { qps: 100, burst: 200 }, realClock);
  const client = new KubeDeploymentClient({ clients, informers: new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log: logger }) }, { log: logger });
  await client.start();
  const namespaces = new NamespaceEnsurer(kc, { seal: TEST_SEAL });
  const app = await buildApp({ db: database.db, deployments: client, ensureNamespace: (a) => namespaces.ensure(a), logger, rateLimit: { ratePerSecond: 1e9, burst: 1e9 } });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  process.once('SIGTERM', () => void app.close().then(() => client.stop()).then(() => database.close()).then(() => process.exit(0)));
}

// ---- driver helpers ----------------------------------------------------------------------------

/** Spawns `node --import tsx bench/api.ts <args>` and resolves with it and its first JSON line. */
async function child(args: string[], nodeArgs: string[] = []): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'bench/api.ts', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
  const lines = createInterface({ input: proc.stdout! });
  const [line] = (await Promise.race([once(lines, 'line'), once(proc, 'exit').then(() => [undefined])])) as [string | undefined];
  if (!line) throw new Error(`bench/api.ts ${args.join(' ')} exited before it was ready`);
  return { proc, url: (JSON.parse(line) as { url: string }).url };
}

async function stopChild(c: { proc: ChildProcess } | undefined): Promise<void> {
  if (!c || c.proc.exitCode !== null) return;
  const exited = once(c.proc, 'exit');
  c.proc.kill('SIGTERM');
  const timer = setTimeout(() => c.proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** CPU seconds [user, system] a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number | undefined): [number, number] {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return [Number(fields[11]) / 100, Number(fields[12]) / 100]; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return [NaN, NaN];
  }
}

interface LoadResult {
  ok: number;
  errors: number;
  secs: number;
  lat: number[];
}

/** Closed loop: `connections` workers, each sending the next GET as soon as the last one ended. */
async function closedLoop(target: Pool, path: string, headers: Record<string, string>, connections: number, seconds: number): Promise<LoadResult> {
  const r: LoadResult = { ok: 0, errors: 0, secs: 0, lat: [] };
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t = performance.now();
      try {
        const res = await target.request({ path, method: 'GET', headers });
        await res.body.text();
        if (res.statusCode === 200) {
          r.ok++;
          r.lat.push(performance.now() - t);
        } else r.errors++;
      } catch {
        r.errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  r.secs = (performance.now() - start) / 1000;
  return r;
}

async function send(target: Pool, method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await target.request({ path, method, headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const pcts = (xs: number[]): string => {
  const s = sorted(xs);
  return `p50 ${fmt(percentile(s, 50), 2)} ms, p99 ${fmt(percentile(s, 99), 2)} ms, max ${fmt(s.at(-1) ?? NaN, 2)} ms (n=${s.length})`;
};



/** Rejects on SIGINT/SIGTERM, so the waits end and `finally` cleans up. */
const interrupted = new Promise<never>((_, reject) => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => reject(new Error(`interrupted by ${sig}`)));
});
interrupted.catch(() => undefined);

// ---- driver ------------------------------------------------------------------------------------

async function driver(): Promise<void> {
  const { clusterUp } = await import('../hack/lib/cluster.js');
  const { installCrds } = await import('../hack/lib/crds.js');
  const { DEFAULT_DATABASE_URL, ensurePostgres } = await import('../hack/lib/postgres.js');
  const { bootstrap } = await import('../src/auth/bootstrap.js');
  const { accountNamespace, ensureAccountNamespace } = await import('../src/api/kube/namespaces.js');
  const { GROUP, VERSION } = await import('../src/crds/group.js');
  const { openDatabase } = await import('../src/db/client.js');
  const { loadKubeConfig } = await import('../src/kube/config.js');

  const connections = Number(values.connections);
  const seconds = Number(values.seconds);
  const blocks = Math.max(2, Number(values.blocks));
  const creates = Number(values.creates);
  const total = Math.max(creates, Number(values.total));
  const suffix = randomBytes(3).toString('hex');
  const account = `bench-api-${suffix}`;
  const ns = accountNamespace(account);
  const dbName = `hearth_bench_api_${suffix}`;
  const rawAccount = `bench-api-raw-${suffix}`;
  const rawNs = accountNamespace(rawAccount);

  const h = await clusterUp({ log });
  if (!process.env.KUBECONFIG) process.env.KUBECONFIG = h.kubeconfig; // for the Hearth child
  const kc = loadKubeConfig(h.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const dbUrl = await ensurePostgres(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL, log);
  const adminUrl = withDatabase(dbUrl, 'postgres');
  console.log(`cluster: ${kc.getCurrentCluster()?.server} (${h.external ? 'KUBECONFIG' : 'simulated'}); PostgreSQL ${new URL(dbUrl).host}; ${cpus().length} CPUs; load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  let dbCreated = false;
  let nsCreated = false;
  let rawNsCreated = false;
  let hello: { proc: ChildProcess; url: string } | undefined;
  let hearth: { proc: ChildProcess; url: string } | undefined;
  const pools: Pool[] = [];
  try {
    await installCrds(kc);
    await admin(adminUrl, `create database ${dbName}`);
    dbCreated = true;
    const database = await openDatabase({ url: withDatabase(dbUrl, dbName), applicationName: 'bench-api-driver' });
    let key: string;
    try {
      await database.migrate();
      key = (await bootstrap(database.db, { accountId: account, email: `bench@${account}.example` })).apiKey!.key;
    } finally {
      await database.close();
    }
    await ensureAccountNamespace(kc, account, { seal: TEST_SEAL });
    nsCreated = true;

    const profile = values['profile-dir'] ? ['--cpu-prof', '--cpu-prof-dir', values['profile-dir']] : [];
    hearth = await Promise.race([child(['--role', 'hearth', '--database-url', withDatabase(dbUrl, dbName), '--log-level', values['log-level']], profile), interrupted]);
    hello = await Promise.race([child(['--role', 'hello']), interrupted]);
    const api = new Pool(hearth.url, { connections: Math.max(connections, Number(values['bulk-workers'])) });
    const bare = new Pool(hello.url, { connections });
    pools.push(api, bare);
    const auth = { authorization: `Bearer ${key}` };
    const base = `/v1/accounts/${account}/deployments`;

    // 3. Creates: one at a time, then the rest concurrently.
    const body = (i: number) => ({
      baseModel: BASE_MODEL,
      displayName: `bench ${i}`,
      acceleratorType: ACCELERATORS[i % 2],
      minReplicaCount: Number(values['min-replicas']),
      maxReplicaCount: 1,
      placement: { region: REGION },
    });
    const failures: string[] = [];
    /** With `deploymentId` d-<i>, or (serverId) with the id left to the server. */
    const create = async (i: number, serverId = false): Promise<void> => {
      const r = await send(api, 'POST', serverId ? base : `${base}?deploymentId=d-${String(i).padStart(4, '0')}`, auth, body(i));
      if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(r.json).slice(0, 200)}`);
    };
    await create(0); // connection, JIT and namespace check warm
    // Each REST create is followed by a create of the same object straight at the API server (in a
    // namespace of its own), as the baseline of what the API server alone takes on this machine now.
    await ensureAccountNamespace(kc, rawAccount, { seal: TEST_SEAL });
    rawNsCreated = true;
    const rawLat: number[] = [];
    const raw = async (i: number): Promise<void> => {
      const t = performance.now();
      await custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: rawNs,
        plural: 'deployments',
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', metadata: { name: `d-${String(i).padStart(4, '0')}` }, spec: body(i) },
      });
      rawLat.push(performance.now() - t);
    };
    await raw(0);
    rawLat.length = 0;
    log(`creating ${creates - 1} deployments one at a time (each also straight at the API server) ...`);
    // Alternately with a deploymentId (the API server is asked whether it exists first) and without.
    const seq: number[] = [];
    const seqById: number[] = [];
    const seqServerId: number[] = [];
    for (let i = 1; i < creates; i++) {
      const t = performance.now();
      await Promise.race([create(i, i % 2 === 0), interrupted]);
      const ms = performance.now() - t;
      seq.push(ms);
      (i % 2 === 0 ? seqServerId : seqById).push(ms);
      await Promise.race([raw(i), interrupted]);
    }
    log(`creating ${total - creates} more, ${values['bulk-workers']} at a time ...`);
    const tBulk = performance.now();
    const bulk = await Promise.race([pool(total - creates, Number(values['bulk-workers']), (i) => create(i + creates)), interrupted]);
    const bulkSecs = (performance.now() - tBulk) / 1000;
    if (failures.length > 0) throw new Error(`${failures.length} creates failed, e.g. ${failures[0]}`);

    // The list comes from the cache: wait until it holds them all (writes enter it at once).
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await send(api, 'GET', `${base}?pageSize=1`, auth);
      if (r.json.totalSize === total) break;
      if (Date.now() > deadline) throw new Error(`the list shows ${String(r.json.totalSize)} of ${total} deployments after 60 s`);
      await Promise.race([new Promise((r) => setTimeout(r, 200)), interrupted]);
    }

    // 4. List with a filter.
    const filter = `${base}?filter=${encodeURIComponent(`acceleratorType = ${ACCELERATORS[0]}`)}`;
    const probe = await send(api, 'GET', filter, auth);
    const listed = (probe.json.deployments as unknown[] | undefined)?.length ?? 0;
    for (let i = 0; i < 20; i++) await send(api, 'GET', filter, auth);
    const listLat = await Promise.race([pool(Number(values['list-requests']), 1, () => send(api, 'GET', filter, auth)), interrupted]);

    // 1 + 2. Throughput, alternating blocks after a warm-up of each.
    const getPath = `${base}/d-0000`;
    const check = await send(api, 'GET', getPath, auth);
    if (check.status !== 200) throw new Error(`GET ${getPath}: ${check.status} ${JSON.stringify(check.json)}`);
    const getBytes = JSON.stringify(check.json).length;
    await closedLoop(bare, '/', {}, connections, 2);
    await closedLoop(api, getPath, auth, connections, 2);
    const load0 = loadavg();
    const res = { bare: [] as LoadResult[], api: [] as LoadResult[] };
    const cpu = { bare: [0, 0], api: [0, 0], driver: 0 };
    for (let b = 0; b < blocks; b++) {
      for (const which of ['bare', 'api'] as const) {
        const pid = which === 'bare' ? hello.proc.pid : hearth.proc.pid;
        const c0 = cpuSeconds(pid);
        const d0 = process.cpuUsage();
        const r = await Promise.race([which === 'bare' ? closedLoop(bare, '/', {}, connections, seconds / blocks) : closedLoop(api, getPath, auth, connections, seconds / blocks), interrupted]);
        const d = process.cpuUsage(d0);
        const c1 = cpuSeconds(pid);
        cpu[which] = [cpu[which][0]! + c1[0] - c0[0], cpu[which][1]! + c1[1] - c0[1]];
        cpu.driver += (d.user + d.system) / 1e6;
        res[which].push(r);
      }
    }
    const load1 = loadavg();
    const agg = (rs: LoadResult[]) => {
      const ok = rs.reduce((a, r) => a + r.ok, 0);
      const secs = rs.reduce((a, r) => a + r.secs, 0);
      return { ok, errors: rs.reduce((a, r) => a + r.errors, 0), secs, rps: ok / secs, lat: rs.flatMap((r) => r.lat), perBlock: rs.map((r) => fmt(r.ok / r.secs, 0)).join(', ') };
    };
    const B = agg(res.bare);
    const A = agg(res.api);
    const us = (c: number[], n: number) => ({ user: (c[0]! * 1e6) / n, sys: (c[1]! * 1e6) / n });
    const split = { bare: us(cpu.bare, B.ok), api: us(cpu.api, A.ok) };
    const cpuUs = { bare: split.bare.user + split.bare.sys, api: split.api.user + split.api.sys };
    const ratio = A.rps / B.rps;

    console.log(`\n1. bare fastify 5, GET / → {"hello":"world"}: ${fmt(B.rps, 0)} req/s (blocks: ${B.perBlock}); latency ${pcts(B.lat)}; errors ${B.errors}`);
    console.log(`   server CPU ${fmt(cpuUs.bare, 0)} µs per request (user ${fmt(split.bare.user, 0)}, system ${fmt(split.bare.sys, 0)})`);
    console.log(`2. Hearth, authenticated GET ${getPath} (${getBytes} bytes, from the cache; ${total} deployments in it): ${fmt(A.rps, 0)} req/s (blocks: ${A.perBlock}); latency ${pcts(A.lat)}; errors ${A.errors}`);
    console.log(`   server CPU ${fmt(cpuUs.api, 0)} µs per request (user ${fmt(split.api.user, 0)}, system ${fmt(split.api.sys, 0)}; ${fmt(cpuUs.api / cpuUs.bare, 2)}× the bare app's); LOG_LEVEL ${values['log-level']}`);
    console.log(`   ratio (2)/(1) throughput: ${fmt(ratio * 100, 1)}%   CPU-per-request ratio (1)/(2): ${fmt((cpuUs.bare / cpuUs.api) * 100, 1)}%`);
    console.log(`   load generator: undici Pool, ${connections} keep-alive connections, closed loop, ${fmt(seconds, 0)} s per server in ${blocks} alternating blocks after 2 s warm-up each; driver CPU ${fmt((cpu.driver * 1e6) / (A.ok + B.ok), 0)} µs per request`);
    console.log(`   load average (1/5/15 min) ${load0.map((x) => x.toFixed(2)).join(' ')} → ${load1.map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} CPUs (other sessions share them)`);
    console.log(`3. POST deployment (minReplicaCount ${values['min-replicas']}, ${REGION}): one at a time ${pcts(seq)}`);
    console.log(`   of which with deploymentId: ${pcts(seqById)}; id left to the server: ${pcts(seqServerId)}`);
    console.log(`   the same create straight at the API server (interleaved, baseline): ${pcts(rawLat)}; REST/API server p50 ${fmt(percentile(sorted(seq), 50) / percentile(sorted(rawLat), 50), 2)}×, p99 ${fmt(percentile(sorted(seq), 99) / percentile(sorted(rawLat), 99), 2)}×`);
    console.log(`   ${values['bulk-workers']} in flight: ${pcts(bulk)}; ${fmt((total - creates) / bulkSecs, 0)} creates/s`);
    console.log(`4. GET list of ${total} deployments, filter acceleratorType = ${ACCELERATORS[0]} (${String(probe.json.totalSize)} match, ${listed} per page), one at a time: ${pcts(listLat)}`);
    console.log(`GOAL GET ≥ 30% of hello-world throughput: ${fmt(ratio * 100, 1)}% — ${ratio >= 0.3 ? 'PASS' : 'MISS'}`);
    const p99 = percentile(sorted(seq), 99);
    console.log(`GOAL POST deployment p99 < 100 ms: ${fmt(p99, 1)} ms — ${p99 < 100 ? 'PASS' : 'MISS'}`);
  } finally {
    log('cleaning up ...');
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
    await stopChild(hearth);
    await stopChild(hello);
    // Drop any finalizer (a controller may have added one) so the namespaces can go.
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    for (const namespace of [...(nsCreated ? [ns] : []), ...(rawNsCreated ? [rawNs] : [])]) {
      const list = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'deployments' }).catch(() => ({ items: [] }))) as {
        items: { metadata: { name: string; finalizers?: string[] } }[];
      };
      const held = list.items.filter((d) => (d.metadata.finalizers ?? []).length > 0);
      await pool(held.length, 8, (i) =>
        custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'deployments', name: held[i]!.metadata.name, body: { metadata: { finalizers: null } } }, merge).catch(() => undefined),
      );
      await core.deleteNamespace({ name: namespace }).catch((e: unknown) => log(`could not delete namespace ${namespace}: ${String(e)}`));
    }
    if (dbCreated) await admin(adminUrl, `drop database if exists ${dbName} with (force)`).catch((e: unknown) => log(`could not drop ${dbName}: ${String(e)}`));
    kc.destroy();
  }
}

if (values.role === 'hello') await runHello();
else if (values.role === 'hearth') await runHearth(values['database-url']!, values['log-level']);
else
  await driver().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
