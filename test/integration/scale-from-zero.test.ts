// Scale from zero, end to end, on the simulated cluster (real kube-apiserver, scheduler, controller
// manager, EndpointSlice controller; KWOK GPU nodes) with a real PostgreSQL (quotas, API keys):
// gateway → ONE LoadAggregator → Autoscaler → Deployment controller → pods (KWOK Ready) →
// EndpointSlice → gateway → model-server fixture. Wired as `main.ts` mode `all` wires it.
//
// Endpoint resolution: KWOK pod IPs are unroutable, so `dialTarget` maps every endpoint address to
// the fixture's loopback port (the one test seam, after the production resolution). The controller
// runs with a selector on this run's label, so it touches nothing else on the shared cluster. The
// scale-to-zero window is shortened through the autoscaler's test/operator override (the CRD
// refuses < 5m). The hold bounds (503/429 + Retry-After) are covered by gateway.test.ts.
import { randomBytes } from 'node:crypto';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, DiscoveryV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { Autoscaler } from '../../src/controllers/autoscaler/autoscaler.js';
import { controllerManager } from '../../src/controllers/manager.js';
import { KubeClients, type Manager } from '../../src/controllers/runtime/index.js';
import { InformerFactory } from '../../src/kube/informer-factory.js';
import type { Deployment } from '../../src/crds/deployment.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { LoadAggregator, startGateway, type Gateway } from '../../src/gateway/index.js';
import { realClock } from '../../src/util/clock.js';
import { startModelServerFixture, type ModelServerFixture } from '../fixtures/model-server/index.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { testKubeConfig } from '../support/env.js';
import { kubeAccess } from '../support/kube.js';
import { createTestNamespace } from '../support/namespace.js';
import { dumpNamespace, waitFor } from '../support/wait.js';
import { postJson } from '../support/gateway-client.js';
import { TEST_SEAL } from '../support/tenancy.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `s0-${suffix}`;
const NS = `acct-${ACCOUNT}`;
const NAME = 'cold';
const KEY = `${NS}/${NAME}`;
const RUN_LABEL = 'hearth.dev/scale-from-zero-test';
const dbName = `hearth_t_s0_${suffix}`;
const SCALE_TO_ZERO_MS = 4_000;

const kc = testKubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);
const apps = kc.makeApiClient(AppsV1Api);
const log = pino({ level: process.env.HEARTH_TEST_LOG ?? 'warn' });
const target = { group: GROUP, version: VERSION, namespace: NS, plural: 'deployments' };
let database: Database;
let gw: Gateway;
let fx: ModelServerFixture;
let manager: Manager;
let informers: InformerFactory | undefined;
let autoscaler: Autoscaler;
let apiKey = '';
const dialled: string[] = [];

const post = (path: string, body: unknown) => postJson(gw.url, path, body, apiKey);

async function getDeployment(): Promise<Deployment> {
  return (await custom.getNamespacedCustomObject({ ...target, name: NAME })) as Deployment;
}

async function workloadReplicas(): Promise<number | undefined> {
  try {
    return (await apps.readNamespacedDeployment({ namespace: NS, name: `${NAME}-server` })).spec?.replicas;
  } catch {
    return undefined;
  }
}

const dump = async (): Promise<unknown> => {
  const d = await getDeployment().catch((e: unknown) => String(e));
  return {
    deployment: typeof d === 'string' ? d : { spec: d.spec, status: d.status },
    workloadReplicas: await workloadReplicas(),
    slices: await kc
      .makeApiClient(DiscoveryV1Api)
      .listNamespacedEndpointSlice({ namespace: NS })
      .then((l) => l.items.map((s) => ({ name: s.metadata?.name, endpoints: s.endpoints, ports: s.ports }))),
    gateway: { held: gw.core.hold.keys(), ready: gw.core.upstreams.counts() },
    load: autoscaler && gw ? loadNow() : undefined,
    tracked: autoscaler?.tracked(),
    ...((await dumpNamespace(kc, NS)) as object),
  };
};

let load: LoadAggregator;
const loadNow = () => load.sample(NS, NAME, Date.now());

beforeAll(async () => {
  database = await createScratchDatabase(dbName, { maxConnections: 5 });
  apiKey = (await bootstrap(database.db, { accountId: ACCOUNT, email: `admin@${ACCOUNT}.example` })).apiKey!.key;
  await createTestNamespace(kc, NS, { 'hearth.dev/account': ACCOUNT });
  fx = await startModelServerFixture({ model: BASE, tokenLatencyMs: 2 });

  // As main.ts mode `all`: one aggregator, the gateway's reporter and the autoscaler's source.
  load = new LoadAggregator({ staleMs: 10_000 });
  gw = await startGateway(
    { host: '127.0.0.1', port: 0, processMetrics: false, reportIntervalMs: 500 },
    {
      informers: kubeAccess(kc, { log }).informers,
      db: database.db,
      log,
      loadReporter: load,
      dialTarget: (ep) => {
        dialled.push(ep.address);
        return { host: '127.0.0.1', port: fx.port };
      },
    },
  );
  await gw.synced;
  autoscaler = new Autoscaler({ load, clock: realClock, scaleToZeroWindowOverrideMs: SCALE_TO_ZERO_MS, tickMs: 500, log });
  // As main.ts wires the `controller` mode: the process's one client and one informer cache.
  const clients = new KubeClients(kc, { qps: 50, burst: 100 }, realClock);
  informers = new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log, backoff: { initialMs: 200, maxMs: 2000 } });
  manager = controllerManager({
    clients,
    informers,
    db: database.db,
    log,
    shutdownTimeoutMs: 5000,
    // The BatchJob controller always runs: only this run's namespace (the cluster is shared).
    batchJob: { namespace: NS },
    deployment: { selector: `${RUN_LABEL}=${suffix}`, autoscaler, capacityRetryMs: 2000, quotaRetryMs: 2000 },
  });
  manager.start();
}, 120_000);

