// The gateway against the simulated cluster: Deployments, DeployedModels and EndpointSlices come
// from the API server through the gateway's own watches; API keys from the REST API's tables
// (PGlite here); model servers are the fixture on 127.0.0.1.
//
// Endpoint resolution: the API server refuses loopback addresses in EndpointSlices ("may not be in
// the loopback range"), and KWOK pod IPs are unroutable. So slices carry addresses from
// 198.18.0.0/15 (benchmarking, never dialled) or KWOK pod IPs, and the test's `dialTarget` maps
// each such address to its fixture's loopback port — the one test seam, after the production
// resolution (watch → slice → ready endpoint → least in flight). Nothing leaves the machine.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1EndpointSlice, type V1OwnerReference } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCrds } from '../../hack/lib/crds.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { startGateway, type Gateway } from '../../src/gateway/index.js';
import { adapterHoldKey } from '../../src/gateway/server.js';
import type { LoadAggregator } from '../../src/gateway/load.js';
import { startModelServerFixture, type ModelServerFixture } from '../fixtures/model-server/index.js';
import { testKubeConfig } from '../support/env.js';
import { kubeAccess } from '../support/kube.js';
import { createTestNamespace } from '../support/namespace.js';
import { dumpNamespace, waitFor } from '../support/wait.js';
import { postJson } from '../support/gateway-client.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const LORA_SUFFIX = 'models/support-lora';
const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `gwit-${suffix}`;
const OTHER = `gwit-other-${suffix}`;
const NS = `acct-${ACCOUNT}`;

let kc: KubeConfig;
let db: Database;
let gw: Gateway;
let fx: ModelServerFixture;
let key = '';
let otherKey = '';
/** Slice address → fixture port on 127.0.0.1. */
const dial = new Map<string, number>();

const post = (path: string, body: unknown, apiKey = key, signal?: AbortSignal) => postJson(gw.url, path, body, apiKey, signal);

const dump = (): Promise<unknown> =>
  Promise.all([
    dumpNamespace(kc, NS),
    kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: NS }).then((l) => l.items.map((s) => ({ name: s.metadata?.name, labels: s.metadata?.labels, endpoints: s.endpoints, ports: s.ports }))),
    Promise.resolve({ held: gw.core.hold.keys(), ready: gw.core.upstreams.counts() }),
  ]);

async function createDeployment(name: string, annotations: Record<string, string> = {}): Promise<void> {
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: NS,
    plural: 'deployments',
    // replicaCount 0: a Deployment controller running against this cluster (mode `all`, the demo)
    // keeps it at zero pods; the test plays the replicas with fixture endpoints.
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', metadata: { name, annotations }, spec: { baseModel: BASE, replicaCount: 0 } },
  });
  await waitFor(`the gateway to see deployment ${name}`, async () => gw.core.catalog.deployment(`${NS}/${name}`) !== undefined, { timeoutMs: 15_000, dump });
}

/**
 * A selector-less Service for `deployment` made as the Deployment controller makes its Service
 * (managed-by hearth, controlled by the hearth.dev Deployment), and one EndpointSlice with one
 * endpoint, controlled by that Service: the gateway uses only slices a Hearth Service owns.
 */
async function createEndpoint(deployment: string, address: string, port: number, ready = true): Promise<void> {
  const svc = await hearthService(deployment);
  await createSlice(deployment, address, port, ready, [{ apiVersion: 'v1', kind: 'Service', name: svc.name, uid: svc.uid, controller: true }]);
}

async function createSlice(deployment: string, address: string, port: number, ready: boolean, ownerReferences: V1OwnerReference[]): Promise<void> {
  const labels = { 'hearth.dev/deployment': deployment, 'kubernetes.io/service-name': `${deployment}-gw`, 'endpointslice.kubernetes.io/managed-by': 'gateway-test.hearth.dev' };
  const slice: V1EndpointSlice = {
    metadata: { name: `${deployment}-${address.replace(/[.:]/g, '-')}`, labels, ownerReferences },
    addressType: address.includes(':') ? 'IPv6' : 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: [{ addresses: [address], conditions: { ready } }],
  };
  await kc.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({ namespace: NS, body: slice });
}

