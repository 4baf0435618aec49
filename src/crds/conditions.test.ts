import { describe, expect, it } from 'vitest';
import { isReady, setCondition, type Condition } from './conditions.js';

const t0 = new Date('2026-01-01T00:00:00.123Z');
const t1 = new Date('2026-01-01T00:05:00Z');

describe('setCondition', () => {
  it('adds a condition with a second-precision transition time', () => {
    expect(setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Reconciling', observedGeneration: 1 }, t0)).toEqual([
      { type: 'Ready', status: 'False', reason: 'Reconciling', message: '', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 },
    ]);
  });

  it('keeps lastTransitionTime while the status stays, and moves it when the status flips', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'Reconciling' }, t0);
    const same = setCondition(first, { type: 'Ready', status: 'False', reason: 'WaitingForCapacity', message: 'no H100 left' }, t1);
    expect(same[0]!.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    expect(same[0]!.reason).toBe('WaitingForCapacity');
    const flipped = setCondition(same, { type: 'Ready', status: 'True', reason: 'Ready' }, t1);
    expect(flipped[0]!.lastTransitionTime).toBe('2026-01-01T00:05:00Z');
  });

  it('leaves other conditions alone and is deep-equal when nothing changed', () => {
    const list: Condition[] = setCondition(setCondition([], { type: 'Ready', status: 'True', reason: 'Ready' }, t0), { type: 'Degraded', status: 'False', reason: 'Ready' }, t0);
    expect(setCondition(list, { type: 'Ready', status: 'True', reason: 'Ready' }, t1)).toEqual(list);
  });
});

describe('isReady', () => {
  const ready = setCondition([], { type: 'Ready', status: 'True', reason: 'Ready' }, t0);
  it('is true only for the current generation', () => {
    expect(isReady({ metadata: { generation: 2 }, status: { observedGeneration: 2, conditions: ready } })).toBe(true);
    expect(isReady({ metadata: { generation: 3 }, status: { observedGeneration: 2, conditions: ready } })).toBe(false);
    expect(isReady({ metadata: { generation: 2 }, status: { observedGeneration: 2, conditions: [] } })).toBe(false);
  });
});
