import { describe, expect, it } from 'vitest';
import type { CustomObject } from '../kube/kind-client.js';
import { JOB_ANNOTATIONS } from './batch-job.js';
import { CreateSFTJobBody, isCancellable, specFromWire, toWire, wireState } from './sft-job.js';

function obj(annotations: Record<string, string> = {}, status?: Record<string, unknown>): CustomObject {
  return {
    apiVersion: 'hearth.dev/v1alpha1',
    kind: 'SFTJob',
    metadata: { name: 'tune', namespace: 'acct-acme', creationTimestamp: '2026-01-02T03:04:05Z', annotations },
    spec: { dataset: 'accounts/acme/datasets/chat', baseModel: 'accounts/fireworks/models/llama', epochs: 1, loraRank: 8, maxContextLength: 8192, wandbConfig: { enabled: true, project: 'p' } },
    ...(status ? { status } : {}),
  };
}

describe('SFT job mapper', () => {
  it('writes the name, the spec fields and the output-only ones from status', () => {
    const w = toWire(
      obj({ [JOB_ANNOTATIONS.createdBy]: 'ann@acme.example' }, {
        state: 'JOB_STATE_RUNNING',
        jobProgress: { percent: 40, epoch: 0 },
        updateTime: '2026-01-02T03:10:00Z',
        wandbUrl: 'https://wandb.ai/run/1',
        status: { code: 'OK' },
      }),
      'acme',
    );
    expect(w).toMatchObject({
      name: 'accounts/acme/supervisedFineTuningJobs/tune',
      dataset: 'accounts/acme/datasets/chat',
      baseModel: 'accounts/fireworks/models/llama',
      epochs: 1,
      loraRank: 8,
      createTime: '2026-01-02T03:04:05Z',
      updateTime: '2026-01-02T03:10:00Z',
      createdBy: 'ann@acme.example',
      state: 'JOB_STATE_RUNNING',
      jobProgress: { percent: 40 },
      wandbConfig: { enabled: true, project: 'p', url: 'https://wandb.ai/run/1' },
      status: { code: 'OK' },
    });
  });

  it('reads CREATING unreported, CANCELLING after :cancel, RE_QUEUEING after :resume until the controller reports again', () => {
    expect(wireState(obj())).toBe('JOB_STATE_CREATING');
    expect(wireState(obj({ [JOB_ANNOTATIONS.cancelRequested]: '2026-01-02T04:00:00Z' }, { state: 'JOB_STATE_RUNNING' }))).toBe('JOB_STATE_CANCELLING');
    expect(wireState(obj({ [JOB_ANNOTATIONS.cancelRequested]: '2026-01-02T04:00:00Z' }, { state: 'JOB_STATE_CANCELLED' }))).toBe('JOB_STATE_CANCELLED');
    const resumed = { [JOB_ANNOTATIONS.resumeRequested]: '2026-01-02T05:00:00Z' };
    expect(wireState(obj(resumed, { state: 'JOB_STATE_CANCELLED', updateTime: '2026-01-02T04:30:00Z' }))).toBe('JOB_STATE_RE_QUEUEING');
    // The controller picked it up (reported after the resume): its state counts.
    expect(wireState(obj(resumed, { state: 'JOB_STATE_RUNNING', updateTime: '2026-01-02T05:00:01Z' }))).toBe('JOB_STATE_RUNNING');
    // …and failed again later: FAILED, not RE_QUEUEING.
    expect(wireState(obj(resumed, { state: 'JOB_STATE_FAILED', updateTime: '2026-01-02T06:00:00Z' }))).toBe('JOB_STATE_FAILED');
  });

  it('trainingProgress (Hearth extension): the latest report\'s step and losses, and the loss curve the API keeps', () => {
    const progress = JSON.stringify({ step: 6, totalSteps: 10, trainLoss: 0.8, attempt: 0, at: 't', lossCurve: [[2, 1.4], [4, 1.1], [6, 0.8]] });
    const running = toWire(obj({ 'hearth.dev/trainer-progress': progress }, { state: 'JOB_STATE_RUNNING', training: { step: 4, totalSteps: 10, trainLoss: 1.1, evalLoss: 1.3 } }), 'acme');
    expect(running.trainingProgress).toEqual({ step: 6, totalSteps: 10, trainLoss: 0.8, evalLoss: 1.3, lossCurve: [{ step: 2, loss: 1.4 }, { step: 4, loss: 1.1 }, { step: 6, loss: 0.8 }] });
    // Without a report: what the controller copied into status.training; nothing at all: absent.
    expect(toWire(obj({}, { state: 'JOB_STATE_RUNNING', training: { step: 4, trainLoss: 1.1 } }), 'acme').trainingProgress).toEqual({ step: 4, trainLoss: 1.1 });
    expect(toWire(obj(), 'acme')).not.toHaveProperty('trainingProgress');
    // Output only: ignored on input.
    expect(specFromWire({ dataset: 'd', trainingProgress: { step: 1 } })).toEqual({ dataset: 'd' });
  });

  it('cancels only jobs that have not finished', () => {
    for (const s of ['JOB_STATE_CREATING', 'JOB_STATE_RUNNING', 'JOB_STATE_PENDING', 'JOB_STATE_VALIDATING', 'JOB_STATE_PAUSED', 'JOB_STATE_RE_QUEUEING'] as const) expect(isCancellable(s), s).toBe(true);
    for (const s of ['JOB_STATE_COMPLETED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_CANCELLING', 'JOB_STATE_DELETING', 'JOB_STATE_EXPIRED'] as const) expect(isCancellable(s), s).toBe(false);
  });

  it('accepts and drops output-only and deprecated fields, including wandbConfig.url', () => {
    const body = { dataset: 'd', baseModel: 'm', nodes: 2, mtpEnabled: true, state: 'JOB_STATE_RUNNING', estimatedCost: { units: '1' }, wandbConfig: { enabled: true, url: 'u' } };
    expect(CreateSFTJobBody.safeParse(body).success).toBe(true);
    expect(specFromWire(body)).toEqual({ dataset: 'd', baseModel: 'm', wandbConfig: { enabled: true } });
    expect(body.wandbConfig.url).toBe('u'); // the caller's body is not modified
    expect(CreateSFTJobBody.safeParse({ dataset: 'd', bogus: 1 }).success).toBe(false);
  });
});
