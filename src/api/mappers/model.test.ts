import { describe, expect, it } from 'vitest';
import type { ModelRow } from '../../db/schema/index.js';
import { isOutputOnlyPath, modelToWire, modelViolations, rowFieldsOf, writableFromWire, writableOfRow } from './model.js';

function row(over: Partial<ModelRow> = {}): ModelRow {
  const t = new Date('2026-01-02T03:04:05.000Z');
  return {
    accountId: 'acme',
    modelId: 'm1',
    displayName: '',
    description: '',
    kind: 'HF_PEFT_ADDON',
    state: 'UPLOADING',
    status: { code: 'OK' },
    spec: { peftDetails: { baseModel: 'accounts/fireworks/models/b', r: 8, targetModules: ['q_proj'] } },
    fineTuningJob: null,
    files: null,
    createdBy: 'ann@acme.example',
    createTime: t,
    updateTime: t,
    ...over,
  };
}

describe('model mapper', () => {
  it('writes the full name, the columns and the spec fields; createdBy is not a wire field', () => {
    expect(modelToWire(row({ fineTuningJob: 'accounts/acme/supervisedFineTuningJobs/j' }), [{ name: 'accounts/acme/deployedModels/x', deployment: 'accounts/acme/deployments/d', state: 'DEPLOYING', default: true }])).toEqual({
      name: 'accounts/acme/models/m1',
      createTime: '2026-01-02T03:04:05Z',
      updateTime: '2026-01-02T03:04:05Z',
      state: 'UPLOADING',
      status: { code: 'OK' },
      kind: 'HF_PEFT_ADDON',
      peftDetails: { baseModel: 'accounts/fireworks/models/b', r: 8, targetModules: ['q_proj'] },
      fineTuningJob: 'accounts/acme/supervisedFineTuningJobs/j',
      deployedModelRefs: [{ name: 'accounts/acme/deployedModels/x', deployment: 'accounts/acme/deployments/d', state: 'DEPLOYING', default: true }],
    });
  });

  it('drops output-only fields (also nested ones) on input and writes int64 as strings', () => {
    const w = writableFromWire({ name: 'x', state: 'READY', kind: 'HF_BASE_MODEL', baseModelDetails: { parameterCount: 7, defaultPrecision: 'FP8' }, peftDetails: { baseModelType: 't' } });
    expect(w).toEqual({ kind: 'HF_BASE_MODEL', baseModelDetails: { parameterCount: '7' }, peftDetails: {} });
    expect(writableFromWire({ kind: 'KIND_UNSPECIFIED' })).toEqual({});
    expect(rowFieldsOf({ public: true })).toEqual({ displayName: '', description: '', kind: 'HF_PEFT_ADDON', spec: { public: true } });
    expect(isOutputOnlyPath('peftDetails.baseModelType')).toBe(true);
    expect(isOutputOnlyPath('deployedModelRefs')).toBe(true);
    expect(isOutputOnlyPath('peftDetails.r')).toBe(false);
  });

  it('keeps an empty TEFT message set across a round trip, so the kind rules still hold', () => {
    const teft = row({ kind: 'HF_TEFT_ADDON', spec: { ...row().spec, teftDetails: {} } });
    expect(modelViolations(writableOfRow(teft))).toEqual([]);
  });

  it('states the kind rules with field paths', () => {
    expect(modelViolations({}).map((v) => v.field)).toEqual(['peftDetails']);
    expect(modelViolations({ kind: 'HF_BASE_MODEL' }, 'model.').map((v) => v.field)).toEqual(['model.baseModelDetails']);
    expect(modelViolations({ kind: 'EMBEDDING_MODEL' })).toEqual([]);
  });
});
