// Every request field that names another resource, in both documented forms — the bare id of the
// published spec and the full name of the docs — and the cross-account case, through the one
// parser (wire/resource-names.ts) the collections apply. Adding a reference field means adding it
// to a kind's REFERENCES and to this table.
import { describe, expect, it } from 'vitest';
import { SOURCE_DATASET } from './datasets/service.js';
import { REFERENCES as BATCH_JOB } from './mappers/batch-job.js';
import { REFERENCES as DEPLOYED_MODEL } from './mappers/deployed-model.js';
import { parseShapeRef, resolveShape } from './mappers/deployment-shape.js';
import { REFERENCES as DEPLOYMENT } from './mappers/deployment.js';
import { CONNECTION_NODE_POOL } from './mappers/environment.js';
import { REFERENCES as SFT_JOB } from './mappers/sft-job.js';
import { BINDING_NODE_POOL } from './routes/node-pool-bindings.js';
import { ApiError } from './wire/errors.js';
import { parseReference, type ReferenceField } from './wire/resource-names.js';

const ALL: [kind: string, ref: ReferenceField][] = [
  ...SFT_JOB.map((r) => ['supervisedFineTuningJob', r] as [string, ReferenceField]),
  ...BATCH_JOB.map((r) => ['batchJob', r] as [string, ReferenceField]),
  ...DEPLOYED_MODEL.map((r) => ['deployedModel', r] as [string, ReferenceField]),
  ...DEPLOYMENT.map((r) => ['deployment', r] as [string, ReferenceField]),
  ['environment:connect', CONNECTION_NODE_POOL],
  ['nodePoolBinding', BINDING_NODE_POOL],
  ['dataset', SOURCE_DATASET],
];

/** kind, field, collection, stored form, shared accounts, another account's name: its answer. */
const TABLE: [string, string, string, 'name' | 'id', string[], 'public-check' | 404 | 400][] = [
  ['supervisedFineTuningJob', 'dataset', 'datasets', 'name', ['fireworks'], 400],
  ['supervisedFineTuningJob', 'evaluationDataset', 'datasets', 'name', ['fireworks'], 400],
  ['supervisedFineTuningJob', 'baseModel', 'models', 'name', ['fireworks'], 'public-check'],
  ['supervisedFineTuningJob', 'warmStartFrom', 'models', 'name', ['fireworks'], 'public-check'],
  ['supervisedFineTuningJob', 'outputModel', 'models', 'id', [], 400],
  ['batchJob', 'nodePoolId', 'nodePools', 'id', [], 404],
  ['batchJob', 'environmentId', 'environments', 'id', [], 404],
  ['deployedModel', 'model', 'models', 'name', ['fireworks'], 'public-check'],
  ['deployedModel', 'deployment', 'deployments', 'name', [], 404],
  ['deployment', 'baseModel', 'models', 'name', ['fireworks'], 'public-check'],
  ['deployment', 'draftModel', 'models', 'name', ['fireworks'], 'public-check'],
  ['environment:connect', 'connection.nodePoolId', 'nodePools', 'id', [], 404],
  ['nodePoolBinding', 'nodePoolId', 'nodePools', 'id', [], 404],
  ['dataset', 'sourceDatasetId', 'datasets', 'id', [], 404],
];

function failure(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('did not fail');
}

describe('reference fields', () => {
  it('lists every reference field of every served collection', () => {
    expect(ALL.map(([kind, r]) => [kind, r.field, r.collection, r.stored, [...(r.shared ?? [])]])).toEqual(TABLE.map((row) => row.slice(0, 5)));
  });

  describe.each(TABLE)('%s.%s', (kind, field, collection, stored, shared, foreign) => {
    const ref = ALL.find(([k, r]) => k === kind && r.field === field)![1];
    const full = `accounts/acme/${collection}/thing-1`;
    const want = stored === 'name' ? full : 'thing-1';

    it('accepts the bare id and the full name alike', () => {
      expect(parseReference('thing-1', ref, 'acme').stored).toBe(want);
      expect(parseReference(full, ref, 'acme').stored).toBe(want);
      if (ref.cluster) expect(parseReference(`accounts/acme/clusters/${ref.cluster}/${collection}/thing-1`, ref, 'acme').stored).toBe(want);
    });

    it("answers another account's full name as a missing object (or leaves a model to the public check)", () => {
      const name = `accounts/globex/${collection}/thing-1`;
      if (foreign === 'public-check') {
        expect(parseReference(name, ref, 'acme').stored).toBe(name);
        return;
      }
      const err = failure(() => parseReference(name, ref, 'acme'));
      expect(err.httpStatus).toBe(foreign);
      expect(err.message).toContain(field === 'outputModel' ? 'must name a model of account acme' : `"${name}" not found`);
    });

    it('accepts the shared catalog only where the docs allow it', () => {
      const name = `accounts/fireworks/${collection}/thing-1`;
      if (shared.includes('fireworks')) expect(parseReference(name, ref, 'acme').stored).toBe(name);
      else expect(failure(() => parseReference(name, ref, 'acme')).httpStatus).toBe(field === 'outputModel' ? 400 : foreign);
    });

    it('answers a malformed reference with 400 naming the field', () => {
      for (const bad of [`accounts/acme/other/thing-1`, 'accounts/acme', `accounts/Acme/${collection}/x`, `accounts/acme/clusters/default/other/x`]) {
        const err = failure(() => parseReference(bad, ref, 'acme'));
        expect(err.httpStatus, bad).toBe(400);
        expect(err.message, bad).toMatch(new RegExp(`^${field.replace('.', '\\.')}: `));
      }
    });
  });

  it('deploymentShape: the id, the name and the version name; another account reads as missing', () => {
    expect(parseShapeRef('s-1', 'acme')).toEqual({ accountId: 'acme', id: 's-1' });
    expect(parseShapeRef('accounts/acme/deploymentShapes/s-1', 'acme')).toEqual({ accountId: 'acme', id: 's-1' });
    const shape = resolveShape('accounts/fireworks/deploymentShapes/llama-v3p1-8b-instruct-a100', 'acme');
    expect(resolveShape(`accounts/fireworks/deploymentShapes/llama-v3p1-8b-instruct-a100/versions/${shape.versionId}`, 'acme')).toBe(shape);
    expect(failure(() => resolveShape('accounts/globex/deploymentShapes/llama-v3p1-8b-instruct-a100', 'acme')).httpStatus).toBe(404);
  });
});