async function hearthService(deployment: string): Promise<{ name: string; uid: string }> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = `${deployment}-gw`;
  const dep = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'deployments', name: deployment })) as { metadata: { uid: string } };
  const owner = { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', name: deployment, uid: dep.metadata.uid, controller: true };
  const body = { metadata: { name, labels: { 'hearth.dev/deployment': deployment, 'app.kubernetes.io/managed-by': 'hearth' }, ownerReferences: [owner] }, spec: { ports: [{ name: 'http', port: 80 }] } };
  const svc = await core.createNamespacedService({ namespace: NS, body }).catch(async (e: { code?: number }) => {
    if (e.code !== 409) throw e;
    return core.readNamespacedService({ namespace: NS, name });
  });
  return { name, uid: svc.metadata?.uid ?? '' };
}

beforeAll(async () => {
  kc = testKubeConfig();
  // This tree's CRDs again: on a shared cluster another suite may have applied older ones since the
  // global setup, and the DeployedModel status the gateway routes adapters on needs this schema.
  await installCrds(kc, 'hearth-gateway-test');
  await createTestNamespace(kc, NS, { 'hearth.dev/account': ACCOUNT });
  db = await openDatabase();
  await db.migrate();
  key = (await bootstrap(db.db, { accountId: ACCOUNT, email: `admin@${ACCOUNT}.example` })).apiKey!.key;
  otherKey = (await bootstrap(db.db, { accountId: OTHER, email: `admin@${OTHER}.example` })).apiKey!.key;
  fx = await startModelServerFixture({ model: BASE, tokenLatencyMs: 5 });
  gw = await startGateway(
    { host: '127.0.0.1', port: 0, processMetrics: false, reportIntervalMs: 500 },
    {
      informers: kubeAccess(kc).informers,
      db: db.db,
      log: pino({ level: 'warn' }),
      dialTarget: (ep) => ({ host: '127.0.0.1', port: dial.get(ep.address) ?? 1 }),
    },
  );
  await gw.synced;
}, 120_000);

afterAll(async () => {
  await gw?.close(2000);
  await fx?.close();
  await db?.close();
  await kc?.makeApiClient(CoreV1Api).deleteNamespace({ name: NS }).catch(() => undefined);
});

