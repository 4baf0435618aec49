// Controller failover under load (issue 11 item 6). Not a test: it prints figures and goal lines.
//
//   npm run bench:failover [-- --kills 20 --timings 15s/10s/2s,5s/3s/1s]
//
// For each lease timing (leaseDuration/renewDeadline/retryPeriod; the first is the chart's
// default, the second the documented faster setting), on the cluster in KUBECONFIG or the
// simulated one:
// 1. Two real controller processes (`src/main.ts controller`, as the chart runs them) elect a
//    leader with a Lease, reconciling only this run's Deployments (HEARTH_CONTROLLER_SELECTOR),
//    against a database of their own.
// 2. A steady load: a new hearth.dev Deployment every 0.5 s and a replicaCount change (0 ⇄ 1 ⇄ 2)
//    of an existing one every 0.25 s, recorded (the last value each one was set to).
// 3. `--kills` times: the Lease's holder is killed with SIGKILL (no release, no goodbye); the time
//    from the kill to the other process's first successful reconcile (its own debug log line) is
//    recorded; the killed one is started again as the new standby, and its caches warm up before
//    the next kill.
// 4. Afterwards, once the load stops and the last leader converges: duplicate children (more than
//    one apps/v1 Deployment or Service owned by one hearth.dev Deployment, must be 0) and lost
//    updates (a child whose replicas differ from the last replicaCount set, must be 0).
// Everything it made is removed at the end (also on failure): namespace, nodes, database.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type V1Node } from '@kubernetes/client-node';
import { clusterUp, kubeConfigFrom, ROOT } from '../hack/lib/cluster.js';
import { installCrds } from '../hack/lib/crds.js';
import { fleetNodes, SIMULATED_LABEL } from '../hack/lib/fleet.js';
import { DEFAULT_DATABASE_URL, ensurePostgres } from '../hack/lib/postgres.js';
import { GROUP, VERSION } from '../src/crds/group.js';
import { openDatabase } from '../src/db/client.js';
import { accountsRepo, quotasRepo } from '../src/db/index.js';
import { gpuQuotaName } from '../src/fleet/catalog.js';
import { admin, fmt, percentile, withDatabase } from './lib.js';
import { TEST_SEAL, installTestSeal } from '../test/support/tenancy.js';

const { values: args } = parseArgs({
  options: {
    kills: { type: 'string', default: '20' },
    timings: { type: 'string', default: '15s/10s/2s,5s/3s/1s' },
  },
});
const KILLS = Number(args.kills);
const TIMINGS = args.timings!.split(',').map((t) => {
  const [lease, renew, retry] = t.split('/');
  return { lease: lease!, renew: renew!, retry: retry!, label: t };
});
const GOALS: Record<string, number> = { '15s/10s/2s': 17_000, '5s/3s/1s': 7_000 };

