import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PROGRESS_INTERVAL_MS, computeStatus, isModelLoadError, statusEqual, statusWriteDue, summarizePods, type Outcome, type PodSummary } from './status.js';

const T0 = Date.parse('2026-11-26T08:00:00Z');

function pod(name: string, over: { node?: string; phase?: string; ready?: boolean; hash?: string; deleting?: boolean; waiting?: string; lastMessage?: string; unschedulable?: boolean } = {}): V1Pod {
  return {
    metadata: {
      name,
      annotations: { 'hearth.dev/template-hash': over.hash ?? 'h1' },
      ...(over.deleting ? { deletionTimestamp: new Date(T0) } : {}),
    },
    spec: { containers: [], ...(over.node ? { nodeName: over.node } : {}) },
    status: {
      phase: over.phase ?? 'Pending',
      conditions: [
        { type: 'Ready', status: over.ready ? 'True' : 'False' },
        ...(over.unschedulable ? [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] : []),
      ],
      containerStatuses: over.waiting
        ? [{ name: 'c', image: 'i', imageID: '', ready: false, restartCount: 3, state: { waiting: { reason: over.waiting } }, lastState: { terminated: { exitCode: 1, message: over.lastMessage } } }]
        : [],
    },
  };
}

describe('summarizePods', () => {
  it.each([
    ['unscheduled', [pod('a', { unschedulable: true })], { total: 1, pendingScheduling: 1 }, 'Unschedulable'],
    ['scheduled, containers not started', [pod('a', { node: 'n' })], { total: 1, downloading: 1 }, undefined],
    ['running, loading the model', [pod('a', { node: 'n', phase: 'Running' })], { total: 1, initializing: 1 }, undefined],
    ['ready', [pod('a', { node: 'n', phase: 'Running', ready: true })], { total: 1, ready: 1 }, undefined],
    ['of the previous template', [pod('a', { node: 'n', phase: 'Running', ready: true, hash: 'h0' })], { total: 1, ready: 1, stale: 1 }, undefined],
    ['terminating (not counted as a replica)', [pod('a', { node: 'n', phase: 'Running', deleting: true })], { total: 0, terminating: 1 }, undefined],
    ['finished', [pod('a', { node: 'n', phase: 'Failed' })], { total: 0 }, undefined],
    ['crash loop with a load error', [pod('a', { node: 'n', phase: 'Running', waiting: 'CrashLoopBackOff', lastMessage: 'torch.OutOfMemoryError: CUDA out of memory' })], { total: 1, initializing: 1 }, 'ModelLoadFailed'],
    ['crash loop, no message', [pod('a', { node: 'n', phase: 'Running', waiting: 'CrashLoopBackOff' })], { total: 1, initializing: 1 }, 'CrashLoopBackOff'],
    ['image pull back-off', [pod('a', { node: 'n', waiting: 'ImagePullBackOff' })], { total: 1, downloading: 1 }, 'ImagePullBackOff'],
  ] as const)('%s', (_name, pods, counts, problem) => {
    const s = summarizePods(pods, 'h1');
    expect(s).toMatchObject({ pendingScheduling: 0, downloading: 0, initializing: 0, ready: 0, stale: 0, terminating: 0, ...counts });
    expect(s.problems[0]?.reason).toBe(problem);
  });

  it('only model-load messages are fatal', () => {
    expect(isModelLoadError('OSError: acme/llama is not a valid model identifier')).toBe(true);
    expect(isModelLoadError('Connection reset by peer')).toBe(false);
  });
});

const pods = (over: Partial<PodSummary> = {}): PodSummary => ({ total: 2, pendingScheduling: 0, downloading: 0, initializing: 0, ready: 2, stale: 0, terminating: 0, problems: [], ...over });
const running = (over: Partial<Extract<Outcome, { kind: 'running' }>> = {}): Outcome => ({
  kind: 'running',
  region: 'US_VIRGINIA_2',
  desired: 2,
  replicas: 2,
  notOwned: [],
  childUpToDate: true,
  rolloutDone: true,
  pods: pods(),
  ...over,
});

