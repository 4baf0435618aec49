// The BatchInferenceJob reconciler against the runtime's recording fake API, in-memory datasets and
// a fake gateway: "given these objects, expect exactly these writes", then a second pass that
// writes nothing. Time from a FakeClock.
import type { V1Namespace, V1OwnerReference } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { BatchInferenceJobSpecInput, BatchInferenceJobStatus } from '../../crds/batch-inference-job.js';
import type { Deployment } from '../../crds/deployment.js';
import { API_VERSION } from '../../crds/group.js';
import { FakeClock, flushMicrotasks } from '../../util/fake-clock.js';
import type { HearthObject } from '../runtime/writer.js';
import { RESULTS_FILE } from './datasets.js';
import { BatchInferenceJobCluster } from './fake-cluster.js';
import { MemoryDatasets } from './fake-datasets.js';
import type { Send, SendResult } from './inference.js';
import { BatchInferenceJobReconciler, DEFAULT_PROGRESS_MS } from './reconciler.js';
import { LABEL_JOB } from './resources.js';

type Job = HearthObject<'BatchInferenceJob'>;

const NS = 'acct-acme';
const KEY = `${NS}/j`;
const T0 = Date.parse('2026-12-06T08:00:00Z');
const JOB = 'BatchInferenceJob/hearth acct-acme/j';
const MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const INPUT = { accountId: 'acme', datasetId: 'questions' };
const OUTPUT = { accountId: 'acme', datasetId: 'j-output' };

const namespace: V1Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'hearth.dev/account': 'acme' } } };

function job(spec: Partial<BatchInferenceJobSpecInput> = {}, status?: Partial<BatchInferenceJobStatus>, name = 'j'): Job {
  return {
    apiVersion: API_VERSION,
    kind: 'BatchInferenceJob',
    metadata: { name, namespace: NS, uid: `uid-${name}`, generation: 1, resourceVersion: '1' },
    spec: { model: MODEL, inputDatasetId: 'questions', ...spec },
    ...(status ? { status: status as BatchInferenceJobStatus } : {}),
  } as Job;
}

function deployment(name: string, baseModel: string): Deployment {
  return { apiVersion: API_VERSION, kind: 'Deployment', metadata: { name, namespace: NS, uid: `uid-${name}`, resourceVersion: '1' }, spec: { baseModel } } as unknown as Deployment;
}

const chat = (id: string) => JSON.stringify({ custom_id: id, body: { messages: [{ role: 'user', content: id }] } });

/** A gateway whose answers the test releases. */
class Gateway {
  readonly pending: Array<{ model: unknown; resolve: (r: SendResult) => void }> = [];
  readonly send: Send = (_a, _p, body, signal) =>
    new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => reject(new Error('aborted')));
      this.pending.push({ model: body.model, resolve });
    });
  answer(): void {
    for (const p of this.pending.splice(0)) p.resolve({ ok: true, response: { ok: true } });
  }
}

function setup(o: { jobs?: Job[]; deployments?: Deployment[]; input?: string; inputState?: 'READY' | 'UPLOADING'; noInput?: boolean } = {}) {
  const cluster = new BatchInferenceJobCluster({ jobs: o.jobs ?? [job()], deployments: o.deployments ?? [], namespaces: [namespace] });
  const datasets = new MemoryDatasets();
  if (!o.noInput) datasets.add(INPUT, o.input ?? `${chat('a')}\n${chat('b')}\n`, o.inputState ?? 'READY');
  const gateway = new Gateway();
  const clock = new FakeClock(T0);
  const r = new BatchInferenceJobReconciler({
    listers: cluster.listers,
    writer: cluster,
    catalog: datasets,
    run: { bytes: datasets, send: gateway.send, clock, concurrency: 4, checkpointLines: 1, checkpointMs: 60_000 },
    clock,
  });
  const log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as never;
  const pass = async (key = KEY) => {
    const res = await r.reconcile(key, { log, signal: new AbortController().signal });
    return { res, writes: cluster.take() };
  };
  return { cluster, datasets, gateway, clock, r, pass, status: (key = KEY) => cluster.status(key) };
}

