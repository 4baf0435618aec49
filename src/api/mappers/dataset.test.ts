import { describe, expect, it } from 'vitest';
import type { DatasetRow } from '../../db/schema/index.js';
import { DatasetBody, checkSourceOneof, fieldsFromWire, patchSpec, toWire } from './dataset.js';

const row = (over: Partial<DatasetRow> = {}): DatasetRow => ({
  accountId: 'acme',
  datasetId: 'train',
  displayName: '',
  state: 'UPLOADING',
  status: { code: 'OK' },
  format: 'FORMAT_UNSPECIFIED',
  exampleCount: null,
  estimatedTokenCount: null,
  spec: { userUploaded: {} },
  storageUri: null,
  createdBy: 'ann@acme.example',
  createTime: new Date('2026-11-26T10:00:00Z'),
  updateTime: new Date('2026-11-26T10:05:00Z'),
  ...over,
});

describe('dataset mapper', () => {
  it('omits unset fields, emits int64 as strings and a set empty oneof member as {}', () => {
    expect(toWire(row())).toEqual({
      name: 'accounts/acme/datasets/train',
      createTime: '2026-11-26T10:00:00Z',
      updateTime: '2026-11-26T10:05:00Z',
      state: 'UPLOADING',
      createdBy: 'ann@acme.example',
      userUploaded: {},
    });
    const ready = toWire(row({ state: 'READY', format: 'CHAT', exampleCount: 3n, estimatedTokenCount: 9_007_199_254_740_993n, spec: { transformed: { sourceDatasetId: 'a' }, averageTurnCount: 1.5 }, status: { code: 'OK', message: 'validated' } }));
    expect(ready).toMatchObject({ state: 'READY', format: 'CHAT', exampleCount: '3', estimatedTokenCount: '9007199254740993', averageTurnCount: 1.5, transformed: { sourceDatasetId: 'a' }, status: { code: 'OK', message: 'validated' } });
    expect(ready.userUploaded).toBeUndefined();
  });

  it('takes writable fields from the wire, drops output-only ones, parses exampleCount', () => {
    const body = { displayName: 'x', exampleCount: '12', format: 'RL', externalUrl: 'gs://b/x.jsonl', state: 'READY', name: 'ignored', estimatedTokenCount: '1' };
    expect(DatasetBody.safeParse(body).success).toBe(true);
    expect(fieldsFromWire(body)).toEqual({ displayName: 'x', exampleCount: 12n, format: 'RL', spec: { externalUrl: 'gs://b/x.jsonl' } });
    expect(DatasetBody.safeParse({ exampleCount: '-1' }).success).toBe(false);
    expect(DatasetBody.safeParse({ userUploaded: { x: 1 } }).success).toBe(false);
  });

  it('allows one source at most; a PATCH setting one clears the others and keeps computed values', () => {
    expect(() => checkSourceOneof({ userUploaded: {}, splitted: { sourceDatasetId: 'a' } })).toThrow(/at most one of userUploaded, evaluationResult, transformed, splitted/);
    expect(() => checkSourceOneof({ splitted: { sourceDatasetId: 'a' } })).not.toThrow();
    const cur = { userUploaded: {}, externalUrl: 'gs://old', averageTurnCount: 2 };
    expect(patchSpec(cur, { splitted: { sourceDatasetId: 'a' } }, ['splitted'])).toEqual({ splitted: { sourceDatasetId: 'a' }, externalUrl: 'gs://old', averageTurnCount: 2 });
    expect(patchSpec(cur, {}, ['externalUrl', 'averageTurnCount', 'displayName'])).toEqual({ userUploaded: {}, averageTurnCount: 2 });
  });
});
