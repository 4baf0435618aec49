// The controller runtime against a real API server: informers on core and custom resources,
// a controller routing child events to owners, and leader election on a real Lease.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ApiextensionsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubernetesObject,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Controller,
  DeletedFinalStateUnknown,
  Informer,
  KubeClients,
  KubeLeaseClient,
  KubeListWatch,
  Manager,
  isNotFound,
  splitKey,
  type LeaseClient,
  type Reconciler,
  type ResourceRef,
  type Runnable,
} from '../../src/controllers/runtime/index.js';
import { realClock } from '../../src/util/clock.js';
import { kubeconfigPath, testKubeConfig } from '../support/env.js';
import { createTestNamespace } from '../support/namespace.js';
import { waitFor } from '../support/wait.js';

const kc = testKubeConfig();
const clients = new KubeClients(kc, { qps: 50, burst: 100 });
const core = clients.api(CoreV1Api);
const coordination = clients.api(CoordinationV1Api);
const suffix = randomBytes(3).toString('hex');
const ns = `runtime-${suffix}`;
const TEST_LABEL = 'hearth.dev/runtime-test';
const log = pino({ level: process.env.HEARTH_TEST_LOG ?? 'warn' });
const clock = realClock;

const informers: Array<Informer<KubernetesObject>> = [];
const managers: Manager[] = [];

function informerFor<T extends KubernetesObject>(ref: ResourceRef): Informer<T> {
  const i = new Informer<T>(new KubeListWatch<T>(clients, ref), { clock, log, backoff: { initialMs: 200, maxMs: 2000 } });
  informers.push(i as unknown as Informer<KubernetesObject>);
  return i;
}

async function leaseDump(name: string): Promise<unknown> {
  try {
    const l = await coordination.readNamespacedLease({ name, namespace: ns });
    return { lease: { rv: l.metadata?.resourceVersion, spec: l.spec }, managers: managers.map((m) => ({ id: m.elector?.identity, leader: m.isLeader(), active: m.active() })) };
  } catch (e) {
    return { lease: String(e) };
  }
}

beforeAll(async () => {
  await createTestNamespace(kc, ns);
});

/** Creates a namespaced CRD `<plural>.<unique group>`, waits until it is served, runs fn, deletes it. */
async function withFreshCrd(plural: string, fn: (group: string) => Promise<void>): Promise<void> {
  const group = `${plural}${suffix}.hearth.dev`;
  const kind = plural[0]!.toUpperCase() + plural.slice(1, -1);
  const ext = clients.api(ApiextensionsV1Api);
  await ext.createCustomResourceDefinition({
    body: {
      metadata: { name: `${plural}.${group}` },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural, singular: plural.slice(0, -1), kind, listKind: `${kind}List` },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } } }],
      },
    },
  });
  try {
    await waitFor(`CRD ${plural}.${group} to be served`, async () => {
      await clients.api(CustomObjectsApi).listNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural });
      return true;
    });
    await fn(group);
  } finally {
    await ext.deleteCustomResourceDefinition({ name: `${plural}.${group}` }).catch(() => undefined);
  }
}

afterAll(async () => {
  await Promise.all(managers.map((m) => m.stop()));
  while (informers.some((i) => i.running)) await Promise.all(informers.filter((i) => i.running).map((i) => i.stop()));
  await core.deleteNamespace({ name: ns }).catch(() => undefined);
});

