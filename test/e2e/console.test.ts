// The web console end to end (issue 17 items 6–9) in a real headless Chromium (Debian's package,
// driven by playwright-core) against Hearth wired as `main.ts` mode `all` wires it, on the
// simulated cluster and a real PostgreSQL: the REST API with the console, the gateway, the
// controller manager with the autoscaler and the history recorder.
//
// Sign in with an API key (a wrong key refused; the key in sessionStorage, never in the URL) → the
// deployments list shows a min-0 deployment at 0/0 → a request through the gateway scales it from
// zero → the deployment's timeline shows the ScaleFromZero decision, the cold start with its
// time to the first ready replica, the replicas plot, and later the scale back to zero → every
// other view (fleet, fine-tuning, batch jobs, datasets, quotas) opens without error. A fine-tuning
// job trains (the SFTJob controller, a trainer reporting progress) and its card in the fine-tuning
// view draws the loss curve REST exposes (trainingProgress.lossCurve). A batch job runs on a node
// pool (the NodePool and BatchJob controllers) and the batch jobs view shows its logs (REST
// :getLogs). No CSP violation or page error at any point. Screenshots: test-output/console/*.png.
//
// Simulation: KWOK pods; the gateway dials one model-server fixture for every endpoint (the one
// test seam, as in test/integration/scale-from-zero.test.ts); the scale-to-zero window is
// shortened through the autoscaler's override; test/support/trainer-fleet.ts runs the trainer
// fixture for each trainer pod; test/fixtures/kwok-sim gives a batch job's rank pod its output lines.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { KubeKindClients } from '../../src/api/kube/kind-client.js';
import { FsArtifactStore } from '../../src/artifacts/index.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { Autoscaler } from '../../src/controllers/autoscaler/autoscaler.js';
import { deploymentInformers } from '../../src/controllers/deployment/cache.js';
import { HistoryRecorder } from '../../src/controllers/history/recorder.js';
import { controllerManager } from '../../src/controllers/manager.js';
import { KubeClients, type Manager } from '../../src/controllers/runtime/index.js';
import { namespacesInformer } from '../../src/controllers/runtime/projections.js';
import { DEFAULT_TRAINER } from '../../src/controllers/sft-job/trainer.js';
import { accountOfNamespace } from '../../src/crds/account.js';
import type { Deployment } from '../../src/crds/deployment.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import type { Database } from '../../src/db/client.js';
import { LoadAggregator, startGateway, type Gateway } from '../../src/gateway/index.js';
import { InformerFactory } from '../../src/kube/informer-factory.js';
import { KubePodLogs } from '../../src/kube/pod-logs.js';
import { createLogger } from '../../src/log.js';
import { realClock } from '../../src/util/clock.js';
import { SIM_ENV, SimulatedOutput } from '../fixtures/kwok-sim/index.js';
import { startModelServerFixture, type ModelServerFixture } from '../fixtures/model-server/index.js';
import { buildConsole, chromiumPath, loudSkip, testOutput } from '../support/browser.js';
import { createScratchDatabase, dropScratchDatabase } from '../support/database.js';
import { testKubeConfig } from '../support/env.js';
import { createTestNamespace } from '../support/namespace.js';
import { TrainerFleet } from '../support/trainer-fleet.js';
import { dumpNamespace, waitFor } from '../support/wait.js';
import { chat as chatThroughGateway } from '../support/gateway-client.js';
import { TEST_SEAL } from '../support/tenancy.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `console-${suffix}`;
const NS = `acct-${ACCOUNT}`;
const NAME = 'cold';
const RUN_LABEL = 'hearth.dev/console-e2e';
const dbName = `hearth_t_console_${suffix}`;
const SCALE_TO_ZERO_MS = 6_000;
const OUT = testOutput('console');

const browserAt = chromiumPath();
if ('missing' in browserAt) loudSkip('the console end-to-end test (test/e2e/console.test.ts)', browserAt.missing);

const kc = testKubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);
const log = createLogger({ level: (process.env.HEARTH_TEST_LOG as 'warn' | undefined) ?? 'warn' });
const target = { group: GROUP, version: VERSION, namespace: NS, plural: 'deployments' };

