// Batch inference jobs end to end, wired as `main.ts` mode `all` wires them (one client, one
// informer cache): the REST API, the controller manager (Deployment controller + BatchInferenceJob
// controller), the inference gateway in front of the model-server fixture, a real PostgreSQL.
// A user uploads a JSONL input through REST, creates a job through REST, and downloads the output.
//
// KWOK pod IPs are unroutable, so the gateway's `dialTarget` maps every endpoint to the fixture
// (the one test seam, as in scale-from-zero.test.ts). The Deployment controller runs with a
// selector on this run's label, so it touches nothing else on the shared cluster; the jobs'
// deployments carry that label (an existing one we create, or one the job creates, which copies
// the job's labels). Line durations come from the fixture: max_tokens × tokenLatencyMs.
import { randomBytes } from 'node:crypto';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountNamespace } from '../../src/api/kube/namespaces.js';
import type { ArtifactStore } from '../../src/artifacts/index.js';
import { RESULTS_FILE, StoreDatasetBytes } from '../../src/controllers/batch-inference-job/datasets.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import { createDataset } from '../../src/db/repositories/datasets.js';
import { datasetContents } from '../../src/db/schema/index.js';
import type { Gateway } from '../../src/gateway/index.js';
import { loadKubeConfig, type PooledKubeConfig } from '../../src/kube/config.js';
import { startModelServerFixture, type ModelServerFixture } from '../fixtures/model-server/index.js';
import { callApi } from '../support/api.js';
import { startClusterHearth, type ClusterHearth } from '../support/cluster-hearth.js';
import { kubeconfigPath } from '../support/env.js';
import { dumpNamespace, waitFor } from '../support/wait.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `bij-${suffix}`;
const NS = accountNamespace(ACCOUNT);
const RUN_LABEL = 'hearth.dev/batch-inference-test';
const SERVE = 'serve';
const dbName = `hearth_t_bij_${suffix}`;
/** Per generated token: a line with max_tokens n takes about n × this. */
const TOKEN_MS = 10;

const log = pino({ level: process.env.HEARTH_TEST_LOG ?? 'warn' });
let kc: PooledKubeConfig;
let hearth: ClusterHearth;
let fx: ModelServerFixture;
let gw: Gateway;
let app: FastifyInstance;
let key = '';
/** Where dataset files live, for the API and the controller alike (mode `all`: one store). */
let artifacts: ArtifactStore;

const custom = () => kc.makeApiClient(CustomObjectsApi);
const rest = (method: string, path: string, body?: unknown) => callApi(app, method, `/v1/accounts/${ACCOUNT}/${path}`, key, body);
const job = async (id: string) => (await rest('GET', `batchInferenceJobs/${id}`)).body;

const chatLine = (id: string, maxTokens = 4) => JSON.stringify({ custom_id: id, body: { messages: [{ role: 'user', content: `question ${id}` }], max_tokens: maxTokens } });
const completionLine = (id: string, maxTokens = 4) => JSON.stringify({ custom_id: id, body: { prompt: `prompt ${id}`, max_tokens: maxTokens } });

