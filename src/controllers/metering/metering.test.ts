import type { KubernetesObject, V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../db/client.js';
import { createAccount } from '../../db/repositories/accounts.js';
import { usageLedger } from '../../db/schema/index.js';
import { FakeClock, flushMicrotasks } from '../../util/fake-clock.js';
import { InformerFactory } from '../../kube/informer-factory.js';
import { Manager } from '../runtime/manager.js';
import { slimPod } from '../runtime/projections.js';
import { FakeListWatch, silentLogger } from '../runtime/testing.js';
import { podGpus } from '../../fleet/gpus.js';
import { alignDown, readiness, splitIntoIntervals } from './accrual.js';
import { meteringRunnable, type Metering } from './metering.js';
import { TEST_SEAL } from '../../../test/support/tenancy.js';

const T0 = Date.parse('2026-04-01T10:00:15Z');
const MIN = 60_000;

let database: Database;
let rv = 1;

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  for (const a of ['acme', 'team-ns', 'other']) await createAccount(database.db, { accountId: a, email: `${a}@example.com` });
});

afterAll(async () => {
  await database.close();
});

interface PodOpts {
  ready?: boolean;
  since?: number;
  gpus?: number;
  resource?: string;
  namespace?: string;
  deployment?: string;
  node?: string;
  labels?: Record<string, string>;
}

function pod(uid: string, o: PodOpts = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `pod-${uid}`,
      namespace: o.namespace ?? 'ns-acme',
      uid,
      resourceVersion: String(rv++),
      labels: { 'app.kubernetes.io/managed-by': 'hearth', 'hearth.dev/deployment': o.deployment ?? 'llama', ...o.labels },
    },
    spec: {
      nodeName: o.node ?? 'gpu-1',
      containers: [{ name: 'server', image: 'vllm', resources: { limits: { [o.resource ?? 'nvidia.com/gpu']: String(o.gpus ?? 2), cpu: '4' } } }],
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: new Date(o.since ?? T0).toISOString() as unknown as Date }],
    },
  };
}

function node(name: string, region: string, acc: string): V1Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, resourceVersion: String(rv++), labels: { 'topology.kubernetes.io/region': region, 'hearth.dev/accelerator-type': acc } } };
}

function ns(name: string, account?: string): V1Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, resourceVersion: String(rv++), ...(account ? TEST_SEAL.metadataFor(name, account) : { labels: {} }) } };
}

const NODES = [node('gpu-1', 'US_VIRGINIA_2', 'NVIDIA_H100_80GB'), node('gpu-2', 'EU_PARIS_1', 'NVIDIA_H200_141GB'), node('mi-1', 'US_VIRGINIA_2', 'AMD_MI300X_192GB')];
/** Labelled `hearth.dev/account=acme` by hand: no seal (src/crds/account.ts). */
const FORGED: V1Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'claims-acme', resourceVersion: String(rv++), labels: { 'hearth.dev/account': 'acme' } } };
const NAMESPACES = [ns('ns-acme', 'acme'), ns('team-ns'), ns('ns-other', 'other'), FORGED];

/** The shared informer cache on fake list/watches of pods, nodes and namespaces. */
function fakeInformers(clock: FakeClock, sources: { pods: FakeListWatch<V1Pod>; nodes: FakeListWatch<V1Node>; namespaces: FakeListWatch<V1Namespace> }): InformerFactory {
  return new InformerFactory(undefined, {
    clock,
    tenancy: TEST_SEAL,
    log: silentLogger(),
    sourceFor: (ref) => sources[ref.plural as keyof typeof sources] as unknown as FakeListWatch<KubernetesObject>,
  });
}

interface Meter {
  m: Metering;
  pods: FakeListWatch<V1Pod>;
  emit(type: 'ADDED' | 'MODIFIED' | 'DELETED', p: V1Pod): void;
  /** A namespace event (e.g. its account label changed). */
  emitNamespace(type: 'MODIFIED', n: V1Namespace): void;
}