const suffix = randomBytes(3).toString('hex');
const NS = `bench-fo-${suffix}`;
const ACCOUNT = `bench-fo-${suffix}`;
const RUN_LABEL = 'hearth.dev/bench-run';
const REGION = 'US_ARIZONA_1';
const ACCELERATOR = 'NVIDIA_H100_80GB';
const NODES = 4;
const dbName = `hearth_bench_fo_${suffix}`;
const log = (m: string) => process.stderr.write(`[failover] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));



function benchNodes(): V1Node[] {
  const nodes = fleetNodes({
    gpusPerNode: 8,
    acceleratorTypes: { [ACCELERATOR]: { resource: 'nvidia.com/gpu', product: 'NVIDIA-H100-80GB-HBM3', instanceType: 'p5.48xlarge' } },
    pools: [{ region: REGION, acceleratorType: ACCELERATOR, nodes: NODES }],
  });
  return nodes.map((n, i) => {
    const name = `bench-fo-${suffix}-${i}`;
    const labels: Record<string, string> = { ...n.metadata!.labels, 'kubernetes.io/hostname': name, [RUN_LABEL]: suffix };
    delete labels[SIMULATED_LABEL];
    return { ...n, metadata: { ...n.metadata, name, labels } };
  });
}

/** One controller process and what its log says. */
class ControllerProcess {
  readonly child: ChildProcess;
  readonly reconciledAt: number[] = [];
  /** When it first tried to take the Lease: started, its caches filling. */
  competingSince: number | undefined;
  exited = false;

  constructor(
    readonly identity: string,
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), 'controller'], {
      cwd: ROOT,
      env: { ...process.env, ...env, POD_NAME: identity, LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child.once('exit', () => (this.exited = true));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      if (!line.includes('"reconciled"') && !line.includes('acquire the lease')) return;
      try {
        const rec = JSON.parse(line) as { msg?: string; time?: number };
        if (typeof rec.time !== 'number') return;
        if (rec.msg === 'reconciled') this.reconciledAt.push(rec.time);
        else if (rec.msg === 'trying to acquire the lease') this.competingSince ??= rec.time;
      } catch {
        /* not a log line */
      }
    });
  }

  firstReconcileAfter(t: number): number | undefined {
    return this.reconciledAt.find((x) => x > t);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited) this.child.kill(signal);
  }
}

interface PhaseResult {
  timing: string;
  failovers: number[];
  missed: number;
  deployments: number;
  updates: number;
  duplicates: number;
  lost: number;
}

async function main(): Promise<void> {
  await ensurePostgres(undefined, log);
  const cluster = await clusterUp({ log });
  const kc = kubeConfigFrom(cluster.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const leases = kc.makeApiClient(CoordinationV1Api);
  const dbUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const nodes = benchNodes();
  const results: PhaseResult[] = [];
  const procs: ControllerProcess[] = [];
  try {
    await installCrds(kc);
    for (const n of nodes) await core.createNode({ body: n });
    await admin(dbUrl, `create database ${dbName}`);
    const database = await openDatabase({ url: withDatabase(dbUrl, dbName), maxConnections: 2, applicationName: 'bench-failover' });
    await database.migrate();
    // The controllers verify namespaces with the installation's secret: the test seal, as below.
    await installTestSeal(database.db);
    await accountsRepo.createAccount(database.db, { accountId: ACCOUNT, email: `bench@${ACCOUNT}.example` });
    await quotasRepo.ensureDefaultQuotas(database.db, ACCOUNT);
    await quotasRepo.setQuotaLimits(database.db, ACCOUNT, gpuQuotaName(ACCELERATOR, REGION), { maxValue: 10_000, value: 10_000 });
    await database.close();
    const sealed = TEST_SEAL.metadataFor(NS, ACCOUNT);
    await core.createNamespace({ body: { metadata: { name: NS, labels: { ...sealed.labels, [RUN_LABEL]: suffix }, annotations: sealed.annotations } } });

    for (const timing of TIMINGS) {
      const phase = `${suffix}-${results.length}`;
      const env = {
        KUBECONFIG: cluster.kubeconfig,
        DATABASE_URL: withDatabase(dbUrl, dbName),
        HEARTH_CONTROLLER_SELECTOR: `${RUN_LABEL}=${phase}`,
        HEARTH_LEADER_ELECTION_NAMESPACE: NS,
        HEARTH_LEADER_ELECTION_LEASE_NAME: `failover-${phase}`,
        HEARTH_LEADER_ELECTION_LEASE_DURATION: timing.lease,
        HEARTH_LEADER_ELECTION_RENEW_DEADLINE: timing.renew,
        HEARTH_LEADER_ELECTION_RETRY_PERIOD: timing.retry,
      };
      let n = 0;
      const start = (): ControllerProcess => {
        const p = new ControllerProcess(`fo-${phase}-${n++}`, env);
        procs.push(p);
        return p;
      };
      let live = [start(), start()];
      log(`${timing.label}: two controllers started; waiting for a leader`);
      const holder = async (): Promise<string | undefined> =>
        (await leases.readNamespacedLease({ namespace: NS, name: `failover-${phase}` }).catch(() => undefined))?.spec?.holderIdentity ?? undefined;
      for (const until = Date.now() + 120_000; !(await holder()); ) {
        if (Date.now() > until) throw new Error('no leader after 120 s');
        await sleep(250);
      }

      // The load: creates and replica changes, recorded.
      const lastSet = new Map<string, number>();
      let stop = false;
      let updates = 0;
      const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
      const create = async (i: number) => {
        const name = `d-${phase}-${i}`;
        await custom.createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: NS,
          plural: 'deployments',
          body: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: 'Deployment',
            metadata: { name, labels: { [RUN_LABEL]: phase } },
            spec: { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', acceleratorType: ACCELERATOR, acceleratorCount: 1, replicaCount: 1, placement: { region: REGION } },
          },
        });
        lastSet.set(name, 1);
      };
      const update = async () => {
        const names = [...lastSet.keys()];
        const name = names[Math.floor(Math.random() * names.length)];
        if (!name) return;
        const next = ((lastSet.get(name) ?? 0) + 1) % 3;
        await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'deployments', name, body: { spec: { replicaCount: next } } }, merge);
        lastSet.set(name, next);
        updates++;
      };
      const loads = [
        (async () => {
          for (let i = 0; !stop; i++) {
            await create(i).catch((e: unknown) => log(`create failed: ${String(e)}`));
            await sleep(500);
          }
        })(),
        (async () => {
          while (!stop) {
            await update().catch((e: unknown) => log(`update failed: ${String(e)}`));
            await sleep(250);
          }
        })(),
      ];

      const failovers: number[] = [];
      let missed = 0;
      const leaseMs = Number.parseFloat(timing.lease) * 1000;
      await sleep(3000);
      for (let k = 0; k < KILLS; k++) {
        const id = await holder();
        const leader = live.find((p) => p.identity === id);
        if (!leader) throw new Error(`the Lease holder ${id} is none of the live controllers`);
        const standby = live.find((p) => p !== leader)!;
        const killedAt = Date.now();
        leader.kill();
        let took: number | undefined;
        for (const until = killedAt + leaseMs * 3 + 30_000; Date.now() < until; ) {
          const t = standby.firstReconcileAfter(killedAt);
          if (t !== undefined) {
            took = t - killedAt;
            break;
          }
          await sleep(100);
        }
        if (took === undefined) missed++;
        else failovers.push(took);
        log(`${timing.label} kill ${k + 1}/${KILLS}: ${took === undefined ? 'no reconcile by the standby!' : `${fmt(took / 1000, 2)} s`} to the new leader's first reconcile`);
        const fresh = start();
        live = [standby, fresh];
        // The new standby is up and competing, and its caches warm (one LIST per collection), before the next kill.
        for (const until = Date.now() + 120_000; fresh.competingSince === undefined; ) {
          if (Date.now() > until || fresh.exited) throw new Error(`the restarted controller ${fresh.identity} never competed for the Lease`);
          await sleep(200);
        }
        await sleep(Math.max(3000, leaseMs / 2));
      }
      stop = true;
      await Promise.all(loads);

      // Convergence: every child's replicas equal the last replicaCount set.
      const owned = async () => {
        const [ws, ss] = await Promise.all([apps.listNamespacedDeployment({ namespace: NS }), core.listNamespacedService({ namespace: NS })]);
        return { ws: ws.items.filter((w) => w.metadata?.name?.includes(`-${phase}-`)), ss: ss.items.filter((s) => s.metadata?.name?.includes(`-${phase}-`)) };
      };
      let lost = 0;
      let duplicates = 0;
      for (const until = Date.now() + 120_000; ; ) {
        const { ws, ss } = await owned();
        const byOwner = new Map<string, number>();
        for (const o of [...ws.map((w) => `w/${w.metadata?.ownerReferences?.[0]?.name}`), ...ss.map((s) => `s/${s.metadata?.ownerReferences?.[0]?.name}`)]) {
          byOwner.set(o, (byOwner.get(o) ?? 0) + 1);
        }
        duplicates = [...byOwner.values()].filter((c) => c > 1).length;
        lost = [...lastSet].filter(([name, want]) => ws.find((w) => w.metadata?.ownerReferences?.[0]?.name === name)?.spec?.replicas !== want).length;
        if (lost === 0 || Date.now() > until) break;
        await sleep(1000);
      }
      results.push({ timing: timing.label, failovers, missed, deployments: lastSet.size, updates, duplicates, lost });
      for (const p of live) p.kill('SIGTERM');
      await sleep(2000);
    }
  } finally {
    for (const p of procs) p.kill();
    await core.deleteNamespace({ name: NS }).catch(() => undefined);
    for (const n of nodes) await core.deleteNode({ name: n.metadata!.name! }).catch(() => undefined);
    await admin(dbUrl, `drop database if exists ${dbName} with (force)`).catch(() => undefined);
    if (cluster.started) log('the cluster was started by this run and is left running (npm run cluster:down stops it)');
  }

  console.log(`\nFailover: ${KILLS} SIGKILLs of the leader per timing, under create/update load`);
  console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((x) => fmt(x, 2)).join(' ')}`);
  for (const r of results) {
    const s = [...r.failovers].sort((a, b) => a - b);
    const goal = GOALS[r.timing];
    const max = s.at(-1) ?? NaN;
    console.log(`\n${r.timing} (leaseDuration/renewDeadline/retryPeriod)`);
    console.log(`  kill → new leader's first reconcile: ${r.failovers.map((x) => fmt(x / 1000, 2)).join(' ')} s`);
    console.log(`  p50 ${fmt(percentile(s, 50) / 1000, 2)} s, max ${fmt(max / 1000, 2)} s; no takeover seen: ${r.missed}`);
    console.log(`  load: ${r.deployments} deployments created, ${r.updates} replica changes; duplicate children ${r.duplicates}, lost updates ${r.lost}`);
    if (goal !== undefined) console.log(`  GOAL max ≤ ${goal / 1000} s: ${max <= goal && r.missed === 0 ? 'PASS' : 'MISS'}`);
    console.log(`  GOAL duplicate children 0, lost updates 0: ${r.duplicates === 0 && r.lost === 0 ? 'PASS' : 'MISS'}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
