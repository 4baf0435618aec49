// Issue 15 item 10: the API and the controller never undo each other's quota holds, and a failed
// Kubernetes write gives back what the request raised. Embedded PGlite; the controller side is the
// DbQuotaLedger it runs on, driven with a fake clock; the API side is the REST app over an
// in-memory deployments client whose writes can be made to fail.
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { openDatabase, type Database } from '../../db/client.js';
import { NEWER_GENERATION_GRACE_MS, generationTarget, giveBackRaise, holdsOf, raiseHold, setHolds } from '../../db/repositories/quotas.js';
import { bootstrap } from '../../auth/bootstrap.js';
import { DbQuotaLedger, LeaseLostError, NEWER_HOLD_RECHECK_MS, fencedLedger } from '../../controllers/deployment/quota-ledger.js';
import { MemoryQuotaLedger } from '../../controllers/deployment/fake-cluster.js';
import { FakeClock } from '../../util/fake-clock.js';
import { buildApp } from '../app.js';
import { ResourceCache, type DeploymentClient } from '../kube/kind-client.js';
import type { DeploymentObject } from '../mappers/deployment.js';

const QUOTA = 'a100-us-illinois-2';
const HOLDER = 'deployment/d1';
const T0 = new Date('2026-12-01T00:00:00Z');

describe('generationTarget (which amount a writer at generation g makes a hold)', () => {
  const hold = (amount: number, generation: number | null, ageMs: number) => ({ accountId: 'a', quotaName: QUOTA, holder: HOLDER, amount, generation, createTime: T0, updateTime: new Date(T0.getTime() - ageMs) });
  it.each([
    ['no generation: exactly the target', undefined, hold(4, 7, 0), 2, 2],
    ['older hold: exactly the target, tagged with g', 5, hold(4, 3, 0), 2, { amount: 2, generation: 5 }],
    ['same generation: exactly the target', 5, hold(4, 5, 0), 2, { amount: 2, generation: 5 }],
    ['a fresh raise for a newer generation is not lowered', 5, hold(4, 6, 1_000), 2, { amount: 4, generation: 6 }],
    ['…but may be raised further', 5, hold(4, 6, 1_000), 6, { amount: 6, generation: 6 }],
    ['a newer raise older than the grace (its write never landed) is lowered', 5, hold(4, 6, 200_000), 2, { amount: 2, generation: 5 }],
    ['no hold yet', 5, undefined, 2, { amount: 2, generation: 5 }],
  ])('%s', (_what, generation, current, amount, want) => {
    const t = generationTarget(amount, { ...(generation !== undefined ? { generation } : {}), now: T0 });
    expect(t(current?.amount ?? 0, current)).toEqual(want);
  });
});

