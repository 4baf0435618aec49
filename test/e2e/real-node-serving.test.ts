// A real network path (issue 18 item 4): a CPU Deployment (`acceleratorType: CPU`) created over
// REST runs on the real node as a real container — the model-server fixture's image, imported into
// the node's containerd — and the gateway reaches it at its pod IP through the EndpointSlice, as in
// production: no `dialTarget` seam, no HEARTH_GATEWAY_SIMULATED_UPSTREAM. Scale from zero end to
// end over the pod network: request → held → autoscaler 0→1 → the pod Ready by its readiness probe
// → answered; idle → 0 (the pod gone); and from zero again.
//
// Wired as mode `all` wires it: one LoadAggregator (the gateway's reporter, the autoscaler's
// source), the controller manager with the operator's CPU runtime (`servers.cpu`: the fixture's
// image, its non-root user, the real node's label and taint), the REST API on a real PostgreSQL.
// The Deployment controller only reconciles this run's account (a selector on its label). The
// replicas run under the restricted Pod Security Standard, enforced on the namespace. The
// scale-to-zero window is shortened through the autoscaler's test/operator override (the CRD
// refuses < 5m). Skips loudly (never passes) without a Ready real node on this machine.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, DiscoveryV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCrds } from '../../hack/lib/crds.js';
import { buildModelServerImage, MODEL_SERVER_IMAGE, NONROOT } from '../../hack/lib/hearth-images.js';
import { importIntoRunningNode, REAL_NODE_LABEL, REAL_NODE_NAME, REAL_NODE_TOLERATION } from '../../hack/lib/real-node.js';
import { buildApp } from '../../src/api/app.js';
import { KubeKindClients } from '../../src/api/kube/kind-client.js';
import { NamespaceEnsurer, accountNamespace } from '../../src/api/kube/namespaces.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { Autoscaler } from '../../src/controllers/autoscaler/autoscaler.js';
import { parseConfig } from '../../src/config.js';
import { loadModelServerConfig, type ModelServerConfig } from '../../src/controllers/deployment/model-server-config.js';
import { controllerManager } from '../../src/controllers/manager.js';
import type { Manager } from '../../src/controllers/runtime/index.js';
import type { Deployment } from '../../src/crds/deployment.js';
import { GROUP, LABELS, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { LoadAggregator, startGateway, type Gateway } from '../../src/gateway/index.js';
import { SIMULATED_UPSTREAM_ENV } from '../../src/gateway/config.js';
import { KubeClients } from '../../src/kube/client.js';
import { InformerFactory } from '../../src/kube/informer-factory.js';
import { realClock } from '../../src/util/clock.js';
import { callApi } from '../support/api.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { testKubeConfig } from '../support/env.js';
import { postJson } from '../support/gateway-client.js';
import { kubeAccess } from '../support/kube.js';
import { REAL_NODE_POD_IP, realNodeReady } from '../support/real-node.js';
import { TEST_SEAL } from '../support/tenancy.js';
import { dumpNamespace, waitFor } from '../support/wait.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `rnsrv-${suffix}`;
const NS = accountNamespace(ACCOUNT);
const ID = 'cpu-chat';
const KEY = `${NS}/${ID}`;
const dbName = `hearth_t_rnsrv_${suffix}`;
const SCALE_TO_ZERO_MS = 5_000;
const POD_CIDR = REAL_NODE_POD_IP;

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const log = pino({ level: process.env.HEARTH_TEST_LOG ?? 'warn' });
const target = { group: GROUP, version: VERSION, namespace: NS, plural: 'deployments' };

const ready = await realNodeReady(core, 'serving over the pod network on the real node', 'test/e2e/real-node-serving.test.ts', { onThisMachine: true });

/**
 * The operator's CPU runtime for this cluster, as an operator writes it (HEARTH_MODEL_SERVER_CONFIG_FILE):
 * the fixture's image (it takes vLLM's command line), run as the image's non-root user, on the real
 * node only. Probes every second: the fixture starts in well under one, and the test measures the
 * cold start.
 */
const [uid, gid] = NONROOT.split(':').map(Number) as [number, number];
const SETTINGS = `servers:
  cpu:
    image: ${MODEL_SERVER_IMAGE}
    command: [/nodejs/bin/node, /app/model-server.mjs]
    cpu: 100m
    memory: 256Mi
    runAsUser: ${uid}
    runAsGroup: ${gid}
    fsGroup: ${gid}
    nodeSelector: { ${REAL_NODE_LABEL}: "true" }
    tolerations: [{ key: ${REAL_NODE_TOLERATION.key}, operator: ${REAL_NODE_TOLERATION.operator}, value: "${REAL_NODE_TOLERATION.value}", effect: ${REAL_NODE_TOLERATION.effect} }]
workload:
  probePeriodSeconds: 1
  terminationGracePeriodSeconds: 5
  shmSizeLimit: 64Mi
`;

/** The settings as mode `controller` reads them: the file through parseConfig, merged over the defaults. */
function modelServerSettings(): ModelServerConfig {
  const dir = mkdtempSync(join(tmpdir(), 'rnsrv-settings-'));
  try {
    writeFileSync(join(dir, 'model-server.yaml'), SETTINGS);
    return loadModelServerConfig(parseConfig({ HEARTH_MODEL_SERVER_CONFIG_FILE: join(dir, 'model-server.yaml') }).modelServer.configFile);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let database: Database;
let kinds: KubeKindClients;
let app: FastifyInstance;
let gw: Gateway;
let load: LoadAggregator;
let autoscaler: Autoscaler;
let informers: InformerFactory;
let manager: Manager;
let apiKey = '';
const timings: Record<string, number> = {};
const t0 = Date.now();

const rest = (method: string, path: string, body?: unknown) => callApi(app, method, `/v1/accounts/${ACCOUNT}/${path}`, apiKey, body);
const chat = (content: string) => postJson(gw.url, '/inference/v1/chat/completions', { model: `${BASE}#${ACCOUNT}/${ID}`, messages: [{ role: 'user', content }], max_tokens: 4 }, apiKey);

async function getDeployment(): Promise<Deployment> {
  return (await custom.getNamespacedCustomObject({ ...target, name: ID })) as Deployment;
}

async function workloadReplicas(): Promise<number | undefined> {
  return (await apps.readNamespacedDeployment({ namespace: NS, name: `${ID}-server` }).catch(() => undefined))?.spec?.replicas;
}

async function servingPods(): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: NS, labelSelector: `${LABELS.deployment}=${ID}` })).items.filter((p) => !p.metadata?.deletionTimestamp);
}

