import { describe, expect, it } from 'vitest';
import { decide, Reason, type Decision } from './decide.js';
import { appendDecision, DECISION_LOG_LIMIT, toRecord, type DecisionRecord } from './decision-log.js';
import { newHistory, observe } from './history.js';
import type { AutoscalerPolicy } from './policy.js';

const T = Date.UTC(2026, 10, 23, 12);

function decision(replicas: number, inFlight: number, at = T, policy: Partial<AutoscalerPolicy> = {}): Decision {
  const h = observe(newHistory(T - 3_600_000, replicas), { at, inFlight, requestsPerSecond: 1, tokensPerSecond: 0 });
  return decide({ minReplicas: 1, maxReplicas: 100, scaleUpWindowMs: 0, scaleDownWindowMs: 0, settings: { concurrencyPerReplica: 10 }, ...policy }, h, at);
}

describe('decision log', () => {
  it('records time, outcome, reason and inputs', () => {
    const d = decision(1, 40);
    expect(toRecord(d)).toEqual({
      time: '2026-11-23T12:00:00Z',
      fromReplicas: 1,
      toReplicas: 5,
      reason: Reason.ScaleUp,
      message: d.message,
      softDelete: false,
      inputs: d.inputs,
    });
  });

  it('appends when the count changes, and returns the same log otherwise', () => {
    let log: readonly DecisionRecord[] = [];
    log = appendDecision(log, decision(1, 40));
    // 5 → 5, now Steady: nothing new to tell
    expect(appendDecision(log, decision(5, 40, T + 2_000))).toBe(log);
    const changed = appendDecision(log, decision(5, 80, T + 4_000));
    expect(changed).toHaveLength(2);
    expect(changed[1]?.toReplicas).toBe(10);
  });

  it('appends a reason worth telling even when the count holds', () => {
    const log = appendDecision([], decision(5, 40));
    const limited = appendDecision(log, decision(5, 80, T + 2_000, { quotaMaxReplicas: 5 }));
    expect(limited.map((r) => r.reason)).toEqual([Reason.Steady, Reason.QuotaLimited]);
    // Stabilizing after a limit is not news.
    const flicker = appendDecision(limited, decision(5, 80, T + 4_000, { scaleUpWindowMs: 30_000 }));
    expect(flicker).toBe(limited);
  });

  it(`keeps the last ${DECISION_LOG_LIMIT}, newest last`, () => {
    let log: readonly DecisionRecord[] = [];
    for (let i = 1; i <= 25; i++) log = appendDecision(log, decision(1, i * 8, T + i * 1_000));
    expect(log).toHaveLength(DECISION_LOG_LIMIT);
    expect(log.map((r) => r.toReplicas)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
  });
});