async function startMeter(clock: FakeClock, pods: V1Pod[] = [], flushIntervalMs = MIN, namespaces: V1Namespace[] = NAMESPACES): Promise<Meter> {
  const podsLw = new FakeListWatch<V1Pod>().nextList({ items: pods, resourceVersion: String(rv++) });
  const nsLw = new FakeListWatch<V1Namespace>().nextList({ items: namespaces, resourceVersion: String(rv++) });
  const m = meteringRunnable({
    informers: fakeInformers(clock, {
      pods: podsLw,
      nodes: new FakeListWatch<V1Node>().nextList({ items: NODES, resourceVersion: String(rv++) }),
      namespaces: nsLw,
    }),
    db: database.db,
    clock,
    log: silentLogger(),
    flushIntervalMs,
  });
  await m.start();
  await flushMicrotasks();
  return {
    m,
    pods: podsLw,
    emit: (type, p) => podsLw.current!.emit(type, { ...p, metadata: { ...p.metadata, resourceVersion: String(rv++) } }),
    emitNamespace: (type, n) => nsLw.current!.emit(type, { ...n, metadata: { ...n.metadata, resourceVersion: String(rv++) } }),
  };
}

async function rowsOf(replica: string): Promise<Array<{ start: string; end: string; gpuSeconds: number; account: string; deployment: string; region: string; acc: string; count: number }>> {
  const rows = await database.db.select().from(usageLedger).where(eq(usageLedger.replica, replica)).orderBy(asc(usageLedger.intervalStart));
  return rows.map((r) => ({
    start: r.intervalStart.toISOString().slice(11, 19),
    end: r.intervalEnd.toISOString().slice(11, 19),
    gpuSeconds: r.gpuSeconds,
    account: r.accountId,
    deployment: r.deployment,
    region: r.region,
    acc: r.acceleratorType,
    count: r.acceleratorCount,
  }));
}

async function totalOf(replica: string): Promise<number> {
  return (await rowsOf(replica)).reduce((s, r) => s + r.gpuSeconds, 0);
}

describe('accrual arithmetic', () => {
  it('splits Ready spans into aligned intervals, leaving out intervals without Ready time', () => {
    const at = (s: string): number => Date.parse(`2026-04-01T${s}Z`);
    expect(splitIntoIntervals([{ start: at('10:00:15'), end: at('10:01:45') }], -Infinity, at('10:05:00'), MIN)).toEqual([
      { start: at('10:00:00'), end: at('10:01:00'), readyMs: 45_000 },
      { start: at('10:01:00'), end: at('10:01:45'), readyMs: 45_000 },
    ]);
    // Two spans in one minute, a gap of three minutes, an open span cut at `to`, and a `from`.
    expect(splitIntoIntervals([{ start: at('10:00:10'), end: at('10:00:20') }, { start: at('10:00:40'), end: at('10:00:50') }, { start: at('10:04:30') }], at('10:00:15'), at('10:05:00'), MIN)).toEqual([
      { start: at('10:00:00'), end: at('10:00:50'), readyMs: 15_000 },
      { start: at('10:04:00'), end: at('10:05:00'), readyMs: 30_000 },
    ]);
    expect(alignDown(at('10:04:59.999'), MIN)).toBe(at('10:04:00'));
  });

  it('counts GPUs from limits of either vendor, sidecars included, and reads the Ready condition', () => {
    expect(podGpus(pod('a', { gpus: 4 }))).toBe(4);
    expect(podGpus(pod('a', { gpus: 8, resource: 'amd.com/gpu' }))).toBe(8);
    const p = pod('a', { gpus: 1 });
    p.spec!.initContainers = [{ name: 'side', restartPolicy: 'Always', resources: { limits: { 'nvidia.com/gpu': '1' } } }, { name: 'init', resources: { limits: { 'nvidia.com/gpu': '1' } } }];
    expect(podGpus(p)).toBe(2);
    expect(podGpus({ spec: { containers: [{ name: 'c' }] } })).toBe(0);
    expect(readiness(pod('a', { since: T0 }))).toEqual({ ready: true, since: T0 });
    expect(readiness(pod('a', { ready: false, since: T0 })).ready).toBe(false);
    expect(readiness({ status: { phase: 'Failed', conditions: [{ type: 'Ready', status: 'True' }] } })).toEqual({ ready: false, since: undefined });
  });
});