describe('BatchInferenceJobReconciler: start', () => {
  const failures: Array<[string, Parameters<typeof setup>[0], string, string]> = [
    ['input dataset missing', { noInput: true }, 'NOT_FOUND', 'inputDatasetId: dataset questions not found'],
    ['input dataset not READY', { inputState: 'UPLOADING' }, 'FAILED_PRECONDITION', 'inputDatasetId: dataset questions is UPLOADING, not READY'],
    ['input of another account', { jobs: [job({ inputDatasetId: 'accounts/other/datasets/q' })] }, 'INVALID_ARGUMENT', 'inputDatasetId: accounts/other/datasets/q is not a dataset of account acme'],
    ['extraBody not an object', { jobs: [job({ inferenceParameters: { extraBody: '[]' } })] }, 'INVALID_ARGUMENT', 'inferenceParameters.extraBody must be a JSON object'],
    ['continued job missing', { jobs: [job({ model: undefined, inputDatasetId: undefined, continuedFromJobName: 'accounts/acme/batchInferenceJobs/gone' })] }, 'NOT_FOUND', 'continuedFromJobName: batch inference job accounts/acme/batchInferenceJobs/gone not found'],
    ['continued job of another account', { jobs: [job({ continuedFromJobName: 'accounts/x/batchInferenceJobs/a' })] }, 'INVALID_ARGUMENT', 'continuedFromJobName: accounts/x/batchInferenceJobs/a is not a batch inference job of account acme (accounts/acme/batchInferenceJobs/<id>)'],
  ];
  it.each(failures)('%s → FAILED naming the field, and a second pass writes nothing', async (_, objs, code, message) => {
    const t = setup(objs);
    const { writes, res } = await t.pass();
    expect(writes).toEqual([`status ${JOB}`, `event Warning/Failed ${NS}/j`]);
    expect(res).toEqual({});
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_FAILED', status: { code, message }, completedTime: '2026-12-06T08:00:00Z' });
    expect((await t.pass()).writes).toEqual([]);
  });

  it('an output dataset that exists and is not the job\'s → FAILED, the dataset untouched', async () => {
    const t = setup();
    t.datasets.add(OUTPUT, 'mine\n');
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_FAILED', status: { code: 'ALREADY_EXISTS', message: 'outputDatasetId: dataset j-output already exists; name a new dataset' } });
    expect(t.datasets.lines).toBeDefined();
    expect(t.datasets.datasets.get('acme/j-output')?.info.state).toBe('READY');
  });

  it('a model no deployment serves: a deployment for the job, the output dataset, RUNNING; a second pass starts the run and writes nothing', async () => {
    const t = setup();
    const first = await t.pass();
    expect(first.writes).toEqual([`create Deployment/hearth ${NS}/bij-j`, `status ${JOB}`, `event Normal/Started ${NS}/j`]);
    expect(first.res).toEqual({ requeueAfter: 1 });
    const dep = t.cluster.listers.deployments.get(`${NS}/bij-j`);
    expect(dep?.spec).toMatchObject({ baseModel: MODEL, minReplicaCount: 1, maxReplicaCount: 1 });
    expect(dep?.metadata?.labels?.[LABEL_JOB]).toBe('j');
    expect((dep?.metadata?.ownerReferences as V1OwnerReference[] | undefined)?.[0]).toMatchObject({ kind: 'BatchInferenceJob', name: 'j', uid: 'uid-j', controller: true });
    expect(t.status()).toMatchObject({
      state: 'JOB_STATE_RUNNING',
      model: MODEL,
      inputDatasetId: 'questions',
      outputDatasetId: 'j-output',
      deployment: 'bij-j',
      startTime: '2026-12-06T08:00:00Z',
      jobProgress: { percent: 0, successfullyProcessedRequests: 0, failedRequests: 0 },
    });
    expect(t.datasets.datasets.get('acme/j-output')?.info).toEqual({ state: 'UPLOADING', writtenBy: 'accounts/acme/batchInferenceJobs/j' });
    const second = await t.pass();
    expect(second.writes).toEqual([]);
    expect(second.res).toEqual({ requeueAfter: DEFAULT_PROGRESS_MS });
    await flushMicrotasks(30);
    // Requests go to the job's deployment.
    expect(t.gateway.pending.map((p) => p.model)).toEqual([`${MODEL}#accounts/acme/deployments/bij-j`, `${MODEL}#accounts/acme/deployments/bij-j`]);
  });

  const existing: Array<[string, Job, Deployment[], string]> = [
    ['a deployment of the account serves the model', job(), [deployment('mine', MODEL)], MODEL],
    ['the model names a deployment', job({ model: `${MODEL}#accounts/acme/deployments/d` }), [], `${MODEL}#accounts/acme/deployments/d`],
    ['the model is a deployed model', job({ model: 'accounts/acme/deployedModels/lora-x' }), [], 'accounts/acme/deployedModels/lora-x'],
  ];
  it.each(existing)('%s → no deployment created; requests carry the model as given', async (_, j, deployments, sent) => {
    const t = setup({ jobs: [j], deployments });
    expect((await t.pass()).writes).toEqual([`status ${JOB}`, `event Normal/Started ${NS}/j`]);
    expect(t.status()?.deployment).toBeUndefined();
    await t.pass();
    await flushMicrotasks(30);
    expect(t.gateway.pending[0]?.model).toBe(sent);
  });

  it('a namespace without an account is not reconciled', async () => {
    const t = setup();
    t.cluster.listers.namespaces.put({ ...namespace, metadata: { name: NS } });
    expect((await t.pass()).writes).toEqual([]);
  });
});

