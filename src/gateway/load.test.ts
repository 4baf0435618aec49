import { describe, expect, it } from 'vitest';
import { FakeClock } from '../util/fake-clock.js';
import { LoadAggregator, LoadTracker, type LoadReport } from './load.js';

function recorder(): { reports: LoadReport[]; report(r: LoadReport): void } {
  const reports: LoadReport[] = [];
  return { reports, report: (r) => void reports.push(r) };
}

describe('LoadTracker', () => {
  it('reports in-flight, request rate and tokens/s per interval', () => {
    const clock = new FakeClock(1_000_000);
    const rec = recorder();
    const t = new LoadTracker('gw-1', rec, clock, 2000);
    t.start();
    for (let i = 0; i < 4; i++) t.arrived('ns', 'd');
    t.finished('ns', 'd', 30);
    t.finished('ns', 'd', 10);
    clock.advance(2000);
    expect(rec.reports).toEqual([
      { gatewayId: 'gw-1', at: 1_002_000, kind: 'full', deployments: [{ namespace: 'ns', deployment: 'd', inFlight: 2, held: 0, requestsPerSecond: 2, tokensPerSecond: 20 }] },
    ]);
    // next interval: no arrivals, two still in flight
    clock.advance(2000);
    expect(rec.reports[1]?.deployments).toEqual([{ namespace: 'ns', deployment: 'd', inFlight: 2, held: 0, requestsPerSecond: 0, tokensPerSecond: 0 }]);
    t.finished('ns', 'd', 0);
    t.finished('ns', 'd', 0);
    clock.advance(2000);
    expect(rec.reports[2]?.deployments).toHaveLength(1);
    clock.advance(2000);
    expect(rec.reports[3]?.deployments).toEqual([]); // idle deployments drop out of reports
    t.stop();
    expect(clock.pending()).toBe(0);
  });

  it('sends an urgent report the moment a request is held', () => {
    const clock = new FakeClock(0);
    const rec = recorder();
    const t = new LoadTracker('gw-1', rec, clock, 1000);
    t.arrived('ns', 'cold');
    t.heldStart('ns', 'cold');
    expect(rec.reports).toHaveLength(1);
    expect(rec.reports[0]).toMatchObject({ kind: 'urgent', deployments: [{ deployment: 'cold', inFlight: 1, held: 1 }] });
    t.arrived('ns', 'cold');
    t.heldStart('ns', 'cold'); // already signalled: the next periodic report carries it
    expect(rec.reports).toHaveLength(1);
    t.heldEnd('ns', 'cold');
    t.heldEnd('ns', 'cold');
    t.heldStart('ns', 'cold'); // held again after all were released: a new signal
    expect(rec.reports).toHaveLength(2);
  });
});

describe('LoadAggregator', () => {
  const full = (gatewayId: string, at: number, inFlight: number, rps: number, tps: number): LoadReport => ({
    gatewayId,
    at,
    kind: 'full',
    deployments: [{ namespace: 'ns', deployment: 'd', inFlight, held: 0, requestsPerSecond: rps, tokensPerSecond: tps }],
  });

  it('sums the latest report of every live gateway replica', () => {
    const a = new LoadAggregator({ staleMs: 5000 });
    a.report(full('gw-1', 1000, 3, 2, 100));
    a.report(full('gw-2', 1500, 1, 1, 50));
    a.report(full('gw-1', 2000, 4, 3, 120)); // replaces gw-1's previous report
    expect(a.sample('ns', 'd', 2500)).toEqual({ at: 2000, inFlight: 5, requestsPerSecond: 4, tokensPerSecond: 170 });
    // gw-2 goes silent: after staleMs it no longer counts
    a.report(full('gw-1', 6000, 1, 1, 10));
    expect(a.sample('ns', 'd', 7000)).toEqual({ at: 6000, inFlight: 1, requestsPerSecond: 1, tokensPerSecond: 10 });
    expect(a.liveReplicas(7000)).toEqual(['gw-1']);
  });

  it('gives a fresh zero sample for a deployment no live replica reports, and none without live replicas', () => {
    const a = new LoadAggregator({ staleMs: 5000 });
    a.report({ gatewayId: 'gw-1', at: 1000, kind: 'full', deployments: [] });
    expect(a.sample('ns', 'idle', 2000)).toEqual({ at: 1000, inFlight: 0, requestsPerSecond: 0, tokensPerSecond: 0 });
    expect(a.sample('ns', 'idle', 7000)).toBeUndefined();
  });

  it('signals demand on an urgent report with held requests, and counts it', () => {
    const a = new LoadAggregator();
    const wanted: string[] = [];
    a.onDemand((ns, d) => wanted.push(`${ns}/${d}`));
    a.report(full('gw-1', 1000, 0, 0, 0));
    a.report({ gatewayId: 'gw-1', at: 1100, kind: 'urgent', deployments: [{ namespace: 'ns', deployment: 'cold', inFlight: 1, held: 1, requestsPerSecond: 1, tokensPerSecond: 0 }] });
    expect(wanted).toEqual(['ns/cold']);
    expect(a.sample('ns', 'cold', 1200)).toMatchObject({ inFlight: 1 });
    // an older full report arriving late does not roll back
    a.report(full('gw-1', 900, 7, 0, 0));
    expect(a.sample('ns', 'd', 1200)?.inFlight).toBe(0);
  });
});

// The contract with the autoscaler (controllers/autoscaler): a summed sample goes into observe()
// as it is. The gateway's source never imports controllers; this test does, to keep the two
// shapes from drifting apart.
describe('LoadAggregator → autoscaler', () => {
  it('a request held at zero replicas, reported by one of two gateways, scales the deployment to one at once', async () => {
    const { decide, newHistory, observe } = await import('../controllers/autoscaler/index.js');
    const a = new LoadAggregator({ staleMs: 10_000 });
    const clock = new FakeClock(1_000_000);
    const quiet = new LoadTracker('gw-quiet', a, clock, 1000);
    const busy = new LoadTracker('gw-busy', a, clock, 1000);
    quiet.flush();
    busy.flush();
    const policy = { minReplicas: 0, maxReplicas: 4 };
    let h = newHistory(0, 0);
    const at = clock.now();
    h = observe(h, a.sample('ns', 'd', at)!);
    expect(decide(policy, h, at).desiredReplicas).toBe(0);
    busy.arrived('ns', 'd');
    busy.heldStart('ns', 'd');
    const sample = a.sample('ns', 'd', clock.now())!;
    expect(sample).toMatchObject({ inFlight: 1 });
    h = observe(h, sample);
    expect(decide(policy, h, clock.now()).desiredReplicas).toBe(1);
  });
});