describe('gateway on the simulated cluster', () => {
  it('discovers endpoints through the cluster and routes only to ready ones', async () => {
    await createDeployment('chat');
    dial.set('198.18.0.10', fx.port);
    await createEndpoint('chat', '198.18.0.11', 1, false); // not ready: never chosen
    await createEndpoint('chat', '198.18.0.10', fx.port);
    await waitFor('a ready endpoint for chat', async () => gw.core.upstreams.readyCount(`${NS}/chat`) === 1, { timeoutMs: 15_000, dump });
    for (const model of [`${BASE}#accounts/${ACCOUNT}/deployments/chat`, `fireworks/llama-v3p1-8b-instruct#${ACCOUNT}/chat`, BASE]) {
      const r = await post('/inference/v1/completions', { model, prompt: 'Say this is a test', max_tokens: 4 });
      expect(r.status, r.body).toBe(200);
      expect(JSON.parse(r.body)).toMatchObject({ model: BASE, usage: { completion_tokens: 4 } });
    }
    // another account's key: the same 404 as for a model that does not exist
    const theirs = await post('/inference/v1/completions', { model: `${BASE}#accounts/${ACCOUNT}/deployments/chat`, prompt: 'x' }, otherKey);
    const none = await post('/inference/v1/completions', { model: `${BASE}#accounts/${ACCOUNT}/deployments/nope`, prompt: 'x' });
    expect(theirs.status).toBe(404);
    expect(theirs.body).toBe(none.body);
    expect((await post('/inference/v1/completions', { model: BASE, prompt: 'x' }, 'hearth_not-a-key')).status).toBe(401);
  });

  it('dials only slices a Hearth Service owns, and never loopback, link-local or metadata addresses (issue 15 item 9)', async () => {
    await createDeployment('guarded');
    const svc = await hearthService('guarded');
    const owned = [{ apiVersion: 'v1', kind: 'Service', name: svc.name, uid: svc.uid, controller: true }];
    const core = kc.makeApiClient(CoreV1Api);
    // A Service that only looks like Hearth's by its deployment label (no managed-by, no owner).
    const plain = await core.createNamespacedService({ namespace: NS, body: { metadata: { name: 'guarded-plain', labels: { 'hearth.dev/deployment': 'guarded' } }, spec: { ports: [{ name: 'http', port: 80 }] } } });
    for (const a of ['198.18.0.40', '198.18.0.41', '198.18.0.42']) dial.set(a, fx.port);
    await createSlice('guarded', '198.18.0.40', fx.port, true, []); // no owner at all
    await createSlice('guarded', '198.18.0.41', fx.port, true, [{ apiVersion: 'v1', kind: 'Service', name: 'guarded-plain', uid: plain.metadata?.uid ?? '', controller: true }]);
    // Addresses outside the pod network, in a slice a Hearth Service owns. The API server itself
    // refuses some (loopback, link-local: 422); the others must be dropped by the gateway.
    let admitted = 0;
    for (const [address, port] of [['169.254.169.254', 80], ['127.0.0.1', fx.port], ['100.100.100.200', 80], ['fd00:ec2::254', 80], ['0.0.0.0', fx.port]] as const) {
      await createSlice('guarded', address, port, true, owned).then(
        () => admitted++,
        (e: { code?: number }) => expect(e.code, `${address}: ${String(e)}`).toBe(422),
      );
    }
    expect(admitted).toBeGreaterThan(0); // at least one reached the gateway's own check
    await createSlice('guarded', '198.18.0.42', fx.port, true, owned); // a pod address, last
    await waitFor('the owned pod address to be routable', async () => gw.core.upstreams.readyCount(`${NS}/guarded`) >= 1, { timeoutMs: 15_000, dump });
    expect(gw.core.upstreams.endpoints(`${NS}/guarded`).map((e) => e.id)).toEqual([`198.18.0.42:${fx.port}`]);
  });

  it('discovers a selector Service’s pods through the EndpointSlice controller (KWOK pod)', async () => {
    await createDeployment('pods');
    // Shaped like the Deployment controller's Service (hearth.dev/deployment on it, port 80 → the
    // pods' named port), under names and pod labels of its own, so a Deployment controller running
    // against this cluster neither collides with it nor adopts (and deletes) the test's pod.
    // Like that Service it is managed-by hearth and controlled by the hearth.dev Deployment: the
    // gateway uses only slices a Hearth Service owns.
    const podLabels = { 'hearth.dev/gateway-test': 'pods' };
    const core = kc.makeApiClient(CoreV1Api);
    const dep = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'deployments', name: 'pods' })) as { metadata: { uid: string } };
    const owner = { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', name: 'pods', uid: dep.metadata.uid, controller: true };
    await core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: 'pods-gw', labels: { 'hearth.dev/deployment': 'pods', 'app.kubernetes.io/managed-by': 'hearth' }, ownerReferences: [owner] },
        spec: { selector: podLabels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
      },
    });
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'pods-gw-0', labels: podLabels },
        spec: {
          containers: [{ name: 'model-server', image: 'vllm/vllm-openai:fixture', ports: [{ name: 'http', containerPort: 8000 }] }],
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }, { key: 'amd.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [{ key: 'type', operator: 'In', values: ['kwok'] }, { key: 'hearth.dev/bench', operator: 'DoesNotExist' }] }],
              },
            },
          },
        },
      },
    });
    const ep = await waitFor(
      'the EndpointSlice controller to publish the ready pod, and the gateway to see it',
      async () => gw.core.upstreams.endpoints(`${NS}/pods`)[0],
      { timeoutMs: 60_000, dump },
    );
    const pod = await core.readNamespacedPod({ namespace: NS, name: 'pods-gw-0' });
    expect(ep).toMatchObject({ address: pod.status?.podIP, port: 8000 });
    dial.set(ep.address, fx.port);
    const r = await post('/inference/v1/completions', { model: `${BASE}#${ACCOUNT}/pods`, prompt: 'hello', max_tokens: 2 });
    expect(r.status, r.body).toBe(200);
  });

  it('routes a public deployed model for another account’s key', async () => {
    const lora = `accounts/${ACCOUNT}/${LORA_SUFFIX}`;
    await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NS,
      plural: 'deployedmodels',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'DeployedModel', metadata: { name: 'support-lora-pub' }, spec: { model: lora, deployment: 'chat', public: true } },
    });
    const id = `accounts/${ACCOUNT}/deployedModels/support-lora-pub`;
    await waitFor('the gateway to see the deployed model', async () => gw.core.catalog.resolve(id, OTHER) !== undefined, { timeoutMs: 15_000, dump });
    // No replica has the adapter yet: the request is held (issue 12: never sent to a replica that
    // would answer 404), not answered 404 by the fixture.
    const reply = post('/inference/v1/completions', { model: id, prompt: 'x', max_tokens: 2 }, otherKey);
    await waitFor('the adapter request to be held', async () => gw.core.hold.held(adapterHoldKey(`${NS}/support-lora-pub`)) === 1, { timeoutMs: 10_000, dump });
    // What the DeployedModel controller does: load the adapter into the replica, then say so in status.
    const load = await fetch(`${fx.url}/v1/load_lora_adapter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lora_name: lora, lora_path: '/mnt/models/x' }) });
    expect(load.status).toBe(200);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const ref = { group: GROUP, version: VERSION, namespace: NS, plural: 'deployedmodels', name: 'support-lora-pub' };
    const obj = (await custom.getNamespacedCustomObject(ref)) as Record<string, unknown>;
    await custom.replaceNamespacedCustomObjectStatus({ ...ref, body: { ...obj, status: { state: 'DEPLOYED', replicas: [{ pod: 'chat-0', address: `198.18.0.10:${fx.port}`, state: 'LOADED' }] } } });
    const r = await reply;
    expect(r.status, r.body).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ model: lora });
  });

  it('streams SSE intact through the gateway', async () => {
    const body = { model: `${BASE}#accounts/${ACCOUNT}/deployments/chat`, messages: [{ role: 'user', content: 'tell me a story' }], max_tokens: 12 };
    const whole = JSON.parse((await post('/inference/v1/chat/completions', body)).body) as { choices: Array<{ message: { content: string } }> };
    const s = await post('/inference/v1/chat/completions', { ...body, stream: true });
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = s.body.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const text = events
      .slice(0, -1)
      .map((e) => JSON.parse(e.slice('data: '.length)) as { choices: Array<{ delta?: { content?: string } }>; usage?: unknown })
      .map((c) => {
        expect(c.usage).toBeUndefined(); // the usage chunk the gateway asked for is not shown
        return c.choices[0]?.delta?.content ?? '';
      })
      .join('');
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(s.reads).toBeGreaterThan(1);
  });

  it('holds a request for a deployment at zero, signals demand at once, and serves it when an endpoint appears', async () => {
    await createDeployment('cold');
    const aggregator = gw.aggregator as LoadAggregator;
    const demanded: string[] = [];
    const off = aggregator.onDemand((ns, d) => demanded.push(`${ns}/${d}`));
    try {
      const pending = post('/inference/v1/completions', { model: `${BASE}#${ACCOUNT}/cold`, prompt: 'wake up', max_tokens: 2 });
      await waitFor('the request to be held', async () => gw.core.hold.held(`${NS}/cold`) === 1, { timeoutMs: 10_000, dump });
      expect(demanded).toEqual([`${NS}/cold`]);
      expect(aggregator.sample(NS, 'cold', Date.now())).toMatchObject({ inFlight: 1 });
      dial.set('198.18.0.20', fx.port);
      const t0 = Date.now();
      await createEndpoint('cold', '198.18.0.20', fx.port);
      const r = await pending;
      expect(r.status, r.body).toBe(200);
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      off();
    }
  });

  it('releases a held request when a starting replica’s endpoint turns ready', async () => {
    await createDeployment('warming');
    dial.set('198.18.0.30', fx.port);
    await createEndpoint('warming', '198.18.0.30', fx.port, false); // a pod that is starting: not ready yet
    const pending = post('/inference/v1/completions', { model: `${BASE}#${ACCOUNT}/warming`, prompt: 'x', max_tokens: 1 });
    await waitFor('the request to be held', async () => gw.core.hold.held(`${NS}/warming`) === 1, { timeoutMs: 10_000, dump });
    await kc.makeApiClient(DiscoveryV1Api).patchNamespacedEndpointSlice(
      { namespace: NS, name: 'warming-198-18-0-30', body: [{ op: 'replace', path: '/endpoints/0/conditions/ready', value: true }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    const r = await pending;
    expect(r.status, r.body).toBe(200);
  });

  it('past the time bound answers 503 with Retry-After; past the count bound 429', async () => {
    await createDeployment('never', { 'gateway.hearth.dev/hold-timeout-seconds': '1', 'gateway.hearth.dev/max-held-requests': '1' });
    const model = `${BASE}#${ACCOUNT}/never`;
    const t0 = Date.now();
    const first = post('/inference/v1/completions', { model, prompt: 'x' });
    await waitFor('the request to be held', async () => gw.core.hold.held(`${NS}/never`) === 1, { timeoutMs: 5_000, dump });
    const second = await post('/inference/v1/completions', { model, prompt: 'x' });
    expect(second.status).toBe(429);
    expect(Number(second.headers['retry-after'])).toBeGreaterThan(0);
    const r = await first;
    expect(r.status).toBe(503);
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(gw.core.hold.held(`${NS}/never`)).toBe(0);
  });
});
