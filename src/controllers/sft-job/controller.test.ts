// The SFTJob controller's wiring: a trainer pod (owned by the Job, not the SFTJob) wakes its job.
import { describe, expect, it } from 'vitest';
import { trainerPodOwner } from './controller.js';

describe('trainerPodOwner', () => {
  const pod = (labels: Record<string, string>, namespace = 'acct-acme') => ({ metadata: { name: 'sft-tune-0-0-x', namespace, labels } });
  it('maps a trainer pod to its SFTJob by the hearth.dev/sft-job label, when the job is known', () => {
    const known = (k: string) => k === 'acct-acme/tune';
    expect(trainerPodOwner(pod({ 'hearth.dev/sft-job': 'tune' }), known)).toEqual(['acct-acme/tune']);
    // Not ours: another namespace's job, a Job made without an SFTJob (a bench's direct Job), any other pod.
    expect(trainerPodOwner(pod({ 'hearth.dev/sft-job': 'tune' }, 'acct-other'), known)).toEqual([]);
    expect(trainerPodOwner(pod({ 'hearth.dev/sft-job': 'direct-0' }), known)).toEqual([]);
    expect(trainerPodOwner(pod({ app: 'x' }), known)).toEqual([]);
  });
});
