// `helm install` for real (issue 18 items 3 and 6): both charts installed into the cluster run
// Hearth's controller (two replicas), API and gateway as real containers on the real node — the
// image assembled here and imported into the node's containerd, restricted Pod Security enforced
// on the namespace, the chart's probes passing. Then, driven the way a user drives an install:
// health on the pods' IPs (no kube-proxy here: the host reaches pod IPs directly), exactly one
// controller holding the Lease and the other taking over when the leader is killed, a REST create
// through the installed API reconciled by the controller in its pod (onto the KWOK GPU fleet),
// inference over the pod network (a CPU deployment on the chart's modelServerConfig, scaled from
// zero, its replica a real container the gateway pod dials at its pod IP), and `helm uninstall`
// leaving nothing of the release behind — not in the API server, not on the node.
//
// What the test cluster lacks is bridged in hack/lib/helm-real.ts (no registry, no kube-proxy,
// PostgreSQL on loopback), with chart values a cluster without kube-proxy would use; nothing in src/
// knows about it. Skips loudly (never passes) without a Ready real node.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helmInstallReal, LEASE_NAME, realNodeAddress, realNodeCpuRuntime, type HelmRealInstall } from '../../hack/lib/helm-real.js';
import { HEARTH_IMAGE } from '../../hack/lib/hearth-images.js';
import { CGROUP_ROOT, REAL_NODE_NAME } from '../../hack/lib/real-node.js';
import { accountNamespace } from '../../src/api/kube/namespaces.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { GROUP, LABELS, VERSION } from '../../src/crds/group.js';
import { openDatabase } from '../../src/db/client.js';
import { REPO_ROOT } from '../fixtures/corpus.js';
import { kubeconfigPath, testKubeConfig } from '../support/env.js';
import { createEmptyDatabase, dropScratchDatabase, scratchDatabaseUrl } from '../support/database.js';
import { dumpNamespace, waitFor } from '../support/wait.js';

const exec = promisify(execFile);
const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const leases = kc.makeApiClient(CoordinationV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);

const id = randomBytes(3).toString('hex');
const NS = `helm-real-${id}`;
const RELEASE = `hearth-${id}`;
const CRDS_RELEASE = `hearth-crds-${id}`;
const ACCOUNT = `helmreal-${id}`;
const DB_NAME = `hearth_t_helmreal_${id}`;
/** Fast failover for the test (the chart's default is 15s / 10s / 2s). */
const BASE_MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const LEADER_ELECTION = { leaseDuration: '6s', renewDeadline: '4s', retryPeriod: '1s' };

const node = await realNodeAddress(kc);
const available = !('reason' in node);
if ('reason' in node) {
  const line = '!'.repeat(100);
  console.error(
    `\n${line}\n!! SKIPPED: helm install for real on the real node (test/e2e/helm-real.test.ts)\n` +
      `!! ${node.reason}: start it with \`npm run cluster:up\` (as root) or \`tsx hack/real-node.ts up\`\n${line}\n`,
  );
}

let install: HelmRealInstall | undefined;
let uninstalled = false;
let key = '';
const timings: Record<string, number> = {};

const isReady = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