const BOUNDARY = '----hearth-bij-e2e';
/** Creates a dataset and uploads `lines` through REST (validated; READY on success). */
async function uploadDataset(id: string, lines: string[]): Promise<void> {
  expect((await rest('POST', 'datasets', { datasetId: id, dataset: { displayName: id } })).status).toBe(200);
  const payload = Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${id}.jsonl"\r\nContent-Type: application/octet-stream\r\n\r\n${lines.join('\n')}\n\r\n--${BOUNDARY}--\r\n`,
  );
  const res = await app.inject({
    method: 'POST',
    url: `/v1/accounts/${ACCOUNT}/datasets/${id}:upload`,
    headers: { authorization: `Bearer ${key}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    payload,
  });
  expect(res.statusCode, res.body).toBe(200);
  expect((await rest('GET', `datasets/${id}`)).body.state).toBe('READY');
}

/** A READY dataset whose bytes were stored without the upload's validation (e.g. a signed PUT, another tool). */
async function storeDataset(id: string, text: string): Promise<void> {
  await createDataset(hearth.database.db, { accountId: ACCOUNT, datasetId: id, state: 'READY', storageUri: 'pg://dataset_contents' });
  await hearth.database.db.insert(datasetContents).values({ accountId: ACCOUNT, datasetId: id, fileName: 'input.jsonl', chunk: 0, data: Buffer.from(text) });
}

/** The output as a user gets it: the download endpoint's signed URL, fetched. */
async function download(datasetId: string): Promise<Array<Record<string, unknown>>> {
  const urls = (await rest('GET', `datasets/${datasetId}:getDownloadEndpoint`)).body.filenameToSignedUrls as Record<string, string>;
  expect(Object.keys(urls)).toEqual([RESULTS_FILE]);
  const u = new URL(urls[RESULTS_FILE]!);
  const res = await app.inject({ method: 'GET', url: `${u.pathname}${u.search}` });
  expect(res.statusCode).toBe(200);
  return res.body
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The output as stored so far (while the job runs, before it is READY). */
async function outputSoFar(datasetId: string): Promise<Array<Record<string, unknown>>> {
  const chunks: Uint8Array[] = [];
  for await (const c of new StoreDatasetBytes(hearth.database.db, artifacts).readParts({ accountId: ACCOUNT, datasetId }, RESULTS_FILE)) chunks.push(c);
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Requests the model server has answered (its vLLM-style counter). */
async function fixtureRequests(): Promise<number> {
  const text = await (await fetch(`${fx.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('vllm:request_success_total'))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

const dump = (id: string) => async (): Promise<unknown> => ({
  job: await job(id),
  cr: await custom()
    .getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'batchinferencejobs', name: id })
    .then((o: { status?: unknown }) => o.status)
    .catch((e: unknown) => String(e)),
  deployments: await custom()
    .listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'deployments' })
    .then((l: { items: Array<{ metadata: { name: string }; status?: { state?: string; replicaCount?: number } }> }) => l.items.map((d) => ({ name: d.metadata.name, state: d.status?.state, replicas: d.status?.replicaCount }))),
  gateway: { held: gw.core.hold.keys(), ready: gw.core.upstreams.counts() },
  ...((await dumpNamespace(kc, NS)) as object),
});

async function waitState(id: string, states: string[], timeoutMs = 60_000): Promise<Record<string, unknown>> {
  return waitFor(`job ${id} in ${states.join(' or ')}`, async () => {
    const j = await job(id);
    return states.includes(j.state as string) ? j : undefined;
  }, { timeoutMs, intervalMs: 100, dump: dump(id) });
}

beforeAll(async () => {
  kc = loadKubeConfig(kubeconfigPath());
  fx = await startModelServerFixture({ model: BASE, tokenLatencyMs: TOKEN_MS, tokensPerResponse: 1000 });

  // Mode `all`: one client and one informer cache for the controller, the API and the gateway; one
  // store of dataset files for the API and the controller. The BatchInferenceJob controller has no
  // namespace setting: unlike the others it is not limited to this run's namespace.
  hearth = await startClusterHearth({
    kc,
    log,
    account: ACCOUNT,
    dbName,
    crdManager: 'hearth-crds-test',
    artifacts: true,
    app: () => ({ datasets: { uploadUrlSecret: `secret-${suffix}-0123456789`, publicBaseUrl: 'http://hearth.test' } }),
    gateway: { config: { reportIntervalMs: 500 }, deps: { dialTarget: () => ({ host: '127.0.0.1', port: fx.port }) } },
    manager: ({ gateway, store }) => ({
      deployment: { selector: `${RUN_LABEL}=${suffix}`, capacityRetryMs: 2000, quotaRetryMs: 2000 },
      batchInference: { gatewayUrl: () => Promise.resolve(gateway!.url), concurrency: 4, checkpointLines: 2, checkpointMs: 300, progressMs: 300, artifacts: store! },
    }),
  });
  ({ app, apiKey: key } = hearth);
  gw = hearth.gateway!;
  artifacts = hearth.store!;

  // The deployment most jobs run on, made the way kubectl would (with this run's label).
  await custom().createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: NS,
    plural: 'deployments',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', metadata: { name: SERVE, labels: { [RUN_LABEL]: suffix } }, spec: { baseModel: BASE, minReplicaCount: 1, maxReplicaCount: 1 } },
  });
  await waitFor('the deployment READY with a replica the gateway can reach', async () => gw.core.upstreams.readyCount(`${NS}/${SERVE}`) >= 1, { timeoutMs: 90_000, intervalMs: 300, dump: dump('none') });
}, 180_000);

