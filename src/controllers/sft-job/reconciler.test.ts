// The SFTJob reconciler against the runtime's recording fake API and in-memory stores: "given these
// objects, expect exactly these writes", then a second pass that writes nothing. Time from a FakeClock.
import type { V1Job, V1Namespace } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../crds/group.js';
import type { SFTJobSpecInput, SFTJobStatus } from '../../crds/sft-job.js';
import { mergeReport, tokenDigest, type TrainerProgress, type TrainerReport } from '../../crds/sft-trainer.js';
import { FakeClock } from '../../util/fake-clock.js';
import type { HearthObject } from '../runtime/writer.js';
import { SFTJobCluster } from './fake-cluster.js';
import { FakeSftStores } from './fake-stores.js';
import { SFTJobReconciler, holderOf } from './reconciler.js';
import { DEFAULT_TRAINER } from './trainer.js';
import { TEST_SEAL } from '../../../test/support/tenancy.js';

type Job = HearthObject<'SFTJob'>;

const NS = 'acct-acme';
const KEY = `${NS}/tune`;
const T0 = Date.parse('2026-12-06T08:00:00Z');
const OBJ = 'SFTJob/hearth acct-acme/tune';
const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const namespace: V1Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'hearth.dev/account': 'acme' } } };
const example = (i: number) => JSON.stringify({ messages: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `a${i}` }] });
const LINES = Array.from({ length: 20 }, (_, i) => example(i));

function sftJob(spec: Partial<SFTJobSpecInput> = {}, status?: Partial<SFTJobStatus>, annotations?: Record<string, string>): Job {
  return {
    apiVersion: API_VERSION,
    kind: 'SFTJob',
    metadata: { name: 'tune', namespace: NS, uid: 'uid-tune', generation: 1, resourceVersion: '1', ...(annotations ? { annotations } : {}) },
    spec: { dataset: 'accounts/acme/datasets/chats', baseModel: BASE, epochs: 1, loraRank: 8, maxContextLength: 8192, ...spec },
    ...(status ? { status: status as SFTJobStatus } : {}),
  } as Job;
}

function setup(o: { jobs?: Job[]; lines?: string[]; datasetState?: string } = {}) {
  const cluster = new SFTJobCluster({ sftJobs: o.jobs ?? [sftJob()], namespaces: [namespace] });
  const stores = new FakeSftStores();
  stores.addDataset('acme', 'chats', o.lines ?? LINES, o.datasetState);
  const clock = new FakeClock(T0);
  let n = 0;
  const r = new SFTJobReconciler({
    listers: cluster.listers,
    writer: cluster,
    stores,
    trainer: { ...DEFAULT_TRAINER, apiUrl: 'http://api:8080' },
    clock,
    randomToken: () => `token-${++n}`,
  });
  const log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as never;
  const pass = async () => {
    const res = await r.reconcile(KEY, { log, signal: new AbortController().signal });
    return { res, writes: cluster.take() };
  };
  return { cluster, stores, clock, pass, status: () => cluster.status(KEY) };
}

type T = ReturnType<typeof setup>;

/** Drives a job from creation to RUNNING (its Job's pod ready). */
async function toRunning(t: T): Promise<void> {
  await t.pass(); // VALIDATING
  await t.pass(); // PENDING (validated)
  await t.pass(); // Job created
  t.cluster.editJob(`${NS}/sft-tune-0`, (j) => (j.status = { active: 1, ready: 1 }));
  await t.pass(); // RUNNING
  expect(t.status()?.state).toBe('JOB_STATE_RUNNING');
}

function report(t: T, r: TrainerReport): void {
  t.cluster.edit(KEY, (j) => {
    const ann = j.metadata.annotations ?? {};
    const prev = ann['hearth.dev/trainer-progress'] ? (JSON.parse(ann['hearth.dev/trainer-progress']) as TrainerProgress) : undefined;
    j.metadata.annotations = { ...ann, 'hearth.dev/trainer-progress': JSON.stringify(mergeReport(prev, r, j.status?.training?.attempt ?? 0, '2026-12-06T08:01:00Z')) };
  });
}

function adapterFiles(t: T, under = 'adapter/'): void {
  t.stores.files.set(`acme/tune/${under}adapter_config.json`, 60);
  t.stores.files.set(`acme/tune/${under}adapter_model.safetensors`, 2100);
}

