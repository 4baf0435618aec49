// Every operation Hearth serves (generated from its /openapi.json), sent as generated SDKs send an
// optional body — none, an empty body with `Content-Type: application/json`, and `{}` — gets the
// same answer each way. Where the published spec's request message has required fields, the
// answer is a 400 naming them; nowhere is it "the request body is empty".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillPath, servedOperations, startTestHearth, type TestHearth } from '../../../test/support/hearth-app.js';
import { publishedOperation, requiredBodyFields } from './published-spec.js';

let h: TestHearth;
beforeAll(async () => {
  h = await startTestHearth();
}, 60_000);
afterAll(async () => h?.close());

const STYLES = {
  'no body': {},
  'an empty body with Content-Type: application/json': { headers: { 'content-type': 'application/json' }, payload: '' },
  '{}': { headers: { 'content-type': 'application/json' }, payload: '{}' },
} as const;

describe('empty bodies', () => {
  it('answers no body, an empty JSON body and {} alike, for every served operation', async () => {
    const ops = await servedOperations(h.app);
    expect(ops.length).toBeGreaterThan(60);
    let withRequired = 0;
    for (const { method, path } of ops) {
      const outcomes = [];
      for (const [style, o] of Object.entries(STYLES)) {
        const headers = { authorization: `Bearer ${h.key}`, ...('headers' in o ? o.headers : {}) };
        const res = await h.app.inject({ method: method as 'GET', url: fillPath(path, 'acme'), headers, ...('payload' in o ? { payload: o.payload } : {}) });
        const body = JSON.parse(res.body) as { code?: number; message?: string };
        expect(res.statusCode, `${method} ${path} with ${style} → ${res.body}`).toBeLessThan(500);
        expect(body.message ?? '', `${method} ${path} with ${style}`).not.toContain('body is empty');
        expect(body.message ?? '', `${method} ${path} with ${style}`).not.toContain('(body)');
        // Errors are compared whole; successes by status (their bodies carry times).
        outcomes.push(res.statusCode >= 400 ? { status: res.statusCode, code: body.code, message: body.message } : { status: res.statusCode });
      }
      expect(outcomes[1], `${method} ${path}: an empty JSON body vs no body`).toEqual(outcomes[0]);
      expect(outcomes[2], `${method} ${path}: {} vs no body`).toEqual(outcomes[0]);
      const published = publishedOperation(method, path);
      const required = published ? requiredBodyFields(published) : [];
      if (required.length > 0) {
        withRequired++;
        expect(outcomes[0]!.status, `${method} ${path} requires ${required.join(', ')}`).toBe(400);
        for (const field of required) expect(outcomes[0]!.message, `${method} ${path}`).toContain(`${field}: is required`);
      }
    }
    expect(withRequired).toBeGreaterThanOrEqual(5);
  }, 60_000);

  it('accepts an empty DELETE and :undelete the way the generated SDKs send them, and deletes', async () => {
    const headers = { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' };
    const created = await h.app.inject({ method: 'POST', url: '/v1/accounts/acme/deployments?deploymentId=sdk1', headers, payload: JSON.stringify({ baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct' }) });
    expect(created.statusCode, created.body).toBe(200);
    const del = await h.app.inject({ method: 'DELETE', url: '/v1/accounts/acme/deployments/sdk1', headers, payload: '' });
    expect(del.statusCode, del.body).toBe(200);
    const got = JSON.parse((await h.app.inject({ method: 'GET', url: '/v1/accounts/acme/deployments/sdk1', headers: { authorization: headers.authorization } })).body) as { state: string };
    expect(['DELETING', 'DELETED']).toContain(got.state);
  });

  it('still rejects a body that is not JSON or is JSON null', async () => {
    const headers = { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' };
    for (const payload of ['{"a":', 'null', '{"__proto__":{"x":1}}']) {
      const res = await h.app.inject({ method: 'POST', url: '/v1/accounts/acme/deployments/x1:undelete', headers, payload });
      expect(res.statusCode, payload).toBe(400);
    }
  });
});
