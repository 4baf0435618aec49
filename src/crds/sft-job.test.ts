// `outputModel` in both documented forms: the id, or accounts/<account>/models/<id>.
import { describe, expect, it } from 'vitest';
import { OUTPUT_MODEL_MAX, SFTJobSpec, parseOutputModel } from './sft-job.js';

const BASE = { dataset: 'accounts/acme/datasets/chat', baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct' };
const id63 = `a${'b'.repeat(61)}c`;

describe('parseOutputModel', () => {
  it('an id, or a full name split into its account and id', () => {
    expect(parseOutputModel('tuned-1')).toEqual({ id: 'tuned-1' });
    expect(parseOutputModel('accounts/acme/models/tuned-1')).toEqual({ account: 'acme', id: 'tuned-1' });
    expect(parseOutputModel('accounts/globex/models/tuned-1')).toEqual({ account: 'globex', id: 'tuned-1' });
    expect(parseOutputModel(`accounts/${id63}/models/${id63}`)).toEqual({ account: id63, id: id63 });
    expect(`accounts/${id63}/models/${id63}`).toHaveLength(OUTPUT_MODEL_MAX);
  });

  it.each([
    ['empty', ''],
    ['upper case', 'Tuned'],
    ['a leading digit', '1tuned'],
    ['a trailing dash', 'tuned-'],
    ['an id of 64', `${id63}d`],
    ['the account of 64', `accounts/${id63}d/models/tuned`],
    ['another collection', 'accounts/acme/datasets/tuned'],
    ['no account', 'accounts//models/tuned'],
    ['no id', 'accounts/acme/models/'],
    ['a version suffix', 'accounts/acme/models/tuned/versions/1'],
    ['a cluster', 'accounts/acme/clusters/c/models/tuned'],
    ['a leading slash', '/accounts/acme/models/tuned'],
  ])('refuses %s', (_, v) => {
    expect(parseOutputModel(v)).toBeUndefined();
    expect(SFTJobSpec.safeParse({ ...BASE, outputModel: v }).success).toBe(false);
  });

  it('the spec takes both forms (zod, as the CRD does)', () => {
    for (const v of ['tuned-1', 'accounts/acme/models/tuned-1']) expect(SFTJobSpec.safeParse({ ...BASE, outputModel: v }).error?.issues ?? []).toEqual([]);
    const bad = SFTJobSpec.safeParse({ ...BASE, outputModel: 'accounts/acme/datasets/x' });
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['outputModel']);
  });
});