describe('informer', () => {
  it('sees creates, updates and deletes of labelled ConfigMaps across all namespaces', async () => {
    const sel = `${TEST_LABEL}=${suffix}`;
    const labels = { [TEST_LABEL]: suffix };
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'before', labels }, data: { v: '0' } } });

    const informer = informerFor<V1ConfigMap>({ group: '', version: 'v1', plural: 'configmaps', labelSelector: sel });
    const events: string[] = [];
    informer.addEventHandler({
      add: (o) => events.push(`add ${o.metadata?.name} v=${o.data?.v}`),
      update: (a, b) => events.push(`update ${b.metadata?.name} v=${a.data?.v}->${b.data?.v}`),
      delete: (o) => events.push(o instanceof DeletedFinalStateUnknown ? `tombstone ${o.key}` : `delete ${o.metadata?.name}`),
    });
    informer.start();
    await waitFor('the ConfigMap informer to sync', async () => informer.hasSynced(), { timeoutMs: 30_000 });
    expect(informer.get(`${ns}/before`)?.data).toEqual({ v: '0' });
    expect(events).toEqual(['add before v=0']);

    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'a', labels }, data: { v: '1' } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'unlabelled' }, data: { v: '1' } } });
    await waitFor('the add of a', async () => informer.get(`${ns}/a`), { timeoutMs: 15_000, dump: async () => events });

    await core.patchNamespacedConfigMap({ namespace: ns, name: 'a', body: { data: { v: '2' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await waitFor('the update of a', async () => informer.get(`${ns}/a`)?.data?.v === '2', { timeoutMs: 15_000, dump: async () => events });

    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'a' });
    await waitFor('the delete of a', async () => events.includes('delete a'), { timeoutMs: 15_000, dump: async () => events });

    expect(events).toEqual(['add before v=0', 'add a v=1', 'update a v=1->2', 'delete a']);
    expect(informer.get(`${ns}/unlabelled`)).toBeUndefined();
    expect(informer.keys()).toEqual([`${ns}/before`]);
    // Timestamps are kept as the server sent them, on list and watch alike.
    expect(typeof informer.get(`${ns}/before`)?.metadata?.creationTimestamp).toBe('string');
    await informer.stop();
  });

  it('relists when the server answers a watch with 410 Gone, and carries on', async () => {
    // A new CRD's watch cache starts at the current resourceVersion, so a watch from "1" is
    // answered 410 Gone at once, however young the cluster. (Watching an old built-in kind from
    // "1" gives 410 only once the cluster is older than the watch cache's window.)
    await withFreshCrd('gones', async (group) => {
      const inner = new KubeListWatch<KubernetesObject>(clients, { group, version: 'v1', plural: 'gones', namespace: ns });
      let lists = 0;
      let stale = true;
      const watchedFrom: string[] = [];
      const source = {
        description: inner.description,
        list: (project: (raw: KubernetesObject) => KubernetesObject) => {
          lists++;
          return inner.list(project);
        },
        watch: (rv: string, onEvent: (t: string, o: unknown) => void, onDone: (e: unknown) => void) => {
          const from = stale ? '1' : rv;
          stale = false;
          watchedFrom.push(from);
          return inner.watch(from, onEvent, onDone);
        },
      };
      const informer = new Informer<KubernetesObject>(source, { clock, log, backoff: { initialMs: 200, maxMs: 2000 } });
      informers.push(informer);
      informer.start();
      const dump = async (): Promise<unknown> => ({ lists, watchedFrom, keys: informer.keys() });
      await waitFor('a relist after 410', async () => lists >= 2, { timeoutMs: 15_000, dump });
      await clients.api(CustomObjectsApi).createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace: ns,
        plural: 'gones',
        body: { apiVersion: `${group}/v1`, kind: 'Gone', metadata: { name: 'after-gone' } },
      });
      await waitFor('the watch after the relist to deliver', async () => informer.get(`${ns}/after-gone`), { timeoutMs: 15_000, dump });
      expect(watchedFrom[0]).toBe('1');
      expect(watchedFrom[1]).not.toBe('1');
      await informer.stop();
    });
  });

  it('works for a custom resource by group/version/plural', async () => {
    const group = `rt${suffix}.hearth.dev`;
    const crdName = `widgets.${group}`;
    const ext = clients.api(ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: crdName },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', x_kubernetes_preserve_unknown_fields: true } } } },
            },
          ],
        },
      },
    });
    try {
      await waitFor(`CRD ${crdName} to be established`, async () => {
        const crd = await ext.readCustomResourceDefinition({ name: crdName });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      });
      const informer = informerFor({ group, version: 'v1', plural: 'widgets' });
      informer.start();
      await waitFor('the Widget informer to sync', async () => informer.hasSynced(), { timeoutMs: 30_000 });
      const custom = clients.api(CustomObjectsApi);
      await custom.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace: ns,
        plural: 'widgets',
        body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } },
      });
      const w = await waitFor('the Widget in the cache', async () => informer.get(`${ns}/w1`), { timeoutMs: 15_000 });
      expect((w as { spec?: unknown }).spec).toEqual({ size: 3 });
      await informer.stop();
    } finally {
      await ext.deleteCustomResourceDefinition({ name: crdName }).catch(() => undefined);
    }
  });
});