afterAll(async () => {
  await hearth?.close();
  await fx?.close();
  kc?.destroy();
}, 60_000);

const ON_SERVE = `${BASE}#accounts/${ACCOUNT}/deployments/${SERVE}`;

describe('batch inference jobs end to end', () => {
  it('REST: upload → create → RUNNING → COMPLETED; one output line per input line, matched by custom_id', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `q${i}`);
    // 12 lines of ~0.4 s at 4 in flight: RUNNING for over a second.
    await uploadDataset('questions', ids.map((id, i) => (i % 3 === 2 ? completionLine(id, 40) : chatLine(id, 40))));
    const created = await rest('POST', 'batchInferenceJobs?batchInferenceJobId=first', { displayName: 'First', model: ON_SERVE, inputDatasetId: 'questions', inferenceParameters: { temperature: 0 } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toMatchObject({ name: `accounts/${ACCOUNT}/batchInferenceJobs/first`, state: 'JOB_STATE_CREATING', outputDatasetId: `accounts/${ACCOUNT}/datasets/first-output` });

    const running = await waitState('first', ['JOB_STATE_RUNNING']);
    expect(running.jobProgress).toMatchObject({ percent: expect.any(Number) as unknown });
    const done = await waitState('first', ['JOB_STATE_COMPLETED']);
    expect(done.jobProgress).toEqual({ percent: 100, totalInputRequests: 12, totalProcessedRequests: 12, successfullyProcessedRequests: 12, failedRequests: 0, outputRows: 12 });
    expect(done.status).toEqual({ code: 'OK' });

    expect((await rest('GET', 'datasets/first-output')).body).toMatchObject({ state: 'READY', exampleCount: '12' });
    const out = await download('first-output');
    expect(out.map((l) => l.custom_id).sort()).toEqual([...ids].sort());
    for (const l of out) {
      expect(l.error, JSON.stringify(l)).toBeUndefined();
      expect(l.response).toMatchObject({ model: BASE, usage: { completion_tokens: 40 } });
      expect(l.line).toBe(ids.indexOf(l.custom_id as string) + 1);
    }
    // Completions went to /completions, chats to /chat/completions.
    expect((out.find((l) => l.custom_id === 'q2')!.response as { object: string }).object).toBe('text_completion');
    expect((out.find((l) => l.custom_id === 'q0')!.response as { object: string }).object).toBe('chat.completion');
  }, 120_000);

  it('bad input at create: a dataset not READY, a model that does not exist, an output dataset that exists → 400/404 naming the field', async () => {
    await rest('POST', 'datasets', { datasetId: 'pending', dataset: {} });
    const cases: Array<[Record<string, unknown>, number, RegExp]> = [
      [{ model: ON_SERVE, inputDatasetId: 'pending' }, 400, /^inputDatasetId: dataset ".*\/datasets\/pending" is UPLOADING/],
      [{ model: ON_SERVE, inputDatasetId: 'nope' }, 404, /^inputDatasetId: dataset ".*\/datasets\/nope" not found$/],
      [{ model: `accounts/${ACCOUNT}/models/nope`, inputDatasetId: 'questions' }, 404, /^model: model ".*\/models\/nope" not found$/],
      [{ model: `${BASE}#accounts/${ACCOUNT}/deployments/nope`, inputDatasetId: 'questions' }, 404, /^model: deployment ".*\/deployments\/nope" not found$/],
      [{ model: ON_SERVE, inputDatasetId: 'questions', outputDatasetId: 'questions' }, 400, /^outputDatasetId: dataset ".*\/datasets\/questions" already exists/],
    ];
    for (const [body, status, message] of cases) {
      const r = await rest('POST', 'batchInferenceJobs', body);
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.body.message).toMatch(message);
    }
  });

  it('bad lines: a line that is not JSON or not a request is answered with its error; the rest of the job continues', async () => {
    await storeDataset('mixed', [chatLine('ok1'), '{"custom_id": "broken", ', JSON.stringify({ custom_id: 'nobody' }), completionLine('ok2'), chatLine('ok1')].join('\n'));
    expect((await rest('POST', 'batchInferenceJobs?batchInferenceJobId=mixed', { model: ON_SERVE, inputDatasetId: 'mixed' })).status).toBe(200);
    const done = await waitState('mixed', ['JOB_STATE_COMPLETED']);
    expect(done.jobProgress).toMatchObject({ totalInputRequests: 5, successfullyProcessedRequests: 2, failedRequests: 3 });
    const out = (await download('mixed-output')).sort((a, b) => (a.line as number) - (b.line as number));
    expect(out.map((l) => [l.line, l.custom_id ?? null, l.error ? (l.error as { code: string }).code : 'response'])).toEqual([
      [1, 'ok1', 'response'],
      [2, null, 'INVALID_ARGUMENT'],
      [3, 'nobody', 'INVALID_ARGUMENT'],
      [4, 'ok2', 'response'],
      [5, 'ok1', 'INVALID_ARGUMENT'],
    ]);
    expect((out[1]!.error as { message: string }).message).toMatch(/^line 2 is not valid JSON/);
    expect((out[4]!.error as { message: string }).message).toBe('line 5: custom_id "ok1" is already used on line 1');
  }, 60_000);

  it('continuedFromJobName: a new job keeps the answered lines of the one it continues and runs only its failed ones', async () => {
    const sentBefore = await fixtureRequests();
    expect(sentBefore).toBeGreaterThanOrEqual(14); // the counter counts: the first job's 12 lines and mixed's 2
    const r = await rest('POST', 'batchInferenceJobs?batchInferenceJobId=mixed-again', { continuedFromJobName: `accounts/${ACCOUNT}/batchInferenceJobs/mixed` });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ model: ON_SERVE, inputDatasetId: `accounts/${ACCOUNT}/datasets/mixed`, outputDatasetId: `accounts/${ACCOUNT}/datasets/mixed-again-output` });
    const done = await waitState('mixed-again', ['JOB_STATE_COMPLETED']);
    expect(done.jobProgress).toMatchObject({ totalInputRequests: 5, successfullyProcessedRequests: 2, failedRequests: 3 });
    const out = (await download('mixed-again-output')).sort((a, b) => (a.line as number) - (b.line as number));
    const before = (await download('mixed-output')).sort((a, b) => (a.line as number) - (b.line as number));
    // The answered lines are the earlier job's answers, not new ones; the failed lines were tried again.
    expect(out.filter((l) => l.response)).toEqual(before.filter((l) => l.response));
    expect(out.map((l) => l.line)).toEqual([1, 2, 3, 4, 5]);
    expect(await fixtureRequests()).toBe(sentBefore);
  }, 60_000);

  it('cancel mid-run: the job stops, what is answered stays in the output, nothing is written after', async () => {
    // 24 lines of ~0.5 s at 4 in flight: ~3 s of work.
    await uploadDataset('long', Array.from({ length: 24 }, (_, i) => chatLine(`l${i}`, 50)));
    expect((await rest('POST', 'batchInferenceJobs?batchInferenceJobId=long', { model: ON_SERVE, inputDatasetId: 'long' })).status).toBe(200);
    await waitFor('some lines answered', async () => ((await outputSoFar('long-output')).length >= 4 ? true : undefined), { timeoutMs: 30_000, intervalMs: 50, dump: dump('long') });
    const c = await rest('POST', 'batchInferenceJobs/long:cancel', {});
    expect(c.status, JSON.stringify(c.body)).toBe(200);
    expect(['JOB_STATE_CANCELLING', 'JOB_STATE_CANCELLED']).toContain(c.body.state);
    const cancelled = await waitState('long', ['JOB_STATE_CANCELLED']);
    const kept = await outputSoFar('long-output');
    const progress = cancelled.jobProgress as { successfullyProcessedRequests: number; totalProcessedRequests: number };
    expect(kept.length).toBeGreaterThanOrEqual(4);
    expect(kept.length).toBeLessThan(24);
    expect(progress.totalProcessedRequests).toBe(kept.length);
    expect(new Set(kept.map((l) => l.custom_id)).size).toBe(kept.length);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await outputSoFar('long-output')).toHaveLength(kept.length);
    expect((await rest('POST', 'batchInferenceJobs/long:cancel', {})).status).toBe(400);
  }, 60_000);

  it('a controller restart mid-run resumes where the output ends: every line answered exactly once', async () => {
    await uploadDataset('restart', Array.from({ length: 24 }, (_, i) => chatLine(`r${i}`, 50)));
    expect((await rest('POST', 'batchInferenceJobs?batchInferenceJobId=restart', { model: ON_SERVE, inputDatasetId: 'restart' })).status).toBe(200);
    await waitFor('some lines answered', async () => ((await outputSoFar('restart-output')).length >= 4 ? true : undefined), { timeoutMs: 30_000, intervalMs: 50, dump: dump('restart') });
    await hearth.manager.stop();
    const before = await outputSoFar('restart-output');
    expect(before.length).toBeLessThan(24);
    expect((await job('restart')).state).toBe('JOB_STATE_RUNNING');
    hearth.startManager();
    const done = await waitState('restart', ['JOB_STATE_COMPLETED']);
    expect(done.jobProgress).toMatchObject({ totalInputRequests: 24, successfullyProcessedRequests: 24, failedRequests: 0 });
    const out = await download('restart-output');
    expect(out).toHaveLength(24);
    expect(new Set(out.map((l) => l.custom_id)).size).toBe(24);
    // What was answered before the restart is kept as it was.
    expect(out.slice(0, before.length)).toEqual(before);
  }, 90_000);

  it('a model no deployment serves: the job creates a deployment, runs on it, and removes it when it ends', async () => {
    // The only deployment of the model goes, so the job must make its own.
    await custom().deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'deployments', name: SERVE });
    await waitFor('the deployment gone', async () => !(await hearth.kinds.deployments.get(NS, SERVE)), { timeoutMs: 30_000 });
    // Made as kubectl would, with this run's label: the job's deployment copies it.
    await custom().createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NS,
      plural: 'batchinferencejobs',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'BatchInferenceJob', metadata: { name: 'own', labels: { [RUN_LABEL]: suffix } }, spec: { model: BASE, inputDatasetId: 'questions' } },
    });
    const running = await waitState('own', ['JOB_STATE_RUNNING']);
    expect(running.state).toBe('JOB_STATE_RUNNING');
    const cr = (await custom().getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'batchinferencejobs', name: 'own' })) as { status: { deployment?: string } };
    expect(cr.status.deployment).toBe('bij-own');
    const done = await waitState('own', ['JOB_STATE_COMPLETED'], 120_000);
    expect(done.jobProgress).toMatchObject({ successfullyProcessedRequests: 12, failedRequests: 0 });
    await waitFor('the job\'s deployment removed', async () => !(await custom()
      .getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'deployments', name: 'bij-own' })
      .catch(() => undefined)), { timeoutMs: 30_000, dump: dump('own') });
    expect((await download('own-output')).map((l) => l.custom_id).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `q${i}`).sort());
  }, 180_000);
});
