import { describe, expect, it } from 'vitest';
import { ScalingDecision, type Deployment, type DeploymentStatus } from '../../crds/deployment.js';
import { LoadAggregator, type DeploymentLoad } from '../../gateway/load.js';
import { FakeClock } from '../../util/fake-clock.js';
import { hearthDeployment } from '../deployment/testing.js';
import { appendStatusDecision, Autoscaler, type AutoscalerOptions, type statusRecord } from './autoscaler.js';
import { decide } from './decide.js';
import { newHistory, observe } from './history.js';
import { softDeletePatch, type SoftDelete, type SoftDeleteTarget } from './soft-delete.js';

const S = 1_000;
const T0 = Date.parse('2026-11-26T08:00:00Z');
const KEY = 'acct-acme/chat';

function load(inFlight: number, held = 0, requestsPerSecond = 0): DeploymentLoad {
  return { namespace: 'acct-acme', deployment: 'chat', inFlight, held, requestsPerSecond, tokensPerSecond: 0 };
}

function setup(
  status?: Partial<DeploymentStatus>,
  spec: Parameters<typeof hearthDeployment>[0] = { minReplicaCount: 0, maxReplicaCount: 3 },
  extra: Partial<AutoscalerOptions> = {},
) {
  const clock = new FakeClock(T0);
  const agg = new LoadAggregator({ staleMs: 10 * S });
  const scaler = new Autoscaler({ load: agg, clock, scaleToZeroWindowOverrideMs: 5 * S, tickMs: S, ...extra });
  const enqueued: string[] = [];
  scaler.attach((k) => enqueued.push(k));
  const dep: Deployment = hearthDeployment(spec);
  dep.metadata = { ...dep.metadata, creationTimestamp: new Date(T0 - 60 * S).toISOString() as unknown as Date };
  if (status) dep.status = status as DeploymentStatus;
  /** One reconcile pass: the decision, and its status fields written back as the reconciler does. */
  const pass = () => {
    const r = scaler.desiredReplicas(dep, dep.spec, clock.now());
    if (typeof r === 'number') throw new Error('expected a ReplicaDecision');
    dep.status = { ...(dep.status ?? { state: 'READY' }), desiredReplicaCount: r.replicas } as DeploymentStatus;
    for (const [k, v] of Object.entries(r.status ?? {})) if (v !== undefined) (dep.status as Record<string, unknown>)[k] = v;
    return r;
  };
  const full = (...deployments: DeploymentLoad[]) => agg.report({ gatewayId: 'gw-0', at: clock.now(), kind: 'full', deployments });
  return { clock, agg, scaler, enqueued, dep, pass, full };
}

