// Controller failover under load (issue 11 item 6). Not a test: it prints figures and goal lines.
//
//   npm run bench:failover [-- --kills 20 --timings 15s/10s/2s,5s/3s/1s --fleet 200]
//
// For each lease timing (leaseDuration/renewDeadline/retryPeriod; the first is the chart's
// default, the second the documented faster setting), on the cluster in KUBECONFIG or the
// simulated one:
// 1. Two real controller processes (`src/main.ts controller`, as the chart runs them) elect a
//    leader with a Lease, reconciling only this run's Deployments (HEARTH_CONTROLLER_SELECTOR) and
//    only this run's namespace for the namespaced controllers (HEARTH_CONTROLLER_NAMESPACE: on a
//    shared cluster they must not reconcile anyone else's BatchJobs or Environments), against a
//    database of their own.
// 2. A steady load: a new hearth.dev Deployment every 0.5 s (once `--fleet` exist, the oldest is
//    deleted first, so the fleet stays that size) and a replicaCount change (0 → 1 → 2 → 0) of
//    an existing one every 0.25 s, recorded (the last value each one was set to).
// 3. `--kills` times: the Lease's holder is killed with SIGKILL (no release, no goodbye). The
//    clock starts just before the kill and stops at the other process's first successful
//    reconcile of a Deployment (the `reconciled` debug line of its deployment controller, the
//    log's own timestamp), split at its `became leader` line into lease wait and start-up. The
//    killed one is started again as the new standby, and the next kill waits until its caches
//    have synced (its /readyz answers 200) and it has seen the Lease renewed since.
// 4. Afterwards, once the load stops and the last leader converges: duplicate children (more than
//    one apps/v1 Deployment or Service controlled by one hearth.dev Deployment, counted by owner
//    uid over every child in the namespace whatever its name; must be 0), lost updates (a live
//    Deployment whose child's replicas differ from the last replicaCount set; must be 0), and
//    reconciles by a process that was not leader (a standby's `reconciled` line before its
//    `became leader`; must be 0).
// Everything it made is removed at the end (also on failure): namespace, nodes, database.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type V1Node } from '@kubernetes/client-node';
import { clusterUp, kubeConfigFrom, ROOT } from '../hack/lib/cluster.js';
import { freePort } from '../hack/lib/free-port.js';
import { installCrds } from '../hack/lib/crds.js';
import { fleetNodes, SIMULATED_LABEL } from '../hack/lib/fleet.js';
import { DEFAULT_DATABASE_URL, ensurePostgres } from '../hack/lib/postgres.js';
import { CONTROLLER_NAME } from '../src/controllers/deployment/controller.js';
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
    fleet: { type: 'string', default: '200' },
  },
});
const KILLS = Number(args.kills);
const FLEET = Number(args.fleet);
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
  /** Its deployment controller's successful reconciles (log timestamps). */
  readonly reconciledAt: number[] = [];
  /** When it became leader (log timestamp), if it did. */
  leaderAt: number | undefined;
  exited = false;

  constructor(
    readonly identity: string,
    readonly healthPort: number,
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), 'controller'], {
      cwd: ROOT,
      env: { ...process.env, ...env, POD_NAME: identity, LOG_LEVEL: 'debug', HEARTH_CONTROLLER_HEALTH_PORT: String(healthPort) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child.once('exit', () => (this.exited = true));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      if (!line.includes('"reconciled"') && !line.includes('"became leader"')) return;
      try {
        const rec = JSON.parse(line) as { msg?: string; time?: number; controller?: string };
        if (typeof rec.time !== 'number') return;
        if (rec.msg === 'reconciled' && rec.controller === CONTROLLER_NAME) this.reconciledAt.push(rec.time);
        else if (rec.msg === 'became leader') this.leaderAt ??= rec.time;
      } catch {
        /* not a log line */
      }
    });
  }

  firstReconcileAfter(t: number): number | undefined {
    return this.reconciledAt.find((x) => x > t);
  }

  /** Reconciles logged before it became leader (or at all, if it never did): a standby must make none. */
  reconcilesAsStandby(): number {
    return this.reconciledAt.filter((t) => this.leaderAt === undefined || t < this.leaderAt).length;
  }

  /** Its caches have synced (GET /readyz answers 200). */
  async ready(): Promise<boolean> {
    try {
      return (await fetch(`http://127.0.0.1:${this.healthPort}/readyz`, { signal: AbortSignal.timeout(2000) })).status === 200;
    } catch {
      return false;
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited) this.child.kill(signal);
  }
}

