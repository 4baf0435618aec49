// The validation corpus through zod: the same verdicts, fields and messages as the API server
// gives (test/integration/crds.test.ts runs the same corpus against a real kube-apiserver).
import { describe, expect, it } from 'vitest';
import { fieldToPath, invalidCorpus, invalidUpdates, validCorpus, validUpdates } from '../../test/fixtures/corpus.js';
import { KINDS, checkObjectUpdate, kindInfo } from './registry.js';

const invalid = invalidCorpus();
const valid = validCorpus();

describe('the validation corpus', () => {
  it('has at least 60 invalid objects, covering all six kinds, each naming a field', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(60);
    expect(new Set(invalid.map((e) => e.object.kind))).toEqual(new Set(KINDS.map((k) => k.kind)));
    for (const e of invalid) expect(e.expectField, e.id).toBeTruthy();
  });

  it('has valid objects and a sample for every kind', () => {
    for (const k of KINDS) {
      expect(valid.some((e) => e.object.kind === k.kind && e.id.startsWith('manifests/samples/')), k.kind).toBe(true);
    }
  });
});

describe('zod rejects every invalid object, naming the field', () => {
  it.each(invalid.map((e) => [e.id, e] as const))('%s', (_id, e) => {
    const k = kindInfo(e.object.kind)!;
    const r = k.schema.safeParse(e.object);
    expect(r.success, `${e.why}: accepted`).toBe(false);
    const want = fieldToPath(e.expectField!).join('.');
    const paths = r.error!.issues.map((i) => i.path.map(String).join('.'));
    expect(paths, e.why).toContain(want);
  });
});

describe('zod accepts every valid object', () => {
  it.each(valid.map((e) => [e.id, e] as const))('%s', (_id, e) => {
    const r = kindInfo(e.object.kind)!.schema.safeParse(e.object);
    expect(r.error?.issues ?? [], e.why).toEqual([]);
  });
});

describe('transition rules (oldSelf) through checkObjectUpdate', () => {
  it.each(invalidUpdates().map((u) => [u.id, u] as const))('rejects %s', (_id, u) => {
    const issues = checkObjectUpdate(kindInfo(u.old.kind)!, u.new, u.old);
    expect(issues.map((i) => i.path.join('.')), u.why).toEqual([u.expectField]);
  });

  it.each(validUpdates().map((u) => [u.id, u] as const))('accepts %s', (_id, u) => {
    expect(checkObjectUpdate(kindInfo(u.old.kind)!, u.new, u.old), u.why).toEqual([]);
  });
});
