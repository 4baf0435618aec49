import { describe, expect, it } from 'vitest';
import { spec } from '../deployment/testing.js';
import { durationMs, policyFromSpec } from './adapter.js';
import { decide } from './decide.js';
import { newHistory, observe } from './history.js';
import { resolvePolicy } from './policy.js';

const S = 1_000;
const M = 60 * S;

describe('durationMs', () => {
  it('parses the CRD duration grammar to ms and falls back on absent or bad input', () => {
    expect(durationMs('30s', 1)).toBe(30 * S);
    expect(durationMs('1h30m', 1)).toBe(90 * M);
    expect(durationMs('1.5s', 1)).toBe(1500);
    expect(durationMs('250ms', 1)).toBe(250);
    expect(durationMs(undefined, 7)).toBe(7);
    expect(durationMs('soon', 7)).toBe(7);
  });
});

describe('policyFromSpec', () => {
  it('maps the defaulted spec: windows, load target, min 0 and max max(min, 1), 7-day auto-delete', () => {
    const p = policyFromSpec(spec());
    expect(p).toMatchObject({
      minReplicas: 0,
      maxReplicas: 1,
      scaleUpWindowMs: 30 * S,
      scaleDownWindowMs: 10 * M,
      scaleToZeroWindowMs: 60 * M,
      loadTargets: { default: 0.8 },
      unusedAutoDeleteMs: 7 * 24 * 60 * M,
    });
    expect(p.fixedReplicas).toBeUndefined();
    expect(p.quotaMaxReplicas).toBeUndefined();
    expect(p.scalingSchedules).toBeUndefined();
  });

  it('maps the user fields and the schedules (durations in ms, names kept)', () => {
    const p = policyFromSpec(
      spec({
        minReplicaCount: 1,
        maxReplicaCount: 4,
        unusedAutoDeleteDuration: '0s',
        autoscalingPolicy: {
          scaleUpWindow: '10s',
          scaleDownWindow: '2m',
          scaleToZeroWindow: '15m',
          loadTargets: { tokens_generated_per_second: 150 },
          scalingSchedules: { office: { minReplicaCount: 2, schedule: '0 8 * * Mon-Fri', duration: '36000s', timezone: 'Europe/Paris' } },
        },
      }),
    );
    expect(p).toMatchObject({ minReplicas: 1, maxReplicas: 4, scaleUpWindowMs: 10 * S, scaleDownWindowMs: 2 * M, scaleToZeroWindowMs: 15 * M, unusedAutoDeleteMs: 0 });
    expect(p.loadTargets).toEqual({ tokens_generated_per_second: 150 });
    expect(p.scalingSchedules).toEqual({ office: { minReplicas: 2, schedule: '0 8 * * Mon-Fri', durationMs: 10 * 60 * M, timezone: 'Europe/Paris' } });
  });

  it('turns replicaCount (the scale subresource) into a fixed count, keeping min/max for when it is cleared', () => {
    const p = policyFromSpec(spec({ replicaCount: 3, minReplicaCount: 0, maxReplicaCount: 5 }));
    expect(p).toMatchObject({ fixedReplicas: 3, minReplicas: 0, maxReplicas: 5 });
  });

  it('passes a quota cap through when the caller knows one', () => {
    expect(policyFromSpec(spec({ maxReplicaCount: 8 }), { quotaMaxReplicas: 2 }).quotaMaxReplicas).toBe(2);
  });

  it('keeps the operator floor of 5m under scaleToZeroWindow unless the test/operator override is set', () => {
    const plain = resolvePolicy(policyFromSpec(spec(), { settings: { concurrencyPerReplica: 4 } }));
    expect(plain.scaleToZeroWindowMs).toBe(60 * M);
    expect(plain.settings.minScaleToZeroWindowMs).toBe(5 * M);
    expect(plain.settings.concurrencyPerReplica).toBe(4);
    const short = resolvePolicy(policyFromSpec(spec(), { scaleToZeroWindowOverrideMs: 2 * S }));
    expect(short.scaleToZeroWindowMs).toBe(2 * S);
    expect(short.settings.minScaleToZeroWindowMs).toBe(2 * S);
  });

  it('drives decide(): a min-0 deployment at 0 goes to 1 on a held request, and back to 0 after the overridden window', () => {
    const p = policyFromSpec(spec({ minReplicaCount: 0, maxReplicaCount: 2 }), { scaleToZeroWindowOverrideMs: 3 * S });
    let h = observe(newHistory(0, 0), { at: 10 * S, inFlight: 1, requestsPerSecond: 1, tokensPerSecond: 0 });
    let d = decide(p, h, 10 * S);
    expect(d).toMatchObject({ desiredReplicas: 1, reason: 'ScaleFromZero' });
    h = observe(d.history, { at: 12 * S, inFlight: 0, requestsPerSecond: 0, tokensPerSecond: 0 });
    d = decide(p, h, 12 * S);
    expect(d.desiredReplicas).toBe(1);
    h = observe(d.history, { at: 14 * S, inFlight: 0, requestsPerSecond: 0, tokensPerSecond: 0 });
    d = decide(p, h, 14 * S);
    expect(d).toMatchObject({ desiredReplicas: 0, reason: 'ScaleToZero' });
  });
});
