import { describe, expect, it } from 'vitest';
import { LOSS_CURVE_MAX, type TrainerProgress, type TrainerReport, mergeReport, nextLossCurve, trainerToken, trainerTokenAttempt, trainingDatasets } from './sft-trainer.js';

describe('mergeReport', () => {
  it('tracks the best eval loss, evaluations since, and the checkpoints', () => {
    let p = mergeReport(undefined, { step: 2, evalLoss: 1, checkpoint: 'step-2' }, 0, 't1');
    expect(p).toMatchObject({ bestEvalLoss: 1, evalsSinceBest: 0, bestCheckpoint: 'step-2', lastCheckpoint: 'step-2' });
    p = mergeReport(p, { step: 3, trainLoss: 0.5 }, 0, 't2');
    expect(p).toMatchObject({ step: 3, bestEvalLoss: 1, evalsSinceBest: 0, lastCheckpoint: 'step-2' });
    p = mergeReport(p, { step: 4, evalLoss: 1.2, checkpoint: 'step-4' }, 0, 't3');
    expect(p).toMatchObject({ bestEvalLoss: 1, evalsSinceBest: 1, bestCheckpoint: 'step-2', lastCheckpoint: 'step-4' });
  });

  it('a late report never moves progress back; a new attempt starts afresh', () => {
    const p = mergeReport(undefined, { step: 5, evalLoss: 1 }, 0, 't1');
    expect(mergeReport(p, { step: 3 }, 0, 't2')).toMatchObject({ step: 5, at: 't2' });
    expect(mergeReport(p, { step: 1 }, 1, 't3')).toEqual({ step: 1, attempt: 1, at: 't3' });
  });
});

describe('the loss curve', () => {
  it('keeps [step, trainLoss] of the reports that carry a training loss; a late report changes nothing', () => {
    let p = mergeReport(undefined, { step: 1, trainLoss: 2 }, 0, 't1');
    p = mergeReport(p, { step: 2, evalLoss: 1.5 }, 0, 't2');
    p = mergeReport(p, { step: 3, trainLoss: 1.2 }, 0, 't3');
    expect(p.lossCurve).toEqual([[1, 2], [3, 1.2]]);
    expect(mergeReport(p, { step: 2, trainLoss: 9 }, 0, 't4').lossCurve).toEqual([[1, 2], [3, 1.2]]);
  });

  it('an evaluation, a checkpoint or done reported at a step already on the curve keeps its point', () => {
    // What the shim sends when it reads TRL's output behind the trainer (a loaded node): checkpoint-2
    // is already on disk at the step-2 log, so it is reported first and the step-2 evaluation goes
    // out alone afterwards; at the end, done at the last step. Each used to erase its step's point
    // (flaky e2e: the curve [1, 3, 5, 7] of 9 steps).
    let p: TrainerProgress | undefined;
    const send = (r: TrainerReport) => (p = mergeReport(p, r, 0, 't'));
    for (let step = 1; step <= 9; step++) {
      if (step % 2 === 0 && step < 9) send({ step, totalSteps: 9, checkpoint: `checkpoint-${step}` });
      send({ step, totalSteps: 9, trainLoss: 2 / (1 + 0.3 * step) });
      if (step % 2 === 0 && step < 9) send({ step, totalSteps: 9, evalLoss: 2.2 / (1 + 0.25 * step) });
    }
    send({ step: 9, totalSteps: 9, done: true });
    expect(p!.lossCurve!.map(([s]) => s)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(p).toMatchObject({ step: 9, done: true, lastCheckpoint: 'checkpoint-8' });
  });

  it('a resumed attempt replaces the points from its first step on', () => {
    let p = mergeReport(undefined, { step: 1, trainLoss: 2 }, 0, 't1');
    p = mergeReport(p, { step: 4, trainLoss: 1 }, 0, 't2');
    p = mergeReport(p, { step: 3, trainLoss: 1.1 }, 1, 't3');
    expect(p.lossCurve).toEqual([[1, 2], [3, 1.1]]);
  });

  it('stays within LOSS_CURVE_MAX points, thinned by halves, first and last kept', () => {
    let curve: [number, number][] = [];
    for (let step = 1; step <= 1000; step++) curve = nextLossCurve(curve, step, 1 / step);
    expect(curve.length).toBeLessThanOrEqual(LOSS_CURVE_MAX);
    expect(curve.length).toBeGreaterThan(LOSS_CURVE_MAX / 2);
    expect(curve[0]).toEqual([1, 1]);
    expect(curve.at(-1)).toEqual([1000, 1 / 1000]);
    for (let i = 1; i < curve.length; i++) expect(curve[i]![0]).toBeGreaterThan(curve[i - 1]![0]);
  });
});

describe('the job-scoped token', () => {
  it('opens the attempt it was minted for, only for its job (uid) and key', () => {
    const key = Buffer.alloc(32, 7);
    for (const attempt of [0, 1, 12]) expect(trainerTokenAttempt(key, 'uid-a', trainerToken(key, 'uid-a', attempt))).toBe(attempt);
    const t1 = trainerToken(key, 'uid-a', 1);
    expect(trainerTokenAttempt(key, 'uid-b', t1)).toBeUndefined(); // another job's (or a new job of the same name)
    expect(trainerTokenAttempt(Buffer.alloc(32, 8), 'uid-a', t1)).toBeUndefined(); // another installation's
    expect(trainerTokenAttempt(key, undefined, t1)).toBeUndefined();
    // The attempt is covered by the mac: relabelling a token as another attempt does not open it.
    const mac = t1.slice(t1.indexOf('.') + 1);
    for (const forged of [`0.${mac}`, `2.${mac}`, `01.${mac}`, mac, `1.${mac.slice(0, -1)}`, `1.${mac}=`, '', '1.', `-1.${mac}`]) expect(trainerTokenAttempt(key, 'uid-a', forged), forged).toBeUndefined();
    expect(() => trainerToken(key, 'uid-a', -1)).toThrow(/bad attempt/);
  });
});

describe('trainingDatasets (what /inputs serves before the status records the datasets)', () => {
  it('the carve-out by default, the evaluation dataset when given, the dataset alone without a carve-out', () => {
    expect(trainingDatasets('acme', 'tune', { dataset: 'accounts/acme/datasets/chats' })).toEqual({ train: 'accounts/acme/datasets/tune-train-split', eval: 'accounts/acme/datasets/tune-eval-split' });
    expect(trainingDatasets('acme', 'tune', { dataset: 'accounts/acme/datasets/chats', evaluationDataset: 'accounts/acme/datasets/ev' })).toEqual({ train: 'accounts/acme/datasets/chats', eval: 'accounts/acme/datasets/ev' });
    expect(trainingDatasets('acme', 'tune', { dataset: 'accounts/acme/datasets/chats', evalAutoCarveout: false })).toEqual({ train: 'accounts/acme/datasets/chats' });
  });
});