describe('client settings', () => {
  it('holds every client made from KubeClients to its qps/burst against the real API server', async () => {
    const limited = new KubeClients(testKubeConfig(), { qps: 20, burst: 5 });
    const api = limited.api(CoreV1Api);
    const objects = limited.objects();
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        i % 2 ? api.readNamespace({ name: ns }) : objects.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }),
      ),
    );
    const elapsed = Date.now() - t0;
    // 5 at once, then 20 more at 20/s (plus one discovery request by the object client): ≥ ~1 s.
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(15_000);
  });
});

describe('controller', () => {
  it('keeps an owned child in place: child events reach the owner through its controller ownerReference', async () => {
    const parents = informerFor<V1ConfigMap>({ group: '', version: 'v1', plural: 'configmaps', namespace: ns, labelSelector: `${TEST_LABEL}-role=parent` });
    const children = informerFor<V1ConfigMap>({ group: '', version: 'v1', plural: 'configmaps', namespace: ns, labelSelector: `${TEST_LABEL}-role=child` });
    const reconciled: string[] = [];
    // Desired state: for each parent P, a child P-child with P's data, controlled by P.
    const reconciler: Reconciler = {
      async reconcile(key) {
        reconciled.push(key);
        const parent = parents.get(key);
        if (!parent) return {};
        const { namespace, name } = splitKey(key);
        const childName = `${name}-child`;
        const body: V1ConfigMap = {
          metadata: {
            name: childName,
            labels: { [`${TEST_LABEL}-role`]: 'child' },
            ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name, uid: parent.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
          },
          data: parent.data,
        };
        const existing = children.get(`${namespace}/${childName}`);
        if (!existing) {
          await core.createNamespacedConfigMap({ namespace: namespace!, body });
        } else if (JSON.stringify(existing.data) !== JSON.stringify(parent.data)) {
          await core.replaceNamespacedConfigMap({ namespace: namespace!, name: childName, body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } } });
        }
        return {};
      },
    };
    const controller = new Controller({
      name: 'configmap-mirror',
      for: { informer: parents, type: { apiVersion: 'v1', kind: 'ConfigMap' } },
      owns: [children as unknown as Informer<KubernetesObject>],
      reconciler,
      workers: 2,
      clock,
      log,
    });
    await controller.start();
    try {
      const child = async (): Promise<V1ConfigMap | undefined> => {
        try {
          return await core.readNamespacedConfigMap({ namespace: ns, name: 'p-child' });
        } catch (e) {
          if (isNotFound(e)) return undefined;
          throw e;
        }
      };
      const dump = async (): Promise<unknown> => ({ reconciled, stats: controller.stats, child: await child() });
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'p', labels: { [`${TEST_LABEL}-role`]: 'parent' } }, data: { v: '1' } } });
      await waitFor('the child to be created', async () => (await child())?.data?.v === '1', { timeoutMs: 15_000, dump });

      // Deleting the child is an event on the child informer only: it must reach the parent's key.
      const before = reconciled.length;
      await core.deleteNamespacedConfigMap({ namespace: ns, name: 'p-child' });
      await waitFor('the child to be re-created', async () => reconciled.length > before && (await child())?.data?.v === '1', { timeoutMs: 15_000, dump });

      await core.replaceNamespacedConfigMap({
        namespace: ns,
        name: 'p',
        body: { ...(await core.readNamespacedConfigMap({ namespace: ns, name: 'p' })), data: { v: '2' } },
      });
      await waitFor('the child to follow the parent', async () => (await child())?.data?.v === '2', { timeoutMs: 15_000, dump });
      expect(reconciled.every((k) => k === `${ns}/p`)).toBe(true);
      expect(controller.stats.terminalErrors).toBe(0);
    } finally {
      expect(await controller.stop(10_000)).toBe(true);
    }
  });
});