describe('SFTJobReconciler: validation', () => {
  const failures: Array<[string, Parameters<typeof setup>[0], string, string]> = [
    ['dataset missing', { jobs: [sftJob({ dataset: 'accounts/acme/datasets/nope' })] }, 'NOT_FOUND', 'dataset: dataset accounts/acme/datasets/nope not found'],
    ['dataset of another account', { jobs: [sftJob({ dataset: 'accounts/other/datasets/chats' })] }, 'NOT_FOUND', 'dataset: dataset accounts/other/datasets/chats not found in account acme'],
    ['dataset not READY', { datasetState: 'UPLOADING' }, 'FAILED_PRECONDITION', 'dataset: dataset accounts/acme/datasets/chats is UPLOADING; only READY datasets can be trained on'],
    ['two examples', { lines: LINES.slice(0, 2) }, 'INVALID_ARGUMENT', 'dataset: dataset accounts/acme/datasets/chats has 2 examples; fine-tuning needs at least 3 (minimum examples: 3)'],
    ['not chat', { lines: [...LINES.slice(0, 3), '{"prompt":"x"}'] }, 'INVALID_ARGUMENT', 'dataset: dataset accounts/acme/datasets/chats line 4 has no "messages" array (each example must be {"messages": [{"role", "content"}, …]})'],
    ['unknown base model', { jobs: [sftJob({ baseModel: 'accounts/fireworks/models/nope' })] }, 'NOT_FOUND', 'baseModel: base model accounts/fireworks/models/nope does not exist'],
    ['untunable base model', { jobs: [sftJob({ baseModel: 'accounts/fireworks/models/deepseek-v3' })] }, 'FAILED_PRECONDITION', 'baseModel: accounts/fireworks/models/deepseek-v3: mixture-of-experts models cannot be fine-tuned (Tunable: false)'],
    ['LoRA rank outside the set', { jobs: [sftJob({ loraRank: 12 })] }, 'INVALID_ARGUMENT', 'loraRank: 12 is not one of 1, 2, 4, 8, 16, 32, 64 (a power of two up to 64)'],
    ['epochs out of range', { jobs: [sftJob({ epochs: 1000 })] }, 'INVALID_ARGUMENT', 'epochs: 1000 is outside 1–100'],
    ['learning rate out of range', { jobs: [sftJob({ learningRate: 2 })] }, 'INVALID_ARGUMENT', 'learningRate: 2 is outside (0, 1]'],
  ];
  it.each(failures)('%s → FAILED in VALIDATING naming the field; no Job, no quota; a second pass writes nothing', async (_, objs, code, message) => {
    const t = setup(objs);
    expect((await t.pass()).writes).toEqual([`status ${OBJ}`]);
    expect(t.status()?.state).toBe('JOB_STATE_VALIDATING');
    const { writes, res } = await t.pass();
    expect(writes).toEqual([`status ${OBJ}`, `event Warning/Failed ${NS}/tune`]);
    expect(res).toEqual({});
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_FAILED', status: { code, message }, completedTime: '2026-12-06T08:00:00Z' });
    expect(t.stores.holds.size).toBe(0);
    expect((await t.pass()).writes).toEqual([]);
  });

  it('an output model id that exists → FAILED naming outputModel', async () => {
    const t = setup({ jobs: [sftJob({ outputModel: 'taken' })] });
    t.stores.models.set('acme/taken', { baseModel: BASE, state: 'READY' });
    await t.pass();
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_FAILED', status: { code: 'ALREADY_EXISTS', message: 'outputModel: model accounts/acme/models/taken already exists; name a new model' } });
  });

  it('no evaluation dataset: the carve-out is written as two datasets, the estimate is recorded → PENDING', async () => {
    const t = setup();
    await t.pass();
    const { writes } = await t.pass();
    expect(writes).toEqual([`status ${OBJ}`, `event Normal/Validated ${NS}/tune`]);
    expect(t.stores.datasets.get('acme/tune-train-split')?.lines).toHaveLength(18);
    expect(t.stores.datasets.get('acme/tune-eval-split')?.lines).toEqual([LINES[9], LINES[19]]);
    expect(t.status()).toMatchObject({
      state: 'JOB_STATE_PENDING',
      training: { attempt: 0, trainDataset: 'accounts/acme/datasets/tune-train-split', evalDataset: 'accounts/acme/datasets/tune-eval-split' },
    });
    expect(t.status()?.training?.estimatedCostUsd).toBeGreaterThan(0);
  });
});