interface PhaseResult {
  timing: string;
  failovers: number[];
  /** Per kill: kill → became leader (the lease wait), and became leader → first reconcile. */
  leaseWaits: number[];
  startups: number[];
  missed: number;
  standbyReconciles: number;
  deleted: number;
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
        HEARTH_CONTROLLER_NAMESPACE: NS,
        HEARTH_LEADER_ELECTION_NAMESPACE: NS,
        HEARTH_LEADER_ELECTION_LEASE_NAME: `failover-${phase}`,
        HEARTH_LEADER_ELECTION_LEASE_DURATION: timing.lease,
        HEARTH_LEADER_ELECTION_RENEW_DEADLINE: timing.renew,
        HEARTH_LEADER_ELECTION_RETRY_PERIOD: timing.retry,
      };
      let n = 0;
      const start = async (): Promise<ControllerProcess> => {
        const p = new ControllerProcess(`fo-${phase}-${n++}`, await freePort(), env);
        procs.push(p);
        return p;
      };
      let live = [await start(), await start()];
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
      let deleted = 0;
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
        if (lastSet.has(name)) lastSet.set(name, next); // unless deleted meanwhile
        updates++;
      };
      // Once the fleet is full, the oldest goes first (forgotten before its delete, so it is no
      // longer picked for an update nor checked for a lost one).
      const removeOldest = async () => {
        const oldest = lastSet.keys().next().value;
        if (oldest === undefined) return;
        lastSet.delete(oldest);
        await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'deployments', name: oldest });
        deleted++;
      };
      const loads = [
        (async () => {
          for (let i = 0; !stop; i++) {
            if (lastSet.size >= FLEET) await removeOldest().catch((e: unknown) => log(`delete failed: ${String(e)}`));
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
      const leaseWaits: number[] = [];
      const startups: number[] = [];
      let missed = 0;
      const leaseMs = Number.parseFloat(timing.lease) * 1000;
      const retryMs = Number.parseFloat(timing.retry) * 1000;
      const lease = async () => (await leases.readNamespacedLease({ namespace: NS, name: `failover-${phase}` }).catch(() => undefined))?.spec;
      /** Both processes' caches synced, and the Lease renewed since (so the standby has seen a fresh renewal, as it would in steady state). */
      const settled = async (procsNow: ControllerProcess[]) => {
        for (const until = Date.now() + 180_000; !(await Promise.all(procsNow.map((p) => p.ready()))).every(Boolean); ) {
          if (Date.now() > until || procsNow.some((p) => p.exited)) throw new Error(`a controller (${procsNow.map((p) => p.identity).join(', ')}) never became ready`);
          await sleep(250);
        }
        const renewedBefore = String((await lease())?.renewTime);
        for (const until = Date.now() + 3 * leaseMs; String((await lease())?.renewTime) === renewedBefore && Date.now() < until; ) await sleep(100);
        // Somewhere inside a renewal period, not always right after a renewal.
        await sleep(Math.random() * retryMs);
      };
      await settled(live);
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
        const became = standby.leaderAt;
        if (took === undefined) missed++;
        else {
          failovers.push(took);
          if (became !== undefined) {
            leaseWaits.push(became - killedAt);
            startups.push(killedAt + took - became);
          }
        }
        const split = took !== undefined && became !== undefined ? ` (lease ${fmt((became - killedAt) / 1000, 2)} s + start ${fmt((killedAt + took - became) / 1000, 2)} s)` : '';
        log(`${timing.label} kill ${k + 1}/${KILLS}: ${took === undefined ? 'no reconcile by the standby!' : `${fmt(took / 1000, 2)} s`} to the new leader's first reconcile${split}`);
        const fresh = await start();
        live = [standby, fresh];
        await settled(live);
      }
      stop = true;
      await Promise.all(loads);

      // Convergence: every live Deployment's child has the replicas last set. Children are
      // counted by their controller's uid, whatever their name.
      const uids = new Map<string, string>(); // hearth.dev Deployment uid → name, this phase's live ones
      const owned = async () => {
        const [ds, ws, ss] = await Promise.all([
          custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'deployments', labelSelector: `${RUN_LABEL}=${phase}` }) as Promise<{ items: Array<{ metadata: { name: string; uid: string } }> }>,
          apps.listNamespacedDeployment({ namespace: NS }),
          core.listNamespacedService({ namespace: NS }),
        ]);
        uids.clear();
        for (const d of ds.items) uids.set(d.metadata.uid, d.metadata.name);
        const ctl = (o: { metadata?: { ownerReferences?: Array<{ controller?: boolean; kind: string; uid: string }> } }) =>
          o.metadata?.ownerReferences?.find((r) => r.controller && r.kind === 'Deployment' && uids.has(r.uid))?.uid;
        return { ws: ws.items.filter((w) => ctl(w)), ss: ss.items.filter((s) => ctl(s)), ctl };
      };
      let lost = 0;
      let duplicates = 0;
      for (const until = Date.now() + 120_000; ; ) {
        const { ws, ss, ctl } = await owned();
        const byOwner = new Map<string, number>();
        for (const o of [...ws.map((w) => `w/${ctl(w)}`), ...ss.map((s) => `s/${ctl(s)}`)]) byOwner.set(o, (byOwner.get(o) ?? 0) + 1);
        duplicates = [...byOwner.values()].filter((c) => c > 1).length;
        const replicasOf = new Map(ws.map((w) => [uids.get(ctl(w)!)!, w.spec?.replicas]));
        lost = [...lastSet].filter(([name, want]) => replicasOf.get(name) !== want).length;
        if (lost === 0 || Date.now() > until) break;
        await sleep(1000);
      }
      const standbyReconciles = procs.filter((p) => p.identity.startsWith(`fo-${phase}-`)).reduce((a, p) => a + p.reconcilesAsStandby(), 0);
      results.push({ timing: timing.label, failovers, leaseWaits, startups, missed, standbyReconciles, deleted, deployments: lastSet.size + deleted, updates, duplicates, lost });
      for (const p of live) p.kill('SIGTERM');
      // The next phase's controllers do not reconcile these; the garbage collector removes their children.
      await custom
        .deleteCollectionNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'deployments', labelSelector: `${RUN_LABEL}=${phase}` })
        .catch((e: unknown) => log(`deleting the phase's deployments failed: ${String(e)}`));
      await sleep(2000);
    }
  } finally {
    for (const p of procs) p.kill();
    await core.deleteNamespace({ name: NS }).catch(() => undefined);
    for (const n of nodes) await core.deleteNode({ name: n.metadata!.name! }).catch(() => undefined);
    await admin(dbUrl, `drop database if exists ${dbName} with (force)`).catch(() => undefined);
    if (cluster.started) log('the cluster was started by this run and is left running (npm run cluster:down stops it)');
  }

  console.log(`\nFailover: ${KILLS} SIGKILLs of the leader per timing, under create/update load (fleet ${FLEET})`);
  console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((x) => fmt(x, 2)).join(' ')}`);
  const p50max = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return `p50 ${fmt(percentile(s, 50) / 1000, 2)} s, max ${fmt((s.at(-1) ?? NaN) / 1000, 2)} s`;
  };
  for (const r of results) {
    const goal = GOALS[r.timing];
    const max = Math.max(...r.failovers);
    console.log(`\n${r.timing} (leaseDuration/renewDeadline/retryPeriod)`);
    console.log(`  kill → new leader's first reconcile: ${r.failovers.map((x) => fmt(x / 1000, 2)).join(' ')} s`);
    console.log(`  ${p50max(r.failovers)}; no takeover seen: ${r.missed}`);
    console.log(`  of which kill → became leader ${p50max(r.leaseWaits)}; became leader → first reconcile ${p50max(r.startups)}`);
    console.log(`  load: ${r.deployments} deployments created (${r.deleted} deleted again), ${r.updates} replica changes`);
    console.log(`  duplicate children ${r.duplicates}, lost updates ${r.lost}, reconciles by a standby ${r.standbyReconciles}`);
    if (goal !== undefined) console.log(`  GOAL max ≤ ${goal / 1000} s: ${max <= goal && r.missed === 0 ? 'PASS' : 'MISS'}`);
    console.log(`  GOAL duplicate children 0, lost updates 0, standby reconciles 0: ${r.duplicates === 0 && r.lost === 0 && r.standbyReconciles === 0 ? 'PASS' : 'MISS'}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