describe('holds in PostgreSQL', () => {
  let database: Database;
  let app: FastifyInstance;
  let key: string;
  const client = new FlakyDeploymentClient();
  const clock = new FakeClock(T0.getTime());

  beforeAll(async () => {
    database = await openDatabase();
    await database.migrate();
    key = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
    app = await buildApp({ db: database.db, deployments: client, rateLimit: false });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });
  beforeEach(async () => {
    await setHolds(database.db, 'acme', HOLDER, {});
    client.fail = false;
  });

  const held = async (): Promise<Record<string, number>> => Object.fromEntries((await holdsOf(database.db, 'acme', HOLDER)).map((h) => [h.quotaName, h.amount]));

  it('a controller pass on the older spec does not lower what the API raised for the newer one; a pass on the newer spec makes it exact', async () => {
    const ledger = new DbQuotaLedger(database.db, clock);
    await ledger.setHolds('acme', HOLDER, { [QUOTA]: 1 }, { generation: 1 });
    // The API raises for generation 2 (its write is on its way to the API server) …
    await raiseHold(database.db, { accountId: 'acme', quotaName: QUOTA, holder: HOLDER }, 3, 2);
    // … and a controller pass still reconciling generation 1 does not take it back.
    expect(await ledger.setHolds('acme', HOLDER, { [QUOTA]: 1 }, { generation: 1 })).toEqual({ keptNewer: true });
    expect(await held()).toEqual({ [QUOTA]: 3 });
    // Once the controller sees generation 2, the hold is what runs.
    expect(await ledger.setHolds('acme', HOLDER, { [QUOTA]: 2 }, { generation: 2 })).toEqual({ keptNewer: false });
    expect(await held()).toEqual({ [QUOTA]: 2 });
  });

  it('a raise whose write never lands (the API killed in between) is undone once older than the grace; the controller is told to look again then', async () => {
    const ledger = new DbQuotaLedger(database.db, clock);
    await ledger.setHolds('acme', HOLDER, { [QUOTA]: 1 }, { generation: 1 });
    await raiseHold(database.db, { accountId: 'acme', quotaName: QUOTA, holder: HOLDER }, 3, 2);
    expect(await ledger.setHolds('acme', HOLDER, { [QUOTA]: 1 }, { generation: 1 })).toEqual({ keptNewer: true });
    // The pass requeues itself after the grace (reconciler: NEWER_HOLD_RECHECK_MS), and then lowers it.
    expect(NEWER_HOLD_RECHECK_MS).toBeGreaterThan(NEWER_GENERATION_GRACE_MS);
    expect(NEWER_HOLD_RECHECK_MS).toBeLessThan(30_000);
    // The hold's update time is the writer's wall clock: a ledger whose clock is that long after it.
    const later = new DbQuotaLedger(database.db, new FakeClock(Date.now() + NEWER_HOLD_RECHECK_MS));
    expect(await later.setHolds('acme', HOLDER, { [QUOTA]: 1 }, { generation: 1 })).toEqual({ keptNewer: false });
    expect(await held()).toEqual({ [QUOTA]: 1 });
  });

  it('giveBackRaise restores the hold, unless someone wrote it since', async () => {
    await setHolds(database.db, 'acme', HOLDER, { [QUOTA]: 1 }, { generation: 1 });
    const raise = await raiseHold(database.db, { accountId: 'acme', quotaName: QUOTA, holder: HOLDER }, 4, 2);
    expect(raise).toMatchObject({ from: { amount: 1, generation: 1 }, to: { amount: 4, generation: 2 } });
    expect(await giveBackRaise(database.db, raise!)).toBe(true);
    expect(await held()).toEqual({ [QUOTA]: 1 });
    // Raised again, then the controller (at generation 2) wrote: the give-back leaves it alone.
    const again = await raiseHold(database.db, { accountId: 'acme', quotaName: QUOTA, holder: HOLDER }, 4, 2);
    await setHolds(database.db, 'acme', HOLDER, { [QUOTA]: 2 }, { generation: 2 });
    expect(await giveBackRaise(database.db, again!)).toBe(false);
    expect(await held()).toEqual({ [QUOTA]: 2 });
    // Enough held already: only the generation moves (a stale pass must not lower it below this spec's need).
    expect(await raiseHold(database.db, { accountId: 'acme', quotaName: QUOTA, holder: HOLDER }, 1, 3)).toMatchObject({ to: { amount: 2, generation: 3 } });
    expect(await held()).toEqual({ [QUOTA]: 2 });
    expect(await raiseHold(database.db, { accountId: 'acme', quotaName: QUOTA, holder: HOLDER }, 1, 3)).toBeUndefined();
  });

  it('property: whatever the interleaving of API raises (some of whose writes fail) and controller passes on stale generations, the hold never drops below what the newest spec needs, and a pass on the newest generation makes it exact', async () => {
    // An op: the API writes spec generation latest+1 needing `gpus` (its write may fail: given
    // back), or the controller passes on a generation it has seen (≤ latest) running `running` GPUs
    // (≥ that generation's need: it may have autoscaled above the minimum).
    const op = fc.oneof(
      fc.record({ api: fc.integer({ min: 1, max: 4 }), fails: fc.boolean() }),
      fc.record({ ctrlLag: fc.nat({ max: 3 }), extra: fc.nat({ max: 3 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        await setHolds(database.db, 'acme', HOLDER, {});
        const need = [0]; // need[g]: the GPUs spec generation g needs
        const ledger = new DbQuotaLedger(database.db, clock);
        for (const o of ops) {
          const latest = need.length - 1;
          if ('api' in o) {
            const raise = await raiseHold(database.db, { accountId: 'acme', quotaName: QUOTA, holder: HOLDER }, o.api, latest + 1);
            if (o.fails) {
              if (raise) await giveBackRaise(database.db, raise);
            } else need.push(o.api);
          } else {
            const seen = Math.max(0, latest - o.ctrlLag);
            const running = need[seen]! + o.extra;
            await ledger.setHolds('acme', HOLDER, running > 0 ? { [QUOTA]: running } : {}, { generation: seen });
          }
          expect((await held())[QUOTA] ?? 0).toBeGreaterThanOrEqual(need[need.length - 1]!);
        }
        const newest = need.length - 1;
        await ledger.setHolds('acme', HOLDER, need[newest]! > 0 ? { [QUOTA]: need[newest]! } : {}, { generation: newest });
        expect((await held())[QUOTA] ?? 0).toBe(need[newest]);
      }),
      { numRuns: 60, seed: 15 },
    );
  }, 120_000);

  it(':scale and an update whose Kubernetes write fails give back what they raised; one that succeeds keeps it', async () => {
    client.put(deployment(1));
    await setHolds(database.db, 'acme', HOLDER, { [QUOTA]: 1 }, { generation: 1 });
    const call = (method: 'POST' | 'PATCH', url: string, payload: object) =>
      app.inject({ method, url: `/v1/accounts/acme/deployments/d1${url}`, headers: { authorization: `Bearer ${key}` }, payload });
    client.fail = true;
    const scaled = await call('PATCH', ':scale', { replicaCount: 3 });
    expect(scaled.statusCode, scaled.body).toBe(503);
    expect(await held()).toEqual({ [QUOTA]: 1 });
    const updated = await call('PATCH', '?updateMask=minReplicaCount,maxReplicaCount', { minReplicaCount: 2, maxReplicaCount: 4 });
    expect(updated.statusCode, updated.body).toBe(503);
    expect(await held()).toEqual({ [QUOTA]: 1 });
    client.fail = false;
    const ok = await call('PATCH', ':scale', { replicaCount: 3 });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(await held()).toEqual({ [QUOTA]: 3 });
  });
});

describe('fencedLedger', () => {
  it('refuses every write once the lease is lost; reads still work', async () => {
    const inner = new MemoryQuotaLedger();
    const lease = new AbortController();
    const ledger = fencedLedger(inner, lease.signal);
    await ledger.setHolds('acme', HOLDER, { [QUOTA]: 2 });
    lease.abort();
    await expect(ledger.setHolds('acme', HOLDER, { [QUOTA]: 0 })).rejects.toBeInstanceOf(LeaseLostError);
    await expect(ledger.releaseAll('acme', HOLDER)).rejects.toBeInstanceOf(LeaseLostError);
    expect(inner.holds.get(HOLDER)).toEqual({ [QUOTA]: 2 });
    expect((await ledger.gpuQuota('acme', QUOTA, 'other')).heldByOthers).toBe(2);
  });
});

function deployment(generation: number): DeploymentObject {
  return {
    apiVersion: 'hearth.dev/v1alpha1',
    kind: 'Deployment',
    metadata: { name: 'd1', namespace: 'acct-acme', resourceVersion: String(100 + generation), generation, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { baseModel: 'accounts/fireworks/models/m', acceleratorType: 'NVIDIA_A100_80GB', minReplicaCount: 1, maxReplicaCount: 1 },
    status: { state: 'READY', region: 'US_ILLINOIS_2', observedGeneration: generation },
  } as DeploymentObject;
}

/** Deployments in memory whose writes fail like an unreachable API server while `fail` is set. */
class FlakyDeploymentClient implements DeploymentClient {
  readonly cache = new ResourceCache<DeploymentObject>();
  fail = false;
  put(obj: DeploymentObject): void {
    this.cache.upsert(obj);
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  list(ns: string): DeploymentObject[] {
    return this.cache.list(ns);
  }
  async get(ns: string, name: string): Promise<DeploymentObject | undefined> {
    return this.cache.get(ns, name);
  }
  async read(ns: string, name: string): Promise<DeploymentObject | undefined> {
    return this.cache.get(ns, name);
  }
  async create(obj: DeploymentObject): Promise<DeploymentObject> {
    return this.#write(obj);
  }
  async replace(obj: DeploymentObject): Promise<DeploymentObject> {
    return this.#write(obj);
  }
  async mergePatch(ns: string, name: string, patch: Record<string, unknown>): Promise<DeploymentObject> {
    const cur = this.cache.get(ns, name)!;
    return this.#write({ ...cur, spec: { ...cur.spec, ...(patch.spec as object) } });
  }
  async delete(): Promise<boolean> {
    return false;
  }
  #write(obj: DeploymentObject): DeploymentObject {
    if (this.fail) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED', name: 'FetchError', type: 'system' });
    const g = (obj.metadata.generation ?? 0) + 1;
    const next = { ...obj, metadata: { ...obj.metadata, generation: g, resourceVersion: String(Number(obj.metadata.resourceVersion ?? '0') + 1) } } as DeploymentObject;
    this.cache.upsert(next);
    return next;
  }
}
