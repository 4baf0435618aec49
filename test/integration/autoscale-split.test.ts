// Autoscaling with gateway and controller as SEPARATE parts talking over loopback HTTP, as modes
// `gateway` and `controller` run in two processes: the gateway's admin listener serves
// GET /internal/load, the controller's GatewayLoadScraper long-polls it (shared token), and the
// Autoscaler decides on the scraped sums. On the simulated cluster (real kube-apiserver, scheduler,
// controller manager, EndpointSlice controller; KWOK GPU nodes) with a real PostgreSQL.
//
//   1. a load step → N replicas: min 0 / max 4, scaleUpWindow 2s, `concurrencyPerReplica` 4 (an
//      operator setting) and loadTargets {default: 1}: 12 requests kept in flight (3× the
//      per-replica target) → 3 replicas; 24 → capped at max 4.
//   2. unusedAutoDeleteDuration (no CRD minimum; 3s here) → the controller soft-deletes the unused
//      deployment as REST DELETE does: annotation, DELETED, pods released, the decision in status.
//   3. discovery: the gateway replicas are the ready addresses of the admin Service's EndpointSlices.
//
// Endpoint resolution: KWOK pod IPs are unroutable, so `dialTarget` maps every endpoint to the
// fixture's loopback port (the one test seam). The controller only sees this run's label.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { request } from 'node:http';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, DiscoveryV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { Autoscaler } from '../../src/controllers/autoscaler/autoscaler.js';
import { GatewayLoadScraper, endpointSliceTargets } from '../../src/controllers/autoscaler/load-scraper.js';
import { kubeSoftDelete } from '../../src/controllers/autoscaler/soft-delete.js';
import { controllerManager } from '../../src/controllers/manager.js';
import { KubeClients, type Manager } from '../../src/controllers/runtime/index.js';
import { InformerFactory } from '../../src/kube/informer-factory.js';
import type { Deployment } from '../../src/crds/deployment.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { startGateway, type Gateway } from '../../src/gateway/index.js';
import { realClock } from '../../src/util/clock.js';
import { startModelServerFixture, type ModelServerFixture } from '../fixtures/model-server/index.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { testKubeConfig } from '../support/env.js';
import { kubeAccess } from '../support/kube.js';
import { createTestNamespace } from '../support/namespace.js';
import { dumpNamespace, waitFor } from '../support/wait.js';
import { TEST_SEAL } from '../support/tenancy.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `as-${suffix}`;
const NS = `acct-${ACCOUNT}`;
const RUN_LABEL = 'hearth.dev/autoscale-split-test';
const dbName = `hearth_t_as_${suffix}`;
const TOKEN = randomBytes(24).toString('hex');

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
let scraper: GatewayLoadScraper;
let apiKey = '';
const created: string[] = [];

function post(path: string, body: unknown, signal?: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, gw.url),
      { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }, ...(signal ? { signal } : {}) },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function getDeployment(name: string): Promise<Deployment> {
  return (await custom.getNamespacedCustomObject({ ...target, name })) as Deployment;
}

async function workloadReplicas(name: string): Promise<number | undefined> {
  try {
    return (await apps.readNamespacedDeployment({ namespace: NS, name: `${name}-server` })).spec?.replicas;
  } catch {
    return undefined;
  }
}

async function createDeployment(name: string, spec: Record<string, unknown>): Promise<void> {
  created.push(name);
  await custom.createNamespacedCustomObject({
    ...target,
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Deployment',
      metadata: { name, labels: { [RUN_LABEL]: suffix } },
      spec: { baseModel: BASE, acceleratorType: 'AMD_MI300X_192GB', acceleratorCount: 1, ...spec },
    },
  });
}

const dumpOf = (name: string) => async (): Promise<unknown> => {
  const d = await getDeployment(name).catch((e: unknown) => String(e));
  return {
    deployment: typeof d === 'string' ? d : { annotations: d.metadata.annotations, spec: d.spec, status: d.status },
    workloadReplicas: await workloadReplicas(name),
    gateway: { held: gw.core.hold.keys(), ready: gw.core.upstreams.counts(), board: gw.loadBoard.snapshot() },
    scraped: scraper.sample(NS, name, Date.now()),
    scrapeTargets: scraper.targets(),
    tracked: autoscaler.tracked(),
    ...((await dumpNamespace(kc, NS)) as object),
  };
};