describe('SFTJobReconciler: the trainer Job', () => {
  it('PENDING: holds the quota, makes the Secret and the Job; waits for the pods; RUNNING; a second pass writes nothing', async () => {
    const t = setup();
    await t.pass();
    await t.pass();
    const made = await t.pass();
    expect(made.writes).toEqual([`create Secret ${NS}/sft-tune-trainer`, `create Job/batch ${NS}/sft-tune-0`, `status ${OBJ}`]);
    expect(t.stores.holds.get(`acme/${holderOf('tune')}`)).toEqual({ 'a100-us-illinois-2': 1 });
    expect(t.status()?.training).toMatchObject({ job: 'sft-tune-0', acceleratorType: 'NVIDIA_A100_80GB', acceleratorCount: 1, nodes: 1, region: 'US_ILLINOIS_2', tokenSha256: tokenDigest('token-1') });
    expect((await t.pass()).writes).toEqual([]); // pods not scheduled yet: still PENDING, nothing to write
    t.cluster.editJob(`${NS}/sft-tune-0`, (j) => (j.status = { active: 1, ready: 1 }));
    expect((await t.pass()).writes).toEqual([`status ${OBJ}`, `event Normal/Started ${NS}/tune`]);
    expect(t.status()?.state).toBe('JOB_STATE_RUNNING');
    expect((await t.pass()).writes).toEqual([]);
  });

  it('no quota anywhere → PENDING naming the quota; retried later', async () => {
    const t = setup();
    for (const q of ['a100-us-illinois-2', 'h100-us-virginia-2', 'h100-ap-tokyo-1', 'h100-eu-frankfurt-1', 'h100-us-illinois-1', 'h100-us-iowa-1', 'h100-us-virginia-1', 'h100-us-arizona-1', 'h200-eu-paris-1']) t.stores.quotas.set(q, 0);
    await t.pass();
    await t.pass();
    const { writes, res } = await t.pass();
    expect(writes).toEqual([`status ${OBJ}`]);
    expect(res).toEqual({ requeueAfter: 10_000 });
    expect(t.status()?.status?.message).toMatch(/^waiting for GPU quota: quota a100-us-illinois-2: 1 GPUs needed, 0 of 0 free/);
    expect((await t.pass()).writes).toEqual([]);
  });

  it('progress reports move the status; done → WRITING_RESULTS → COMPLETED with the output model; quota released', async () => {
    const t = setup({ jobs: [sftJob({ outputModel: 'my-lora' })] });
    await toRunning(t);
    report(t, { step: 5, totalSteps: 10, trainLoss: 1.2, tokensProcessed: 500, checkpoint: 'step-5' });
    expect((await t.pass()).writes).toEqual([`status ${OBJ}`]);
    expect(t.status()).toMatchObject({ jobProgress: { percent: 50, epoch: 0 }, training: { step: 5, trainLoss: 1.2, checkpoint: 'step-5' } });
    expect((await t.pass()).writes).toEqual([]);
    adapterFiles(t);
    report(t, { step: 10, totalSteps: 10, done: true });
    await t.pass();
    expect(t.status()?.state).toBe('JOB_STATE_WRITING_RESULTS');
    const { writes } = await t.pass();
    expect(writes).toEqual([`status ${OBJ}`, `event Normal/Completed ${NS}/tune`]);
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_COMPLETED', outputModel: 'accounts/acme/models/my-lora', jobProgress: { percent: 100 } });
    expect(t.stores.models.get('acme/my-lora')).toMatchObject({ baseModel: BASE, job: 'accounts/acme/supervisedFineTuningJobs/tune', state: 'READY' });
    expect(t.stores.holds.size).toBe(0);
    expect((await t.pass()).writes).toEqual([]);
  });

  it('done without a valid adapter → FAILED naming the files', async () => {
    const t = setup();
    await toRunning(t);
    report(t, { step: 1, totalSteps: 1, done: true });
    await t.pass();
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_FAILED', status: { code: 'INVALID_ARGUMENT', message: "the trainer's adapter is not valid: adapter/ lacks adapter_config.json or adapter_model.safetensors" } });
  });

  it('the Job failed → FAILED with the reason', async () => {
    const t = setup();
    await toRunning(t);
    t.cluster.editJob(`${NS}/sft-tune-0`, (j) => (j.status = { failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }] }));
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_FAILED', status: { message: 'the trainer failed (BackoffLimitExceeded: Job has reached the specified backoff limit); :resume continues from the last checkpoint' } });
  });

  it('Complete without the final report: waits the grace period, then FAILED', async () => {
    const t = setup();
    await toRunning(t);
    t.cluster.editJob(`${NS}/sft-tune-0`, (j) => (j.status = { succeeded: 1, conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: new Date(T0) as never }] }));
    await t.pass();
    expect(t.status()?.state).toBe('JOB_STATE_RUNNING');
    t.clock.advance(30_000);
    await t.pass();
    expect(t.status()?.status?.message).toMatch(/completed without reporting its adapter/);
  });
});