/** A runnable that only records whether it runs. */
class Probe implements Runnable {
  running = false;
  constructor(readonly name: string) {}
  async start(): Promise<void> {
    this.running = true;
  }
  async stop(): Promise<boolean> {
    this.running = false;
    return true;
  }
}

/** A LeaseClient that can be cut off, like a replica that froze or lost the network. */
class Severable implements LeaseClient {
  severed = false;
  constructor(private readonly inner: LeaseClient) {}
  get description(): string {
    return this.inner.description;
  }
  get: LeaseClient['get'] = () => this.#gate(() => this.inner.get());
  create: LeaseClient['create'] = (r) => this.#gate(() => this.inner.create(r));
  update: LeaseClient['update'] = (r, rv) => this.#gate(() => this.inner.update(r, rv));
  get watch(): LeaseClient['watch'] {
    const w = this.inner.watch;
    return w && ((onChange) => w((l) => void (this.severed || onChange(l))));
  }
  async #gate<R>(fn: () => Promise<R>): Promise<R> {
    if (this.severed) return new Promise<R>(() => {});
    return fn();
  }
}

const TIMINGS = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };

function replica(lease: string, identity: string, o: { watch?: boolean } = {}): { manager: Manager; probe: Probe; client: Severable } {
  const probe = new Probe(`${identity}-work`);
  const client = new Severable(new KubeLeaseClient(coordination, ns, lease, o.watch ? { clients, clock, log } : undefined));
  const manager = new Manager({ clock, log, leaderElection: { client, identity, ...TIMINGS }, shutdownTimeoutMs: 5000 });
  manager.add(() => probe);
  managers.push(manager);
  return { manager, probe, client };
}

