import { describe, expect, it } from 'vitest';
import { decide } from './decide.js';
import { MAX_STEPS, newHistory, observe, recordRecommendation, trimSteps, windowExtremes, type AutoscalerHistory, type RecommendationStep } from './history.js';
import type { AutoscalerPolicy } from './policy.js';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;

describe('observe', () => {
  it('keeps the newest sample and the last time a request was seen', () => {
    let h = newHistory(0, 1);
    h = observe(h, { at: 10, inFlight: 2, requestsPerSecond: 1, tokensPerSecond: 0 });
    h = observe(h, { at: 20, inFlight: 0, requestsPerSecond: 0, tokensPerSecond: 0 });
    expect(h.latest?.at).toBe(20);
    expect(h.lastRequestAt).toBe(10);
    // An arrival with nothing left in flight still counts as a request.
    h = observe(h, { at: 30, inFlight: 0, requestsPerSecond: 0.2, tokensPerSecond: 0 });
    expect(h.lastRequestAt).toBe(30);
  });

  it('ignores a late, older sample except for the request time', () => {
    let h = observe(newHistory(0, 1), { at: 50, inFlight: 0, requestsPerSecond: 0, tokensPerSecond: 0 });
    h = observe(h, { at: 40, inFlight: 3, requestsPerSecond: 1, tokensPerSecond: 0 });
    expect(h.latest?.at).toBe(50);
    expect(h.lastRequestAt).toBe(40);
  });

  it('does not mutate its input', () => {
    const h = Object.freeze(newHistory(0, 1));
    expect(() => observe(h, { at: 1, inFlight: 1, requestsPerSecond: 1, tokensPerSecond: 0 })).not.toThrow();
    expect(h.latest).toBeUndefined();
  });
});

describe('newHistory', () => {
  it('rebuilt after a restart keeps the scale-to-zero clock from status', () => {
    const policy: AutoscalerPolicy = { minReplicas: 0, maxReplicas: 3, scaleToZeroWindowMs: 5 * M };
    // Created an hour ago, last request 4 minutes ago, controller just restarted.
    const now = 10 * H;
    let h = newHistory(now - H, 1, now - 4 * M);
    h = observe(h, { at: now, inFlight: 0, requestsPerSecond: 0, tokensPerSecond: 0 });
    expect(decide(policy, h, now).desiredReplicas).toBe(1);
    h = observe(h, { at: now + M, inFlight: 0, requestsPerSecond: 0, tokensPerSecond: 0 });
    expect(decide(policy, h, now + M).desiredReplicas).toBe(0);
  });
});

describe('recordRecommendation', () => {
  it('stores equal consecutive recommendations once', () => {
    let h = newHistory(0, 1);
    for (let t = 0; t < 100; t++) h = recordRecommendation(h, t * S, 3, 10 * M);
    expect(h.steps).toEqual([{ at: 0, replicas: 3 }]);
  });

  it('never lets time run backwards', () => {
    let h = recordRecommendation(newHistory(0, 1), 100, 2, H);
    h = recordRecommendation(h, 50, 4, H);
    expect(h.steps).toEqual([{ at: 100, replicas: 4 }]);
  });

  it('keeps the step in force at the window start and drops older ones', () => {
    let h = newHistory(0, 1);
    h = recordRecommendation(h, 0, 1, 10 * S);
    h = recordRecommendation(h, 5 * S, 2, 10 * S);
    h = recordRecommendation(h, 12 * S, 3, 10 * S);
    // window start 2s: the step from 0 is in force there, nothing older exists
    expect(h.steps.map((s) => s.replicas)).toEqual([1, 2, 3]);
    h = recordRecommendation(h, 16 * S, 4, 10 * S);
    // window start 6s: the step from 5s is in force; the one from 0 ended at 5s
    expect(h.steps.map((s) => s.replicas)).toEqual([2, 3, 4]);
  });

  it('caps the step count as a safety net', () => {
    let h: AutoscalerHistory = newHistory(0, 1);
    for (let t = 0; t < MAX_STEPS + 500; t++) h = recordRecommendation(h, t, t % 2, H);
    expect(h.steps).toHaveLength(MAX_STEPS);
    expect(h.steps[h.steps.length - 1]?.at).toBe(MAX_STEPS + 499);
  });
});

describe('windowExtremes', () => {
  const steps: RecommendationStep[] = [
    { at: 0, replicas: 4 },
    { at: 10, replicas: 1 },
    { at: 20, replicas: 7 },
  ];
  it.each([
    // now, window, min, max, covered
    [25, 0, 7, 7, true],
    [25, 5, 7, 7, true],
    [25, 6, 1, 7, true], // window start 19: the step [10,20) is in force there
    [25, 15, 1, 7, true], // start 10: [0,10) ended exactly at the start
    [25, 16, 1, 7, true],
    [25, 26, 1, 7, false], // reaches before the record: the uncovered part counts as 5
    [15, 10, 1, 4, true],
  ])('now %i, window %i → min %i max %i covered %s', (now, w, min, max, covered) => {
    const got = windowExtremes(steps, now, w, 5);
    const wantMin = covered ? min : Math.min(min, 5);
    const wantMax = covered ? max : Math.max(max, 5);
    expect(got).toEqual({ min: wantMin, max: wantMax, covered });
  });

  it('with no record at all, both are the uncovered value', () => {
    expect(windowExtremes([], 100, 30, 3)).toEqual({ min: 3, max: 3, covered: false });
  });

  it('trimSteps keeps a record untouched when nothing is old', () => {
    expect(trimSteps(steps, -1)).toBe(steps);
  });
});

describe('history stays bounded', () => {
  const policy: AutoscalerPolicy = { minReplicas: 1, maxReplicas: 100, settings: { concurrencyPerReplica: 10 } };

  it('a recommendation that changes every tick keeps at most the longest window', () => {
    let h = newHistory(0, 1);
    let longest = 0;
    for (let t = 0; t <= 6 * H; t += S) {
      h = observe(h, { at: t, inFlight: (t / S) % 2 === 0 ? 80 : 8, requestsPerSecond: 1, tokensPerSecond: 0 });
      h = decide(policy, h, t).history;
      longest = Math.max(longest, h.steps.length);
      expect(h.steps[0]?.at).toBeGreaterThanOrEqual(t - 10 * M - S);
    }
    // 10 minutes of 1-second ticks, plus the step in force at the window start.
    expect(longest).toBeLessThanOrEqual(10 * 60 + 1);
  });

  it('a steady deployment keeps one step however long it runs', () => {
    let h = newHistory(0, 2);
    for (let t = 0; t <= 24 * H; t += 2 * S) {
      h = observe(h, { at: t, inFlight: 16, requestsPerSecond: 1, tokensPerSecond: 0 });
      h = decide(policy, h, t).history;
    }
    expect(h.steps).toHaveLength(1);
  });

  it('a shorter window after a policy change shrinks the record', () => {
    let h = newHistory(0, 1);
    for (let t = 0; t <= 20 * M; t += S) {
      h = observe(h, { at: t, inFlight: (t / S) % 2 === 0 ? 80 : 8, requestsPerSecond: 1, tokensPerSecond: 0 });
      h = decide(policy, h, t).history;
    }
    expect(h.steps.length).toBeGreaterThan(500);
    h = decide({ ...policy, scaleDownWindowMs: M }, h, 20 * M + S).history;
    expect(h.steps.length).toBeLessThanOrEqual(61);
  });
});