describe('SFTJobReconciler: cancel, resume, early stop', () => {
  it(':cancel → CANCELLING (the Job deleted) → CANCELLED; :resume → a new attempt from the last checkpoint', async () => {
    const t = setup();
    await toRunning(t);
    report(t, { step: 4, totalSteps: 10, checkpoint: 'step-4' });
    await t.pass();
    t.cluster.edit(KEY, (j) => (j.metadata.annotations = { ...j.metadata.annotations, 'hearth.dev/cancel-requested': '2026-12-06T08:02:00Z' }));
    expect((await t.pass()).writes).toEqual([`delete Job/batch ${NS}/sft-tune-0`, `status ${OBJ}`]);
    expect(t.status()?.state).toBe('JOB_STATE_CANCELLING');
    expect((await t.pass()).writes).toEqual([`status ${OBJ}`, `event Normal/Cancelled ${NS}/tune`]);
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_CANCELLED', training: { checkpoint: 'step-4' } });
    expect(t.stores.holds.size).toBe(0);
    expect((await t.pass()).writes).toEqual([]);

    t.clock.advance(60_000);
    t.cluster.edit(KEY, (j) => {
      const a = { ...j.metadata.annotations };
      delete a['hearth.dev/cancel-requested'];
      j.metadata.annotations = { ...a, 'hearth.dev/resume-requested': '2026-12-06T08:03:00Z' };
    });
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_PENDING', training: { attempt: 1, checkpoint: 'step-4' } });
    const made = await t.pass();
    expect(made.writes).toContain(`create Job/batch ${NS}/sft-tune-1`);
    const env = (t.cluster.listers.jobs.get(`${NS}/sft-tune-1`) as V1Job).spec!.template.spec!.containers[0]!.env!;
    expect(env).toContainEqual({ name: 'HEARTH_SFT_RESUME_CHECKPOINT', value: 'step-4' });
    expect(env).toContainEqual({ name: 'HEARTH_SFT_ATTEMPT', value: '1' });
  });

  it('earlyStop: eval loss rising for the patience → the Job deleted, the best checkpoint becomes the model → EARLY_STOPPED', async () => {
    const t = setup({ jobs: [sftJob({ earlyStop: true })] });
    await toRunning(t);
    report(t, { step: 2, totalSteps: 10, evalLoss: 1.0, checkpoint: 'step-2' });
    report(t, { step: 4, totalSteps: 10, evalLoss: 1.1, checkpoint: 'step-4' });
    await t.pass();
    expect(t.status()?.state).toBe('JOB_STATE_RUNNING');
    report(t, { step: 6, totalSteps: 10, evalLoss: 1.3, checkpoint: 'step-6' });
    adapterFiles(t, 'checkpoints/step-2/');
    expect((await t.pass()).writes).toEqual([`delete Job/batch ${NS}/sft-tune-0`, `status ${OBJ}`, `event Normal/WritingResults ${NS}/tune`]);
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_EARLY_STOPPED', outputModel: 'accounts/acme/models/tune', training: { bestCheckpoint: 'step-2', evalsSinceBest: 2 } });
    expect(t.stores.models.get('acme/tune')?.from).toBe('checkpoints/step-2/');
    expect(t.status()?.status?.message).toBe('early stop: evaluation loss 1.3 did not improve on 1 for 2 evaluations');
  });
});

describe('a namespace labelled with an account by hand (issue 15 item 5)', () => {
  it('is left alone: a NamespaceNotVerified Warning and nothing else; a second pass writes nothing but the event count', async () => {
    const t = setup();
    // What the namespaces informer hands the reconciler (NamespaceSeal.project): the label is gone.
    t.cluster.listers.namespaces.put(TEST_SEAL.project({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'hearth.dev/account': 'acme' } } }));
    const first = await t.pass();
    expect(first.res).toEqual({});
    expect(first.writes).toEqual([`event Warning/NamespaceNotVerified ${KEY}`]);
    const second = await t.pass();
    expect(second.writes.filter((w) => !w.startsWith('event '))).toEqual([]);
    expect(t.status()).toBeUndefined();
  });
});
