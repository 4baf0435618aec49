// The REST API driven the way the platform's generated SDKs drive it (./sdk-client.ts), over real
// HTTP, for every operation Hearth serves (generated from its /openapi.json): their headers on
// every request, `{}` or no body, booleans as `true`, arrays as repeated parameters, pageToken
// round trips, camelCase both ways, and retries of 429/503 after Retry-After. No cluster: the
// custom-resource collections are in memory (test/support/hearth-app.ts).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { fillPath, servedOperations, startTestHearth, type HearthOperation, type TestHearth } from '../support/hearth-app.js';
import { SdkClient, type Query } from './sdk-client.js';

let h: TestHearth;
let ops: { method: string; path: string; op: HearthOperation }[];

/** Query parameters the published spec types as booleans (Hearth's document has them as strings). */
const BOOLEAN_QUERY = (() => {
  const spec = parseYaml(readFileSync(fileURLToPath(new URL('../../spec/fireworks-gateway-openapi.yml', import.meta.url)), 'utf8'), { maxAliasCount: -1 }) as {
    paths: Record<string, Record<string, { parameters?: { name: string; in: string; schema?: { type?: string } }[] }>>;
  };
  const names = new Set<string>();
  for (const ops of Object.values(spec.paths)) for (const op of Object.values(ops)) for (const p of op.parameters ?? []) if (p.in === 'query' && p.schema?.type === 'boolean') names.add(p.name);
  return names;
})();

const isArrayParam = (schema: Record<string, unknown> | undefined): boolean =>
  schema?.type === 'array' || ((schema?.anyOf as Record<string, unknown>[] | undefined) ?? []).some((s) => s.type === 'array');

/** The query an SDK sends for an operation: every boolean parameter as `true`, every array as two repeated values. */
function sdkQuery(op: HearthOperation): Query {
  const q: Query = {};
  for (const p of op.parameters ?? []) {
    if (p.in !== 'query') continue;
    if (BOOLEAN_QUERY.has(p.name)) q[p.name] = p.name === 'validateOnly' ? true : p.name === 'hard' ? false : true;
    else if (isArrayParam(p.schema)) q[p.name] = ['0', '1'];
  }
  return q;
}

/** Every key of a JSON value, recursively, except inside maps the client owns (labels, annotations, …). */
function keysOf(v: unknown, out: string[] = [], inMap = false): string[] {
  if (Array.isArray(v)) v.forEach((x) => keysOf(x, out));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (!inMap) out.push(k);
      keysOf(x, out, ['annotations', 'labels', 'loadTargets', 'filenameToSize', 'metadata', 'nodeSelector'].includes(k));
    }
  }
  return out;
}

beforeAll(async () => {
  h = await startTestHearth({ listen: true });
  ops = await servedOperations(h.app);
}, 60_000);
afterAll(async () => h?.close());