beforeAll(async () => {
  database = await createScratchDatabase(dbName, { maxConnections: 5 });
  apiKey = (await bootstrap(database.db, { accountId: ACCOUNT, email: `admin@${ACCOUNT}.example` })).apiKey!.key;
  await createTestNamespace(kc, NS, { 'hearth.dev/account': ACCOUNT });
  // Each answer takes ~1 s (20 tokens × 50 ms), so a client loop keeps one request in flight.
  fx = await startModelServerFixture({ model: BASE, tokenLatencyMs: 50 });

  // The gateway "process": its own in-process aggregator is unused; the controller scrapes it.
  gw = await startGateway(
    { host: '127.0.0.1', port: 0, adminPort: 0, internalToken: TOKEN, processMetrics: false, reportIntervalMs: 500 },
    { informers: kubeAccess(kc, { log }).informers, db: database.db, log, dialTarget: () => ({ host: '127.0.0.1', port: fx.port }) },
  );
  await gw.synced;

  // The controller "process": scrapes the gateway's admin URL (HEARTH_GATEWAY_LOAD_URLS in main.ts).
  scraper = new GatewayLoadScraper({ clock: realClock, token: TOKEN, targets: [gw.adminUrl!], staleMs: 10_000, log });
  scraper.start();
  autoscaler = new Autoscaler({
    load: scraper,
    clock: realClock,
    settings: { concurrencyPerReplica: 4 },
    softDelete: kubeSoftDelete(kc),
    tickMs: 500,
    log,
  });
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
  await scraper?.stop();
  await manager?.stop();
  await informers?.stop();
  await gw?.close(2000);
  await fx?.close();
  for (const name of created) {
    await custom
      .patchNamespacedCustomObject({ ...target, name, body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
      .catch(() => undefined);
  }
  await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: NS }).catch(() => undefined);
  await database?.close();
  await dropScratchDatabase(dbName);
}, 60_000);

