// Deployment shapes through the REST facade with app.inject on PGlite: the catalog's shapes under
// accounts/fireworks readable by every account, versions, list paging/filter/targetModel, readMask,
// NOT_FOUND naming the shape, other accounts' shapes, and 501 for the writes Hearth does not serve.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { openDatabase, type Database } from '../../db/client.js';
import { bootstrap } from '../../auth/bootstrap.js';
import { DEPLOYMENT_SHAPES, deploymentShape } from '../../fleet/deployment-shapes.js';
import { buildApp } from '../app.js';

let database: Database;
let app: FastifyInstance;
let acmeKey: string;
let globexKey: string;

async function call(url: string, key: string, method = 'GET', payload?: unknown) {
  const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
}

const SHAPES = '/v1/accounts/fireworks/deploymentShapes';

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  acmeKey = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  globexKey = (await bootstrap(database.db, { accountId: 'globex', email: 'hank@globex.example' })).apiKey!.key;
  app = await buildApp({ db: database.db, rateLimit: false, authenticatorOptions: { cacheTtlMs: 0 } });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await database?.close();
});

describe('deployment shapes', () => {
  it('returns a shape of the catalog to a caller of any account', async () => {
    const shape = deploymentShape('llama-v3p1-70b-instruct-h100')!;
    for (const key of [acmeKey, globexKey]) {
      const r = await call(`${SHAPES}/llama-v3p1-70b-instruct-h100`, key);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        name: 'accounts/fireworks/deploymentShapes/llama-v3p1-70b-instruct-h100',
        displayName: shape.displayName,
        description: shape.description,
        baseModel: 'accounts/fireworks/models/llama-v3p1-70b-instruct',
        parameterCount: '70000000000',
        acceleratorCount: 2,
        acceleratorType: 'NVIDIA_H100_80GB',
        precision: 'FP8',
        maxContextLength: 131072,
        presetType: 'MINIMAL',
      });
    }
  });

  it('lists every shape, pages, filters, narrows to a target model and masks', async () => {
    const first = await call(`${SHAPES}?pageSize=5`, acmeKey);
    expect(first.status).toBe(200);
    expect(first.body.totalSize).toBe(DEPLOYMENT_SHAPES.length);
    expect(first.body.deploymentShapes).toHaveLength(5);
    const next = await call(`${SHAPES}?pageSize=200&pageToken=${String(first.body.nextPageToken)}`, acmeKey);
    expect((next.body.deploymentShapes as unknown[]).length).toBe(DEPLOYMENT_SHAPES.length - 5);

    const target = await call(`${SHAPES}?targetModel=accounts/fireworks/models/llama-v3p1-8b-instruct&readMask=name,acceleratorType`, acmeKey);
    expect(target.body.deploymentShapes).toEqual([
      { name: 'accounts/fireworks/deploymentShapes/llama-v3p1-8b-instruct-a100', acceleratorType: 'NVIDIA_A100_80GB' },
      { name: 'accounts/fireworks/deploymentShapes/llama-v3p1-8b-instruct-h100', acceleratorType: 'NVIDIA_H100_80GB' },
      { name: 'accounts/fireworks/deploymentShapes/llama-v3p1-8b-instruct-h200', acceleratorType: 'NVIDIA_H200_141GB' },
      { name: 'accounts/fireworks/deploymentShapes/llama-v3p1-8b-instruct-mi300x', acceleratorType: 'AMD_MI300X_192GB' },
    ]);
    const filtered = await call(`${SHAPES}?filter=${encodeURIComponent('acceleratorCount >= 8')}&readMask=name`, acmeKey);
    expect(filtered.body.deploymentShapes).toEqual(DEPLOYMENT_SHAPES.filter((s) => s.acceleratorCount >= 8).map((s) => ({ name: `accounts/fireworks/deploymentShapes/${s.id}` })));
    expect((await call(`${SHAPES}?filter=${encodeURIComponent('nope = 1')}`, acmeKey)).status).toBe(400);
  });

  it('has one version per shape: the latest validated, public', async () => {
    const shape = deploymentShape('qwen2p5-0p5b-instruct-a100')!;
    const list = await call(`${SHAPES}/qwen2p5-0p5b-instruct-a100/versions`, globexKey);
    expect(list.status).toBe(200);
    const name = `accounts/fireworks/deploymentShapes/qwen2p5-0p5b-instruct-a100/versions/${shape.versionId}`;
    expect(list.body).toMatchObject({ totalSize: 1, deploymentShapeVersions: [{ name, validated: true, public: true, latestValidated: true }] });
    const one = await call(`${SHAPES}/qwen2p5-0p5b-instruct-a100/versions/${shape.versionId}`, globexKey);
    expect(one.body).toMatchObject({ name, snapshot: { name: 'accounts/fireworks/deploymentShapes/qwen2p5-0p5b-instruct-a100', acceleratorCount: 1 } });
    const old = await call(`${SHAPES}/qwen2p5-0p5b-instruct-a100/versions/0000abcd`, globexKey);
    expect(old.status).toBe(404);
    expect(old.body.message).toContain('accounts/fireworks/deploymentShapes/qwen2p5-0p5b-instruct-a100/versions/0000abcd');
  });

  it('answers NOT_FOUND naming an unknown shape; an account holds no shapes of its own; another account stays private', async () => {
    const missing = await call(`${SHAPES}/no-such-shape`, acmeKey);
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('deploymentShape "accounts/fireworks/deploymentShapes/no-such-shape" not found');
    expect((await call(`${SHAPES}/no-such-shape/versions`, acmeKey)).status).toBe(404);
    expect(await call('/v1/accounts/acme/deploymentShapes', acmeKey)).toEqual({ status: 200, body: { deploymentShapes: [], totalSize: 0 } });
    expect((await call('/v1/accounts/acme/deploymentShapes/llama-v3p1-8b-instruct-a100', acmeKey)).status).toBe(404);
    const foreign = await call('/v1/accounts/acme/deploymentShapes', globexKey);
    expect(foreign.status).toBe(404);
  });

  it('answers 501 for the writes (the shapes come from the fleet catalog)', async () => {
    const create = await call(SHAPES, acmeKey, 'POST', { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct' });
    expect(create.status).toBe(404); // another account's path: the tenancy rule comes first
    const own = await call('/v1/accounts/acme/deploymentShapes', acmeKey, 'POST', { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct' });
    expect(own.status).toBe(501);
    expect((await call('/v1/accounts/acme/deploymentShapes/x', acmeKey, 'DELETE')).status).toBe(501);
    expect((await call('/v1/accounts/acme/deploymentShapes/x', acmeKey, 'PATCH', { baseModel: 'm' })).status).toBe(501);
    expect((await call('/v1/accounts/acme/deploymentShapes/x/versions/v', acmeKey, 'PATCH', {})).status).toBe(501);
  });
});
