// Fine-tuning to serving end to end (issue 14) on the simulated cluster (real kube-apiserver,
// scheduler, controller-manager with its Job controller; KWOK GPU nodes) and a real PostgreSQL,
// wired as `main.ts` mode `all`: the REST API (listening: trainers call it over HTTP), the
// controller manager (Deployment, DeployedModel, SFTJob controllers) and the gateway.
//
// Upload a chat dataset over REST → an SFT job over REST and one with kubectl apply → VALIDATING →
// PENDING → RUNNING with progress moving → WRITING_RESULTS → COMPLETED → the output model READY
// (files in the artifact store, the job links it) → loaded on a deployment with addons → chat
// through the gateway with the fine-tuned model's id → the model-server fixture answers with the
// adapter. Cancel mid-run → CANCELLED → :resume → completes from the checkpoint. A two-example
// dataset → FAILED in VALIDATING naming the rule. Early stop when the eval loss rises.
//
// Simulation: KWOK runs no containers, so test/support/trainer-fleet.ts runs the trainer fixture
// (test/fixtures/trainer) for each trainer pod with the env the kubelet would give it, and
// test/support/fixture-fleet.ts a model-server fixture per serving pod. Everything else is Hearth's.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BatchV1Api, CustomObjectsApi, Watch } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ROOT as REPO_ROOT } from '../../hack/lib/cluster.js';
import { installCrds } from '../../hack/lib/crds.js';
import type { FsArtifactStore } from '../../src/artifacts/index.js';
import { DEFAULT_TRAINER } from '../../src/controllers/sft-job/trainer.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import type { SFTJobStatus } from '../../src/crds/sft-job.js';
import { trainerToken } from '../../src/crds/sft-trainer.js';
import { createDataset } from '../../src/db/repositories/datasets.js';
import { SECRET_NAMES, installationSecret } from '../../src/db/repositories/installation-secrets.js';
import { getModel } from '../../src/db/repositories/models.js';
import { holdsOf } from '../../src/db/repositories/quotas.js';
import { callApi } from '../support/api.js';
import { startClusterHearth, type ClusterHearth } from '../support/cluster-hearth.js';
import { kubeconfigPath, testKubeConfig } from '../support/env.js';
import { FixtureFleet } from '../support/fixture-fleet.js';
import { TrainerFleet } from '../support/trainer-fleet.js';
import { dumpNamespace, waitFor } from '../support/wait.js';
import { chat as chatThroughGateway } from '../support/gateway-client.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `sft-${suffix}`;
const NS = `acct-${ACCOUNT}`;
const DEP = 'serve';
const RUN_LABEL = 'hearth.dev/sft-e2e';
const dbName = `hearth_t_sft_${suffix}`;

const kc = testKubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);
const batch = kc.makeApiClient(BatchV1Api);
const sftTarget = { group: GROUP, version: VERSION, namespace: NS, plural: 'sftjobs' };
const depTarget = { group: GROUP, version: VERSION, namespace: NS, plural: 'deployments' };

let hearth: ClusterHearth;
let app: FastifyInstance;
let fleet: FixtureFleet;
let trainers: TrainerFleet;
let store: FsArtifactStore;
let apiKey = '';
let watchAbort: AbortController | undefined;
/** Every state each SFTJob went through, in order (from a watch: every status write is seen). */
const seen = new Map<string, string[]>();

/** The kubectl built with the simulated cluster (hack/kubectl), as a user runs it. */
async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [join(REPO_ROOT, 'hack', 'kubectl'), ...args], { env: { ...process.env, KUBECONFIG: kubeconfigPath() }, timeout: 120_000 });
  return stdout;
}