describe('autoscaling across the load transport (gateway and controller apart)', () => {
  it('a load step → N replicas: 3× the per-replica target gives 3, twice that is capped at max 4', async () => {
    const name = 'step';
    const key = `${NS}/${name}`;
    await createDeployment(name, { minReplicaCount: 0, maxReplicaCount: 4, autoscalingPolicy: { scaleUpWindow: '2s', loadTargets: { default: 1 } } });
    const dump = dumpOf(name);
    await waitFor(
      'the deployment READY at zero, seen by the gateway',
      async () => {
        const d = await getDeployment(name);
        return d.status?.state === 'READY' && d.status.desiredReplicaCount === 0 && gw.core.catalog.deployment(key) !== undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300, dump },
    );

    const stop = new AbortController();
    setMaxListeners(64, stop.signal); // one listener per client request
    const statuses: number[] = [];
    const model = `${BASE}#${ACCOUNT}/${name}`;
    const clients = (n: number): Promise<void>[] =>
      Array.from({ length: n }, async () => {
        while (!stop.signal.aborted) {
          const s = await post('/inference/v1/completions', { model, prompt: 'load', max_tokens: 20 }, stop.signal).catch(() => 0);
          if (!stop.signal.aborted) statuses.push(s);
        }
      });
    const running = clients(12);
    try {
      const three = await waitFor(
        'the workload at 3 replicas (12 in flight, 4 per replica at target 1)',
        async () => ((await workloadReplicas(name)) === 3 ? (await getDeployment(name)).status : undefined),
        { timeoutMs: 60_000, intervalMs: 200, dump },
      );
      expect(three?.scalingDecisions?.some((x) => x.reason === 'ScaleFromZero')).toBe(true);
      // It stays at 3 while the load holds (the up-window has passed; nothing asks for more).
      await waitFor('3 ready endpoints at the gateway', async () => gw.core.upstreams.readyCount(key) === 3, { timeoutMs: 60_000, intervalMs: 200, dump });
      expect(await workloadReplicas(name)).toBe(3);

      running.push(...clients(12)); // 24 in flight → 6 wanted, max 4
      // The controller writes the workload, then the status recording the decision: a read between
      // the two sees 4 replicas and the previous decision, so wait for both.
      const four = await waitFor(
        'the workload at max 4 replicas and the status recording that decision',
        async () => {
          if ((await workloadReplicas(name)) !== 4) return undefined;
          const status = (await getDeployment(name)).status;
          return status?.scalingDecisions?.at(-1)?.toReplicas === 4 ? status : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200, dump },
      );
      const last = four!.scalingDecisions!.at(-1)!;
      expect(last).toMatchObject({ toReplicas: 4 });
      expect(last.inputs?.maxReplicas).toBe(4);
      expect(last.inputs?.recommendation).toBeGreaterThan(4); // the load asked for more; max capped it
    } finally {
      stop.abort();
      await Promise.allSettled(running);
    }
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200), 'every finished request was served').toEqual([]);
  }, 240_000);

  it('unusedAutoDeleteDuration: an unused min-0 deployment is soft-deleted as REST DELETE does, once', async () => {
    const name = 'unused';
    await createDeployment(name, { minReplicaCount: 0, maxReplicaCount: 1, unusedAutoDeleteDuration: '3s' });
    const dump = dumpOf(name);
    const d = await waitFor(
      'the deployment soft-deleted (annotation set, DELETED)',
      async () => {
        const x = await getDeployment(name);
        return x.metadata.annotations?.['hearth.dev/soft-delete-requested'] && x.status?.state === 'DELETED' ? x : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300, dump },
    );
    const at = d.metadata.annotations!['hearth.dev/soft-delete-requested']!;
    expect(Date.parse(at) - Date.parse(d.metadata.creationTimestamp as unknown as string)).toBeGreaterThanOrEqual(3_000);
    const decisions = d.status!.scalingDecisions!.filter((x) => x.reason === 'UnusedAutoDelete');
    expect(decisions).toHaveLength(1);
    expect(decisions[0]!.message).toContain('unusedAutoDeleteDuration 3s');
    expect(d.status?.deleteTime).toBeDefined();
    expect(await workloadReplicas(name)).toBeUndefined(); // the pods' workload is gone (GPUs released)
    // Idempotent: the annotation is never rewritten.
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await getDeployment(name)).metadata.annotations?.['hearth.dev/soft-delete-requested']).toBe(at);
  }, 120_000);

  it('discovers gateway replicas from the EndpointSlices of the admin Service: ready, non-terminating addresses, port "admin"', async () => {
    const svc = 'gateway-admin';
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    // As the EndpointSlice controller would publish them for a headless Service (addresses from the
    // benchmarking range 198.18.0.0/15: never dialled here).
    await discovery.createNamespacedEndpointSlice({
      namespace: NS,
      body: {
        metadata: { name: `${svc}-a`, labels: { 'kubernetes.io/service-name': svc } },
        addressType: 'IPv4',
        ports: [
          { name: 'other', port: 1234, protocol: 'TCP' },
          { name: 'admin', port: 9091, protocol: 'TCP' },
        ],
        endpoints: [
          { addresses: ['198.18.0.1'], conditions: { ready: true } },
          { addresses: ['198.18.0.2'], conditions: { ready: false } },
          { addresses: ['198.18.0.3'], conditions: { ready: true, terminating: true } },
          { addresses: ['198.18.0.4'] },
        ],
      },
    });
    await discovery.createNamespacedEndpointSlice({
      namespace: NS,
      body: { metadata: { name: 'someone-else', labels: { 'kubernetes.io/service-name': 'other' } }, addressType: 'IPv4', ports: [{ name: 'admin', port: 9091 }], endpoints: [{ addresses: ['198.18.0.9'] }] },
    });
    const discover = endpointSliceTargets(kc, NS, `kubernetes.io/service-name=${svc}`);
    expect((await discover()).sort()).toEqual(['http://198.18.0.1:9091', 'http://198.18.0.4:9091']);
  }, 60_000);
});