describe('Autoscaler', () => {
  it('holds a min-0 deployment at 0 with no load, and records nothing noteworthy twice', () => {
    const t = setup();
    t.full();
    expect(t.pass().replicas).toBe(0);
    const first = t.dep.status?.scalingDecisions;
    expect(t.pass().status?.scalingDecisions).toBeUndefined();
    expect(t.dep.status?.scalingDecisions).toBe(first);
  });

  it('a held request enqueues the deployment at once; the pass scales 0 → 1 and logs ScaleFromZero', () => {
    const t = setup({ desiredReplicaCount: 0 });
    t.full();
    t.pass();
    t.agg.report({ gatewayId: 'gw-0', at: t.clock.now(), kind: 'urgent', deployments: [load(1, 1, 1)] });
    expect(t.enqueued).toEqual([KEY]);
    const r = t.pass();
    expect(r.replicas).toBe(1);
    expect(t.dep.status?.scalingDecisions?.at(-1)).toMatchObject({ fromReplicas: 0, toReplicas: 1, reason: 'ScaleFromZero' });
    expect(t.dep.status?.scalingDecisions?.at(-1)?.message).toContain('in flight 1');
    expect(t.dep.status?.lastRequestTime).toBe('2026-11-26T08:00:00Z');
  });

  it('ticks: enqueues only when the count would change; back to 0 after the (overridden) scale-to-zero window', () => {
    const t = setup({ desiredReplicaCount: 0 });
    t.full(load(1, 1, 1));
    expect(t.pass().replicas).toBe(1);
    t.enqueued.length = 0;
    // Served and idle: gateway reports of zero load every second; nothing to do for 5 s.
    for (let i = 0; i < 4; i++) {
      t.clock.advance(S);
      t.full();
    }
    expect(t.enqueued).toEqual([]);
    t.clock.advance(S); // tick at +5 s: idle for the window
    t.full();
    t.clock.advance(S);
    expect(t.enqueued).toContain(KEY);
    const r = t.pass();
    expect(r.replicas).toBe(0);
    expect(t.dep.status?.scalingDecisions?.at(-1)).toMatchObject({ fromReplicas: 1, toReplicas: 0, reason: 'ScaleToZero' });
    t.enqueued.length = 0;
    t.clock.advance(3 * S);
    t.full();
    t.clock.advance(S);
    expect(t.enqueued).toEqual([]);
  });

  it('never decides on missing data: no gateway reporting → holds the count (MetricsStale), never 0; logged only after a start-up grace', () => {
    const t = setup({ desiredReplicaCount: 1, lastRequestTime: '2026-11-26T07:00:00Z' });
    expect(t.pass()).toMatchObject({ replicas: 1 });
    expect(t.dep.status?.scalingDecisions).toBeUndefined(); // just started: the gateways may not have reported yet
    t.clock.advance(10 * S);
    expect(t.enqueued).toEqual([]); // …and the tick does not ask for a pass for it either
    t.clock.advance(50 * S);
    expect(t.pass().replicas).toBe(1);
    expect(t.dep.status?.scalingDecisions?.at(-1)?.reason).toBe('MetricsStale');
  });

  it('rebuilds history from status after a restart: lastRequestTime keeps a recently used deployment up', () => {
    const t = setup({ desiredReplicaCount: 1, lastRequestTime: new Date(T0 - 2 * S).toISOString() });
    t.full();
    expect(t.pass().replicas).toBe(1); // idle 2 s < 5 s window
    t.clock.advance(4 * S);
    t.full();
    expect(t.pass().replicas).toBe(0);
  });

  it('an unused deployment past unusedAutoDeleteDuration: one pass logs UnusedAutoDelete, then the tick leaves it alone', () => {
    const t = setup({ desiredReplicaCount: 0 }, { minReplicaCount: 0, maxReplicaCount: 1, unusedAutoDeleteDuration: '30s' });
    t.full();
    t.clock.advance(S);
    t.full();
    expect(t.pass()).toMatchObject({ replicas: 0 });
    expect(t.dep.status?.scalingDecisions?.at(-1)?.reason).toBe('UnusedAutoDelete');
    t.enqueued.length = 0;
    for (let i = 0; i < 5; i++) {
      t.clock.advance(S);
      t.full();
    }
    expect(t.enqueued).toEqual([]);
  });

  describe('soft delete of an unused deployment (UnusedAutoDelete), with a recording client', () => {
    const SOFT = 'hearth.dev/soft-delete-requested';
    const UNDELETE = 'hearth.dev/undelete-time';

    /** Records every soft-delete write; `fail` makes the next one reject (409, outage). */
    function recorder() {
      const writes: { target: SoftDeleteTarget; at: string; patch: unknown }[] = [];
      let fail = false;
      const softDelete: SoftDelete = (target, at) => {
        writes.push({ target, at, patch: softDeletePatch(target, at) });
        if (fail) {
          fail = false;
          return Promise.reject(new Error('409 Conflict'));
        }
        return Promise.resolve();
      };
      return { writes, softDelete, failNext: () => (fail = true) };
    }

    function unused() {
      const rec = recorder();
      const t = setup({ desiredReplicaCount: 0 }, { minReplicaCount: 0, maxReplicaCount: 1, unusedAutoDeleteDuration: '30s' }, { softDelete: rec.softDelete });
      t.dep.metadata = { ...t.dep.metadata, resourceVersion: '41' };
      t.full();
      t.clock.advance(S);
      t.full();
      return { ...t, rec };
    }

    it('first logs UnusedAutoDelete, then (the entry written) sets the annotation once, as REST DELETE does', async () => {
      const t = unused();
      expect(t.pass()).toMatchObject({ replicas: 0 });
      expect(t.dep.status?.scalingDecisions?.at(-1)).toMatchObject({ reason: 'UnusedAutoDelete', toReplicas: 0 });
      expect(t.dep.status?.scalingDecisions?.at(-1)?.message).toContain('unusedAutoDeleteDuration 30s');
      expect(t.rec.writes).toEqual([]); // not in the same pass as the status write: they would race
      t.enqueued.length = 0;
      t.clock.advance(S); // the tick asks for the pass that writes the annotation
      expect(t.enqueued).toEqual([KEY]);
      t.dep.metadata = { ...t.dep.metadata, resourceVersion: '42' }; // the status write landed
      expect(t.pass()).toMatchObject({ replicas: 0, status: {} });
      expect(t.rec.writes).toEqual([
        {
          target: { namespace: 'acct-acme', name: 'chat', resourceVersion: '42' },
          at: '2026-11-26T08:00:02Z',
          patch: { metadata: { resourceVersion: '42', annotations: { [SOFT]: '2026-11-26T08:00:02Z' } } },
        },
      ]);
      await Promise.resolve();
      // Idempotent: another pass, and ticks, write nothing more and ask for nothing.
      t.pass();
      t.enqueued.length = 0;
      for (let i = 0; i < 5; i++) {
        t.clock.advance(S);
        t.full();
      }
      expect(t.enqueued).toEqual([]);
      expect(t.rec.writes).toHaveLength(1);
      expect(t.dep.status?.scalingDecisions?.filter((d) => d.reason === 'UnusedAutoDelete')).toHaveLength(1);
    });

    it('never writes when the annotation is already there (REST DELETE came first)', () => {
      const t = unused();
      t.pass();
      t.dep.metadata = { ...t.dep.metadata, annotations: { [SOFT]: '2026-11-26T07:00:00Z' } };
      t.pass();
      expect(t.rec.writes).toEqual([]);
    });

    it('a refused write (conflict) is asked again on a later pass', async () => {
      const t = unused();
      t.pass();
      t.rec.failNext();
      t.pass();
      expect(t.rec.writes).toHaveLength(1);
      await new Promise((r) => setImmediate(r)); // the rejection is handled
      t.enqueued.length = 0;
      t.clock.advance(S);
      expect(t.enqueued).toEqual([KEY]);
      t.pass();
      expect(t.rec.writes).toHaveLength(2);
    });

    it('a request before the write cancels it: nothing is soft-deleted', () => {
      const t = unused();
      t.pass();
      t.full(load(1, 0, 1));
      expect(t.pass().replicas).toBe(1);
      expect(t.rec.writes).toEqual([]);
    });

    it('after :undelete the idle time counts from the undelete (not the old last request): a full duration again', () => {
      const t = unused();
      t.pass();
      t.pass();
      expect(t.rec.writes).toHaveLength(1);
      // The reconciler soft-deletes (no passes through the autoscaler), then REST :undelete.
      t.clock.advance(60 * S);
      t.dep.metadata = { ...t.dep.metadata, annotations: { [UNDELETE]: new Date(t.clock.now()).toISOString() } };
      t.full();
      expect(t.pass()).toMatchObject({ replicas: 0 });
      expect(t.dep.status?.scalingDecisions?.at(-1)?.reason).not.toBe('UnusedAutoDelete');
      t.clock.advance(29 * S);
      t.full();
      t.pass();
      expect(t.rec.writes).toHaveLength(1);
      t.clock.advance(S);
      t.full();
      t.pass(); // logs it again…
      t.pass(); // …and then writes the annotation
      expect(t.rec.writes).toHaveLength(2);
    });

    it('after :undelete with the old UnusedAutoDelete still the newest entry, a new one is logged before the write (no endless asking)', () => {
      const t = unused();
      t.pass();
      t.pass();
      expect(t.rec.writes).toHaveLength(1);
      // Undeleted, and no pass ran until the duration had passed again.
      t.clock.advance(60 * S);
      t.dep.metadata = { ...t.dep.metadata, annotations: { [UNDELETE]: new Date(t.clock.now() - 40 * S).toISOString() } };
      t.full();
      const before = t.dep.status?.scalingDecisions?.length ?? 0;
      t.pass();
      expect(t.dep.status?.scalingDecisions).toHaveLength(before + 1);
      expect(t.dep.status?.scalingDecisions?.at(-1)).toMatchObject({ reason: 'UnusedAutoDelete', time: '2026-11-26T08:01:01Z' });
      expect(t.rec.writes).toHaveLength(1);
      t.pass();
      expect(t.rec.writes).toHaveLength(2);
    });
  });

  it('a fixed replicaCount wins (the scale subresource)', () => {
    const t = setup({ desiredReplicaCount: 0 }, { replicaCount: 2 });
    t.full();
    expect(t.pass()).toMatchObject({ replicas: 2 });
    expect(t.dep.status?.scalingDecisions?.at(-1)?.reason).toBe('FixedReplicas');
  });

  it('writes lastRequestTime only when it moved by the granularity (a busy deployment does not rewrite status every second)', () => {
    const t = setup({ desiredReplicaCount: 1 });
    t.full(load(2, 0, 3));
    expect(t.pass().status?.lastRequestTime).toBe('2026-11-26T08:00:00Z');
    t.clock.advance(10 * S);
    t.full(load(2, 0, 3));
    expect(t.pass().status?.lastRequestTime).toBeUndefined();
    t.clock.advance(50 * S);
    t.full(load(2, 0, 3));
    expect(t.pass().status?.lastRequestTime).toBe('2026-11-26T08:01:00Z');
  });

  it('drops a deployment no pass answers for (deleted, not running): after a few unanswered ticks it is no longer tracked', () => {
    const t = setup({ desiredReplicaCount: 1, lastRequestTime: new Date(T0).toISOString() });
    t.full();
    expect(t.pass().replicas).toBe(1);
    t.enqueued.length = 0;
    for (let i = 0; i < 12; i++) {
      t.clock.advance(S);
      t.full();
    }
    expect(t.enqueued.length).toBeGreaterThanOrEqual(1);
    expect(t.scaler.tracked()).toEqual([]);
  });

  it('forgets a deployment the controller cache no longer has (a steady one is never enqueued)', () => {
    const t = setup({ desiredReplicaCount: 0 });
    let exists = true;
    t.scaler.attach((k) => t.enqueued.push(k), () => exists);
    t.full();
    t.pass();
    t.clock.advance(3 * S);
    expect(t.scaler.tracked()).toEqual([KEY]);
    exists = false;
    t.clock.advance(S);
    expect(t.scaler.tracked()).toEqual([]);
  });

  it('stop() stops ticking and listening for demand', () => {
    const t = setup({ desiredReplicaCount: 0 });
    t.full();
    t.pass();
    t.scaler.stop();
    t.agg.report({ gatewayId: 'gw-0', at: t.clock.now(), kind: 'urgent', deployments: [load(1, 1, 1)] });
    expect(t.enqueued).toEqual([]);
    expect(t.clock.pending()).toBe(0);
  });
});