describe('generated-SDK behaviour against every served operation', () => {
  for (const emptyBody of ['object', 'none'] as const) {
    it(`accepts the SDK headers, query encodings and ${emptyBody === 'object' ? '`{}`' : 'no'} body on every operation`, async () => {
      const sdk = new SdkClient({ baseUrl: h.url, apiKey: h.key, maxRetries: 0, emptyBody });
      expect(ops.length).toBeGreaterThan(60);
      const withBooleans: string[] = [];
      const withArrays: string[] = [];
      for (const { method, path, op } of ops) {
        const what = `${method} ${path}`;
        const query = sdkQuery(op);
        if (Object.values(query).some((v) => typeof v === 'boolean')) withBooleans.push(what);
        if (Object.values(query).some(Array.isArray)) withArrays.push(what);
        const res = await sdk.request(method, fillPath(path, 'acme'), { query });
        const shown = `${what}${Object.keys(query).length ? ` ?${new URL(res.sent.url).search}` : ''} → ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
        expect(res.sent.headers['content-type'], what).toBe('application/json');
        expect(res.status, shown).toBeLessThan(500);
        expect([401, 403, 406, 415], shown).not.toContain(res.status);
        expect(res.headers.get('content-type'), shown).toMatch(/^application\/json/);
        if (res.status >= 400) {
          expect(res.body, shown).toMatchObject({ code: expect.any(Number), message: expect.any(String), details: expect.any(Array) });
          // Nothing the SDK did is the problem: not a header, not the encoding of a query value, not an empty body.
          const message = String(res.body.message);
          expect(message, shown).not.toMatch(/content-type|accept|user-agent|idempotency|stainless|body is empty|\(body\)/i);
          for (const name of Object.keys(query)) expect(message, shown).not.toContain(`${name}:`);
        } else {
          // camelCase always, snake_case never.
          expect(keysOf(res.body).filter((k) => k.includes('_')), shown).toEqual([]);
        }
      }
      expect(withBooleans.length).toBeGreaterThanOrEqual(5);
      expect(withArrays.length).toBeGreaterThanOrEqual(1);
    }, 120_000);
  }

  it('creates, pages, updates, deletes and undeletes as an SDK does (camelCase bodies, DELETE with Content-Type and no body)', async () => {
    const sdk = new SdkClient({ baseUrl: h.url, apiKey: h.key, maxRetries: 0, emptyBody: 'none' });
    const base = '/v1/accounts/acme/deployments';
    for (const id of ['sdk-a', 'sdk-b', 'sdk-c']) {
      const made = await sdk.request('POST', base, { query: { deploymentId: id }, body: { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', minReplicaCount: 0, maxReplicaCount: 1, autoscalingPolicy: { scaleToZeroWindow: '1h' } } });
      expect(made.status, JSON.stringify(made.body)).toBe(200);
      expect(made.body).toMatchObject({ name: `accounts/acme/deployments/${id}`, baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', autoscalingPolicy: { scaleToZeroWindow: '3600s' } });
    }
    const snake = await sdk.request('POST', base, { query: { deploymentId: 'sdk-snake' }, body: { base_model: 'accounts/fireworks/models/llama-v3p1-8b-instruct' } });
    expect(snake.status).toBe(400);
    expect(String(snake.body.message)).toContain('base_model');

    const names: string[] = [];
    const pages = sdk.paginate(base, 'deployments', { pageSize: 1, orderBy: 'name' });
    let r = await pages.next();
    while (!r.done) {
      names.push(String(r.value.name));
      r = await pages.next();
    }
    expect(names.filter((n) => n.includes('/sdk-'))).toEqual(['accounts/acme/deployments/sdk-a', 'accounts/acme/deployments/sdk-b', 'accounts/acme/deployments/sdk-c']);
    expect(r.value).toBeGreaterThanOrEqual(3);

    expect((await sdk.request('PATCH', `${base}/sdk-a`, { body: { displayName: 'A' } })).body.displayName).toBe('A');
    const del = await sdk.request('DELETE', `${base}/sdk-a`);
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(del.sent.body).toBeUndefined();
    expect(del.sent.headers['content-type']).toBe('application/json');
    const shown = await sdk.request('GET', base, { query: { showDeleted: true } });
    expect((shown.body.deployments as { name: string }[]).map((d) => d.name)).toContain('accounts/acme/deployments/sdk-a');
    const hidden = await sdk.request('GET', base, { query: { showDeleted: false } });
    expect((hidden.body.deployments as { name: string }[]).map((d) => d.name)).not.toContain('accounts/acme/deployments/sdk-a');
    // The kind client has no controller to report DELETED: the soft-deleted deployment is undeletable
    // once its status says so, as the controller would write it.
    const undelete = await sdk.request('POST', `${base}/sdk-a:undelete`);
    expect(undelete.sent.body).toBeUndefined();
    expect([200, 400], JSON.stringify(undelete.body)).toContain(undelete.status);
    expect(String(undelete.body.message ?? '')).not.toMatch(/body/);
  });

  it('round-trips pageToken on every list operation with more than one page', async () => {
    const sdk = new SdkClient({ baseUrl: h.url, apiKey: h.key, maxRetries: 0 });
    for (const n of ['pat', 'quinn', 'rae']) expect((await sdk.request('POST', '/v1/accounts/acme/users', { body: { role: 'user', email: `${n}@acme.example` } })).status).toBe(200);
    for (const n of ['k1', 'k2']) expect((await sdk.request('POST', '/v1/accounts/acme/users/ann/apiKeys', { body: { apiKey: { displayName: n } } })).status).toBe(200);
    let multiPage = 0;
    for (const { method, path, op } of ops) {
      // List methods (AIP-132): a collection path, no `:verb` (getLogs pages too, but needs a job).
      if (method !== 'GET' || path.includes(':') || !(op.parameters ?? []).some((p) => p.name === 'pageToken')) continue;
      const url = fillPath(path.replace('{userId}', 'ann'), 'acme');
      const all = await sdk.request('GET', url, { query: { pageSize: 1000 } });
      expect(all.status, `${path} → ${JSON.stringify(all.body)}`).toBe(200);
      const collection = Object.keys(all.body).find((k) => Array.isArray(all.body[k]))!;
      const names: string[] = [];
      const pages = sdk.paginate(url, collection, { pageSize: 1 });
      let r = await pages.next();
      while (!r.done) {
        names.push(JSON.stringify(r.value.name ?? r.value));
        r = await pages.next();
      }
      const expected = ((all.body[collection] as Record<string, unknown>[] | undefined) ?? []).map((x) => JSON.stringify(x.name ?? x));
      expect(names, path).toEqual(expected);
      if (r.value > 1) multiPage++;
    }
    expect(multiPage).toBeGreaterThanOrEqual(3);
  });
});

describe('retries after Retry-After', () => {
  it('429: Hearth sends Retry-After; the SDK waits that long and then succeeds', async () => {
    let now = 0;
    const limited = await h.another({ rateLimit: { ratePerSecond: 1, burst: 1, now: () => now } });
    const url = await limited.listen({ host: '127.0.0.1', port: 0 });
    const waits: number[] = [];
    const sdk = new SdkClient({ baseUrl: url, apiKey: h.key, sleep: async (ms) => void (waits.push(ms), (now += ms)) });
    expect((await sdk.request('GET', '/v1/accounts/acme')).status).toBe(200);
    const second = await sdk.request('GET', '/v1/accounts/acme');
    expect(second.attempts).toEqual([429, 200]);
    expect(second.waited).toEqual([1000]);
    expect(second.status).toBe(200);
  });

  it('503: Hearth sends Retry-After; the SDK retries maxRetries times, then surfaces UNAVAILABLE', async () => {
    const noCluster = await h.another({ deployments: undefined, kinds: {} });
    const url = await noCluster.listen({ host: '127.0.0.1', port: 0 });
    const sdk = new SdkClient({ baseUrl: url, apiKey: h.key, maxRetries: 2, sleep: async () => {} });
    const res = await sdk.request('GET', '/v1/accounts/acme/deployments');
    expect(res.attempts).toEqual([503, 503, 503]);
    expect(res.waited).toEqual([1000, 1000]);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.body).toMatchObject({ code: 14 });
  });
});