describe('metering runnable', () => {
  it('Ready → 90 s → gone records exactly 90 s × GPUs in aligned minutes, with its dimensions', async () => {
    const clock = new FakeClock(T0);
    const { m, emit } = await startMeter(clock);
    const p = pod('p-basic', { gpus: 2 });
    emit('ADDED', p);
    await clock.advanceAsync(45_000); // 10:01:00
    await m.flush();
    expect(await rowsOf('p-basic')).toEqual([
      { start: '10:00:00', end: '10:01:00', gpuSeconds: 90, account: 'acme', deployment: 'llama', region: 'US_VIRGINIA_2', acc: 'NVIDIA_H100_80GB', count: 2 },
    ]);
    clock.advance(45_000); // 10:01:45
    emit('DELETED', p);
    await m.flush();
    expect(await rowsOf('p-basic')).toEqual([
      { start: '10:00:00', end: '10:01:00', gpuSeconds: 90, account: 'acme', deployment: 'llama', region: 'US_VIRGINIA_2', acc: 'NVIDIA_H100_80GB', count: 2 },
      { start: '10:01:00', end: '10:01:45', gpuSeconds: 90, account: 'acme', deployment: 'llama', region: 'US_VIRGINIA_2', acc: 'NVIDIA_H100_80GB', count: 2 },
    ]);
    expect(await totalOf('p-basic')).toBe(90 * 2);
    expect(m.tracked()).toBe(0);
    expect(await m.stop()).toBe(true);
  });

  it('a training pod of an SFT job (no Deployment) is metered like a serving replica, billed to sftJob/<name>', async () => {
    const clock = new FakeClock(T0);
    const { m, emit } = await startMeter(clock);
    const p = pod('p-train', { gpus: 1, labels: { 'hearth.dev/sft-job': 'tune' } });
    delete p.metadata!.labels!['hearth.dev/deployment'];
    emit('ADDED', p);
    await clock.advanceAsync(45_000);
    emit('DELETED', p);
    await m.flush();
    expect(await rowsOf('p-train')).toEqual([{ start: '10:00:00', end: '10:01:00', gpuSeconds: 45, account: 'acme', deployment: 'sftJob/tune', region: 'US_VIRGINIA_2', acc: 'NVIDIA_H100_80GB', count: 1 }]);
    expect(await m.stop()).toBe(true);
  });

  it('flushes on its timer, closed minutes only; the current minute is written once it closes', async () => {
    const clock = new FakeClock(T0);
    const { m, emit } = await startMeter(clock, [], 30_000);
    emit('ADDED', pod('p-timer', { gpus: 1 }));
    await clock.advanceAsync(30_000); // 10:00:45: the timer flushes, minute 10:00 still open
    await m.flush();
    expect(await rowsOf('p-timer')).toEqual([]);
    await clock.advanceAsync(30_000); // 10:01:15
    await m.flush();
    expect((await rowsOf('p-timer')).map((r) => [r.start, r.gpuSeconds])).toEqual([['10:00:00', 45]]);
    expect(m.stats.flushes).toBeGreaterThanOrEqual(2);
    await m.stop();
  });

  it('restarted mid-way (new instance, same database) records the same totals, nothing twice, nothing lost', async () => {
    const clock = new FakeClock(T0);
    const p = pod('p-restart', { gpus: 4 });
    const a = await startMeter(clock);
    a.emit('ADDED', p);
    clock.advance(MIN + 5_000); // 10:01:20
    await a.m.stop(); // writes the closed minute 10:00 only
    expect((await rowsOf('p-restart')).map((r) => r.gpuSeconds)).toEqual([45 * 4]);
    clock.advance(2 * MIN); // 10:03:20: nothing ran meanwhile
    const b = await startMeter(clock, [p]);
    await b.m.flush(); // resumes at 10:01 from the ledger: 10:01 and 10:02 are recorded
    clock.advance(25_000); // 10:03:45
    b.emit('DELETED', p);
    await b.m.flush();
    expect((await rowsOf('p-restart')).map((r) => [r.start, r.end, r.gpuSeconds])).toEqual([
      ['10:00:00', '10:01:00', 45 * 4],
      ['10:01:00', '10:02:00', 60 * 4],
      ['10:02:00', '10:03:00', 60 * 4],
      ['10:03:00', '10:03:45', 45 * 4],
    ]);
    expect(await totalOf('p-restart')).toBe(210 * 4);
    await b.m.stop();
  });

  it('a pod that stopped being Ready while no meter ran is billed up to its Ready transition', async () => {
    const clock = new FakeClock(T0);
    const a = await startMeter(clock);
    a.emit('ADDED', pod('p-down', { gpus: 1 }));
    clock.advance(MIN); // 10:01:15
    await a.m.stop();
    clock.advance(2 * MIN); // 10:03:15; the pod turned not Ready at 10:02:30
    const b = await startMeter(clock, [pod('p-down', { gpus: 1, ready: false, since: Date.parse('2026-04-01T10:02:30Z') })]);
    await b.m.flush();
    expect((await rowsOf('p-down')).map((r) => [r.start, r.end, r.gpuSeconds])).toEqual([
      ['10:00:00', '10:01:00', 45],
      ['10:01:00', '10:02:00', 60],
      ['10:02:00', '10:02:30', 30],
    ]);
    await b.m.stop();
  });

  it('two instances at once record the same totals as one', async () => {
    const clock = new FakeClock(T0);
    const a = await startMeter(clock);
    const b = await startMeter(clock);
    const p = pod('p-two', { gpus: 2 });
    for (const x of [a, b]) x.emit('ADDED', p);
    clock.advance(2 * MIN); // 10:02:15
    await Promise.all([a.m.flush(), b.m.flush()]);
    clock.advance(30_000); // 10:02:45
    for (const x of [a, b]) x.emit('DELETED', p);
    await Promise.all([a.m.flush(), b.m.flush()]);
    expect(await totalOf('p-two')).toBe(150 * 2);
    expect((await rowsOf('p-two')).length).toBe(3);
    expect(a.m.stats.rowsRecorded + b.m.stats.rowsRecorded).toBe(3);
    await Promise.all([a.m.stop(), b.m.stop()]);
  });

  it('does not bill not-Ready gaps, and bills a pod that becomes Ready again in the same minute once', async () => {
    const clock = new FakeClock(T0);
    const { m, emit } = await startMeter(clock);
    const at = (s: string): number => Date.parse(`2026-04-01T${s}Z`);
    emit('ADDED', pod('p-gap', { ready: false, since: T0, gpus: 1 }));
    clock.advance(15_000); // 10:00:30
    emit('MODIFIED', pod('p-gap', { since: at('10:00:30'), gpus: 1 }));
    clock.advance(10_000); // 10:00:40
    emit('MODIFIED', pod('p-gap', { ready: false, since: at('10:00:40'), gpus: 1 }));
    clock.advance(10_000); // 10:00:50
    emit('MODIFIED', pod('p-gap', { since: at('10:00:50'), gpus: 1 }));
    clock.advance(20_000); // 10:01:10
    emit('MODIFIED', pod('p-gap', { ready: false, since: at('10:01:10'), gpus: 1 }));
    clock.advance(3 * MIN); // 10:04:10: not Ready all along
    await m.flush();
    emit('MODIFIED', pod('p-gap', { since: at('10:04:10'), gpus: 1 }));
    clock.advance(20_000); // 10:04:30
    emit('DELETED', pod('p-gap', { since: at('10:04:10'), gpus: 1 }));
    await m.flush();
    expect((await rowsOf('p-gap')).map((r) => [r.start, r.end, r.gpuSeconds])).toEqual([
      ['10:00:00', '10:01:00', 20],
      ['10:01:00', '10:01:10', 10],
      ['10:04:00', '10:04:30', 20],
    ]);
    await m.stop();
  });

  it('takes the account from the namespace label (an unlabelled namespace, or one labelled by hand without Hearth\'s seal, bills nobody), region and accelerator from the node, GPUs from limits', async () => {
    const clock = new FakeClock(T0);
    const { m, emit } = await startMeter(clock);
    emit('ADDED', pod('p-amd', { gpus: 8, resource: 'amd.com/gpu', node: 'mi-1', deployment: 'big' }));
    emit('ADDED', pod('p-paris', { gpus: 1, node: 'gpu-2', namespace: 'team-ns', deployment: 'small' }));
    // Node unknown: the pod's own labels (Hearth sets them) say where it runs.
    emit('ADDED', pod('p-labels', { gpus: 2, node: 'gone-node', namespace: 'ns-other', labels: { 'hearth.dev/region': 'EU_PARIS_1', 'hearth.dev/accelerator-type': 'NVIDIA_H200_141GB' } }));
    emit('ADDED', pod('p-cpu', { gpus: 0 }));
    emit('ADDED', pod('p-forged', { gpus: 4, node: 'gpu-1', namespace: 'claims-acme', deployment: 'big' }));
    clock.advance(MIN); // 10:01:15
    await m.flush();
    const one = async (uid: string): Promise<unknown> => (await rowsOf(uid)).map(({ account, deployment, region, acc, count, gpuSeconds }) => ({ account, deployment, region, acc, count, gpuSeconds }));
    expect(await one('p-amd')).toEqual([{ account: 'acme', deployment: 'big', region: 'US_VIRGINIA_2', acc: 'AMD_MI300X_192GB', count: 8, gpuSeconds: 45 * 8 }]);
    // `team-ns` has no account label: not billed to account `team-ns`, though one of that name
    // exists; its time waits for an account (none comes: dropped once the pod is gone).
    expect(await one('p-paris')).toEqual([]);
    // `claims-acme` is labelled acme by hand, without Hearth's seal: billed to nobody, acme least of all.
    expect(await one('p-forged')).toEqual([]);
    expect(m.isTracking('p-paris')).toBe(true);
    emit('DELETED', pod('p-paris', { gpus: 1, node: 'gpu-2', namespace: 'team-ns', deployment: 'small' }));
    await m.flush();
    expect(await one('p-paris')).toEqual([]);
    expect(m.isTracking('p-paris')).toBe(false);
    expect(m.stats.rowsDropped).toBe(2);
    expect(await one('p-labels')).toEqual([{ account: 'other', deployment: 'llama', region: 'EU_PARIS_1', acc: 'NVIDIA_H200_141GB', count: 2, gpuSeconds: 90 }]);
    expect(await one('p-cpu')).toEqual([]);
    const rows = await database.db.select().from(usageLedger).where(and(eq(usageLedger.accountId, 'acme'), eq(usageLedger.deployment, 'big')));
    expect(rows).toHaveLength(1);
    await m.stop();
  });

  it('an account label that flickers (removed, or another account for a while) neither moves nor drops a replica\'s usage', async () => {
    const clock = new FakeClock(T0);
    const spaces = [ns('ns-flicker', 'acme'), ...NAMESPACES];
    const a = await startMeter(clock, [], MIN, spaces);
    const p = pod('p-flicker', { gpus: 1, namespace: 'ns-flicker' });
    a.emit('ADDED', p);
    clock.advance(MIN); // 10:01:15: minute 10:00 closed
    await a.m.flush();
    a.emitNamespace('MODIFIED', ns('ns-flicker')); // label gone
    clock.advance(MIN); // 10:02:15
    await a.m.flush();
    a.emitNamespace('MODIFIED', ns('ns-flicker', 'other')); // another account's label
    clock.advance(MIN); // 10:03:15
    await a.m.flush();
    await a.m.stop();
    // A new meter starts while the label still names the other account: the replica's rows say acme.
    clock.advance(MIN); // 10:04:15
    const b = await startMeter(clock, [p], MIN, [ns('ns-flicker', 'other'), ...NAMESPACES]);
    await b.m.flush();
    b.emitNamespace('MODIFIED', ns('ns-flicker', 'acme'));
    clock.advance(30_000); // 10:04:45
    b.emit('DELETED', p);
    await b.m.flush();
    const rows = await rowsOf('p-flicker');
    expect(rows.map((r) => [r.start, r.end, r.account, r.gpuSeconds])).toEqual([
      ['10:00:00', '10:01:00', 'acme', 45],
      ['10:01:00', '10:02:00', 'acme', 60],
      ['10:02:00', '10:03:00', 'acme', 60],
      ['10:03:00', '10:04:00', 'acme', 60],
      ['10:04:00', '10:04:45', 'acme', 45],
    ]);
    expect(b.m.stats.rowsDropped + a.m.stats.rowsDropped).toBe(0);
    await b.m.stop();
  });

  it('a replica first met while its namespace has no account label is billed from Ready once the label comes', async () => {
    const clock = new FakeClock(T0);
    const { m, emit, emitNamespace } = await startMeter(clock, [], MIN, [ns('ns-late'), ...NAMESPACES]);
    emit('ADDED', pod('p-late', { gpus: 2, namespace: 'ns-late' }));
    clock.advance(2 * MIN); // 10:02:15
    await m.flush();
    expect(await rowsOf('p-late')).toEqual([]);
    emitNamespace('MODIFIED', ns('ns-late', 'acme'));
    await m.flush();
    expect((await rowsOf('p-late')).map((r) => [r.start, r.account, r.gpuSeconds])).toEqual([
      ['10:00:00', 'acme', 90],
      ['10:01:00', 'acme', 120],
    ]);
    await m.stop();
  });

  it('drops (and counts) usage of an account the database does not know, without blocking the others', async () => {
    const clock = new FakeClock(T0);
    const { m, emit } = await startMeter(clock, [], MIN, [ns('ns-stranger', 'no-such-account'), ...NAMESPACES]);
    emit('ADDED', pod('p-nobody', { gpus: 1, namespace: 'ns-stranger' }));
    emit('ADDED', pod('p-known', { gpus: 1 }));
    clock.advance(MIN);
    await m.flush();
    expect(await totalOf('p-known')).toBe(45);
    expect(m.stats.rowsDropped).toBe(1);
    expect(m.stats.failedFlushes).toBe(0);
    await m.stop();
  });

  it('runs under the Manager (one-liner wiring) and writes the closed minutes when the Manager stops', async () => {
    const clock = new FakeClock(T0);
    const podsLw = new FakeListWatch<V1Pod>().nextList({ items: [pod('p-mgr', { gpus: 1 })], resourceVersion: String(rv++) });
    const manager = new Manager({ clock, log: silentLogger() });
    manager.add(() =>
      meteringRunnable({
        informers: fakeInformers(clock, {
          pods: podsLw,
          nodes: new FakeListWatch<V1Node>().nextList({ items: NODES, resourceVersion: String(rv++) }),
          namespaces: new FakeListWatch<V1Namespace>().nextList({ items: NAMESPACES, resourceVersion: String(rv++) }),
        }),
        db: database.db,
        clock,
        log: silentLogger(),
      }),
    );
    manager.start();
    await flushMicrotasks();
    expect(manager.active()).toEqual(['metering']);
    clock.advance(2 * MIN); // 10:02:15
    await manager.stop();
    expect((await rowsOf('p-mgr')).map((r) => [r.start, r.gpuSeconds])).toEqual([
      ['10:00:00', 45],
      ['10:01:00', 60],
    ]);
  });

  it('a stop before the caches synced ends start() at once', async () => {
    const clock = new FakeClock(T0);
    const m = meteringRunnable({
      informers: fakeInformers(clock, { pods: new FakeListWatch<V1Pod>().nextList('hang'), nodes: new FakeListWatch<V1Node>().nextList('hang'), namespaces: new FakeListWatch<V1Namespace>().nextList('hang') }),
      db: database.db,
      clock,
      log: silentLogger(),
    });
    const started = m.start();
    await flushMicrotasks();
    expect(await m.stop()).toBe(true);
    await expect(started).resolves.toBeUndefined();
  });
});

describe('the shared pod projection (runtime/projections.ts)', () => {
  it('metering reads the same from projected pods: Ready since when, GPUs, dimensions', () => {
    const pods = [pod('p1', { since: T0 - MIN }), pod('p2', { ready: false, since: T0 }), pod('p3', { gpus: 4, resource: 'amd.com/gpu' })];
    pods[2]!.spec!.initContainers = [{ name: 'side', restartPolicy: 'Always', resources: { limits: { 'nvidia.com/gpu': '1' } } }];
    const slim = pods.map((p) => slimPod(structuredClone(p)));
    expect(slim.map(readiness)).toEqual(pods.map(readiness));
    expect(slim.map((p) => podGpus(p))).toEqual(pods.map((p) => podGpus(p)));
    expect(slim.map((p) => [p.metadata?.uid, p.metadata?.namespace, p.metadata?.labels, p.spec?.nodeName])).toEqual(pods.map((p) => [p.metadata?.uid, p.metadata?.namespace, p.metadata?.labels, p.spec?.nodeName]));
  });
});