describe('appendStatusDecision', () => {
  it('keeps the last 10 in the CRD shape and skips what is not noteworthy', () => {
    let log: ReturnType<typeof statusRecord>[] = [];
    let h = newHistory(0, 0);
    const p = { minReplicas: 0, maxReplicas: 20, scaleUpWindowMs: 0, scaleDownWindowMs: 0 };
    for (let i = 1; i <= 12; i++) {
      h = observe(h, { at: i * S, inFlight: i * 16, requestsPerSecond: 1, tokensPerSecond: 0 });
      const d = decide(p, h, i * S);
      h = d.history;
      log = appendStatusDecision(log, d) ?? log;
      expect(appendStatusDecision(log, d)).toBeUndefined();
    }
    expect(log).toHaveLength(10);
    expect(Object.keys(log[0]!).sort()).toEqual(['fromReplicas', 'inputs', 'message', 'reason', 'time', 'toReplicas']);
    expect(log.at(-1)?.inputs).toEqual({
      currentReplicas: 14,
      minReplicas: 0,
      maxReplicas: 20,
      scheduleFloor: 0,
      idleSeconds: 0,
      inFlight: 192,
      requestsPerSecond: 1,
      tokensPerSecond: 0,
      recommendation: 15,
      scaleUpWindowMin: 15,
      scaleDownWindowMax: 15,
      targetRecommendations: { default: 15 },
    });
    // What the status carries is what the CRD schema accepts.
    for (const r of log) expect(ScalingDecision.safeParse(r).success).toBe(true);
    expect(log.at(-1)).toMatchObject({ toReplicas: 15, time: '1970-01-01T00:00:12Z' });
  });
});
