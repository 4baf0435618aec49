import { describe, expect, it } from 'vitest';
import { mergeReport, tokenDigest, tokenMatches } from './sft-trainer.js';

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

describe('the job-scoped token', () => {
  it('matches only its digest', () => {
    expect(tokenMatches('abc', tokenDigest('abc'))).toBe(true);
    expect(tokenMatches('abd', tokenDigest('abc'))).toBe(false);
    expect(tokenMatches('abc', undefined)).toBe(false);
    expect(tokenMatches('abc', 'zz')).toBe(false);
  });
});
