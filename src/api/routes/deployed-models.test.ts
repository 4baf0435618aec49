// DeployedModels through REST without a cluster: input validation (400 naming the field and the
// rule) runs before the cluster is needed; a valid request answers UNAVAILABLE. The behaviour on a
// cluster is in test/integration/api-models.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { openDatabase, type Database } from '../../db/client.js';
import { buildApp } from '../app.js';
import { bootstrap } from '../../auth/bootstrap.js';

let database: Database;
let app: FastifyInstance;
let key: string;

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  key = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  app = await buildApp({ db: database.db, rateLimit: false });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await database?.close();
});

async function call(method: string, url: string, payload?: unknown) {
  const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
}

const DM = '/v1/accounts/acme/deployedModels';
const valid = { model: 'accounts/acme/models/my-lora', deployment: 'accounts/acme/deployments/d1' };

describe('deployedModels without a cluster', () => {
  it('answers 400 naming the field and the rule for bad bodies', async () => {
    const cases: [string, string, unknown, string][] = [
      ['POST', DM, { deployment: valid.deployment }, 'model'],
      ['POST', DM, { model: valid.model }, 'deployment'],
      ['POST', DM, { ...valid, model: '' }, 'model'],
      ['POST', DM, { ...valid, serverless: true }, 'serverless'],
      ['POST', DM, { ...valid, default: 'yes' }, 'default'],
      ['POST', DM, { ...valid, displayName: 'x'.repeat(64) }, 'displayName'],
      ['POST', DM, { ...valid, bogus: 1 }, 'bogus'],
      ['POST', `${DM}?replaceMergedAddon=maybe`, valid, 'replaceMergedAddon'],
      ['PATCH', `${DM}/dm1`, { public: 1 }, 'public'],
      ['PATCH', `${DM}/dm1?updateMask=nope`, {}, 'updateMask'],
      ['PATCH', `${DM}/Bad_Id`, {}, 'deployedModelId'],
      ['GET', `${DM}/Bad_Id`, undefined, 'deployedModelId'],
    ];
    for (const [method, url, body, field] of cases) {
      const r = await call(method, url, body);
      expect(r.status, `${method} ${url} ${JSON.stringify(body)}`).toBe(400);
      expect(r.body.code).toBe(3);
      expect(r.body.message, JSON.stringify(r.body)).toContain(field);
    }
    const rule = await call('POST', DM, { ...valid, serverless: true });
    expect(rule.body.message).toContain('serverless must be false or unset');
  });

  it('answers UNAVAILABLE (503) for valid requests: the objects live in the cluster', async () => {
    for (const [method, url, body] of [
      ['GET', DM, undefined],
      ['POST', DM, valid],
      ['GET', `${DM}/dm1`, undefined],
      ['PATCH', `${DM}/dm1`, { displayName: 'x' }],
      ['DELETE', `${DM}/dm1`, undefined],
    ] as const) {
      const r = await call(method, url, body);
      expect(r.status, `${method} ${url}`).toBe(503);
      expect(r.body.code).toBe(14);
    }
  });

  it('documents the operations under the published operationIds', async () => {
    const doc = JSON.parse((await app.inject({ method: 'GET', url: '/openapi.json' })).body) as { paths: Record<string, Record<string, { operationId?: string }>> };
    expect(doc.paths['/v1/accounts/{accountId}/deployedModels']?.post?.operationId).toBe('Gateway_CreateDeployedModel');
    expect(doc.paths['/v1/accounts/{accountId}/deployedModels/{deployedModelId}']?.delete?.operationId).toBe('Gateway_DeleteDeployedModel');
    expect(doc.paths['/v1/accounts/{accountId}/models']?.post?.operationId).toBe('Gateway_CreateModel');
    expect(doc.paths['/v1/accounts/{accountId}/models/{modelId}']?.patch?.operationId).toBe('Gateway_UpdateModel');
  });
});
