// Adapter requests over real HTTP: two model-server fixtures on loopback as two replicas of one
// deployment, the catalog and endpoints fed directly. An adapter request goes only to a replica the
// DeployedModel's status lists as LOADED, is held (bounded, Retry-After) while none is, and is
// answered 404 when the DeployedModel goes away.
import { request } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServerFixture, type ModelServerFixture } from '../../test/fixtures/model-server/index.js';
import type { ObjectLike } from './catalog.js';
import { startGateway, type Gateway } from './gateway.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const LORA = 'accounts/alice/models/my-lora';
let a: ModelServerFixture;
let b: ModelServerFixture;
let gw: Gateway;
const dialled: number[] = [];

function post(body: unknown): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/inference/v1/chat/completions', gw.url), { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer key-alice' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The DeployedModel as the controller's status describes it: LOADED on `addresses`. */
function deployedModel(addresses: string[], extra: Partial<NonNullable<ObjectLike['metadata']>> = {}): ObjectLike {
  return {
    metadata: { namespace: 'acct-alice', name: 'my-lora-1', ...extra },
    spec: { model: LORA, deployment: 'chat', default: true },
    status: { state: 'DEPLOYED', replicas: addresses.map((address, i) => ({ pod: `p${i}`, address, state: 'LOADED' })) },
  };
}

const chat = (model: string) => ({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });

beforeAll(async () => {
  a = await startModelServerFixture({ model: BASE });
  b = await startModelServerFixture({ model: BASE });
  // The replicas' "pod IPs": 10.0.0.1 → fixture a, 10.0.0.2 and 10.0.0.3 → fixture b (as a simulated dial map would).
  const ports: Record<string, number> = { '10.0.0.1': a.port, '10.0.0.2': b.port, '10.0.0.3': b.port };
  gw = await startGateway(
    { host: '127.0.0.1', port: 0, holdTimeoutMs: 500, notReadyRetryAfterSeconds: 7, processMetrics: false },
    {
      authenticate: async (t) => (t === 'key-alice' ? { ok: true, accountId: 'alice' } : { ok: false, reason: 'MISSING' }),
      loadReporter: { report: () => undefined },
      log: pino({ level: 'silent' }),
      dialTarget: (ep) => {
        const port = ports[ep.address] ?? 1;
        dialled.push(port);
        return { host: '127.0.0.1', port };
      },
    },
  );
  const { catalog, upstreams } = gw.core;
  catalog.upsertNamespace({ metadata: { name: 'acct-alice', labels: { 'hearth.dev/account': 'alice' } } });
  catalog.upsertDeployment({ metadata: { namespace: 'acct-alice', name: 'chat' }, spec: { baseModel: BASE, enableAddons: true } });
  upstreams.setSlice('acct-alice/chat', 's1', [
    { address: '10.0.0.1', port: 8000 },
    { address: '10.0.0.2', port: 8000 },
  ]);
  // Only replica b has the adapter.
  const load = await fetch(`${b.url}/v1/load_lora_adapter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lora_name: LORA, lora_path: '/mnt/models/alice/my-lora' }) });
  expect(load.status).toBe(200);
});

afterAll(async () => {
  await gw?.close(1000);
  await a?.close();
  await b?.close();
});

describe('adapter routing', () => {
  it('holds an adapter request while no replica has it loaded, then sends it only where it is loaded', async () => {
    gw.core.catalog.upsertDeployedModel(deployedModel([]));
    dialled.length = 0;
    const pending = post(chat(LORA));
    await new Promise((r) => setTimeout(r, 100));
    expect(dialled).toEqual([]); // held, not sent to a replica that would answer 404
    gw.core.catalog.upsertDeployedModel(deployedModel(['10.0.0.2:8000']));
    const r = await pending;
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as { model: string }).model).toBe(LORA);
    for (let i = 0; i < 6; i++) expect((await post(chat(`${LORA}#accounts/alice/deployments/chat`))).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await post(chat('accounts/alice/deployedModels/my-lora-1'))).status).toBe(200);
    expect(new Set(dialled)).toEqual(new Set([b.port]));
    // Base-model requests still use both replicas.
    dialled.length = 0;
    for (let i = 0; i < 4; i++) expect((await post(chat(`${BASE}#accounts/alice/deployments/chat`))).status).toBe(200);
    expect(new Set(dialled)).toEqual(new Set([a.port, b.port]));
  });

  it('a replica the status lists only after its endpoint turns ready here is used as soon as it is', async () => {
    gw.core.catalog.upsertDeployedModel(deployedModel(['10.0.0.3:8000']));
    const pending = post(chat(LORA));
    await new Promise((r) => setTimeout(r, 100));
    // The third replica becomes ready (fixture b stands in for it).
    const { upstreams } = gw.core;
    upstreams.setSlice('acct-alice/chat', 's2', [{ address: '10.0.0.3', port: 8000 }]);
    dialled.length = 0;
    const r = await pending;
    expect(r.status).toBe(200);
    expect(dialled).toEqual([b.port]);
    upstreams.setSlice('acct-alice/chat', 's2', []);
  });

  it('beyond the hold bound: 503 with Retry-After', async () => {
    gw.core.catalog.upsertDeployedModel(deployedModel([]));
    const r = await post(chat(LORA));
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('7');
  });

  it('a replica listed LOADED that lost the adapter (restarted in place, not yet polled): its 404 is not relayed; another replica serves it, or 503 with Retry-After', async () => {
    // Fixture a never had the adapter: it stands for a server that restarted since the controller looked.
    gw.core.catalog.upsertDeployedModel(deployedModel(['10.0.0.1:8000', '10.0.0.2:8000']));
    dialled.length = 0;
    for (let i = 0; i < 6; i++) {
      const r = await post(chat(LORA));
      expect(r.status, r.body).toBe(200);
      expect((JSON.parse(r.body) as { model: string }).model).toBe(LORA);
    }
    expect(dialled).toContain(a.port); // it was tried (the status said LOADED)…
    expect(dialled.filter((p) => p === b.port)).toHaveLength(6); // …and every request was served by b
    // Only the replica that lost it is listed: held like a cold start, then 503 with Retry-After — never its 404.
    gw.core.catalog.upsertDeployedModel(deployedModel(['10.0.0.1:8000']));
    const r = await post(chat(LORA));
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('7');
  });

  it('a held adapter request is answered 404 when the DeployedModel is unloaded meanwhile', async () => {
    gw.core.catalog.upsertDeployedModel(deployedModel([]));
    const pending = post(chat(LORA));
    await new Promise((r) => setTimeout(r, 100));
    gw.core.catalog.upsertDeployedModel(deployedModel([], { deletionTimestamp: '2026-12-06T00:00:00Z' }));
    expect((await pending).status).toBe(404);
    expect((await post(chat(LORA))).status).toBe(404);
  });
});