/** Samples `fn` every 25 ms while `ms` pass. */
async function during(ms: number, fn: () => void): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    fn();
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('leader election', () => {
  it('two managers on one Lease: exactly one leads; stopping it hands over at once', async () => {
    const lease = `runtime-le-${suffix}`;
    const a = replica(lease, 'replica-a');
    const b = replica(lease, 'replica-b');
    a.manager.start();
    b.manager.start();
    const dump = () => leaseDump(lease);
    const leader = await waitFor('a leader', async () => (a.manager.isLeader() ? a : b.manager.isLeader() ? b : undefined), { timeoutMs: 10_000, dump });
    const follower = leader === a ? b : a;

    await during(4000, () => {
      // Longer than the lease duration: renewals keep it, the follower never leads.
      expect([a.manager.isLeader(), b.manager.isLeader()].filter(Boolean)).toHaveLength(1);
      expect(leader.probe.running).toBe(true);
      expect(follower.probe.running).toBe(false);
    });
    const held = await coordination.readNamespacedLease({ name: lease, namespace: ns });
    expect(held.spec?.holderIdentity).toBe(leader.manager.elector?.identity);
    expect(held.spec?.leaseDurationSeconds).toBe(3);

    const t0 = Date.now();
    await leader.manager.stop();
    expect(leader.probe.running).toBe(false);
    await waitFor('the follower to take over', async () => follower.manager.isLeader(), { timeoutMs: TIMINGS.leaseDurationMs, dump });
    // Released, so the follower did not wait out the lease: at most ~one jittered retry period.
    expect(Date.now() - t0).toBeLessThan(TIMINGS.leaseDurationMs);
    expect(follower.probe.running).toBe(true);
    const now = await coordination.readNamespacedLease({ name: lease, namespace: ns });
    expect(now.spec?.holderIdentity).toBe(follower.manager.elector?.identity);
    expect(now.spec?.leaseTransitions).toBeGreaterThanOrEqual(1);
    await follower.manager.stop();
  });

  it('a leader cut off from the API server steps down before the other takes over, within the lease duration', async () => {
    const lease = `runtime-le2-${suffix}`;
    const a = replica(lease, 'replica-a');
    a.manager.start();
    const dump = () => leaseDump(lease);
    await waitFor('replica-a to lead', async () => a.manager.isLeader(), { timeoutMs: 10_000, dump });
    const b = replica(lease, 'replica-b');
    b.manager.start();
    await during(1500, () => expect(b.manager.isLeader()).toBe(false));

    const t0 = Date.now();
    a.client.severed = true; // no renewals, and no release: b must wait for expiry
    let aSteppedDownAt = 0;
    let bLeadAt = 0;
    await during(TIMINGS.leaseDurationMs + 2 * TIMINGS.retryPeriodMs * 2.2 + 1000, () => {
      if (!a.manager.isLeader() && !aSteppedDownAt) aSteppedDownAt = Date.now() - t0;
      if (b.manager.isLeader() && !bLeadAt) bLeadAt = Date.now() - t0;
      expect(a.manager.isLeader() && b.manager.isLeader()).toBe(false);
    });
    expect(aSteppedDownAt, JSON.stringify(await dump())).toBeGreaterThan(0);
    expect(bLeadAt, JSON.stringify(await dump())).toBeGreaterThan(0);
    expect(aSteppedDownAt).toBeLessThanOrEqual(TIMINGS.renewDeadlineMs + TIMINGS.retryPeriodMs + 500);
    expect(bLeadAt).toBeGreaterThan(aSteppedDownAt);
    // Expiry is counted from b's last observation of a renewal (≤ one retry period before the cut),
    // plus at most one jittered retry period before b tries again.
    expect(bLeadAt).toBeLessThanOrEqual(TIMINGS.leaseDurationMs + (1 + 2.2) * TIMINGS.retryPeriodMs + 500);
    expect(a.probe.running).toBe(false);
    expect(b.probe.running).toBe(true);
    a.client.severed = false;
  });
});

describe('leader election with a watch on the Lease', () => {
  it('a watching standby takes over about leaseDuration after the last renewal of a leader that went silent, never beside it', async () => {
    const lease = `runtime-le3-${suffix}`;
    const a = replica(lease, 'replica-a');
    a.manager.start();
    const dump = () => leaseDump(lease);
    await waitFor('replica-a to lead', async () => a.manager.isLeader(), { timeoutMs: 10_000, dump });
    const b = replica(lease, 'replica-b', { watch: true });
    b.manager.start();
    await during(2000, () => expect(b.manager.isLeader()).toBe(false));

    a.client.severed = true; // like SIGKILL: no renewals, no release
    await new Promise((r) => setTimeout(r, 300)); // a renewal already sent lands meanwhile
    // a's last renewal as the server has it (a's clock and ours are the machine's).
    const last = await coordination.readNamespacedLease({ name: lease, namespace: ns });
    const lastRenew = new Date(String(last.spec?.renewTime)).getTime();
    let bLeadAt = 0;
    await during(TIMINGS.leaseDurationMs + 2 * TIMINGS.retryPeriodMs * 2.2 + 1000, () => {
      if (b.manager.isLeader() && !bLeadAt) bLeadAt = Date.now();
      expect(a.manager.isLeader() && b.manager.isLeader()).toBe(false);
    });
    expect(bLeadAt, JSON.stringify(await dump())).toBeGreaterThan(0);
    // Polling alone: up to leaseDuration + 2 × 2.2 retry periods (5.2 s) after the last renewal.
    // Watching, and trying again at the expiry: leaseDuration plus the watch's and the takeover
    // write's latency (generous on a loaded machine).
    expect(bLeadAt - lastRenew).toBeGreaterThanOrEqual(TIMINGS.leaseDurationMs);
    expect(bLeadAt - lastRenew).toBeLessThanOrEqual(TIMINGS.leaseDurationMs + 1000);
    expect(b.probe.running).toBe(true);
    a.client.severed = false;
  });
});