/** `kubectl apply -f` of one object (written to a file, as a user's manifest). */
async function kubectlApply(obj: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-sft-e2e-'));
  try {
    const file = join(dir, 'object.json');
    await writeFile(file, JSON.stringify(obj));
    return await kubectl('apply', '-n', NS, '-f', file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const rest = (method: string, path: string, body?: unknown) => callApi(app, method, `/v1/accounts/${ACCOUNT}${path}`, apiKey, body);
const msg = (role: string, content: string) => ({ role, content });
const example = (i: number) => JSON.stringify({ messages: [msg('system', 'You answer in SQL.'), msg('user', `question ${i}`), msg('assistant', `select ${i};`)] });

const chat = (model: string) => chatThroughGateway(hearth.gateway!.url, apiKey, model, 'question 1', 3);

/** A dataset through REST: create, multipart upload → READY. */
async function uploadDataset(id: string, lines: string[]): Promise<void> {
  const created = await rest('POST', '/datasets', { datasetId: id, dataset: { format: 'CHAT' } });
  expect(created.status, JSON.stringify(created.body)).toBe(200);
  const boundary = '----hearth-sft-e2e';
  const payload = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${id}.jsonl"\r\nContent-Type: application/octet-stream\r\n\r\n${lines.join('\n')}\n\r\n--${boundary}--\r\n`);
  const up = await app.inject({ method: 'POST', url: `/v1/accounts/${ACCOUNT}/datasets/${id}:upload`, headers: { authorization: `Bearer ${apiKey}`, 'content-type': `multipart/form-data; boundary=${boundary}` }, payload });
  expect(up.statusCode, up.body).toBe(200);
  expect((await rest('GET', `/datasets/${id}`)).body).toMatchObject({ state: 'READY' });
}

const getJob = async (name: string) => (await custom.getNamespacedCustomObject({ ...sftTarget, name }).catch(() => undefined)) as { status?: SFTJobStatus; metadata: { annotations?: Record<string, string> } } | undefined;

const dump = async (): Promise<unknown> => ({
  sftJobs: ((await custom.listNamespacedCustomObject(sftTarget)) as { items: { metadata: { name: string }; status?: unknown }[] }).items.map((j) => ({ name: j.metadata.name, status: j.status })),
  seen: Object.fromEntries(seen),
  trainers: [...trainers.runs.values()].map((r) => ({ pod: r.pod, job: r.job, result: r.result })),
  ...((await dumpNamespace(kc, NS)) as object),
});

async function waitState(name: string, state: string, timeoutMs = 90_000): Promise<SFTJobStatus> {
  return waitFor(`SFT job ${name} to reach ${state}`, async () => {
    const j = await getJob(name);
    // The watch (`seen`, which the tests check the sequence on) has delivered it too.
    return j?.status?.state === state && seen.get(name)?.at(-1) === state ? j.status : undefined;
  }, { timeoutMs, intervalMs: 100, dump });
}

let watching = true;
let lastVersion: string | undefined;
async function watchJobs(): Promise<void> {
  const resume = (): void => {
    if (watching) setTimeout(() => void watchJobs().catch(resume), 200);
  };
  watchAbort = await new Watch(kc).watch(
    `/apis/${GROUP}/${VERSION}/namespaces/${NS}/sftjobs`,
    lastVersion ? { resourceVersion: lastVersion } : {},
    (phase, obj: { metadata: { name: string; resourceVersion?: string }; status?: SFTJobStatus }) => {
      if (phase === 'ERROR') {
        lastVersion = undefined; // 410 Gone: list again
        return;
      }
      lastVersion = obj.metadata.resourceVersion ?? lastVersion;
      const list = seen.get(obj.metadata.name) ?? [];
      const s = obj.status?.state;
      if (s && list.at(-1) !== s) list.push(s);
      seen.set(obj.metadata.name, list);
    },
    resume,
  );
}

beforeAll(async () => {
  fleet = new FixtureFleet(kc, NS, DEP, { model: BASE });
  fleet.start();
  trainers = new TrainerFleet(kc, NS, (job) => ({ stepMs: job.startsWith('cancel') ? 400 : 120, evalEvery: 2, evalCurve: job.startsWith('early') ? 'rising' : 'falling' }));
  trainers.start();
  hearth = await startClusterHearth({
    account: ACCOUNT,
    dbName,
    maxConnections: 10,
    crdManager: 'hearth-sft-e2e',
    artifacts: true,
    listen: true,
    gateway: { config: { holdTimeoutMs: 3_000, notReadyRetryAfterSeconds: 5 }, deps: { loadReporter: { report: () => undefined }, dialTarget: (ep) => fleet.dial(ep.address, ep.port) } },
    manager: ({ apiUrl, store }) => ({
      deployment: { selector: `${RUN_LABEL}=${suffix}`, capacityRetryMs: 2000, quotaRetryMs: 2000 },
      deployedModel: { dial: fleet.dial, pollMs: 1_000 },
      // Every state written (VALIDATING first, PENDING with the Job): this suite checks the whole
      // documented sequence, which the controller's defaults coalesce on a quick dataset and free
      // GPUs (README "Status writes"); bench:sft and sft-trainer-shim run the defaults.
      sftJob: { artifacts: store!, trainer: { ...DEFAULT_TRAINER, image: 'ghcr.io/hearth-dev/trainer-fixture:test', apiUrl }, pollMs: 500, reportGraceMs: 60_000, quotaRetryMs: 2_000, validatingAfterMs: 0, pendingAfterMs: 0 },
    }),
  });
  ({ app, apiKey } = hearth);
  store = hearth.store!;

  // Every state of every SFTJob of the run, as the watch delivers each status write. On the shared
  // cluster another suite's setup may apply other CRDs, and a changed CRD ends the API server's
  // watches of its kind: the watch resumes from the last resourceVersion it saw.
  await watchJobs();
}, 120_000);

afterAll(async () => {
  watching = false;
  watchAbort?.abort();
  await trainers?.stop();
  await hearth?.close();
  await fleet?.stop();
}, 60_000);

describe('SFT end to end on the simulated cluster', () => {
  // On the shared cluster another suite's setup may apply older CRDs (without status.training).
  beforeEach(async () => installCrds(kc, 'hearth-sft-e2e'), 60_000);
  const TUNED = `accounts/${ACCOUNT}/models/sql-tuned`;

  it('REST: VALIDATING → PENDING → RUNNING with progress moving → COMPLETED; the output model READY, linked, its files in the store', async () => {
    await uploadDataset('chats', Array.from({ length: 20 }, (_, i) => example(i)));
    const created = await rest('POST', '/supervisedFineTuningJobs?supervisedFineTuningJobId=tune-rest', { dataset: 'chats', baseModel: BASE, outputModel: TUNED, epochs: 1, loraRank: 8 });
    expect(created.status, JSON.stringify(created.body)).toBe(200);

    // Progress moves in the REST view while it trains.
    const percents = new Set<number>();
    await waitFor('progress to move in the REST view', async () => {
      const b = (await rest('GET', '/supervisedFineTuningJobs/tune-rest')).body;
      const p = (b.jobProgress as { percent?: number } | undefined)?.percent;
      if (b.state === 'JOB_STATE_RUNNING' && p !== undefined) percents.add(p);
      return percents.size >= 3;
    }, { timeoutMs: 90_000, intervalMs: 50, dump });

    const done = await waitState('tune-rest', 'JOB_STATE_COMPLETED');
    expect(seen.get('tune-rest')).toEqual(['JOB_STATE_VALIDATING', 'JOB_STATE_PENDING', 'JOB_STATE_RUNNING', 'JOB_STATE_WRITING_RESULTS', 'JOB_STATE_COMPLETED']);
    expect(done).toMatchObject({ outputModel: TUNED, jobProgress: { percent: 100 }, training: { trainDataset: `accounts/${ACCOUNT}/datasets/tune-rest-train-split`, evalDataset: `accounts/${ACCOUNT}/datasets/tune-rest-eval-split`, acceleratorType: 'NVIDIA_A100_80GB', region: 'US_ILLINOIS_2' } });
    expect(done.training?.estimatedCostUsd).toBeGreaterThan(0);
    // The carve-out is a real dataset.
    expect((await rest('GET', '/datasets/tune-rest-eval-split')).body).toMatchObject({ state: 'READY', exampleCount: '2' });

    const wire = (await rest('GET', '/supervisedFineTuningJobs/tune-rest')).body;
    expect(wire).toMatchObject({ state: 'JOB_STATE_COMPLETED', outputModel: TUNED });
    const model = (await rest('GET', '/models/sql-tuned')).body;
    expect(model).toMatchObject({ state: 'READY', kind: 'HF_PEFT_ADDON', fineTuningJob: `accounts/${ACCOUNT}/supervisedFineTuningJobs/tune-rest`, peftDetails: { baseModel: BASE, r: 8 } });
    const row = await getModel(hearth.database.db, ACCOUNT, 'sql-tuned');
    for (const f of ['adapter_config.json', 'adapter_model.safetensors']) expect(await store.head(row!.files!.uploaded[f]!.key)).toBeDefined();
    // The trainer ran once, read the training split through its signed URL.
    expect(trainers.of('tune-rest').map((r) => r.result?.trainExamples)).toEqual([18]);
  }, 180_000);

  it('kubectl apply: the same flow; the output model defaults to the job id', async () => {
    await custom.createNamespacedCustomObject({
      ...sftTarget,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'SFTJob', metadata: { name: 'tune-kubectl' }, spec: { dataset: `accounts/${ACCOUNT}/datasets/chats`, baseModel: BASE } },
    });
    const done = await waitState('tune-kubectl', 'JOB_STATE_COMPLETED');
    expect(done.outputModel).toBe(`accounts/${ACCOUNT}/models/tune-kubectl`);
    expect((await rest('GET', '/models/tune-kubectl')).body).toMatchObject({ state: 'READY' });
  }, 180_000);

  it('kubectl apply with outputModel as a full name: accepted by the API server, registered under its id; another account\'s fails naming the field (no Job, no quota); a malformed one is refused by the CRD', async () => {
    const sft = (name: string, outputModel: string) => ({ apiVersion: `${GROUP}/${VERSION}`, kind: 'SFTJob', metadata: { name }, spec: { dataset: `accounts/${ACCOUNT}/datasets/chats`, baseModel: BASE, outputModel } });
    expect(await kubectlApply(sft('tune-full-name', `accounts/${ACCOUNT}/models/full-named`))).toContain(`sftjob.${GROUP}/tune-full-name created`);
    // The CRD cannot see the namespace's account: the controller fails the job in VALIDATING.
    expect(await kubectlApply(sft('tune-foreign', 'accounts/someone-else/models/stolen'))).toContain(`sftjob.${GROUP}/tune-foreign created`);
    // Not a model name at all: the CRD's rule refuses it, naming the field.
    const refused = await kubectlApply(sft('tune-bad-name', `accounts/${ACCOUNT}/datasets/chats`)).then(
      () => '',
      (e: { stderr?: string }) => e.stderr ?? String(e),
    );
    expect(refused).toContain('spec.outputModel');
    expect(refused).toContain('outputModel must be a model id');

    const failed = await waitState('tune-foreign', 'JOB_STATE_FAILED');
    expect(failed.status).toEqual({ code: 'INVALID_ARGUMENT', message: `outputModel: accounts/someone-else/models/stolen is not a model of account ${ACCOUNT}` });
    expect(seen.get('tune-foreign')).toEqual(['JOB_STATE_VALIDATING', 'JOB_STATE_FAILED']);
    expect(await holdsOf(hearth.database.db, ACCOUNT, 'sftjob/tune-foreign')).toEqual([]);
    const jobs = await batch.listNamespacedJob({ namespace: NS, labelSelector: 'hearth.dev/sft-job=tune-foreign' });
    expect(jobs.items).toEqual([]);
    expect(trainers.of('tune-foreign')).toEqual([]);

    const done = await waitState('tune-full-name', 'JOB_STATE_COMPLETED');
    expect(done.outputModel).toBe(`accounts/${ACCOUNT}/models/full-named`);
    expect((await rest('GET', '/models/full-named')).body).toMatchObject({ state: 'READY', fineTuningJob: `accounts/${ACCOUNT}/supervisedFineTuningJobs/tune-full-name` });
    expect(await kubectl('get', '-n', NS, `sftjobs.${GROUP}`, 'tune-full-name', '-o', 'jsonpath={.spec.outputModel}')).toBe(`accounts/${ACCOUNT}/models/full-named`);
    expect((await rest('GET', '/supervisedFineTuningJobs/tune-full-name')).body).toMatchObject({ outputModel: `accounts/${ACCOUNT}/models/full-named` });
  }, 180_000);

  it("a resumed attempt's trainer calling before the status naming its attempt is written gets its inputs (over HTTP, the API server's view, the installation key in PostgreSQL)", async () => {
    // The job as a :cancel left it (attempt 0, CANCELLED), written through the status subresource as
    // the controller writes it: the controller leaves a final job alone. A resume's trainer (attempt 1)
    // whose pod started before the controller's PENDING write for attempt 1 landed calls now.
    await custom.createNamespacedCustomObject({ ...sftTarget, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'SFTJob', metadata: { name: 'early-caller' }, spec: { dataset: `accounts/${ACCOUNT}/datasets/chats`, baseModel: BASE } } });
    await waitFor('the job cancelled over REST', async () => (await rest('POST', '/supervisedFineTuningJobs/early-caller:cancel', {})).status === 200, { timeoutMs: 20_000, intervalMs: 100, dump });
    const cancelled = await waitState('early-caller', 'JOB_STATE_CANCELLED');
    expect(cancelled.training?.attempt ?? 0).toBe(0);
    const obj = (await custom.getNamespacedCustomObject({ ...sftTarget, name: 'early-caller' })) as { metadata: { uid: string } };
    const key = await installationSecret(hearth.database.db, SECRET_NAMES.sftTrainerTokens);
    const call = (attempt: number, uid = obj.metadata.uid) =>
      fetch(`${hearth.apiUrl}/v1-trainer/sft/${ACCOUNT}/early-caller/inputs`, { headers: { authorization: `Bearer ${trainerToken(key, uid, attempt)}` } });
    const early = await call(1);
    expect(early.status, await early.clone().text()).toBe(200);
    expect(await early.json()).toMatchObject({ attempt: 1 });
    // The cancelled attempt's own trainer must stop; another job's token opens nothing.
    expect((await call(0)).status).toBe(400);
    expect((await call(1, 'another-uid')).status).toBe(401);
    expect((await call(2)).status).toBe(401);
  }, 180_000);

  it('the fine-tuned model loads on a deployment with addons at once and the gateway serves it by its id', async () => {
    await custom.createNamespacedCustomObject({
      ...depTarget,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Deployment',
        metadata: { name: DEP, labels: { [RUN_LABEL]: suffix } },
        spec: { baseModel: BASE, acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 1, minReplicaCount: 1, maxReplicaCount: 1, replicaCount: 1, enableAddons: true },
      },
    });
    await waitFor('the deployment in the API cache', async () => (await rest('GET', `/deployments/${DEP}`)).status === 200, { timeoutMs: 20_000, dump });
    const dm = await rest('POST', '/deployedModels', { model: TUNED, deployment: `accounts/${ACCOUNT}/deployments/${DEP}` });
    expect(dm.status, JSON.stringify(dm.body)).toBe(200);
    await waitFor('the adapter loaded on the replica', async () => [...fleet.replicas.values()].some((r) => r.fixture.adapters().has(TUNED)), { timeoutMs: 90_000, dump });
    const r = await waitFor('the gateway to serve the fine-tuned model', async () => {
      const res = await chat(TUNED);
      return res.status === 200 ? res : undefined;
    }, { timeoutMs: 30_000, dump });
    expect(JSON.parse(r.body)).toMatchObject({ model: TUNED });
  }, 180_000);

  it('cancel mid-run → CANCELLED; :resume → a new attempt from the checkpoint → COMPLETED', async () => {
    const created = await rest('POST', '/supervisedFineTuningJobs?supervisedFineTuningJobId=cancel-me', { dataset: 'chats', baseModel: BASE, outputModel: 'resumed' });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    await waitFor('a checkpoint at step ≥ 4', async () => {
      const p = (await getJob('cancel-me'))?.metadata.annotations?.['hearth.dev/trainer-progress'];
      return p !== undefined && Number(/"lastCheckpoint":"step-(\d+)"/.exec(p)?.[1] ?? 0) >= 4;
    }, { timeoutMs: 90_000, intervalMs: 50, dump });
    expect((await rest('POST', '/supervisedFineTuningJobs/cancel-me:cancel', {})).status).toBe(200);
    const cancelled = await waitState('cancel-me', 'JOB_STATE_CANCELLED');
    const checkpoint = cancelled.training?.checkpoint;
    expect(checkpoint).toMatch(/^step-\d+$/);
    await waitFor('the first trainer run to stop', async () => trainers.of('cancel-me')[0]?.result !== undefined, { timeoutMs: 30_000, dump });
    expect(trainers.of('cancel-me')[0]!.result!.exitCode).toBe(143);

    expect((await rest('POST', '/supervisedFineTuningJobs/cancel-me:resume', {})).status).toBe(200);
    const done = await waitState('cancel-me', 'JOB_STATE_COMPLETED', 120_000);
    expect(done.training?.attempt).toBe(1);
    const second = trainers.of('cancel-me')[1]!;
    expect(second.env.HEARTH_SFT_RESUME_CHECKPOINT).toBe(checkpoint);
    expect(second.result!.startStep).toBe(Number(checkpoint!.slice('step-'.length)));
    expect(seen.get('cancel-me')).toEqual(expect.arrayContaining(['JOB_STATE_CANCELLING', 'JOB_STATE_CANCELLED', 'JOB_STATE_PENDING', 'JOB_STATE_RUNNING', 'JOB_STATE_COMPLETED']));
    expect((await rest('GET', '/models/resumed')).body).toMatchObject({ state: 'READY' });
  }, 240_000);

  it('a dataset with two examples → FAILED in VALIDATING naming the rule; no Job', async () => {
    // The upload path refuses fewer than 3 examples itself; a dataset written by another job (as a
    // batch inference output is) can still be that small, so this one is written as such.
    const key = `datasets/${ACCOUNT}/tiny/1/tiny.jsonl`;
    await store.put(key, (async function* () {
      yield Buffer.from(`${example(1)}\n${example(2)}\n`);
    })());
    await createDataset(hearth.database.db, { accountId: ACCOUNT, datasetId: 'tiny', state: 'READY', format: 'CHAT', exampleCount: 2n, storageUri: `artifact:${key}` });
    const created = await rest('POST', '/supervisedFineTuningJobs?supervisedFineTuningJobId=too-small', { dataset: 'tiny', baseModel: BASE });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const failed = await waitState('too-small', 'JOB_STATE_FAILED');
    expect(failed.status).toEqual({ code: 'INVALID_ARGUMENT', message: `dataset: dataset accounts/${ACCOUNT}/datasets/tiny has 2 examples; fine-tuning needs at least 3 (minimum examples: 3)` });
    expect(seen.get('too-small')).toEqual(['JOB_STATE_VALIDATING', 'JOB_STATE_FAILED']);
    expect(trainers.of('too-small')).toEqual([]);
  }, 60_000);

  it('earlyStop: the eval loss rises → EARLY_STOPPED with the best checkpoint as the output model', async () => {
    await uploadDataset('chats-es', Array.from({ length: 20 }, (_, i) => example(i)));
    const created = await rest('POST', '/supervisedFineTuningJobs?supervisedFineTuningJobId=early-stop', { dataset: 'chats-es', baseModel: BASE, earlyStop: true });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const stopped = await waitState('early-stop', 'JOB_STATE_EARLY_STOPPED');
    expect(stopped).toMatchObject({ outputModel: `accounts/${ACCOUNT}/models/early-stop`, training: { bestCheckpoint: 'step-2', evalsSinceBest: 2 } });
    expect(stopped.status?.message, JSON.stringify(await dump())).toMatch(/^early stop: evaluation loss/);
    expect(stopped.training?.earlyStopped).toBe(true);
    expect((await rest('GET', '/models/early-stop')).body).toMatchObject({ state: 'READY' });
  }, 120_000);
});
