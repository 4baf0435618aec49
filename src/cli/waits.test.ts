import { describe, expect, it } from 'vitest';
import { observeDeployment, observeLora, observeUnload, sftObserver, uploadState } from './waits.js';

describe('deployment --wait', () => {
  it.each([
    [{ state: 'CREATING', desiredReplicaCount: 2, replicaStats: { pendingSchedulingReplicaCount: 1, initializingReplicaCount: 1 } }, 'CREATING · replicas 0/2 ready · 1 pending · 1 initializing', 0, 'waiting'],
    [{ state: 'CREATING', desiredReplicaCount: 2, replicaStats: { readyReplicaCount: 1, downloadingModelReplicaCount: 1 } }, 'CREATING · replicas 1/2 ready · 1 downloading', 0.5, 'waiting'],
    [{ state: 'READY', desiredReplicaCount: 2, replicaStats: { readyReplicaCount: 2 } }, 'READY · replicas 2/2 ready', 1, 'done'],
    [{ state: 'READY', minReplicaCount: 0 }, 'READY · replicas 0/0 ready', 1, 'done'],
    [{ state: 'FAILED', status: { code: 'RESOURCE_EXHAUSTED', message: 'quota h100-us-iowa-1' } }, 'FAILED · replicas 0/0 ready · RESOURCE_EXHAUSTED: quota h100-us-iowa-1', 0, 'failed'],
    [{ state: 'DELETED' }, 'DELETED · replicas 0/0 ready', 0, 'failed'],
  ])('%j → %s', (r, line, fraction, verdict) => {
    const o = observeDeployment(r);
    expect(o.state).toMatchObject({ line, fraction });
    expect(o.done ? 'done' : o.failed !== undefined ? 'failed' : 'waiting').toBe(verdict);
  });
});

describe('load-lora --wait', () => {
  it('until DEPLOYED; UNDEPLOYING fails', () => {
    const base = { model: 'accounts/a/models/m', deployment: 'accounts/a/deployments/d' };
    expect(observeLora({ ...base, state: 'DEPLOYING' })).toEqual({ state: { fraction: 0.5, line: 'accounts/a/models/m on d · DEPLOYING' } });
    expect(observeLora({ ...base, state: 'DEPLOYED' }).done).toBe(true);
    expect(observeLora({ ...base, state: 'UNDEPLOYING' }).failed).toBeDefined();
  });
});

describe('unload-lora --wait', () => {
  it('until the deployed model is gone (the poll reads 404 as gone)', () => {
    const observe = observeUnload('accounts/a/models/m', 'accounts/a/deployments/d');
    expect(observe({ state: 'UNDEPLOYING' })).toEqual({ state: { fraction: 0.5, line: 'accounts/a/models/m on d · UNDEPLOYING' } });
    expect(observe({ gone: true })).toEqual({ state: { fraction: 1, line: 'accounts/a/models/m on d · unloaded' }, done: true });
  });
});

describe('create sftj --wait', () => {
  it('shows epoch, step, loss and an ETA from the rate since waiting began (fake clock)', () => {
    let t = 0;
    const observe = sftObserver(() => t);
    const job = (percent: number, extra: Record<string, unknown> = {}) => ({ state: 'JOB_STATE_RUNNING', epochs: 2, jobProgress: { percent, epoch: 0, ...extra } });
    expect(observe(job(10)).state.line).toBe('RUNNING · 10% · epoch 1/2 · ETA ?');
    t = 30_000; // 10% in 30 s → 60% left takes 180 s... from 40%
    const o = observe(job(40, { step: 12, totalSteps: 30, loss: 0.51234 }));
    expect(o.state.line).toBe('RUNNING · 40% · epoch 1/2 · step 12/30 · loss 0.5123 · ETA 1m00s');
    expect(o.state.fraction).toBeCloseTo(0.4);
    // The plain display prints on change of everything but the ETA.
    expect(o.state.key).toBe('RUNNING · 40% · epoch 1/2 · step 12/30 · loss 0.5123');
    const done = observe({ state: 'JOB_STATE_COMPLETED', jobProgress: { percent: 100 } });
    expect(done).toMatchObject({ done: true, state: { fraction: 1, line: 'COMPLETED · 100%' } });
  });

  it.each(['JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_EXPIRED'])('%s ends the wait as a failure', (state) => {
    expect(sftObserver(() => 0)({ state, status: { code: 'INTERNAL', message: 'trainer died' } }).failed).toBe('INTERNAL: trainer died');
  });
  it('EARLY_STOPPED is a success', () => expect(sftObserver(() => 0)({ state: 'JOB_STATE_EARLY_STOPPED' }).done).toBe(true));
  it('reads step and loss from Hearth\'s trainingProgress extension', () => {
    const r = { state: 'JOB_STATE_RUNNING', epochs: 1, jobProgress: { percent: 50, epoch: 0 }, trainingProgress: { step: 5, totalSteps: 10, trainLoss: 0.75 } };
    expect(sftObserver(() => 0)(r).state.key).toBe('RUNNING · 50% · epoch 1/1 · step 5/10 · loss 0.7500');
  });
});

describe('upload progress', () => {
  it('bytes of total, rate and ETA; a plain line every 10%', () => {
    const s = uploadState('train.jsonl', 512 * 1024, 2 * 1024 * 1024, 1000);
    expect(s).toEqual({ fraction: 0.25, line: 'uploading train.jsonl: 512.0 KiB / 2.0 MiB · 512.0 KiB/s · ETA 3s', key: '2' });
    expect(uploadState('f', 10, 10, 5).line).toMatch(/ETA 0s$/);
  });
});