describe('BatchInferenceJobReconciler: running', () => {
  async function running() {
    const t = setup({ input: `${chat('a')}\nnot json\n${chat('b')}\n` });
    await t.pass(); // RUNNING
    await t.pass(); // run started
    await flushMicrotasks(30);
    return t;
  }

  it('progress is written as answers are checkpointed; completion makes the output READY and the job COMPLETED; then the deployment goes', async () => {
    const t = await running();
    let p = await t.pass();
    expect(p.writes).toEqual([`status ${JOB}`]); // the bad line's error is checkpointed already
    expect(t.status()?.jobProgress).toEqual({ percent: 33, totalInputRequests: 3, totalProcessedRequests: 1, successfullyProcessedRequests: 0, failedRequests: 1, outputRows: 1 });
    t.gateway.answer();
    await flushMicrotasks(30);
    p = await t.pass();
    expect(p.writes).toEqual([`status ${JOB}`, `event Normal/Completed ${NS}/j`]);
    expect(t.status()).toMatchObject({
      state: 'JOB_STATE_COMPLETED',
      status: { code: 'OK' },
      jobProgress: { percent: 100, totalInputRequests: 3, successfullyProcessedRequests: 2, failedRequests: 1 },
      conditions: [expect.objectContaining({ type: 'Ready', status: 'True', reason: 'Completed' }) as unknown],
    });
    expect(t.datasets.datasets.get('acme/j-output')).toMatchObject({ info: { state: 'READY' }, exampleCount: 3 });
    expect(t.datasets.lines(OUTPUT, RESULTS_FILE).map((l) => [l.line, l.custom_id, 'error' in l])).toEqual([
      [2, undefined, true],
      [1, 'a', false],
      [3, 'b', false],
    ]);
    expect((await t.pass()).writes).toEqual([`delete Deployment/hearth ${NS}/bij-j`]);
    expect((await t.pass()).writes).toEqual([]);
  });

  it('cancel: the run stops, what is answered stays, CANCELLED; a second pass writes nothing more than removing the deployment', async () => {
    const t = await running();
    t.gateway.pending[0]?.resolve({ ok: true, response: {} });
    await flushMicrotasks(30);
    t.cluster.edit(KEY, (j) => (j.spec.cancelRequested = true));
    const p = await t.pass();
    expect(p.writes).toEqual([`status ${JOB}`, `event Normal/Cancelled ${NS}/j`]);
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_CANCELLED', status: { code: 'CANCELLED' }, jobProgress: { successfullyProcessedRequests: 1, failedRequests: 1, totalProcessedRequests: 2 } });
    expect(t.datasets.lines(OUTPUT, RESULTS_FILE)).toHaveLength(2);
    expect(t.r.runs.size).toBe(0);
    expect((await t.pass()).writes).toEqual([`delete Deployment/hearth ${NS}/bij-j`]);
    expect((await t.pass()).writes).toEqual([]);
  });

  it('a restarted controller (a new reconciler, same output) resumes: answered lines are not sent again', async () => {
    const t = await running();
    t.gateway.pending[0]?.resolve({ ok: true, response: {} });
    await flushMicrotasks(30);
    await t.r.runs.stopAll(); // the old leader's term ends
    const gateway = new Gateway();
    const r2 = new BatchInferenceJobReconciler({
      listers: t.cluster.listers,
      writer: t.cluster,
      catalog: t.datasets,
      run: { bytes: t.datasets, send: gateway.send, clock: t.clock, concurrency: 4, checkpointLines: 1, checkpointMs: 60_000 },
      clock: t.clock,
    });
    const ctx = { log: { debug: () => undefined } as never, signal: new AbortController().signal };
    await r2.reconcile(KEY, ctx);
    await flushMicrotasks(30);
    expect(gateway.pending).toHaveLength(1);
    gateway.answer();
    await flushMicrotasks(30);
    await r2.reconcile(KEY, ctx);
    expect(t.status()?.state).toBe('JOB_STATE_COMPLETED');
    const lines = t.datasets.lines(OUTPUT, RESULTS_FILE).map((l) => l.line).sort();
    expect(lines).toEqual([1, 2, 3]);
  });

  it('an output dataset deleted while the job ran → FAILED naming it', async () => {
    const t = await running();
    t.gateway.answer();
    await flushMicrotasks(30);
    t.datasets.datasets.delete('acme/j-output');
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_FAILED', status: { code: 'NOT_FOUND', message: 'outputDatasetId: dataset j-output was deleted while the job ran' } });
  });

  it('a deleted job: its run stops, its output stays', async () => {
    const t = await running();
    t.cluster.listers.jobs.delete(KEY);
    expect((await t.pass()).writes).toEqual([]);
    expect(t.r.runs.size).toBe(0);
    expect(t.datasets.lines(OUTPUT, RESULTS_FILE)).toHaveLength(1);
  });
});

