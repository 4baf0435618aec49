// The history recorder on PGlite with a fake clock: what one round records (table-driven over the
// deployments a cache may hold), decisions recorded once however often status repeats them (a
// second round changes nothing), the roll-up into 1-minute buckets and the retention.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Deployment } from '../../crds/deployment.js';
import { openDatabase, type Database } from '../../db/client.js';
import { readEvents, readSamples } from '../../db/repositories/history.js';
import { FakeClock } from '../../util/fake-clock.js';
import { eventsOf, HistoryRecorder, samplesAt, type HistorySources } from './recorder.js';

const T0 = Date.parse('2026-11-26T10:00:00Z');
let database: Database;

function dep(name: string, namespace: string, status?: Partial<NonNullable<Deployment['status']>>): Deployment {
  return { apiVersion: 'hearth.dev/v1alpha1', kind: 'Deployment', metadata: { name, namespace }, spec: {} as Deployment['spec'], ...(status ? { status: { state: 'READY', ...status } } : {}) } as Deployment;
}

const accounts: Record<string, string> = { 'acct-acme': 'acme' };
const load = { sample: (_ns: string, name: string) => (name === 'busy' ? { inFlight: 3, requestsPerSecond: 2, tokensPerSecond: 120 } : undefined) };

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
});
afterAll(async () => {
  await database?.close();
});
beforeEach(async () => {
  await database.db.execute(sql`delete from deployment_samples`);
  await database.db.execute(sql`delete from deployment_events`);
});

describe('samplesAt', () => {
  const cases: { name: string; deployment: Deployment; want: Record<string, unknown> | undefined }[] = [
    { name: 'a busy deployment: its replicas and load', deployment: dep('busy', 'acct-acme', { desiredReplicaCount: 2, replicaStats: { readyReplicaCount: 1 } }), want: { desiredReplicas: 2, readyReplicas: 1, inFlight: 3, requestsPerSecond: 2, tokensPerSecond: 120 } },
    { name: 'no load sample: zero load', deployment: dep('idle', 'acct-acme', { desiredReplicaCount: 0 }), want: { desiredReplicas: 0, readyReplicas: 0, inFlight: 0, tokensPerSecond: 0 } },
    { name: 'a namespace of no account: not recorded', deployment: dep('x', 'default', { desiredReplicaCount: 1 }), want: undefined },
    { name: 'soft-deleted: not recorded', deployment: dep('gone', 'acct-acme', { state: 'DELETED' }), want: undefined },
    { name: 'never reconciled (no status): not recorded', deployment: dep('new', 'acct-acme'), want: undefined },
  ];
  it.each(cases)('$name', ({ deployment, want }) => {
    const rows = samplesAt({ deployments: () => [deployment], accountOf: (ns) => accounts[ns], load }, T0 + 17_300, 10);
    if (!want) return expect(rows).toEqual([]);
    expect(rows).toEqual([{ accountId: 'acme', deployment: deployment.metadata.name, resolutionSeconds: 10, time: new Date(T0 + 10_000), requestsPerSecond: 0, ...want }]);
  });
});

describe('eventsOf', () => {
  it('maps status decisions and skips a bad time', () => {
    const d = dep('busy', 'acct-acme', {
      scalingDecisions: [
        { time: '2026-11-26T10:00:00Z', fromReplicas: 0, toReplicas: 1, reason: 'ScaleFromZero' },
        { time: 'not a time', fromReplicas: 1, toReplicas: 2, reason: 'LoadIncreased' },
      ],
    });
    expect(eventsOf(d, 'acme')).toEqual([{ accountId: 'acme', deployment: 'busy', time: new Date(T0), fromReplicas: 0, toReplicas: 1, reason: 'ScaleFromZero', message: '' }]);
  });
});

describe('HistoryRecorder', () => {
  const range = { accountId: 'acme', deployment: 'busy', from: new Date(T0 - 30 * 86400_000), to: new Date(T0 + 86400_000) };

  function recorder(clock: FakeClock, deployments: Deployment[]): HistoryRecorder {
    const sources: HistorySources = { deployments: () => deployments, accountOf: (ns) => accounts[ns], load };
    return new HistoryRecorder({ db: database.db, clock, sources, settings: { sampleIntervalSeconds: 10, rawForMs: 20 * 60_000, rollUpSeconds: 60, retentionMs: 86400_000, compactEveryMs: 600_000 } });
  }

  it('records a sample per round and each decision once; the same round again changes nothing', async () => {
    const clock = new FakeClock(T0);
    const busy = dep('busy', 'acct-acme', { desiredReplicaCount: 1, scalingDecisions: [{ time: '2026-11-26T09:59:00Z', fromReplicas: 0, toReplicas: 1, reason: 'ScaleFromZero' }] });
    const r = recorder(clock, [busy]);
    await r.recordOnce(T0);
    await r.recordOnce(T0); // second pass: the same rows, nothing new
    await recorder(clock, [busy]).recordOnce(T0); // a second replica recording the same moment
    expect(await readSamples(database.db, { ...range, bucketSeconds: 10 })).toHaveLength(1);
    expect(await readEvents(database.db, range)).toHaveLength(1);
    await r.recordOnce(T0 + 10_000);
    expect(await readSamples(database.db, { ...range, bucketSeconds: 10 })).toHaveLength(2);
  });

  it('rolls raw samples older than rawFor into 1-minute buckets and drops what is older than the retention', async () => {
    const clock = new FakeClock(T0);
    const busy = dep('busy', 'acct-acme', { desiredReplicaCount: 2 });
    const r = recorder(clock, [busy]);
    // 40 minutes of samples every 10 s (compaction at the first round and every 10 min after).
    for (let t = T0; t < T0 + 40 * 60_000; t += 10_000) await r.recordOnce(t);
    // A sample beyond the retention goes at the next compaction.
    await database.db.execute(sql`insert into deployment_samples values ('acme', 'busy', 60, ${new Date(T0 - 2 * 86400_000).toISOString()}::timestamptz, 1, 1, 0, 0, 0)`);
    await r.recordOnce(T0 + 50 * 60_000); // compaction: raw rows before T0 + 30 min are rolled up
    const rows = (await database.db.execute(sql`select resolution_seconds as r, count(*)::int as n, min(time) as oldest from deployment_samples group by resolution_seconds order by r`)) as unknown as { rows: { r: number; n: number; oldest: string }[] };
    const byRes = Object.fromEntries(rows.rows.map((x) => [x.r, x.n]));
    // Raw: T0 + 30 … 40 min (60) and this round's; 1-minute rows: the first 30 minutes.
    expect(byRes).toEqual({ 10: 61, 60: 30 });
    expect(new Date(rows.rows.find((x) => x.r === 60)!.oldest).getTime()).toBe(T0);
    // The 1-minute rows keep the figures.
    const day = await readSamples(database.db, { ...range, bucketSeconds: 600 });
    expect(day.every((p) => p.desiredReplicas === 2 && p.inFlight === 3 && p.tokensPerSecond === 120)).toBe(true);
  });

  it('start() records on the clock and stop() waits for the round in progress', async () => {
    const clock = new FakeClock(T0);
    const r = recorder(clock, [dep('busy', 'acct-acme', { desiredReplicaCount: 1 })]);
    r.start();
    await vi.waitFor(
      async () => {
        await clock.advanceAsync(10_000);
        expect((await readSamples(database.db, { ...range, bucketSeconds: 10 })).length).toBeGreaterThanOrEqual(2);
      },
      { timeout: 20_000, interval: 20 },
    );
    await r.stop();
  });
});