afterAll(async () => {
  autoscaler?.stop();
  await manager?.stop();
  await informers?.stop();
  await gw?.close(2000);
  await fx?.close();
  // The controller is stopped: drop its finalizer so the namespace can go.
  await custom
    .patchNamespacedCustomObject({ ...target, name: NAME, body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
    .catch(() => undefined);
  await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: NS }).catch(() => undefined);
  await database?.close();
  await dropScratchDatabase(dbName);
}, 60_000);

describe('scale from zero on the simulated cluster', () => {
  it('a min-0 deployment at 0: a request is held, the autoscaler scales to 1 at once, the ready pod serves it; idle → back to 0', async () => {
    await custom.createNamespacedCustomObject({
      ...target,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Deployment',
        metadata: { name: NAME, labels: { [RUN_LABEL]: suffix } },
        spec: { baseModel: BASE, acceleratorType: 'AMD_MI300X_192GB', acceleratorCount: 1, minReplicaCount: 0, maxReplicaCount: 2 },
      },
    });
    await waitFor(
      'the deployment READY at zero replicas, seen by the gateway',
      async () => {
        const d = await getDeployment();
        return d.status?.state === 'READY' && d.status.desiredReplicaCount === 0 && gw.core.catalog.deployment(KEY) !== undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300, dump },
    );
    expect(await workloadReplicas()).toBe(0);

    // The first request: held (no ready replica), which reports demand at once.
    const model = `${BASE}#${ACCOUNT}/${NAME}`;
    const reply = post('/inference/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4 });
    await waitFor('the request to be held', async () => gw.core.hold.held(KEY) === 1, { timeoutMs: 10_000, intervalMs: 20, dump });
    const heldAt = Date.now();
    await waitFor('the autoscaler to scale the workload to 1', async () => (await workloadReplicas()) === 1, { timeoutMs: 10_000, intervalMs: 20, dump });
    const scaledAfterMs = Date.now() - heldAt;
    // At once, not at the next resync or tick: demand enqueues the key (generous bound for a loaded box).
    expect(scaledAfterMs).toBeLessThan(5_000);

    const r = await reply;
    expect(r.status, r.body).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ model: BASE, usage: { completion_tokens: 4 } });
    expect(dialled.length).toBeGreaterThan(0);
    expect(gw.core.upstreams.readyCount(KEY)).toBe(1);

    const up = await waitFor(
      'status to record ScaleFromZero and the request time',
      async () => {
        const s = (await getDeployment()).status;
        return s?.scalingDecisions?.some((x) => x.reason === 'ScaleFromZero' && x.fromReplicas === 0 && x.toReplicas === 1) && s.lastRequestTime ? s : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 300, dump },
    );
    expect(up.desiredReplicaCount).toBe(1);
    // With what the autoscaler saw: the held request, summed over gateway replicas.
    const fromZero = up.scalingDecisions!.find((x) => x.reason === 'ScaleFromZero')!;
    expect(fromZero.inputs).toMatchObject({ currentReplicas: 0, minReplicas: 0, maxReplicas: 2 });
    expect(fromZero.inputs?.inFlight).toBeGreaterThanOrEqual(1);

    // A second request is served by the now-ready replica without being held.
    const again = await post('/inference/v1/completions', { model, prompt: 'Say this is a test', max_tokens: 2 });
    expect(again.status, again.body).toBe(200);
    const lastServedAt = Date.now();

    // No requests for the (overridden) scale-to-zero window → 0 replicas, pods gone.
    const down = await waitFor(
      'the autoscaler to scale back to 0 after the idle window',
      async () => {
        const s = (await getDeployment()).status;
        return s?.desiredReplicaCount === 0 && s.scalingDecisions?.at(-1)?.reason === 'ScaleToZero' && (await workloadReplicas()) === 0 ? s : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300, dump },
    );
    expect(Date.now() - lastServedAt).toBeGreaterThanOrEqual(SCALE_TO_ZERO_MS - 1_000);
    expect(down.scalingDecisions?.at(-1)).toMatchObject({ fromReplicas: 1, toReplicas: 0, reason: 'ScaleToZero' });
    expect(down.scalingDecisions?.length).toBeLessThanOrEqual(10);
    await waitFor('the gateway to see no ready replica', async () => gw.core.upstreams.readyCount(KEY) === 0, { timeoutMs: 30_000, dump });
    await waitFor('the status to be READY at zero again', async () => (await getDeployment()).status?.state === 'READY', { timeoutMs: 30_000, dump });
    // Settled: the autoscaler's tick and the gateways' reports cause no further writes (no status loop).
    const settled = (await getDeployment()).metadata.resourceVersion;
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await getDeployment()).metadata.resourceVersion).toBe(settled);
  }, 180_000);
});
