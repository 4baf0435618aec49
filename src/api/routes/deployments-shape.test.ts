// A Deployment from a deployment shape over REST (app.inject, PGlite, an in-memory store): the
// shape's settings fill what the body leaves out, the stored and returned `deploymentShape` is the
// version name, explicit fields may not contradict the shape, the region must offer its
// accelerator, unknown and private shapes are 404 naming them, and a PATCH keeps the shape's rules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { openDatabase, type Database } from '../../db/client.js';
import { bootstrap } from '../../auth/bootstrap.js';
import { deploymentShape } from '../../fleet/deployment-shapes.js';
import { buildApp } from '../app.js';
import type { DeploymentClient } from '../kube/kind-client.js';
import { MemoryKindClient } from './memory-kind-client.test-helper.js';

let database: Database;
let app: FastifyInstance;
let key: string;
const store = new MemoryKindClient();

const BASE = 'accounts/fireworks/models/llama-v3p1-70b-instruct';
const H100 = 'accounts/fireworks/deploymentShapes/llama-v3p1-70b-instruct-h100';
const H100_VERSION = `${H100}/versions/${deploymentShape('llama-v3p1-70b-instruct-h100')!.versionId}`;

async function call(method: string, url: string, payload?: unknown) {
  const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
}

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  key = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  app = await buildApp({ db: database.db, rateLimit: false, deployments: store as unknown as DeploymentClient, authenticatorOptions: { cacheTtlMs: 0 } });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await database?.close();
});

describe('a deployment from a deployment shape', () => {
  it("takes the shape's accelerator type and count, precision and context length, and names the shape version", async () => {
    const r = await call('POST', '/v1/accounts/acme/deployments?deploymentId=from-shape', { baseModel: BASE, deploymentShape: H100 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ deploymentShape: H100_VERSION, acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 2, precision: 'FP8', maxContextLength: 131072 });
    expect(store.objects.get('acct-acme/from-shape')!.spec).toMatchObject({ deploymentShape: H100_VERSION, acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 2, precision: 'FP8' });
    expect((await call('GET', '/v1/accounts/acme/deployments/from-shape')).body.deploymentShape).toBe(H100_VERSION);
  });

  it('accepts the version name, agreeing explicit fields, a shorter context and a region that offers the accelerator', async () => {
    const r = await call('POST', '/v1/accounts/acme/deployments?deploymentId=explicit', {
      baseModel: BASE,
      deploymentShape: H100_VERSION,
      acceleratorType: 'NVIDIA_H100_80GB',
      precision: 'FP8',
      maxContextLength: 8192,
      placement: { region: 'US_IOWA_1' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ deploymentShape: H100_VERSION, acceleratorCount: 2, maxContextLength: 8192 });
  });

  it('answers 400 naming both the field and the shape when an explicit field contradicts it', async () => {
    for (const [field, value] of [
      ['acceleratorType', 'NVIDIA_A100_80GB'],
      ['acceleratorCount', 4],
      ['precision', 'FP16'],
      ['maxContextLength', 200000],
      ['baseModel', 'accounts/fireworks/models/llama-v3p1-8b-instruct'],
    ] as const) {
      const r = await call('POST', '/v1/accounts/acme/deployments', { baseModel: BASE, deploymentShape: H100, [field]: value });
      expect(r.status, field).toBe(400);
      expect(r.body.message).toMatch(new RegExp(`^${field}: .*contradicts deploymentShape ${H100}.*; deploymentShape: ${H100} sets ${field}`));
      const violations = (r.body.details as { fieldViolations?: { field: string }[] }[]).find((d) => d.fieldViolations)!.fieldViolations!;
      expect(violations.map((v) => v.field)).toEqual([field, 'deploymentShape']);
    }
  });

  it('answers 400 naming placement.region when the region does not offer the shape accelerator', async () => {
    const r = await call('POST', '/v1/accounts/acme/deployments', { baseModel: BASE, deploymentShape: H100, placement: { region: 'US_ILLINOIS_2' } });
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/^placement\.region: US_ILLINOIS_2 does not offer NVIDIA_H100_80GB/);
    const list = await call('POST', '/v1/accounts/acme/deployments', { baseModel: BASE, deploymentShape: H100, placement: { regions: ['US_ILLINOIS_2', 'EU_PARIS_1'] } });
    expect(list.status).toBe(400);
    expect(list.body.message).toMatch(/^placement\.regions: /);
  });

  it('answers 404 naming an unknown shape, version, or another account shape; 400 for a malformed reference', async () => {
    const cases: [string, string][] = [
      ['accounts/fireworks/deploymentShapes/no-such-shape', 'deploymentShape "accounts/fireworks/deploymentShapes/no-such-shape" not found'],
      [`${H100}/versions/0000abcd`, `deploymentShapeVersion "${H100}/versions/0000abcd" not found`],
      ['accounts/globex/deploymentShapes/llama-v3p1-70b-instruct-h100', 'deploymentShape "accounts/globex/deploymentShapes/llama-v3p1-70b-instruct-h100" not found'],
      ['llama-v3p1-70b-instruct-h100', 'deploymentShape "accounts/acme/deploymentShapes/llama-v3p1-70b-instruct-h100" not found'],
    ];
    for (const [ref, message] of cases) {
      const r = await call('POST', '/v1/accounts/acme/deployments', { baseModel: BASE, deploymentShape: ref });
      expect(r, ref).toMatchObject({ status: 404, body: { message } });
    }
    const bad = await call('POST', '/v1/accounts/acme/deployments', { baseModel: BASE, deploymentShape: 'accounts/fireworks/models/x' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^deploymentShape: /);
  });

  it('keeps a shaped deployment consistent on PATCH; a PATCH that sets a shape applies it', async () => {
    const wrong = await call('PATCH', '/v1/accounts/acme/deployments/from-shape', { acceleratorType: 'NVIDIA_A100_80GB' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.message).toMatch(/^acceleratorType: .*contradicts deploymentShape/);
    const same = await call('PATCH', '/v1/accounts/acme/deployments/from-shape', { displayName: 'renamed' });
    expect(same.status).toBe(200);

    expect((await call('POST', '/v1/accounts/acme/deployments?deploymentId=plain', { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct' })).status).toBe(200);
    const shaped = await call('PATCH', '/v1/accounts/acme/deployments/plain?updateMask=deploymentShape', { deploymentShape: 'accounts/fireworks/deploymentShapes/llama-v3p1-8b-instruct-h200' });
    expect(shaped.status, JSON.stringify(shaped.body)).toBe(200);
    expect(shaped.body).toMatchObject({ acceleratorType: 'NVIDIA_H200_141GB', acceleratorCount: 1, precision: 'FP16', maxContextLength: 131072 });
    expect(String(shaped.body.deploymentShape)).toMatch(/^accounts\/fireworks\/deploymentShapes\/llama-v3p1-8b-instruct-h200\/versions\/[0-9a-f]{8}$/);
    // Leaving the shape: the settings stay as they are, and may then change.
    const left = await call('PATCH', '/v1/accounts/acme/deployments/plain', { deploymentShape: '', acceleratorType: 'NVIDIA_A100_80GB' });
    expect(left.status, JSON.stringify(left.body)).toBe(200);
    expect(left.body.acceleratorType).toBe('NVIDIA_A100_80GB');
  });
});
