// Every operation of the published spec in a collection Hearth serves at all is served, or answers
// 501 UNIMPLEMENTED saying so — never the generic 404 of an unknown route. Collections Hearth does
// not serve keep that 404. Authentication and tenancy apply to the 501s as to any /v1 route.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillPath, servedOperations, startTestHearth, type TestHearth } from '../../../test/support/hearth-app.js';
import { collectionOf, PUBLISHED_OPERATIONS, shapeOf } from './published-spec.js';

let h: TestHearth;
beforeAll(async () => {
  h = await startTestHearth();
}, 60_000);
afterAll(async () => h?.close());

const specUrl = (path: string, accountId: string) => fillPath(path.replace('{account_id}', '{accountId}').replace(/\{[a-z_]+\}/g, '{x}'), accountId);

describe('published operations Hearth lacks', () => {
  it('answer 501 UNIMPLEMENTED naming the operation, in every collection Hearth serves', async () => {
    const served = new Set((await servedOperations(h.app)).map((o) => `${o.method} ${shapeOf(o.path)}`));
    const collections = new Set([...served].map((k) => collectionOf(k.slice(k.indexOf(' ') + 1))));
    let unimplemented = 0;
    let servedHere = 0;
    let elsewhere = 0;
    for (const op of PUBLISHED_OPERATIONS) {
      const what = `${op.method} ${op.path}`;
      const call = (key?: string, account = 'acme') =>
        h.app.inject({ method: op.method, url: specUrl(op.path, account), headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(op.method === 'GET' || op.method === 'DELETE' ? {} : { 'content-type': 'application/json' }) }, ...(op.method === 'GET' || op.method === 'DELETE' ? {} : { payload: '{}' }) });
      const res = await call(h.key);
      const body = JSON.parse(res.body) as { code: number; message: string };
      if (served.has(`${op.method} ${shapeOf(op.path)}`)) {
        servedHere++;
        expect(res.statusCode, `${what} is served → ${res.body}`).not.toBe(501);
        expect(body.message ?? '', `${what} is served`).not.toMatch(/^no such method/);
        continue;
      }
      if (!collections.has(op.collection)) {
        elsewhere++;
        expect(res.statusCode, `${what}: collection ${op.collection} is not served`).toBe(404);
        continue;
      }
      unimplemented++;
      expect(res.statusCode, `${what} → ${res.body}`).toBe(501);
      expect(body.code).toBe(12);
      expect(body.message).toBe(`${op.operationId.replace(/^Gateway_/, '')} (${op.method} ${op.path}) is not implemented by Hearth`);
      expect((await call()).statusCode, `${what} without a key`).toBe(401);
      if (op.path.includes('{account_id}')) expect((await call(h.key, 'globex')).statusCode, `${what} for another account`).toBe(404);
    }
    expect(servedHere).toBeGreaterThan(30);
    expect(unimplemented).toBeGreaterThan(10);
    expect(elsewhere).toBeGreaterThan(50);
  }, 60_000);

  it('are left out of /openapi.json, which lists what Hearth serves', async () => {
    const paths = (await servedOperations(h.app)).map((o) => o.path);
    expect(paths).not.toContain('/v1/accounts/{accountId}/deployments/{deploymentId}/ledger');
    expect((await h.app.inject({ method: 'GET', url: '/v1/accounts/acme/deployments/x1/ledger', headers: { authorization: `Bearer ${h.key}` } })).statusCode).toBe(501);
  });
});