const dump = async (): Promise<unknown> => ({
  deployment: await getDeployment().then((d) => ({ spec: d.spec, status: d.status }), (e: unknown) => String(e)),
  workloadReplicas: await workloadReplicas(),
  slices: await kc
    .makeApiClient(DiscoveryV1Api)
    .listNamespacedEndpointSlice({ namespace: NS })
    .then((l) => l.items.map((s) => ({ name: s.metadata?.name, endpoints: s.endpoints, ports: s.ports }))),
  gateway: gw && { held: gw.core.hold.keys(), ready: gw.core.upstreams.counts() },
  ...((await dumpNamespace(kc, NS)) as object),
});

/** `vllm:generation_tokens_total` of the model server at `ip` (Prometheus text, vLLM's names). */
async function generatedTokens(ip: string): Promise<number> {
  const text = await (await fetch(`http://${ip}:8000/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const m = /^vllm:generation_tokens_total\{[^}]*\} (\S+)$/m.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/** One request from zero: held, the autoscaler scales 0→1 at once, the real pod becomes Ready, answered. */
async function fromZero(label: string): Promise<{ pod: V1Pod; heldToAnswerMs: number }> {
  expect(await workloadReplicas()).toBe(0);
  const started = Date.now();
  const reply = chat(`hello from ${label}`);
  await waitFor(`${label}: the request to be held`, async () => gw.core.hold.held(KEY) === 1, { timeoutMs: 10_000, intervalMs: 20, dump });
  await waitFor(`${label}: the autoscaler to scale the workload to 1`, async () => (await workloadReplicas()) === 1, { timeoutMs: 10_000, intervalMs: 50, dump });
  const r = await reply;
  const heldToAnswerMs = Date.now() - started;
  expect(r.status, r.body).toBe(200);
  const body = JSON.parse(r.body) as { model: string; choices: { message: { content: string } }[]; usage: { completion_tokens: number } };
  expect(body.model).toBe(BASE);
  expect(body.choices[0]?.message.content.length).toBeGreaterThan(0);
  expect(body.usage.completion_tokens).toBe(4);
  // The one replica: a real container on the real node, Ready by its readiness probe, at a pod IP
  // the gateway took from the EndpointSlice.
  const [pod, ...more] = await servingPods();
  expect(more).toEqual([]);
  expect(pod?.spec?.nodeName).toBe(REAL_NODE_NAME);
  expect(pod?.status?.podIP).toMatch(POD_CIDR);
  expect(pod?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  expect(pod?.status?.containerStatuses?.[0]).toMatchObject({ name: 'model-server', ready: true, image: MODEL_SERVER_IMAGE });
  expect(gw.core.upstreams.endpoints(KEY).map((e) => `${e.address}:${e.port}`)).toEqual([`${pod!.status!.podIP}:8000`]);
  // That container generated the answer: its own counters, read at its pod IP from this host.
  expect(await generatedTokens(pod!.status!.podIP!)).toBe(4);
  return { pod: pod!, heldToAnswerMs };
}

describe.runIf(ready)('serving on the real node over the pod network', () => {
  beforeAll(async () => {
    // Production wiring: nothing redirects the gateway's dials.
    expect(process.env[SIMULATED_UPSTREAM_ENV]).toBeUndefined();
    const work = mkdtempSync(join(tmpdir(), 'rnsrv-'));
    try {
      const img = await buildModelServerImage(work);
      await importIntoRunningNode([img], () => undefined);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    timings.imageMs = Date.now() - t0;

    await installCrds(kc, 'hearth-crds-test');
    database = await createScratchDatabase(dbName, { maxConnections: 5 });
    apiKey = (await bootstrap(database.db, { accountId: ACCOUNT, email: `admin@${ACCOUNT}.example` })).apiKey!.key;
    const namespaces = new NamespaceEnsurer(kc, { seal: TEST_SEAL });
    await namespaces.ensure(ACCOUNT);
    // The API server's PodSecurity admission enforces the restricted profile on the replicas.
    await core.patchNamespace(
      { name: NS, body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    kinds = new KubeKindClients(kubeAccess(kc, { log }), { log });
    await kinds.start();
    app = await buildApp({ db: database.db, deployments: kinds.deployments, kinds: kinds.others, ensureNamespace: (a) => namespaces.ensure(a), logger: log, rateLimit: false });

    load = new LoadAggregator({ staleMs: 10_000 });
    // No dialTarget: the gateway dials each endpoint's own address, the pod IP.
    gw = await startGateway({ host: '127.0.0.1', port: 0, processMetrics: false, reportIntervalMs: 500 }, { informers: kubeAccess(kc, { log }).informers, db: database.db, log, loadReporter: load });
    await gw.synced;
    autoscaler = new Autoscaler({ load, clock: realClock, scaleToZeroWindowOverrideMs: SCALE_TO_ZERO_MS, tickMs: 500, log });
    const clients = new KubeClients(kc, { qps: 50, burst: 100 }, realClock);
    informers = new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log, backoff: { initialMs: 200, maxMs: 2000 } });
    manager = controllerManager({
      clients,
      informers,
      db: database.db,
      log,
      shutdownTimeoutMs: 5000,
      metering: false,
      // Every controller of the manager scoped to this run: the cluster is shared (a sharded
      // DeployedModel controller still finalizes any deleting DeployedModel it sees).
      deployedModel: { namespace: NS },
      batchJob: { namespace: NS },
      nodePool: { namespace: NS },
      environment: { namespace: NS },
      deployment: { selector: `${LABELS.account}=${ACCOUNT}`, autoscaler, modelServerConfig: modelServerSettings(), capacityRetryMs: 2000, quotaRetryMs: 2000 },
    });
    manager.start();
    timings.setupMs = Date.now() - t0;
  }, 600_000);

  afterAll(async () => {
    autoscaler?.stop();
    await manager?.stop();
    await informers?.stop();
    await gw?.close(2000);
    await app?.close();
    await kinds?.stop();
    await core.deleteNamespace({ name: NS }).catch(() => undefined);
    await database?.close();
    await dropScratchDatabase(dbName).catch(() => undefined);
    console.error(`[real-node-serving] ${JSON.stringify({ ...timings, totalMs: Date.now() - t0 })}`);
  }, 60_000);

  it('refuses a CPU deployment with accelerators or a region: 400 over REST, 422 from the CRD rules', async () => {
    const bad = await rest('POST', `deployments?deploymentId=${ID}-bad`, { baseModel: BASE, acceleratorType: 'CPU', acceleratorCount: 2 });
    expect(bad.status).toBe(400);
    const violations = (bad.body.details as { fieldViolations?: { field: string; description: string }[] }[]).find((d) => d.fieldViolations)!.fieldViolations!;
    expect(violations).toContainEqual(expect.objectContaining({ field: 'acceleratorCount', description: expect.stringContaining('must be unset with acceleratorType CPU') }));
    // Written with kubectl's API: the API server's CEL rule says the same.
    const refused = await custom
      .createNamespacedCustomObject({
        ...target,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', metadata: { name: `${ID}-bad` }, spec: { baseModel: BASE, acceleratorType: 'CPU', placement: { region: 'US_IOWA_1' } } },
      })
      .then(
        () => undefined,
        (e: { code?: number; body?: string }) => e,
      );
    expect(refused?.code).toBe(422);
    expect(String(refused?.body)).toContain('spec.placement: Forbidden: placement must be unset with acceleratorType CPU');
  });

  it('creates a CPU deployment over REST; a request from zero is held, the real pod starts, becomes Ready and answers over the pod network; idle → 0; and from zero again', { timeout: 300_000 }, async () => {
    const made = await rest('POST', `deployments?deploymentId=${ID}`, { baseModel: BASE, acceleratorType: 'CPU', minReplicaCount: 0, maxReplicaCount: 1 });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    expect(made.body).toMatchObject({ name: `accounts/${ACCOUNT}/deployments/${ID}`, acceleratorType: 'CPU' });
    await waitFor(
      'the deployment READY at zero replicas, seen by the gateway',
      async () => {
        const d = await getDeployment();
        return d.status?.state === 'READY' && d.status.desiredReplicaCount === 0 && gw.core.catalog.deployment(KEY) !== undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300, dump },
    );
    const workload = await apps.readNamespacedDeployment({ namespace: NS, name: `${ID}-server` });
    const podSpec = workload.spec!.template.spec!;
    expect(podSpec.nodeSelector).toEqual({ [REAL_NODE_LABEL]: 'true' });
    expect(podSpec.containers[0]?.resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '256Mi' } });

    const first = await fromZero('the first request');
    timings.firstColdStartMs = first.heldToAnswerMs;
    const s = (await getDeployment()).status;
    expect(s?.scalingDecisions?.some((x) => x.reason === 'ScaleFromZero' && x.fromReplicas === 0 && x.toReplicas === 1)).toBe(true);
    // Warm: served at once by the ready replica, not held.
    const again = await chat('and again');
    expect(again.status, again.body).toBe(200);
    expect(gw.core.hold.held(KEY)).toBe(0);
    const lastServedAt = Date.now();

    // Idle for the (overridden) scale-to-zero window: 0 replicas, the real pod gone, no endpoint.
    await waitFor(
      'the autoscaler to scale back to 0 and the pod to go',
      async () => {
        const st = (await getDeployment()).status;
        return st?.desiredReplicaCount === 0 && st.scalingDecisions?.at(-1)?.reason === 'ScaleToZero' && (await workloadReplicas()) === 0 && (await servingPods()).length === 0;
      },
      { timeoutMs: 60_000, intervalMs: 300, dump },
    );
    expect(Date.now() - lastServedAt).toBeGreaterThanOrEqual(SCALE_TO_ZERO_MS - 1_000);
    await waitFor('the gateway to see no ready replica', async () => gw.core.upstreams.readyCount(KEY) === 0, { timeoutMs: 30_000, dump });
    await expect.poll(async () => core.readNamespacedPod({ namespace: NS, name: first.pod.metadata!.name! }).then(() => 'present', () => 'gone'), { timeout: 30_000 }).toBe('gone');

    // From zero again: a new container at a (possibly new) pod IP.
    const second = await fromZero('a request after scale-to-zero');
    timings.secondColdStartMs = second.heldToAnswerMs;
    expect(second.pod.metadata?.uid).not.toBe(first.pod.metadata?.uid);

    // Soft delete over REST: the pods go (the controller deletes the workload).
    expect((await rest('DELETE', `deployments/${ID}`)).status).toBe(200);
    await waitFor('the pods to be gone after the soft delete', async () => (await servingPods()).length === 0 && (await workloadReplicas()) === undefined, { timeoutMs: 60_000, dump });
  });
});