let database: Database;
let app: FastifyInstance;
let apiUrl = '';
let kinds: KubeKindClients;
let gw: Gateway;
let fx: ModelServerFixture;
let manager: Manager;
let informers: InformerFactory;
let autoscaler: Autoscaler;
let history: HistoryRecorder;
let trainers: TrainerFleet;
let store: FsArtifactStore;
const storeDir = mkdtempSync(join(tmpdir(), 'hearth-console-store-'));
/** What the batch job's rank prints (the simulated output). */
const batchLines = (job: string, rank: number): string[] => Array.from({ length: 12 }, (_, i) => `${job} rank ${rank} step ${i}`);
let output: SimulatedOutput | undefined;
let browser: Browser | undefined;
let page: Page;
let apiKey = '';
/** Page errors and CSP violations seen in the browser: must stay empty. */
const pageProblems: string[] = [];

const chat = () => chatThroughGateway(gw.url, apiKey, `${BASE}#${ACCOUNT}/${NAME}`, 'hello', 4);

const getDeployment = async (): Promise<Deployment> => (await custom.getNamespacedCustomObject({ ...target, name: NAME })) as Deployment;

const dump = async (): Promise<unknown> => ({
  deployment: await getDeployment().then((d) => ({ spec: d.spec, status: d.status }), String),
  page: page ? { url: page.url(), text: (await page.textContent('body').catch(() => '')) ?? '' } : undefined,
  pageProblems,
  ...((await dumpNamespace(kc, NS)) as object),
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

async function open(hash: string, testId: string): Promise<void> {
  await page.click(`[data-testid="nav-${hash}"]`);
  await page.waitForSelector(`[data-testid="${testId}"]`, { timeout: 15_000 });
}

const BOUNDARY = '----hearth-console-e2e';
const EXAMPLE = (n: number) => JSON.stringify({ messages: [{ role: 'user', content: `question ${n}` }, { role: 'assistant', content: `answer ${n}` }] });

/** A dataset over REST: created, a valid 3-example file uploaded (validated: READY); and one left unvalidated. */
async function seedDatasets(): Promise<void> {
  const auth = { authorization: `Bearer ${apiKey}` };
  const base = `/v1/accounts/${ACCOUNT}/datasets`;
  for (const datasetId of ['train', 'pending']) {
    const r = await app.inject({ method: 'POST', url: base, headers: auth, payload: { datasetId, dataset: { displayName: datasetId, format: 'CHAT' } } });
    expect(r.statusCode, r.body).toBe(200);
  }
  const file = [1, 2, 3].map(EXAMPLE).join('\n') + '\n';
  const payload = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="train.jsonl"\r\nContent-Type: application/octet-stream\r\n\r\n${file}\r\n--${BOUNDARY}--\r\n`;
  const up = await app.inject({ method: 'POST', url: `${base}/train:upload`, headers: { ...auth, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, payload });
  expect(up.statusCode, up.body).toBe(200);
  // A fine-tuning set: 20 examples (the evaluation split is carved out of it).
  expect((await app.inject({ method: 'POST', url: base, headers: auth, payload: { datasetId: 'chats', dataset: { format: 'CHAT' } } })).statusCode).toBe(200);
  const chats = Array.from({ length: 20 }, (_, i) => EXAMPLE(i)).join('\n') + '\n';
  const body = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="chats.jsonl"\r\nContent-Type: application/octet-stream\r\n\r\n${chats}\r\n--${BOUNDARY}--\r\n`;
  const upChats = await app.inject({ method: 'POST', url: `${base}/chats:upload`, headers: { ...auth, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, payload: body });
  expect(upChats.statusCode, upChats.body).toBe(200);
}

/** The view's first answer arrived (no "Loading…"), and it is not an error. */
async function loaded(testId: string): Promise<void> {
  // Polled from here, not with a string predicate in the page: the console's CSP (no eval) refuses those.
  await waitFor(`${testId} loaded`, async () => !((await page.textContent(`[data-testid="${testId}"]`)) ?? 'Loading').includes('Loading'), { timeoutMs: 15_000, intervalMs: 100, dump });
  expect(await page.$(`[data-testid="${testId}"] .error`), `${testId} shows an error`).toBeNull();
}

beforeAll(async () => {
  if ('missing' in browserAt) return;
  mkdirSync(OUT, { recursive: true });
  const bundle = join(OUT, 'bundle');
  buildConsole(bundle);
  database = await createScratchDatabase(dbName, { maxConnections: 8 });
  apiKey = (await bootstrap(database.db, { accountId: ACCOUNT, email: `admin@${ACCOUNT}.example` })).apiKey!.key;
  await createTestNamespace(kc, NS, { 'hearth.dev/account': ACCOUNT });
  fx = await startModelServerFixture({ model: BASE, tokenLatencyMs: 2 });
  store = new FsArtifactStore(storeDir);
  await store.init();
  trainers = new TrainerFleet(kc, NS, () => ({ stepMs: 250, evalEvery: 4, evalCurve: 'falling' }));
  trainers.start();
  output = new SimulatedOutput(kc, NS, join(storeDir, 'pod-logs'), batchLines);
  output.start();

  // As main.ts mode `all`: one client, one informer cache, one load aggregator.
  const clients = new KubeClients(kc, { qps: 50, burst: 100 }, realClock);
  informers = new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log, backoff: { initialMs: 200, maxMs: 2000 } });
  const load = new LoadAggregator({ staleMs: 10_000 });
  kinds = new KubeKindClients({ clients, informers }, { log });
  await kinds.start();
  app = await buildApp({ db: database.db, artifacts: store, deployments: kinds.deployments, kinds: kinds.others, logger: log, rateLimit: false, console: { dir: bundle }, timeline: { sampleIntervalSeconds: 1 }, podLogs: new KubePodLogs(clients) });
  apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  gw = await startGateway(
    { host: '127.0.0.1', port: 0, processMetrics: false, reportIntervalMs: 500 },
    { informers, db: database.db, log, loadReporter: load, dialTarget: () => ({ host: '127.0.0.1', port: fx.port }) },
  );
  autoscaler = new Autoscaler({ load, clock: realClock, scaleToZeroWindowOverrideMs: SCALE_TO_ZERO_MS, tickMs: 500, log });
  const selector = `${RUN_LABEL}=${suffix}`;
  manager = controllerManager({
    clients,
    informers,
    db: database.db,
    log,
    metering: false,
    shutdownTimeoutMs: 5000,
    deployment: { selector, autoscaler, capacityRetryMs: 2000, quotaRetryMs: 2000 },
    // Every controller only this run's namespace: the cluster is shared with other suites.
    deployedModel: { namespace: NS },
    nodePool: { namespace: NS },
    batchJob: { namespace: NS, pollMs: 1000 },
    sftJob: { namespace: NS, artifacts: store, trainer: { ...DEFAULT_TRAINER, image: 'ghcr.io/hearth-dev/trainer-fixture:test', apiUrl }, pollMs: 500, reportGraceMs: 60_000, quotaRetryMs: 2_000 },
  });
  // The recorder as modes/controller.ts wires it, sampling every second.
  const deployments = deploymentInformers(informers, selector).deployments;
  const namespaces = namespacesInformer(informers);
  history = new HistoryRecorder({
    db: database.db,
    clock: realClock,
    sources: { deployments: () => deployments.list(), accountOf: (ns) => accountOfNamespace(namespaces.get(ns)), load },
    settings: { sampleIntervalSeconds: 1 },
    log,
  });
  manager.start();
  history.start();
  await gw.synced;
  await seedDatasets();

  browser = await chromium.launch({ executablePath: browserAt.path, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => pageProblems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) pageProblems.push(`csp: ${m.text()}`);
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  output?.stop();
  await history?.stop();
  autoscaler?.stop();
  await manager?.stop();
  await trainers?.stop();
  await gw?.close(2000);
  await app?.close();
  await kinds?.stop();
  await informers?.stop();
  await fx?.close();
  await custom.patchNamespacedCustomObject({ ...target, name: NAME, body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)).catch(() => undefined);
  await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'sftjobs', name: 'tune', body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)).catch(() => undefined);
  for (const plural of ['batchjobs', 'nodepools']) {
    const list = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural }).catch(() => ({ items: [] }))) as { items: { metadata: { name: string } }[] };
    for (const o of list.items) {
      await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural, name: o.metadata.name, body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)).catch(() => undefined);
    }
  }
  const core = kc.makeApiClient(CoreV1Api);
  await core.deleteNamespace({ name: NS }).catch(() => undefined);
  // The pool's nodes go with the pool; a run that failed midway may leave them.
  const left = await core.listNode({ labelSelector: `hearth.dev/node-pool-account=${ACCOUNT}` }).catch(() => undefined);
  for (const n of left?.items ?? []) await core.deleteNode({ name: n.metadata!.name! }).catch(() => undefined);
  await database?.close();
  await dropScratchDatabase(dbName).catch(() => undefined);
  await store?.close();
  await rm(storeDir, { recursive: true, force: true });
}, 60_000);