describe('computeStatus', () => {
  const input = (outcome: Outcome, prev?: Parameters<typeof computeStatus>[0]['prev'], now = T0) => ({ prev, generation: 3, now, labelSelector: 'a=b', outcome });

  it.each([
    ['converged', running(), 'READY'],
    ['rollout not observed yet', running({ rolloutDone: false }), 'CREATING'],
    ['pods of the old template', running({ pods: pods({ stale: 1 }) }), 'CREATING'],
    ['one replica short', running({ pods: pods({ total: 1, ready: 1 }) }), 'CREATING'],
    ['a fatal pod problem', running({ pods: pods({ problems: [{ reason: 'ModelLoadFailed', message: 'x', fatal: true }] }) }), 'FAILED'],
    ['unplaced', { kind: 'unplaced', message: 'no room' } as Outcome, 'CREATING'],
  ] as const)('%s → %s', (_name, outcome, state) => {
    expect(computeStatus(input(outcome)).state).toBe(state);
  });

  it('reports the deployment shape version of the spec it acted on, and none without a shape', () => {
    const shape = 'accounts/fireworks/deploymentShapes/llama-v3p1-8b-instruct-h100/versions/0123abcd';
    const shaped = computeStatus({ ...input(running()), deploymentShape: shape });
    expect(shaped.deploymentShape).toBe(shape);
    expect(computeStatus({ ...input(running(), shaped), deploymentShape: '' })).not.toHaveProperty('deploymentShape');
    expect(computeStatus(input(running()))).not.toHaveProperty('deploymentShape');
  });

  it('after having served, converging again is UPDATING, not CREATING', () => {
    const ready = computeStatus(input(running()));
    expect(computeStatus(input(running({ childUpToDate: false }), ready)).state).toBe('UPDATING');
  });

  it('the same inputs later give an equal status: transition and update times only move on change', () => {
    const a = computeStatus(input(running()));
    const b = computeStatus(input(running(), a, T0 + 60_000));
    expect(statusEqual(a, b)).toBe(true);
    const c = computeStatus(input(running({ pods: pods({ ready: 1 }) }), b, T0 + 120_000));
    expect(c.updateTime).toBe('2026-11-26T08:02:00Z');
    expect(c.conditions?.find((x) => x.type === 'Ready')?.lastTransitionTime).toBe('2026-11-26T08:02:00Z');
    expect(c.conditions?.find((x) => x.type === 'Degraded')?.lastTransitionTime).toBe('2026-11-26T08:00:00Z');
  });

  it('keeps fields other writers own', () => {
    const prev = { state: 'READY' as const, lastRequestTime: '2026-11-26T07:00:00Z', scalingDecisions: [] };
    expect(computeStatus(input(running(), prev))).toMatchObject({ lastRequestTime: '2026-11-26T07:00:00Z', scalingDecisions: [] });
  });
});

describe('statusWriteDue: which status changes are written at once, which wait (issue 11)', () => {
  const I = DEFAULT_PROGRESS_INTERVAL_MS;
  const st = (outcome: Outcome, prev?: Parameters<typeof computeStatus>[0]['prev']) => computeStatus({ prev, generation: 1, now: T0, labelSelector: 'a=b', outcome });
  const starting = running({ pods: pods({ ready: 0, initializing: 2 }), rolloutDone: false });
  const creating = st(starting);
  const half = running({ pods: pods({ ready: 1, initializing: 1 }), rolloutDone: false });
  const ready = st(running(), creating);
  const updating = st(running({ pods: pods({ stale: 1 }), childUpToDate: false }), ready);

  it.each([
    // [name, prev, next, ms since the last write, regionChosen, written at once?]
    ['first status, quietly creating, region from the spec', undefined, creating, 0, false, false],
    ['first status, quietly creating, the controller chose the region', undefined, creating, 0, true, true],
    ['first status, quietly creating, after the interval', undefined, creating, I, false, true],
    ['first status is READY', undefined, st(running()), 0, false, true],
    ['first status: waiting for capacity', undefined, st({ kind: 'unplaced', message: 'no room' }), 0, false, true],
    ['first status: quota clamp', undefined, st(running({ quotaMessage: 'over quota', replicas: 1, pods: pods({ total: 1, ready: 0, initializing: 1 }), rolloutDone: false })), 0, false, true],
    ['first status: FAILED', undefined, st(running({ pods: pods({ problems: [{ reason: 'ModelLoadFailed', message: 'x', fatal: true }] }) })), 0, false, true],
    ['progress alone while CREATING', creating, st(half, creating), 1_000, false, false],
    ['progress alone while CREATING, after the interval', creating, st(half, creating), I, false, true],
    ['CREATING → READY', creating, st(running(), creating), 1_000, false, true],
    ['READY → UPDATING', ready, updating, 1_000, false, true],
    ['progress alone while UPDATING', updating, st(running({ pods: pods({ stale: 1, ready: 1 }), childUpToDate: false }), updating), 1_000, false, false],
    ['a pod problem appears while CREATING', creating, st(running({ pods: pods({ ready: 0, problems: [{ reason: 'CrashLoopBackOff', message: 'x', fatal: false }] }), rolloutDone: false }), creating), 1_000, false, true],
    ['desired replicas change while CREATING', creating, st(running({ desired: 3, replicas: 3, pods: pods({ total: 2, ready: 0, initializing: 2 }), rolloutDone: false }), creating), 1_000, false, true],
  ] as const)('%s', (_name, prev, next, elapsed, regionChosen, now) => {
    const due = statusWriteDue({ prev, next, now: T0 + elapsed, since: T0, progressIntervalMs: I, regionChosen });
    expect(due.write).toBe(now);
    if (!due.write) expect(due.waitMs).toBe(I - elapsed);
  });
});