describe('BatchInferenceJobReconciler: continuation', () => {
  it('takes the model and input of the job it continues; re-runs its failed lines only', async () => {
    const first = job({}, { state: 'JOB_STATE_COMPLETED', model: MODEL, inputDatasetId: 'questions', outputDatasetId: 'first-out' }, 'first');
    const t = setup({ jobs: [first, job({ model: undefined, inputDatasetId: undefined, continuedFromJobName: 'accounts/acme/batchInferenceJobs/first' })], deployments: [deployment('mine', MODEL)] });
    await t.datasets.createOutput({ accountId: 'acme', datasetId: 'first-out' }, 'accounts/acme/batchInferenceJobs/first');
    await t.datasets.writePart({ accountId: 'acme', datasetId: 'first-out' }, RESULTS_FILE, 0, Buffer.from('{"custom_id":"a","line":1,"response":{}}\n{"custom_id":"b","line":2,"error":{"code":"UNAVAILABLE","message":"x"}}\n'));
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_RUNNING', model: MODEL, inputDatasetId: 'questions', outputDatasetId: 'j-output' });
    await t.pass();
    await flushMicrotasks(30);
    expect(t.gateway.pending).toHaveLength(1);
    t.gateway.answer();
    await flushMicrotasks(30);
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_COMPLETED', jobProgress: { successfullyProcessedRequests: 2, failedRequests: 0 } });
  });

  it('a continued job that has not ended → FAILED', async () => {
    const first = job({}, { state: 'JOB_STATE_RUNNING', outputDatasetId: 'first-out' }, 'first');
    const t = setup({ jobs: [first, job({ continuedFromJobName: 'accounts/acme/batchInferenceJobs/first' })] });
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_FAILED', status: { code: 'FAILED_PRECONDITION' } });
  });
});