describe.skipIf('missing' in browserAt)('the web console in headless Chromium', () => {
  it('signs in with an API key: a wrong key is refused; the key is kept in sessionStorage, never in the URL', async () => {
    const res = await page.goto(`${apiUrl}/console`);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.waitForSelector('[data-testid="sign-in"]');
    await page.fill('[data-testid="api-key"]', 'fw_not-a-key');
    await page.click('[data-testid="sign-in-submit"]');
    await page.waitForSelector('[data-testid="sign-in-error"]');
    await shot('01-sign-in-refused');
    await page.fill('[data-testid="api-key"]', apiKey);
    await page.click('[data-testid="sign-in-submit"]');
    await page.waitForSelector('[data-testid="view-deployments"]');
    expect(await page.textContent('[data-testid="account"]')).toContain(`accounts/${ACCOUNT}`);
    expect(await page.evaluate(() => sessionStorage.getItem('hearth.apiKey'))).toBe(apiKey);
    expect(page.url()).not.toContain(apiKey);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    await shot('02-signed-in');
  }, 60_000);

  it('lists a min-0 deployment live, and its timeline shows it scale from zero (decision, cold start, replicas)', async () => {
    await custom.createNamespacedCustomObject({
      ...target,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Deployment',
        metadata: { name: NAME, labels: { [RUN_LABEL]: suffix } },
        spec: { baseModel: BASE, acceleratorType: 'AMD_MI300X_192GB', acceleratorCount: 1, minReplicaCount: 0, maxReplicaCount: 2 },
      },
    });
    // The list refreshes by itself (every 2 s): no reload.
    const row = `[data-testid="deployment-${NAME}"]`;
    await waitFor('the deployment READY at 0 / 0 in the list', async () => (await page.textContent(row).catch(() => ''))?.includes('READY') && (await page.textContent(`${row} [data-testid="replicas"]`))?.replace(/\s/g, '') === '0/0', { timeoutMs: 60_000, intervalMs: 300, dump });
    await shot('03-deployments-at-zero');

    await page.click(`${row} a`);
    await page.waitForSelector('[data-testid="view-timeline"]');
    expect(page.url()).toContain(`#/deployments/${NAME}`);
    await page.waitForSelector('[data-testid="chart-replicas"] canvas');
    // The last 15 minutes: a step of a few seconds (samples every second here), so the few seconds
    // of a simulated cold start show as more than one point.
    await page.click('[data-testid="window-15m"]');

    const reply = await chat();
    expect(reply.status, reply.body).toBe(200);
    await waitFor('the timeline to show the scale from zero and the ready replica', async () => {
      const text = (await page.textContent('[data-testid="view-timeline"]')) ?? '';
      return (await page.$('[data-testid="decision-SCALE_FROM_ZERO"]')) && /first replica ready after [\d.]+ s/.test(text) && (await page.textContent('[data-testid="timeline-replicas"]'))?.replace(/\s/g, '') === '1/1';
    }, { timeoutMs: 60_000, intervalMs: 500, dump });
    expect(await page.textContent('[data-testid="decision-SCALE_FROM_ZERO"]')).toContain('ScaleFromZero');
    await shot('04-timeline-scaled-from-zero');

    // Idle for the (shortened) window: back to zero, marked on the timeline.
    await waitFor('the timeline to show the scale to zero', async () => (await page.$('[data-testid="decision-SCALE_TO_ZERO"]')) !== null, { timeoutMs: 60_000, intervalMs: 500, dump });
    await shot('05-timeline-scaled-to-zero');

    // The last hour and the last day show the same moments: both decisions and the cold start.
    for (const w of ['1h', '1d'] as const) {
      await page.click(`[data-testid="window-${w}"]`);
      await waitFor(`the ${w} window with both decisions and the cold start`, async () => {
        const active = (await page.getAttribute(`[data-testid="window-${w}"]`, 'class')) === 'active';
        return active && (await page.$('[data-testid="decision-SCALE_FROM_ZERO"]')) && (await page.$('[data-testid="decision-SCALE_TO_ZERO"]')) && (await page.$('[data-testid="cold-start"]'));
      }, { timeoutMs: 15_000, intervalMs: 300, dump });
      expect(await page.$('[data-testid="chart-replicas"] canvas')).not.toBeNull();
      expect(await page.$('[data-testid="chart-load"] canvas')).not.toBeNull();
      await shot(`05-timeline-last-${w}`);
    }

    // The REST answer the page plots: points recorded every second, with ready replicas.
    const tl = (await page.evaluate(async (p) => (await fetch(p, { headers: { authorization: `Bearer ${sessionStorage.getItem('hearth.apiKey')}` } })).json(), `/v1/accounts/${ACCOUNT}/deployments/${NAME}:timeline?window=15m`)) as { points: { readyReplicas: number }[]; coldStarts: { seconds?: number }[] };
    expect(tl.points.some((p) => p.readyReplicas > 0)).toBe(true);
    expect(tl.coldStarts[0]?.seconds).toBeGreaterThanOrEqual(0);
  }, 180_000);

  it('the fine-tuning view draws the loss curve of a job that trains, from what REST exposes', async () => {
    const auth = { authorization: `Bearer ${apiKey}` };
    const created = await app.inject({ method: 'POST', url: `/v1/accounts/${ACCOUNT}/supervisedFineTuningJobs?supervisedFineTuningJobId=tune`, headers: auth, payload: { dataset: 'chats', baseModel: BASE, outputModel: 'sql-tuned', epochs: 1, loraRank: 8 } });
    expect(created.statusCode, created.body).toBe(200);
    type Wire = { state?: string; trainingProgress?: { step?: number; trainLoss?: number; lossCurve?: { step: number; loss: number }[] } };
    const wire = async (): Promise<Wire> => (await app.inject({ method: 'GET', url: `/v1/accounts/${ACCOUNT}/supervisedFineTuningJobs/tune`, headers: auth })).json<Wire>();
    // REST's curve: a point per report with a training loss, by step, falling (the fixture's curve).
    const trained = await waitFor('the job to report a loss curve of 5 points', async () => {
      const w = await wire();
      return (w.trainingProgress?.lossCurve?.length ?? 0) >= 5 ? w : undefined;
    }, { timeoutMs: 120_000, intervalMs: 250, dump });
    const curve = trained.trainingProgress!.lossCurve!;
    for (let i = 1; i < curve.length; i++) expect(curve[i]!.step).toBeGreaterThan(curve[i - 1]!.step);
    expect(curve.at(-1)!.loss).toBeLessThan(curve[0]!.loss);

    await open('sft', 'view-sft');
    await loaded('view-sft');
    const card = '[data-testid="sft-tune"]';
    await page.waitForSelector(`${card} [data-testid="sft-loss"] canvas`, { timeout: 15_000 });
    expect(await page.$(`${card} [data-testid="sft-no-curve"]`)).toBeNull();
    expect(await page.textContent(`${card} [data-testid="sft-loss"]`)).toContain('Training loss by step');
    expect(await page.textContent(card)).toMatch(/· step \d+\/\d+ · loss \d+\.\d{4}/);
    await shot('07-sft-loss-curve');
    // It trains to the end; the card follows (polled every 3 s) and keeps the curve.
    await waitFor('the job COMPLETED in the view', async () => (await page.textContent(card))?.includes('JOB_STATE_COMPLETED'), { timeoutMs: 120_000, intervalMs: 500, dump });
    expect(await page.$(`${card} [data-testid="sft-loss"] canvas`)).not.toBeNull();
    await shot('07-sft-completed');
  }, 240_000);

  it('the batch jobs view lists a job that ran on a node pool and shows its logs', async () => {
    const auth = { authorization: `Bearer ${apiKey}` };
    const post = async (path: string, payload: Record<string, unknown>) => {
      const r = await app.inject({ method: 'POST', url: `/v1/accounts/${ACCOUNT}${path}`, headers: auth, payload });
      expect(r.statusCode, r.body).toBe(200);
      return r.json<{ name: string }>();
    };
    await post('/nodePools', { nodePoolId: 'pool', nodePool: { maxNodeCount: 1, fakeNodePool: { machineType: 'n2-standard-32', numNodes: 1 } } });
    const job = await post('/batchJobs', { nodePoolId: 'pool', imageRef: 'python:3.12', shellExecutor: { command: 'python train.py' }, envVars: { [SIM_ENV.duration]: '3s', [SIM_ENV.exitCode]: '0' } });
    const id = job.name.split('/').pop()!;
    await page.click('[data-testid="nav-deployments"]');
    await open('batch', 'view-batch');
    await page.waitForSelector(`[data-testid="batch-${id}"]`, { timeout: 30_000 });
    await page.click(`[data-testid="batch-${id}"] a`);
    expect(page.url()).toContain(`#/batch/${id}`);
    // The view polls: the lines appear while the job runs, all of them once it has ended.
    const want = batchLines(`bj-${id}`, 0);
    await waitFor('the batch job COMPLETED with all its log lines in the view', async () => {
      const logs = (await page.textContent('[data-testid="batch-logs"]').catch(() => '')) ?? '';
      return (await page.textContent(`[data-testid="batch-${id}"]`))?.includes('COMPLETED') && want.every((l) => logs.includes(l));
    }, { timeoutMs: 120_000, intervalMs: 500, dump });
    const shown = ((await page.textContent('[data-testid="batch-logs"]')) ?? '').split('\n');
    expect(shown.map((l) => l.replace(/^\S+ \[0\] /, ''))).toEqual(want);
    await shot('08-batch-logs');
  }, 180_000);

  it('opens every other view: fleet map, fine-tuning, batch jobs, datasets, quotas', async () => {
    await page.click('[data-testid="nav-deployments"]');
    await open('fleet', 'view-fleet');
    await loaded('view-fleet');
    expect(await page.textContent('[data-testid="view-fleet"]')).toContain('MI300X');
    // Each region × accelerator cell: GPUs used, and free of the quota (or that there is none).
    const cells = await page.$$('[data-testid^="fleet-"][data-testid$="-mi300x"]');
    expect(cells.length).toBeGreaterThan(0);
    for (const c of cells) expect(await c.textContent()).toMatch(/^\d+ used · (\d+ free of \d+|no quota)/);
    await shot('06-fleet');
    await open('sft', 'view-sft');
    await loaded('view-sft');
    await shot('07-sft');
    await open('batch', 'view-batch');
    await loaded('view-batch');
    await shot('08-batch');
    await open('datasets', 'view-datasets');
    await loaded('view-datasets');
    expect(await page.textContent('[data-testid="dataset-train"] [data-testid="validation"]')).toContain('valid');
    expect(await page.textContent('[data-testid="dataset-train"]')).toContain('3');
    expect(await page.textContent('[data-testid="dataset-pending"] [data-testid="validation"]')).toContain('not validated yet');
    await shot('09-datasets');
    await open('quotas', 'view-quotas');
    await page.waitForSelector('[data-testid="usage-bar"]');
    // The scaled-to-zero deployment holds no GPU: every quota row is there, with its bar.
    expect((await page.$$('[data-testid^="quota-"]')).length).toBeGreaterThan(0);
    await shot('10-quotas');
    expect(pageProblems).toEqual([]);
  }, 60_000);

  it('signing out forgets the key', async () => {
    await page.click('[data-testid="sign-out"]');
    await page.waitForSelector('[data-testid="sign-in"]');
    expect(await page.evaluate(() => sessionStorage.getItem('hearth.apiKey'))).toBeNull();
    expect(pageProblems).toEqual([]);
  });
});