async function rest(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const base = await install!.url('api');
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function holder(): Promise<string | undefined> {
  const l = await leases.readNamespacedLease({ namespace: NS, name: LEASE_NAME }).catch(() => undefined);
  return l?.spec?.holderIdentity || undefined;
}

/** The controller pod whose identity (its pod name) holds the Lease. */
const podOf = (identity: string | undefined, pods: V1Pod[]) => pods.find((p) => identity === p.metadata!.name || identity?.startsWith(`${p.metadata!.name}_`));

const dump = () => dumpNamespace(kc, NS);

/** The node's pod cgroups (kubepods/…/pod<uid>) in every hierarchy: pod UID -> its directories. */
function podCgroups(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const walk = (d: string, depth: number) => {
    if (depth > 4 || !existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const m = /^pod([0-9a-f_-]{36})$/.exec(e.name);
      if (m) {
        const uid = m[1]!.replaceAll('_', '-');
        found.set(uid, [...(found.get(uid) ?? []), join(d, e.name)]);
      } else walk(join(d, e.name), depth + 1);
    }
  };
  for (const h of readdirSync('/sys/fs/cgroup')) walk(join('/sys/fs/cgroup', h, CGROUP_ROOT), 0);
  walk(join('/sys/fs/cgroup', CGROUP_ROOT), 0);
  return found;
}

const podCgroupUids = () => new Set(podCgroups().keys());

/** The host PIDs of a pod's processes (its containers and sandbox), from its cgroups. */
function podPids(uid: string): number[] {
  const pids = new Set<number>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    for (const l of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (l) pids.add(Number(l));
  };
  for (const d of podCgroups().get(uid) ?? []) walk(d);
  return [...pids];
}

describe.runIf(available)('helm install for real: Hearth as real pods on the real node', () => {
  let helmBin = '';

  beforeAll(async () => {
    // The cached control-plane binaries (helm among them); the first cluster:up built them.
    helmBin = join((await exec('bash', [join(REPO_ROOT, 'hack/build-bins.sh')], { maxBuffer: 16 << 20 })).stdout.trim().split('\n').pop() ?? '', 'helm');
    // An empty database: the API pod applies the migrations, as in production.
    await createEmptyDatabase(DB_NAME);
  }, 600_000);

  afterAll(async () => {
    if (install && !uninstalled) await install.uninstall().catch((e: unknown) => console.error(`helm uninstall in cleanup: ${String(e)}`));
    for (const n of [NS, accountNamespace(ACCOUNT)]) await core.deleteNamespace({ name: n }).catch(() => undefined);
    await dropScratchDatabase(DB_NAME).catch(() => undefined);
    console.log(`[helm-real] timings (s): ${JSON.stringify(timings)}`);
  }, 300_000);

  it('installs hearth-crds and hearth: controller ×2, API and gateway Ready as real pods on the real node, under restricted Pod Security', { timeout: 900_000 }, async () => {
    const t0 = Date.now();
    // CPU deployments run on the real node (the chart's modelServerConfig: the model-server fixture's image).
    const modelServerConfig = await realNodeCpuRuntime((m) => console.log(`[helm-real] ${m}`));
    install = await helmInstallReal({
      kc,
      kubeconfig: kubeconfigPath(),
      helm: helmBin,
      namespace: NS,
      release: RELEASE,
      crdsRelease: CRDS_RELEASE,
      databaseUrl: scratchDatabaseUrl(DB_NAME),
      leaderElection: LEADER_ELECTION,
      // The cluster is shared: this install's controllers reconcile only this test's account
      // (the chart's sharding selector; the namespaced controllers watch only its namespace).
      extraValues: { controller: { selector: `${LABELS.account}=${ACCOUNT}` }, modelServerConfig },
      extraEnv: { HEARTH_CONTROLLER_NAMESPACE: accountNamespace(ACCOUNT) },
      timeoutSeconds: 420,
      log: (m) => console.log(`[helm-real] ${m}`),
    });
    timings.image = install.seconds.image;
    timings.install = install.seconds.install;
    timings.installTotal = (Date.now() - t0) / 1000;

    const ns = await core.readNamespace({ name: NS });
    expect(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const counts = { controller: 2, api: 1, gateway: 1 } as const;
    for (const [component, n] of Object.entries(counts) as [keyof typeof counts, number][]) {
      const pods = await install.pods(component);
      expect(pods, component).toHaveLength(n);
      for (const p of pods) {
        const name = p.metadata!.name!;
        expect(p.spec?.nodeName, name).toBe(REAL_NODE_NAME);
        expect(isReady(p), `${name} Ready`).toBe(true);
        expect(p.status?.podIP, name).toMatch(/^10\.244\.0\.\d+$/);
        const c = p.status!.containerStatuses![0]!;
        expect(c.image, name).toBe(HEARTH_IMAGE);
        expect(c.started, name).toBe(true);
        expect(c.restartCount, `${name} restarts (a failing liveness probe restarts it)`).toBe(0);
        expect(p.spec?.securityContext?.runAsNonRoot).toBe(true);
        expect(p.spec?.containers[0]?.imagePullPolicy).toBe('Never');
      }
    }
  });

  it('answers its probes\' endpoints on the pods\' IPs, reached straight from the host', async () => {
    expect(install).toBeDefined();
    const api = await install!.url('api');
    const gw = await install!.url('gateway');
    for (const url of [`${api}/healthz`, `${gw}/healthz`, `${gw}/readyz`]) {
      const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
      expect(r.status, url).toBe(200);
    }
    // Both controller replicas answer their probes (the standby too); exactly one says it leads.
    const leaders: boolean[] = [];
    for (const pod of await install!.pods('controller')) {
      for (const path of ['/healthz', '/readyz']) {
        const r = await fetch(`http://${pod.status!.podIP}:8081${path}`, { signal: AbortSignal.timeout(5000) });
        expect(r.status, `${pod.metadata!.name} ${path}`).toBe(200);
        if (path === '/readyz') leaders.push(((await r.json()) as { leader: boolean }).leader);
      }
      // The kubelet runs the chart's probes on that port: the pod is Ready only through /readyz.
      const probes = pod.spec!.containers[0]!;
      expect(probes.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(probes.livenessProbe?.httpGet?.path).toBe('/healthz');
    }
    expect(leaders.sort()).toEqual([false, true]);
    // The API really talks to PostgreSQL (through the forwarder) and to the API server.
    expect(install!.databaseForward.accepted).toBeGreaterThan(0);
  });

  it('serves a REST create through the installed API; the controller in its pod reconciles it onto the GPU fleet', { timeout: 180_000 }, async () => {
    expect(install).toBeDefined();
    // The API pod has applied the migrations; the first account and its key, as `hearth bootstrap` makes them.
    const database = await openDatabase({ url: scratchDatabaseUrl(DB_NAME) });
    try {
      key = (await bootstrap(database.db, { accountId: ACCOUNT, email: `admin@${ACCOUNT}.example` })).apiKey!.key;
    } finally {
      await database.close();
    }
    const t0 = Date.now();
    const made = await rest('POST', `/v1/accounts/${ACCOUNT}/deployments?deploymentId=first`, {
      displayName: 'created through the installed API',
      baseModel: BASE_MODEL,
      acceleratorType: 'NVIDIA_A100_80GB',
      minReplicaCount: 1,
      maxReplicaCount: 1,
    });
    expect(made.status, JSON.stringify(made.json)).toBe(200);
    const ready = await waitFor(
      'deployment first READY with one replica',
      async () => {
        const r = await rest('GET', `/v1/accounts/${ACCOUNT}/deployments/first`);
        return r.json.state === 'READY' && r.json.replicaCount === 1 ? r.json : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 500, dump: async () => ({ ns: await dump(), acct: await dumpNamespace(kc, accountNamespace(ACCOUNT)) }) },
    );
    timings.restCreateToReady = (Date.now() - t0) / 1000;
    expect(ready.acceleratorType).toBe('NVIDIA_A100_80GB');
    const pods = await core.listNamespacedPod({ namespace: accountNamespace(ACCOUNT), labelSelector: 'hearth.dev/deployment=first' });
    expect(pods.items).toHaveLength(1);
    expect(pods.items[0]!.spec?.nodeName).not.toBe(REAL_NODE_NAME); // a GPU pod, on the simulated fleet
  });

  it('serves inference over the pod network: a CPU deployment scales from zero, and the gateway pod dials its replica\'s pod IP', { timeout: 180_000 }, async () => {
    expect(key).not.toBe('');
    const made = await rest('POST', `/v1/accounts/${ACCOUNT}/deployments?deploymentId=cpu-chat`, { baseModel: BASE_MODEL, acceleratorType: 'CPU', minReplicaCount: 0, maxReplicaCount: 1 });
    expect(made.status, JSON.stringify(made.json)).toBe(200);
    await waitFor('cpu-chat READY at zero replicas', async () => (await rest('GET', `/v1/accounts/${ACCOUNT}/deployments/cpu-chat`)).json.state === 'READY', { timeoutMs: 60_000, intervalMs: 500, dump });
    const t0 = Date.now();
    const res = await fetch(`${await install!.url('gateway')}/inference/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: `${BASE_MODEL}#accounts/${ACCOUNT}/deployments/cpu-chat`, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4 }),
      signal: AbortSignal.timeout(150_000),
    });
    const text = await res.text();
    timings.inferenceFromZero = (Date.now() - t0) / 1000;
    expect(res.status, text).toBe(200);
    const body = JSON.parse(text) as { choices: { message: { content: string } }[]; usage: { completion_tokens: number } };
    expect(body.choices[0]!.message.content.length).toBeGreaterThan(0);
    expect(body.usage.completion_tokens).toBe(4);
    // The replica that answered is a real container on the real node, in the pod network.
    const pods = (await core.listNamespacedPod({ namespace: accountNamespace(ACCOUNT), labelSelector: `${LABELS.deployment}=cpu-chat` })).items;
    expect(pods.map((p) => [p.spec?.nodeName, isReady(p)])).toEqual([[REAL_NODE_NAME, true]]);
    expect(pods[0]!.status?.podIP).toMatch(/^10\.244\.0\.\d+$/);
  });

  it('exactly one controller holds the Lease; killing it (a crash, then a pod deletion) hands over to the other, which then reconciles', { timeout: 300_000 }, async () => {
    expect(install).toBeDefined();
    const leaderAndStandby = async () => {
      const controllers = (await install!.pods('controller')).filter(isReady);
      expect(controllers).toHaveLength(2);
      const leader = podOf(await waitFor('a Lease holder', holder, { timeoutMs: 30_000 }), controllers);
      expect(leader, 'the Lease holder is one of the two controller pods').toBeDefined();
      const standby = controllers.find((p) => p !== leader)!;
      // The standby runs and waits: its log never says it became leader; the leader's does.
      expect(await core.readNamespacedPodLog({ namespace: NS, name: standby.metadata!.name! })).not.toContain('became leader');
      expect(await core.readNamespacedPodLog({ namespace: NS, name: leader!.metadata!.name! })).toContain('became leader');
      return { leader: leader!, standby };
    };
    const takenOverBy = (standby: V1Pod) =>
      waitFor(
        `the standby ${standby.metadata!.name} to hold the Lease`,
        async () => {
          const h = await holder();
          return h && podOf(h, [standby]) ? h : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100, dump },
      );
    const bothReady = () => waitFor('two Ready controller pods again', async () => (await install!.pods('controller')).filter(isReady).length === 2, { timeoutMs: 120_000, dump });

    // 1. A crash: every process of the leader's pod SIGKILLed on the node (it releases nothing),
    //    the pod deleted so the kubelet does not restart it. The standby waits out the Lease.
    let { leader, standby } = await leaderAndStandby();
    const before = await leases.readNamespacedLease({ namespace: NS, name: LEASE_NAME });
    const pids = podPids(leader.metadata!.uid!);
    expect(pids.length, 'the leader pod has processes on the node').toBeGreaterThan(0);
    let t0 = Date.now();
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await core.deleteNamespacedPod({ namespace: NS, name: leader.metadata!.name!, gracePeriodSeconds: 0 });
    await takenOverBy(standby);
    timings.handoverAfterCrash = (Date.now() - t0) / 1000;
    const after = await leases.readNamespacedLease({ namespace: NS, name: LEASE_NAME });
    expect(after.spec?.leaseTransitions).toBe((before.spec?.leaseTransitions ?? 0) + 1);
    // Ready for work: a deployment created now is reconciled by the new leader.
    const made = await rest('POST', `/v1/accounts/${ACCOUNT}/deployments?deploymentId=after-handover`, {
      baseModel: BASE_MODEL,
      acceleratorType: 'NVIDIA_A100_80GB',
      minReplicaCount: 0,
      maxReplicaCount: 1,
    });
    expect(made.status, JSON.stringify(made.json)).toBe(200);
    await waitFor('after-handover READY', async () => (await rest('GET', `/v1/accounts/${ACCOUNT}/deployments/after-handover`)).json.state === 'READY', {
      timeoutMs: 90_000,
      intervalMs: 500,
      dump,
    });

    // 2. A pod deletion (the kubelet sends SIGTERM): the leader releases the Lease as it stops,
    //    and the replacement started after the crash, now the standby, takes it at once.
    await bothReady();
    ({ leader, standby } = await leaderAndStandby());
    t0 = Date.now();
    await core.deleteNamespacedPod({ namespace: NS, name: leader.metadata!.name!, gracePeriodSeconds: 0 });
    await takenOverBy(standby);
    timings.handoverAfterDelete = (Date.now() - t0) / 1000;
    await bothReady();
    expect(podOf(await holder(), [standby])).toBe(standby);
  });

  it('helm uninstall leaves nothing of the release behind: no object, no pod, no container on the node', { timeout: 420_000 }, async () => {
    expect(install).toBeDefined();
    // Hearth's own objects go through Hearth while it runs (the controller removes their finalizers).
    for (const d of ['first', 'after-handover', 'cpu-chat']) {
      const r = await rest('DELETE', `/v1/accounts/${ACCOUNT}/deployments/${d}?hard=true`);
      expect(r.status, JSON.stringify(r.json)).toBe(200);
    }
    let t0 = Date.now();
    await waitFor(
      'the hearth.dev Deployments gone',
      async () => {
        const l = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: accountNamespace(ACCOUNT), plural: 'deployments' })) as { items: unknown[] };
        return l.items.length === 0;
      },
      { timeoutMs: 90_000, dump },
    );
    timings.hardDeleteGone = (Date.now() - t0) / 1000;
    const podUids = [...(await install!.pods('controller')), ...(await install!.pods('api')), ...(await install!.pods('gateway'))].map((p) => p.metadata!.uid!);
    expect(podUids.every((u) => podCgroupUids().has(u)), 'every Hearth pod has its cgroup on the node').toBe(true);

    t0 = Date.now();
    await install!.uninstall();
    uninstalled = true;
    timings.uninstall = (Date.now() - t0) / 1000;

    const sel = `app.kubernetes.io/instance=${RELEASE}`;
    const kinds = 'deploy,rs,pods,svc,sa,cm,secret,role,rolebinding,pdb,networkpolicy,endpointslice';
    const kubectl = async (...args: string[]) =>
      (await exec(join(helmBin, '..', 'kubectl'), args, { env: { ...process.env, KUBECONFIG: kubeconfigPath() }, maxBuffer: 16 << 20 })).stdout.trim();
    await waitFor('no pod of the release left, and no pod cgroup on the node', async () => {
      const pods = (await core.listNamespacedPod({ namespace: NS })).items;
      const cgroups = podCgroupUids();
      return pods.length === 0 && podUids.every((u) => !cgroups.has(u));
    }, { timeoutMs: 60_000, dump });
    timings.podsAndCgroupsGone = (Date.now() - t0) / 1000;
    expect(await kubectl('-n', NS, 'get', kinds, '-l', sel, '-o', 'name')).toBe('');
    expect((await rbac.listClusterRole({ labelSelector: sel })).items.map((o) => o.metadata?.name)).toEqual([]);
    expect((await rbac.listClusterRoleBinding({ labelSelector: sel })).items.map((o) => o.metadata?.name)).toEqual([]);
    expect(await kubectl('get', 'validatingadmissionpolicy,validatingadmissionpolicybinding', '-l', sel, '-o', 'name')).toBe('');
    // What is left in the namespace is not the release's: the Secret this test made, the Lease
    // the controllers made at run time, and the namespace's own ConfigMap and ServiceAccount.
    const left = (await kubectl('-n', NS, 'get', 'all,cm,secret,sa,role,rolebinding,lease,networkpolicy,pdb', '-o', 'name')).split('\n').filter(Boolean).sort();
    expect(left).toEqual(['configmap/kube-root-ca.crt', `lease.coordination.k8s.io/${LEASE_NAME}`, 'secret/hearth-database', 'serviceaccount/default']);
    expect(await install!.helm('list', '-n', NS, '-q')).toBe('');
  });
});