// A controller process of its own, run by tsx: leads, then gets SIGTERM while its work takes 4 s
// to drain — longer than the 3 s lease, so it must keep renewing while it drains.
const CHILD = `
const { CoordinationV1Api, KubeConfig } = await import('@kubernetes/client-node');
const { pino } = await import('pino');
const rt = await import(process.env.RUNTIME_URL);
const { realClock } = await import(process.env.CLOCK_URL);
const kc = new KubeConfig();
kc.loadFromFile(process.env.KC);
const clients = new rt.KubeClients(kc);
const log = pino({ level: 'warn' }, pino.destination(2));
const client = new rt.KubeLeaseClient(clients.api(CoordinationV1Api), process.env.NS, process.env.LEASE);
const manager = new rt.Manager({
  clock: realClock,
  log,
  leaderElection: { client, identity: 'child-process', leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 },
  shutdownTimeoutMs: 10000,
});
manager.add(() => ({
  name: 'work',
  start: async () => console.log('LEADING'),
  stop: async () => {
    await new Promise((r) => setTimeout(r, 4000));
    console.log('DRAINED');
    return true;
  },
}));
manager.start();
rt.handleShutdownSignals(manager, { log, clock: realClock, exit: (code) => { console.log('EXIT ' + code); process.exit(code); } });
`;

describe('graceful shutdown', () => {
  it('SIGTERM: the process drains its work while still holding the Lease, releases it, exits 0; the follower takes over at once', async () => {
    const lease = `runtime-sigterm-${suffix}`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      cwd: resolve(import.meta.dirname, '../..'),
      env: {
        ...process.env,
        KC: kubeconfigPath(),
        NS: ns,
        LEASE: lease,
        RUNTIME_URL: pathToFileURL(resolve(import.meta.dirname, '../../src/controllers/runtime/index.ts')).href,
        CLOCK_URL: pathToFileURL(resolve(import.meta.dirname, '../../src/util/clock.ts')).href,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Array<{ line: string; at: number }> = [];
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      for (const line of d.split('\n').filter(Boolean)) out.push({ line, at: Date.now() });
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const at = (line: string): number | undefined => out.find((o) => o.line === line)?.at;
    const dump = async (): Promise<unknown> => ({ out, stderr: stderr.slice(-2000), lease: await leaseDump(lease) });
    try {
      await waitFor('the child process to lead', async () => at('LEADING'), { timeoutMs: 60_000, dump });
      const follower = replica(lease, 'follower');
      follower.manager.start();
      await during(1000, () => expect(follower.manager.isLeader()).toBe(false));

      const t0 = Date.now();
      let followerLeadAt: number | undefined;
      child.kill('SIGTERM');
      await waitFor(
        'the follower to lead',
        async () => {
          if (follower.manager.isLeader()) followerLeadAt ??= Date.now();
          return followerLeadAt;
        },
        { timeoutMs: 15_000, intervalMs: 25, dump },
      );
      expect(await exited).toBe(0);
      const drained = at('DRAINED');
      expect(drained, JSON.stringify(await dump())).toBeDefined();
      expect(at('EXIT 0')).toBeGreaterThanOrEqual(drained!);
      // Held through a drain longer than the lease duration, so nobody ran beside the draining work …
      expect(drained! - t0).toBeGreaterThanOrEqual(4000);
      expect(followerLeadAt!).toBeGreaterThanOrEqual(drained!);
      // … and released, so the follower did not wait for it to expire: about one retry period.
      expect(followerLeadAt! - drained!).toBeLessThan(TIMINGS.leaseDurationMs);
      expect(follower.probe.running).toBe(true);
      await follower.manager.stop();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
