// A Deployment's direct route keys never sit in plain text in the custom resource (issue 15 item 8):
// the API stores digests, answers with digests, and a read-modify-write round trip keeps them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryKindClients, startTestHearth, type TestHearth } from '../../../test/support/hearth-app.js';
import { directRouteKeyDigest } from '../../auth/direct-route-keys.js';
import type { MemoryKindClient } from './memory-kind-client.test-helper.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const SECRET = 'dr-key-0123456789abcdef';
let h: TestHearth;
let deployments: MemoryKindClient;

async function call(method: 'POST' | 'PATCH' | 'GET', url: string, payload?: unknown) {
  const res = await h.app.inject({ method, url, headers: { authorization: `Bearer ${h.key}` }, ...(payload ? { payload: payload as object } : {}) });
  return { status: res.statusCode, text: res.body, body: JSON.parse(res.body) as Record<string, unknown> };
}

beforeAll(async () => {
  const m = memoryKindClients();
  h = await startTestHearth({ app: m });
  deployments = m.deployments as unknown as MemoryKindClient;
}, 60_000);
afterAll(async () => h?.close());

describe('directRouteApiKeys', () => {
  it('are stored and answered as SHA-256 digests, never in plain text', async () => {
    const made = await call('POST', '/v1/accounts/acme/deployments?deploymentId=direct', { baseModel: BASE, directRouteType: 'INTERNET', directRouteApiKeys: [SECRET] });
    expect(made.status, made.text).toBe(200);
    const stored = deployments.objects.get('acct-acme/direct');
    expect(JSON.stringify(stored)).not.toContain(SECRET);
    expect((stored?.spec as { directRouteApiKeys: string[] }).directRouteApiKeys).toEqual([directRouteKeyDigest(SECRET)]);
    expect(made.text).not.toContain(SECRET);
    const read = await call('GET', '/v1/accounts/acme/deployments/direct');
    expect(read.body.directRouteApiKeys).toEqual([directRouteKeyDigest(SECRET)]);
  });

  it('an update with the digests it read plus a new key keeps the old digest and digests the new key', async () => {
    const read = await call('GET', '/v1/accounts/acme/deployments/direct');
    const keys = [...(read.body.directRouteApiKeys as string[]), 'another-key-456'];
    const upd = await call('PATCH', '/v1/accounts/acme/deployments/direct?updateMask=directRouteApiKeys', { directRouteApiKeys: keys });
    expect(upd.status, upd.text).toBe(200);
    expect((deployments.objects.get('acct-acme/direct')?.spec as { directRouteApiKeys: string[] }).directRouteApiKeys).toEqual([directRouteKeyDigest(SECRET), directRouteKeyDigest('another-key-456')]);
    expect(JSON.stringify(deployments.objects.get('acct-acme/direct'))).not.toContain('another-key-456');
  });
});
