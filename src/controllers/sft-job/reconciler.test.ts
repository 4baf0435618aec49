// The SFTJob reconciler against the runtime's recording fake API and in-memory stores: "given these
// objects, expect exactly these writes", then a second pass that writes nothing. Time from a FakeClock.
import type { V1Job, V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../crds/group.js';
import type { SFTJobSpecInput, SFTJobStatus } from '../../crds/sft-job.js';
import { mergeReport, trainingDatasets, type TrainerProgress, type TrainerReport } from '../../crds/sft-trainer.js';
import { FakeClock } from '../../util/fake-clock.js';
import type { HearthObject } from '../runtime/writer.js';
import { SFTJobCluster } from './fake-cluster.js';
import { FakeSftStores } from './fake-stores.js';
import { SFTJobReconciler, holderOf } from './reconciler.js';
import { secretName, trainerToken } from './resources.js';
import { eventsFor } from './status.js';
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
/** The token of an attempt of the job `tune` (uid-tune) under the stores' key. */
const tokenOf = (attempt: number, uid = 'uid-tune') => trainerToken(new FakeSftStores().key, uid, attempt);
/** The token Secret of an attempt of the job `tune` (named by its uid and the attempt). */
const SECRET = (attempt = 0, uid = 'uid-tune') => `${NS}/${secretName('tune', uid, attempt)}`;

function sftJob(spec: Partial<SFTJobSpecInput> = {}, status?: Partial<SFTJobStatus>, annotations?: Record<string, string>): Job {
  return {
    apiVersion: API_VERSION,
    kind: 'SFTJob',
    metadata: { name: 'tune', namespace: NS, uid: 'uid-tune', generation: 1, resourceVersion: '1', ...(annotations ? { annotations } : {}) },
    spec: { dataset: 'accounts/acme/datasets/chats', baseModel: BASE, epochs: 1, loraRank: 8, maxContextLength: 8192, ...spec },
    ...(status ? { status: status as SFTJobStatus } : {}),
  } as Job;
}

/** A GPU node as the simulated fleet has it (labels, taint, allocatable GPUs). */
function gpuNode(name: string, region: string, acc: string, gpus = 8): V1Node {
  const resource = acc.startsWith('AMD') ? 'amd.com/gpu' : 'nvidia.com/gpu';
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'topology.kubernetes.io/region': region, 'hearth.dev/accelerator-type': acc } },
    spec: { taints: [{ key: resource, value: 'present', effect: 'NoSchedule' }] },
    status: { allocatable: { [resource]: String(gpus) }, conditions: [{ type: 'Ready', status: 'True' }] },
  } as V1Node;
}

/** A pod holding `gpus` GPUs on a node (someone else's workload, or a trainer pod). */
function gpuPod(name: string, node: string | undefined, gpus: number, labels: Record<string, string> = {}, phase = 'Running', ns = 'other'): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels },
    spec: { ...(node ? { nodeName: node } : {}), containers: [{ name: 'c', resources: { limits: { 'nvidia.com/gpu': String(gpus) } } }] },
    status: { phase },
  } as V1Pod;
}

/** The simulated fleet's training GPUs: A100 in US_ILLINOIS_2 (2 nodes), H100 in US_VIRGINIA_2 (2) and AP_TOKYO_1 (1). */
const FLEET = [
  gpuNode('a100-0', 'US_ILLINOIS_2', 'NVIDIA_A100_80GB'),
  gpuNode('a100-1', 'US_ILLINOIS_2', 'NVIDIA_A100_80GB'),
  gpuNode('h100-va-0', 'US_VIRGINIA_2', 'NVIDIA_H100_80GB'),
  gpuNode('h100-va-1', 'US_VIRGINIA_2', 'NVIDIA_H100_80GB'),
  gpuNode('h100-tyo-0', 'AP_TOKYO_1', 'NVIDIA_H100_80GB'),
];

/**
 * The reconciler on the fake cluster. Unless `fast` is given, it writes every state (VALIDATING
 * first, PENDING with the Job: validatingAfterMs and pendingAfterMs 0), the slow path the tests
 * below walk state by state; `fast` uses the defaults (coalesced writes, "coalescing" below).
 */
function setup(o: { jobs?: Job[]; lines?: string[]; datasetState?: string; nodes?: V1Node[]; pods?: V1Pod[]; fast?: { validatingAfterMs?: number; pendingAfterMs?: number } } = {}) {
  const cluster = new SFTJobCluster({ sftJobs: o.jobs ?? [sftJob()], namespaces: [namespace], nodes: o.nodes ?? FLEET, pods: o.pods ?? [] });
  const stores = new FakeSftStores();
  stores.addDataset('acme', 'chats', o.lines ?? LINES, o.datasetState);
  const clock = new FakeClock(T0);
  /** While true, the Job informer's cache has not caught up: it shows no Jobs (the API server still has them). */
  const jobsCache = { lagging: false };
  const jobs = { get: (k: string) => (jobsCache.lagging ? undefined : cluster.listers.jobs.get(k)), list: (ns?: string) => (jobsCache.lagging ? [] : cluster.listers.jobs.list(ns)) };
  const make = () =>
    new SFTJobReconciler({
      listers: { ...cluster.listers, jobs },
      writer: cluster,
      stores,
      trainer: { ...DEFAULT_TRAINER, apiUrl: 'http://api:8080' },
      clock,
      ...(o.fast ?? { validatingAfterMs: 0, pendingAfterMs: 0 }),
    });
  let r = make();
  const log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as never;
  const passOf = async (key: string) => {
    const res = await r.reconcile(key, { log, signal: new AbortController().signal });
    return { res, writes: cluster.take() };
  };
  const pass = () => passOf(KEY);
  /** The controller restarted: a new reconciler (nothing remembered) on the same cluster and stores. */
  const restart = () => void (r = make());
  return { cluster, stores, clock, pass, passOf, restart, jobsCache, status: () => cluster.status(KEY) };
}

/** The token in an attempt's trainer Secret (what its trainer pod gets in HEARTH_TRAINER_TOKEN). */
function secretToken(t: T, attempt = 0, uid = 'uid-tune'): string | undefined {
  const s = t.cluster.secret(SECRET(attempt, uid));
  return s?.stringData?.token ?? (s?.data?.token !== undefined ? Buffer.from(s.data.token, 'base64').toString('utf8') : undefined);
}

/** The next status write fails as on a conflict (someone changed the job meanwhile) and writes nothing. */
function loseNextStatusWrite(t: T): void {
  const real = t.cluster.updateStatus.bind(t.cluster);
  t.cluster.updateStatus = async () => {
    t.cluster.updateStatus = real;
    throw Object.assign(new Error('the object has been modified'), { code: 409 });
  };
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
    // kubectl may give outputModel as a full name; the CRD's CEL cannot see the namespace's account.
    ['output model of another account', { jobs: [sftJob({ outputModel: 'accounts/globex/models/tuned' })] }, 'INVALID_ARGUMENT', 'outputModel: accounts/globex/models/tuned is not a model of account acme'],
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

  it('no evaluation dataset: the carve-out is written as two datasets, the estimate is recorded → PENDING (and started in the same pass)', async () => {
    const t = setup();
    await t.pass();
    const { writes } = await t.pass();
    expect(writes).toEqual([`create Secret ${SECRET()}`, `create Job/batch ${NS}/sft-tune-0`, `status ${OBJ}`]);
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
  it('validated → PENDING: holds the quota, makes the Secret and the Job in the same pass; waits for the pods; RUNNING; a second pass writes nothing', async () => {
    const t = setup();
    await t.pass();
    const made = await t.pass();
    expect(made.writes).toEqual([`create Secret ${SECRET()}`, `create Job/batch ${NS}/sft-tune-0`, `status ${OBJ}`]);
    expect(t.stores.holds.get(`acme/${holderOf('tune')}`)).toEqual({ 'a100-us-illinois-2': 1 });
    expect(t.status()?.training).toMatchObject({ job: 'sft-tune-0', acceleratorType: 'NVIDIA_A100_80GB', acceleratorCount: 1, nodes: 1, region: 'US_ILLINOIS_2'});
    expect(t.cluster.secret(SECRET())).toMatchObject({ immutable: true, stringData: { token: tokenOf(0) } });
    expect((await t.pass()).writes).toEqual([]); // pods not scheduled yet: still PENDING, nothing to write
    t.cluster.editJob(`${NS}/sft-tune-0`, (j) => (j.status = { active: 1, ready: 1 }));
    expect((await t.pass()).writes).toEqual([`status ${OBJ}`]);
    expect(t.status()?.state).toBe('JOB_STATE_RUNNING');
    expect((await t.pass()).writes).toEqual([]);
  });

  it('no quota anywhere → PENDING naming the quota; retried later', async () => {
    const t = setup();
    for (const q of ['a100-us-illinois-2', 'h100-us-virginia-2', 'h100-ap-tokyo-1', 'h100-eu-frankfurt-1', 'h100-us-illinois-1', 'h100-us-iowa-1', 'h100-us-virginia-1', 'h100-us-arizona-1', 'h200-eu-paris-1']) t.stores.quotas.set(q, 0);
    await t.pass();
    const { writes, res } = await t.pass();
    expect(writes).toEqual([`status ${OBJ}`]);
    expect(res).toEqual({ requeueAfter: 10_000 });
    expect(t.status()?.state).toBe('JOB_STATE_PENDING');
    expect(t.status()?.status?.message).toMatch(/^waiting for GPUs: no region can place 1 NVIDIA_A100_80GB GPU: US_ILLINOIS_2: quota a100-us-illinois-2 has 0 GPUs left; /);
    expect(t.status()?.training?.pendingReason).toBe(t.status()?.status?.message);
    expect(t.cluster.listers.jobs.list()).toEqual([]);
    expect(t.stores.holds.size).toBe(0);
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

  it('outputModel as the full name of the account (kubectl): checked free and registered under its id', async () => {
    const t = setup({ jobs: [sftJob({ outputModel: 'accounts/acme/models/my-lora' })] });
    t.stores.models.set('acme/taken', { baseModel: BASE, state: 'READY' });
    await toRunning(t);
    adapterFiles(t);
    report(t, { step: 10, totalSteps: 10, done: true });
    await t.pass();
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_COMPLETED', outputModel: 'accounts/acme/models/my-lora' });
    expect(t.stores.models.get('acme/my-lora')).toMatchObject({ job: 'accounts/acme/supervisedFineTuningJobs/tune', state: 'READY' });
    expect([...t.stores.models.keys()].sort()).toEqual(['acme/my-lora', 'acme/taken']);

    const taken = setup({ jobs: [sftJob({ outputModel: 'accounts/acme/models/taken' })] });
    taken.stores.models.set('acme/taken', { baseModel: BASE, state: 'READY' });
    await taken.pass();
    await taken.pass();
    expect(taken.status()).toMatchObject({ state: 'JOB_STATE_FAILED', status: { code: 'ALREADY_EXISTS', message: 'outputModel: model accounts/acme/models/taken already exists; name a new model' } });
    expect(taken.stores.holds.size).toBe(0);
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

describe('SFTJobReconciler: a lost status write after the Secret and the Job were made', () => {
  // The trainer's pod reads HEARTH_TRAINER_TOKEN from the Secret once, when its container starts:
  // a Secret replaced after that leaves it with a token the API no longer accepts (401).
  for (const how of ['a conflict', 'a restart of the controller'] as const) {
    it(`(${how}) the retry keeps the token a started pod holds: the attempt's Secret is made once and never replaced; a second pass writes nothing`, async () => {
      const t = setup();
      await t.pass(); // VALIDATING
      loseNextStatusWrite(t);
      await expect(t.pass()).rejects.toMatchObject({ code: 409 });
      expect(t.status()?.state).toBe('JOB_STATE_VALIDATING'); // PENDING was not written
      expect(t.cluster.listers.jobs.get(`${NS}/sft-tune-0`)).toBeDefined();
      const held = secretToken(t); // the trainer pod started now with this token
      expect(held).toBe(tokenOf(0));
      t.cluster.take();
      if (how === 'a restart of the controller') t.restart();

      const retry = await t.pass();
      // The attempt's Secret exists (409: it is this uid's and attempt's alone, immutable): kept,
      // so what the pod holds still opens the trainer endpoints. The Job is in the cache: kept
      // (where it runs is read back from it), not created again.
      expect(retry.writes).toEqual([`create Secret ${SECRET()}`, `status ${OBJ}`]);
      expect(secretToken(t)).toBe(held);
      expect(t.status()).toMatchObject({ state: 'JOB_STATE_PENDING', training: { job: 'sft-tune-0' } });
      expect((await t.pass()).writes).toEqual([]);
    });
  }
});

describe("SFTJobReconciler: each attempt's token Secret, made beside its Job", () => {
  // A trainer pod reads HEARTH_TRAINER_TOKEN from the Secret its Job names once, when its container
  // starts (the kubelet waits for a Secret that is not there yet). Each attempt's Job names a Secret
  // of that job uid and attempt only, which only ever holds that attempt's token: made at the same
  // time as the Job, never replaced, so no pod can start with a superseded or a namesake's token.
  const secretOfJob = (t: T, attempt: number) => (t.cluster.listers.jobs.get(`${NS}/sft-tune-${attempt}`) as V1Job).spec!.template.spec!.containers[0]!.env!.find((e) => e.name === 'HEARTH_TRAINER_TOKEN')?.valueFrom?.secretKeyRef?.name;

  it('a first attempt: the Secret and the Job are created in the same step; the Job names that Secret', async () => {
    const t = setup();
    await t.pass();
    expect((await t.pass()).writes).toEqual([`create Secret ${SECRET()}`, `create Job/batch ${NS}/sft-tune-0`, `status ${OBJ}`]);
    expect(`${NS}/${secretOfJob(t, 0)}`).toBe(SECRET());
    expect(secretToken(t)).toBe(tokenOf(0));
  });

  it(":resume: the new attempt's Job names a new Secret holding only the new token; the superseded one is left as it was, never updated", async () => {
    const t = setup({ jobs: [sftJob({}, { state: 'JOB_STATE_CANCELLED', training: { attempt: 0, checkpoint: 'step-4', trainDataset: 'accounts/acme/datasets/chats' }, updateTime: '2026-12-06T07:59:00Z' }, { 'hearth.dev/resume-requested': '2026-12-06T08:00:00Z' })] });
    // The first attempt's Secret, as it was left.
    await t.cluster.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: secretName('tune', 'uid-tune', 0), namespace: NS }, immutable: true, stringData: { token: tokenOf(0) } } as never);
    t.cluster.take();
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_PENDING', training: { attempt: 1 } });
    const made = await t.pass();
    expect(made.writes).toEqual([`create Secret ${SECRET(1)}`, `create Job/batch ${NS}/sft-tune-1`, `status ${OBJ}`]);
    expect(`${NS}/${secretOfJob(t, 1)}`).toBe(SECRET(1));
    expect(secretToken(t, 1)).toBe(tokenOf(1));
    expect(secretToken(t, 0)).toBe(tokenOf(0));
  });

  it("a job re-created under the same name while the deleted one's Secret is still there: its Job names its own Secret, not the namesake's", async () => {
    const t = setup();
    await t.cluster.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: secretName('tune', 'uid-old', 0), namespace: NS }, immutable: true, stringData: { token: tokenOf(0, 'uid-old') } } as never);
    t.cluster.take();
    await t.pass();
    expect((await t.pass()).writes).toEqual([`create Secret ${SECRET()}`, `create Job/batch ${NS}/sft-tune-0`, `status ${OBJ}`]);
    expect(secretOfJob(t, 0)).not.toBe(secretName('tune', 'uid-old', 0));
    expect(secretToken(t)).toBe(tokenOf(0));
  });
});

describe('SFTJobReconciler: a retried placement keeps the Job that exists', () => {
  // The A100 pool fills up after the Job was made on it: placing again would pick H100 in
  // US_VIRGINIA_2, while the real Job stays pinned to A100 in US_ILLINOIS_2.
  const fillA100 = (t: T) => [...filling('a100-0'), ...filling('a100-1')].forEach((p) => t.cluster.listers.pods.put(p));
  const onA100 = { acceleratorType: 'NVIDIA_A100_80GB', acceleratorCount: 1, nodes: 1, region: 'US_ILLINOIS_2', quotaName: 'a100-us-illinois-2' };

  for (const how of ['a conflict', 'a restart of the controller'] as const) {
    it(`(${how}) the lost PENDING write is retried with the Job's placement, not a new one; the hold stays; a second pass writes nothing`, async () => {
      const t = setup();
      await t.pass(); // VALIDATING
      loseNextStatusWrite(t);
      await expect(t.pass()).rejects.toMatchObject({ code: 409 });
      expect(t.stores.holds.get(`acme/${holderOf('tune')}`)).toEqual({ 'a100-us-illinois-2': 1 });
      fillA100(t);
      if (how === 'a restart of the controller') t.restart();
      t.cluster.take();

      const retry = await t.pass();
      expect(t.status()).toMatchObject({ state: 'JOB_STATE_PENDING', training: { job: 'sft-tune-0', ...onA100 } });
      expect(t.stores.holds.get(`acme/${holderOf('tune')}`)).toEqual({ 'a100-us-illinois-2': 1 });
      // The Job is there (the cache has it): not created again; the Secret is there too (409: kept).
      expect(retry.writes).toEqual([`create Secret ${SECRET()}`, `status ${OBJ}`]);
      expect((await t.pass()).writes).toEqual([]);
    });
  }

  it('a lost PENDING write and a Job cache that has not caught up: the create meets the Job (409) and the pass fails instead of recording a new placement; the retry after the cache catches up keeps A100', async () => {
    const t = setup();
    await t.pass(); // VALIDATING
    loseNextStatusWrite(t);
    await expect(t.pass()).rejects.toMatchObject({ code: 409 });
    fillA100(t);
    t.restart();
    t.jobsCache.lagging = true;
    await expect(t.pass()).rejects.toThrow(/sft-tune-0 exists but is not in the cache yet/);
    expect(t.status()?.state).toBe('JOB_STATE_VALIDATING'); // nothing recorded that the Job does not say

    t.jobsCache.lagging = false;
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_PENDING', training: { job: 'sft-tune-0', ...onA100 } });
    expect(t.stores.holds.get(`acme/${holderOf('tune')}`)).toEqual({ 'a100-us-illinois-2': 1 });
    expect((await t.pass()).writes).toEqual([]);
  });

  it('the status names the Job but the Job cache has not caught up: no second placement, the status and the hold stay; then a second pass writes nothing', async () => {
    const t = setup();
    await t.pass(); // VALIDATING
    await t.pass(); // PENDING with its Job on A100
    expect(t.status()?.training).toMatchObject({ job: 'sft-tune-0', ...onA100 });
    fillA100(t);
    t.restart(); // nothing remembered: only the status says where the job went
    t.jobsCache.lagging = true;
    t.cluster.take();

    const lagging = await t.pass();
    expect(t.status()?.training).toMatchObject({ job: 'sft-tune-0', ...onA100 });
    expect(t.stores.holds.get(`acme/${holderOf('tune')}`)).toEqual({ 'a100-us-illinois-2': 1 });
    expect(lagging.writes).not.toContain(`status ${OBJ}`);
    expect(t.cluster.listers.jobs.list(NS)).toHaveLength(1);

    t.jobsCache.lagging = false;
    expect((await t.pass()).writes).toEqual([]);
    expect(t.stores.holds.get(`acme/${holderOf('tune')}`)).toEqual({ 'a100-us-illinois-2': 1 });
  });
});

describe('SFTJobReconciler: cancel, resume, early stop', () => {
  it(':cancel when the Job is already gone (a pass that deleted it lost its status write) still says CANCELLING first', async () => {
    const t = setup();
    await toRunning(t);
    t.cluster.edit(KEY, (j) => (j.metadata.annotations = { ...j.metadata.annotations, 'hearth.dev/cancel-requested': '2026-12-06T08:02:00Z' }));
    t.cluster.listers.jobs.delete(`${NS}/sft-tune-0`);
    expect((await t.pass()).writes).toEqual([`status ${OBJ}`]);
    expect(t.status()?.state).toBe('JOB_STATE_CANCELLING');
    expect((await t.pass()).writes).toEqual([`status ${OBJ}`, `event Normal/Cancelled ${NS}/tune`]);
    expect(t.status()?.state).toBe('JOB_STATE_CANCELLED');
    expect((await t.pass()).writes).toEqual([]);
  });

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
    // A new attempt, a new token in a new Secret (the first attempt's token opens nothing of attempt 1).
    expect(made.writes).toContain(`create Secret ${SECRET(1)}`);
    expect(secretToken(t, 1)).toBe(tokenOf(1));
    expect(tokenOf(1)).not.toBe(tokenOf(0));
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
    expect((await t.pass()).writes).toEqual([`delete Job/batch ${NS}/sft-tune-0`, `status ${OBJ}`]);
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_EARLY_STOPPED', outputModel: 'accounts/acme/models/tune', training: { bestCheckpoint: 'step-2', evalsSinceBest: 2 } });
    expect(t.stores.models.get('acme/tune')?.from).toBe('checkpoints/step-2/');
    expect(t.status()?.status?.message).toBe('early stop: evaluation loss 1.3 did not improve on 1 for 2 evaluations');
  });
});

/** Another job of the account, named `name`. */
function sftJobNamed(name: string, status?: Partial<SFTJobStatus>): Job {
  const j = sftJob({}, status);
  return { ...j, metadata: { ...j.metadata, name, uid: `uid-${name}` } } as Job;
}

/** `n` one-GPU pods of someone else filling node `node`. */
const filling = (node: string, gpus = 8): V1Pod[] => [gpuPod(`busy-${node}`, node, gpus)];

describe('SFTJobReconciler: placement by quota and free GPUs', () => {
  it('the A100 pool is full → the H100 region with the most free GPUs; the reason is recorded', async () => {
    const t = setup({ pods: [...filling('a100-0'), ...filling('a100-1')] });
    await t.pass();
    const { writes } = await t.pass();
    expect(writes).toEqual([`create Secret ${SECRET()}`, `create Job/batch ${NS}/sft-tune-0`, `status ${OBJ}`]);
    expect(t.status()?.training).toMatchObject({ acceleratorType: 'NVIDIA_H100_80GB', region: 'US_VIRGINIA_2', quotaName: 'h100-us-virginia-2' });
    expect(t.stores.holds.get(`acme/${holderOf('tune')}`)).toEqual({ 'h100-us-virginia-2': 1 });
    const job = t.cluster.listers.jobs.get(`${NS}/sft-tune-0`)!;
    expect(job.spec?.template.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]?.matchExpressions).toEqual([
      { key: 'topology.kubernetes.io/region', operator: 'In', values: ['US_VIRGINIA_2'] },
      { key: 'hearth.dev/accelerator-type', operator: 'In', values: ['NVIDIA_H100_80GB'] },
    ]);
  });

  it('no free GPUs anywhere → PENDING saying why, no Job, no quota held; a second pass writes nothing; placed once GPUs free up', async () => {
    const busy = FLEET.flatMap((n) => filling(n.metadata!.name!));
    const t = setup({ pods: busy });
    await t.pass();
    const { writes, res } = await t.pass();
    expect(writes).toEqual([`status ${OBJ}`]);
    expect(res).toEqual({ requeueAfter: 10_000 });
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_PENDING', status: { code: 'OK' } });
    expect(t.status()?.status?.message).toBe(
      'waiting for GPUs: no region can place 1 NVIDIA_A100_80GB GPU: US_ILLINOIS_2: 0 GPUs free, no node has 1 free GPU (at most 0); ' +
        'no region can place 1 NVIDIA_H100_80GB GPU: US_VIRGINIA_2: 0 GPUs free, no node has 1 free GPU (at most 0); AP_TOKYO_1: 0 GPUs free, no node has 1 free GPU (at most 0); ' +
        'EU_FRANKFURT_1: 0 GPUs free, no node has 1 free GPU (at most 0); US_ILLINOIS_1: 0 GPUs free, no node has 1 free GPU (at most 0); US_IOWA_1: 0 GPUs free, no node has 1 free GPU (at most 0); ' +
        'US_VIRGINIA_1: 0 GPUs free, no node has 1 free GPU (at most 0); US_ARIZONA_1: 0 GPUs free, no node has 1 free GPU (at most 0); ' +
        'no region can place 1 NVIDIA_H200_141GB GPU: EU_PARIS_1: 0 GPUs free, no node has 1 free GPU (at most 0)',
    );
    expect(t.cluster.listers.jobs.list()).toEqual([]);
    expect(t.stores.holds.size).toBe(0);
    t.clock.advance(10_000);
    expect((await t.pass()).writes).toEqual([]);
    // Another workload on the A100 node ends: the next look places the job there.
    t.cluster.listers.pods.put({ ...busy[0]!, status: { phase: 'Succeeded' } });
    t.clock.advance(10_000);
    const placed = await t.pass();
    expect(placed.writes).toEqual([`create Secret ${SECRET()}`, `create Job/batch ${NS}/sft-tune-0`, `status ${OBJ}`]);
    expect(t.status()?.training).toMatchObject({ acceleratorType: 'NVIDIA_A100_80GB', region: 'US_ILLINOIS_2' });
    expect(t.status()?.training?.pendingReason).toBeUndefined();
    expect(t.status()?.status?.message).toBe('waiting for the trainer pods to be scheduled on GPUs');
  });

  it('GPUs given to another job whose pods are not bound yet are not given twice', async () => {
    // One A100 GPU free; job "first" takes it in its pass, "tune" must go elsewhere.
    const t = setup({ jobs: [sftJobNamed('first'), sftJob()], pods: [...filling('a100-0'), gpuPod('busy-7', 'a100-1', 7)] });
    await t.passOf(`${NS}/first`);
    await t.passOf(`${NS}/first`);
    expect(t.cluster.status(`${NS}/first`)?.training).toMatchObject({ acceleratorType: 'NVIDIA_A100_80GB', region: 'US_ILLINOIS_2' });
    await t.pass();
    await t.pass();
    expect(t.status()?.training).toMatchObject({ acceleratorType: 'NVIDIA_H100_80GB', region: 'US_VIRGINIA_2' });
  });

  it('…also when the two are placed at the same moment (concurrent passes: the GPUs are claimed before the hold is awaited)', async () => {
    const t = setup({ jobs: [sftJobNamed('first'), sftJob()], pods: [...filling('a100-0'), gpuPod('busy-7', 'a100-1', 7)] });
    const keys = [`${NS}/first`, KEY];
    await Promise.all(keys.map((k) => t.passOf(k)));
    await Promise.all(keys.map((k) => t.passOf(k)));
    const got = keys.map((k) => t.cluster.status(k)?.training?.acceleratorType).sort();
    expect(got).toEqual(['NVIDIA_A100_80GB', 'NVIDIA_H100_80GB']);
  });

  it('a PENDING job in the cache (placed by an earlier leader) holds its GPUs until its pods are bound', async () => {
    const other = sftJobNamed('other', { state: 'JOB_STATE_PENDING', training: { attempt: 0, job: 'sft-other-0', acceleratorType: 'NVIDIA_A100_80GB', acceleratorCount: 1, nodes: 1, region: 'US_ILLINOIS_2' } });
    const podOfOther = (node?: string) => gpuPod('sft-other-0-0-x', node, 1, { 'hearth.dev/sft-job': 'other', 'hearth.dev/sft-attempt': '0' }, 'Pending', NS);
    const t = setup({ jobs: [other, sftJob()], pods: [...filling('a100-0'), gpuPod('busy-7', 'a100-1', 7), podOfOther()] });
    await t.pass();
    await t.pass();
    expect(t.status()?.training).toMatchObject({ acceleratorType: 'NVIDIA_H100_80GB' });
    // Once its pod is bound, the free count already has it: a new job sees no A100 room either way.
    const u = setup({ jobs: [other, sftJob()], pods: [...filling('a100-0'), gpuPod('busy-7', 'a100-1', 7), podOfOther('a100-1')] });
    await u.pass();
    await u.pass();
    expect(u.status()?.training).toMatchObject({ acceleratorType: 'NVIDIA_H100_80GB' });
  });
});

describe('SFTJobReconciler: latency', () => {
  it('RUNNING follows the trainer pod running (its event), before the Job counts it', async () => {
    const t = setup();
    await t.pass();
    await t.pass();
    expect((await t.pass()).writes).toEqual([]);
    t.cluster.listers.pods.put(gpuPod('sft-tune-0-0-abc', 'a100-0', 1, { 'hearth.dev/sft-job': 'tune', 'hearth.dev/sft-attempt': '0' }, 'Running', NS));
    const { writes } = await t.pass();
    expect(writes).toEqual([`status ${OBJ}`]);
    expect(t.status()?.state).toBe('JOB_STATE_RUNNING');
    expect((await t.pass()).writes).toEqual([]);
  });

  it('a READY dataset is read and checked once for many jobs; a replaced dataset is read again', async () => {
    const t = setup({ jobs: [sftJob(), sftJobNamed('second'), sftJobNamed('third')] });
    for (const k of [KEY, `${NS}/second`]) {
      await t.passOf(k);
      await t.passOf(k);
    }
    expect(t.stores.byteReads).toBe(1);
    expect(t.cluster.status(`${NS}/second`)?.state).toBe('JOB_STATE_PENDING');
    t.stores.addDataset('acme', 'chats', LINES.slice(0, 2)); // deleted and uploaded again: a new version
    await t.passOf(`${NS}/third`);
    await t.passOf(`${NS}/third`);
    expect(t.stores.byteReads).toBe(2);
    expect(t.cluster.status(`${NS}/third`)).toMatchObject({ state: 'JOB_STATE_FAILED', status: { message: 'dataset: dataset accounts/acme/datasets/chats has 2 examples; fine-tuning needs at least 3 (minimum examples: 3)' } });
  });
});

describe('SFTJobReconciler: a burst of new jobs', () => {
  const named = (name: string, spec: Partial<SFTJobSpecInput>): Job => {
    const j = sftJob(spec);
    return { ...j, metadata: { ...j.metadata, name, uid: `uid-${name}` } } as Job;
  };
  it('jobs validated at once on one dataset share one read of its row and bytes; each reaches PENDING with its Job; a second pass writes nothing', async () => {
    const names = ['tune', 'b1', 'b2', 'b3'];
    const t = setup({ jobs: [sftJob(), ...names.slice(1).map((n) => sftJobNamed(n))] });
    const keys = names.map((n) => `${NS}/${n}`);
    await Promise.all(keys.map((k) => t.passOf(k))); // VALIDATING
    t.cluster.take();
    await Promise.all(keys.map((k) => t.passOf(k)));
    expect(t.stores.metaReads).toBe(1);
    expect(t.stores.byteReads).toBe(1);
    for (const k of keys) expect(t.cluster.status(k)).toMatchObject({ state: 'JOB_STATE_PENDING', training: { job: `sft-${k.split('/')[1]}-0` } });
    expect(t.cluster.listers.jobs.list()).toHaveLength(4);
    t.cluster.take();
    for (const k of keys) await t.passOf(k);
    expect(t.cluster.take()).toEqual([]);
  });

  it('a shared read of a bad dataset fails each job naming its own field', async () => {
    const bad = [...LINES.slice(0, 3), '{"prompt":"x"}'];
    const t = setup({ jobs: [sftJob(), named('with-eval', { evaluationDataset: 'accounts/acme/datasets/chats', dataset: 'accounts/acme/datasets/good' })], lines: bad });
    t.stores.addDataset('acme', 'good', LINES);
    const keys = [KEY, `${NS}/with-eval`];
    await Promise.all(keys.map((k) => t.passOf(k)));
    await Promise.all(keys.map((k) => t.passOf(k)));
    expect(t.stores.byteReads).toBe(2); // chats once (shared), good once
    expect(t.cluster.status(KEY)?.status?.message).toBe('dataset: dataset accounts/acme/datasets/chats line 4 has no "messages" array (each example must be {"messages": [{"role", "content"}, …]})');
    expect(t.cluster.status(`${NS}/with-eval`)?.status?.message).toBe('evaluationDataset: dataset accounts/acme/datasets/chats line 4 has no "messages" array (each example must be {"messages": [{"role", "content"}, …]})');
    expect(t.stores.holds.size).toBe(0);
  });

  it('the checks (and the quota read) start in the pass that writes VALIDATING; the next pass holds and starts the run; quota held only once the job is valid', async () => {
    const t = setup({ jobs: [sftJob(), named('bad', { outputModel: 'taken' })] });
    t.stores.models.set('acme/taken', { baseModel: BASE, state: 'READY' });
    expect((await t.pass()).writes).toEqual([`status ${OBJ}`]);
    expect(t.status()?.state).toBe('JOB_STATE_VALIDATING');
    await t.passOf(`${NS}/bad`);
    await Promise.resolve();
    // Under way while VALIDATING is written: the dataset read, the quota read, the carve-out written.
    expect(t.stores.quotaCalls).toEqual([`read ${holderOf('tune')}`, `read ${holderOf('bad')}`]);
    expect([t.stores.metaReads, t.stores.byteReads]).toEqual([2, 1]);
    expect(t.stores.datasets.has('acme/tune-eval-split')).toBe(true);
    const made = await t.pass();
    expect(made.writes).toEqual([`create Secret ${SECRET()}`, `create Job/batch ${NS}/sft-tune-0`, `status ${OBJ}`]);
    await t.passOf(`${NS}/bad`);
    expect(t.stores.quotaCalls).toEqual([`read ${holderOf('tune')}`, `read ${holderOf('bad')}`, `hold ${holderOf('tune')}`]);
    expect([t.stores.metaReads, t.stores.byteReads]).toEqual([2, 1]); // nothing read again
    expect(t.cluster.status(`${NS}/bad`)).toMatchObject({ state: 'JOB_STATE_FAILED', status: { code: 'ALREADY_EXISTS' } });
    expect((await t.pass()).writes).toEqual([]);
  });

  it('quota taken by another holder between the read beside the checks and the hold: read again and placed in the same pass', async () => {
    const t = setup();
    t.stores.quotas.set('a100-us-illinois-2', 1);
    await t.pass(); // VALIDATING; the quota read says 1 A100 left
    await Promise.resolve();
    t.stores.holds.set('acme/deployment/other', { 'a100-us-illinois-2': 1 });
    const { writes } = await t.pass();
    expect(writes).toEqual([`create Secret ${SECRET()}`, `create Job/batch ${NS}/sft-tune-0`, `status ${OBJ}`]);
    expect(t.stores.quotaCalls).toEqual([`read ${holderOf('tune')}`, `hold ${holderOf('tune')}`, `read ${holderOf('tune')}`, `hold ${holderOf('tune')}`]);
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_PENDING', training: { acceleratorType: 'NVIDIA_H100_80GB', region: 'US_VIRGINIA_2' } });
    expect(t.stores.holds.get(`acme/${holderOf('tune')}`)).toEqual({ 'h100-us-virginia-2': 1 });
  });

  it('a spec changed after the checks started is checked again (as it is now)', async () => {
    const t = setup();
    await t.pass(); // VALIDATING; checks of generation 1 under way
    t.cluster.edit(KEY, (j) => {
      j.spec.loraRank = 12;
      j.metadata.generation = 2;
    });
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_FAILED', status: { message: 'loraRank: 12 is not one of 1, 2, 4, 8, 16, 32, 64 (a power of two up to 64)' } });
    expect(t.cluster.listers.jobs.list()).toEqual([]);
    expect(t.stores.holds.size).toBe(0);
  });

  it('checks that failed on the database are run again by the retry, not remembered', async () => {
    const t = setup();
    const real = t.stores.modelExists.bind(t.stores);
    let fail = true;
    t.stores.modelExists = async (a, id) => {
      if (fail) throw new Error('connection terminated');
      return real(a, id);
    };
    await t.pass();
    await expect(t.pass()).rejects.toThrow('connection terminated');
    expect(t.status()?.state).toBe('JOB_STATE_VALIDATING');
    fail = false;
    await t.pass();
    expect(t.status()?.state).toBe('JOB_STATE_PENDING');
  });
});

describe('SFTJob events', () => {
  it('only at the ends (Ready transitions, failure, cancel): the way there is in the status', () => {
    const from = (state: SFTJobStatus['state']) => ({ state }) as SFTJobStatus;
    const said = (prev: SFTJobStatus['state'], next: SFTJobStatus['state']) => eventsFor(from(prev), from(next)).map((e) => `${e.type}/${e.reason}`);
    expect(said('JOB_STATE_UNSPECIFIED', 'JOB_STATE_VALIDATING')).toEqual([]);
    expect(said('JOB_STATE_VALIDATING', 'JOB_STATE_PENDING')).toEqual([]);
    expect(said('JOB_STATE_PENDING', 'JOB_STATE_RUNNING')).toEqual([]);
    expect(said('JOB_STATE_RUNNING', 'JOB_STATE_WRITING_RESULTS')).toEqual([]);
    expect(said('JOB_STATE_WRITING_RESULTS', 'JOB_STATE_COMPLETED')).toEqual(['Normal/Completed']);
    expect(said('JOB_STATE_WRITING_RESULTS', 'JOB_STATE_EARLY_STOPPED')).toEqual(['Normal/EarlyStopped']);
    expect(said('JOB_STATE_RUNNING', 'JOB_STATE_FAILED')).toEqual(['Warning/Failed']);
    expect(said('JOB_STATE_CANCELLING', 'JOB_STATE_CANCELLED')).toEqual(['Normal/Cancelled']);
    expect(said('JOB_STATE_COMPLETED', 'JOB_STATE_COMPLETED')).toEqual([]);
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

describe('SFTJobReconciler: coalesced status writes (the defaults)', () => {
  // The Deployment controller's rule (deployment/status.ts statusWriteDue): coalesce what a user
  // would never see at this speed, never skip a state a user can see for long.
  const trainerPod = (phase = 'Running', attempt = 0) => gpuPod(`sft-tune-${attempt}-0-abc`, 'a100-0', 1, { 'hearth.dev/sft-job': 'tune', 'hearth.dev/sft-attempt': String(attempt) }, phase, NS);
  const fast = {};
  /** Gates the dataset's bytes: the checks wait until `open()` (a slow store, a large dataset). */
  const slowBytes = (t: T) => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const real = t.stores.datasetBytes.bind(t.stores);
    t.stores.datasetBytes = async (a, id) => {
      await gate;
      return real(a, id);
    };
    return () => open();
  };
  /** Every status write's state, in order (what a watch sees). */
  /** The state a pass wrote, read right after it (none if it wrote no status). */
  const shown = (t: T, pass: { writes: string[] }): string[] => (pass.writes.includes(`status ${OBJ}`) ? [String(t.status()?.state)] : []);

  const table: Array<[string, (t: T) => Promise<string[]>, string[]]> = [
    [
      'quick checks, GPUs free, the pod runs within pendingAfterMs → no status → RUNNING',
      async (t) => {
        const out = shown(t, await t.pass());
        t.cluster.listers.pods.put(trainerPod());
        return [...out, ...shown(t, await t.pass())];
      },
      ['JOB_STATE_RUNNING'],
    ],
    [
      'bad input → FAILED at once (no VALIDATING)',
      async (t) => {
        t.cluster.edit(KEY, (j) => (j.spec.loraRank = 12));
        return shown(t, await t.pass());
      },
      ['JOB_STATE_FAILED'],
    ],
    [
      'no free GPUs → PENDING at once, with why',
      async (t) => {
        FLEET.flatMap((n) => filling(n.metadata!.name!)).forEach((p) => t.cluster.listers.pods.put(p));
        return shown(t, await t.pass());
      },
      ['JOB_STATE_PENDING'],
    ],
    [
      'checks slower than validatingAfterMs → VALIDATING while they run → RUNNING',
      async (t) => {
        const open = slowBytes(t);
        const first = t.pass();
        await t.clock.advanceAsync(2_000);
        const out = shown(t, await first);
        open();
        out.push(...shown(t, await t.pass()));
        t.cluster.listers.pods.put(trainerPod());
        return [...out, ...shown(t, await t.pass())];
      },
      ['JOB_STATE_VALIDATING', 'JOB_STATE_RUNNING'],
    ],
    [
      'the pod not running within pendingAfterMs → PENDING (with the placement) → RUNNING',
      async (t) => {
        const out = shown(t, await t.pass());
        t.clock.advance(5_000);
        out.push(...shown(t, await t.pass()));
        t.cluster.listers.pods.put(trainerPod());
        return [...out, ...shown(t, await t.pass())];
      },
      ['JOB_STATE_PENDING', 'JOB_STATE_RUNNING'],
    ],
    [
      'the Job fails before its pod runs → FAILED',
      async (t) => {
        await t.pass();
        t.cluster.editJob(`${NS}/sft-tune-0`, (j) => (j.status = { failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'x' }] }));
        return shown(t, await t.pass());
      },
      ['JOB_STATE_FAILED'],
    ],
  ];
  it.each(table)('%s; a second pass changes nothing', async (_, run, states) => {
    const t = setup({ fast });
    expect(await run(t)).toEqual(states);
    const before = JSON.stringify(t.status());
    expect((await t.pass()).writes).toEqual([]);
    expect(JSON.stringify(t.status())).toBe(before);
  });

  it('create → RUNNING in 3 API writes (the Secret, the Job, one status) against 5 writing every state; RUNNING carries the placement, the Job and the checks\' fields', async () => {
    const writesTo = async (t: T) => {
      const all: string[] = [];
      all.push(...(await t.pass()).writes);
      if (!t.cluster.listers.jobs.get(`${NS}/sft-tune-0`)) all.push(...(await t.pass()).writes); // VALIDATING → the Job
      all.push(...(await t.pass()).writes);
      t.cluster.listers.pods.put(trainerPod());
      all.push(...(await t.pass()).writes);
      expect(t.status()?.state).toBe('JOB_STATE_RUNNING');
      return all;
    };
    const t = setup({ fast });
    const first = await t.pass();
    expect(first.writes).toEqual([`create Secret ${SECRET()}`, `create Job/batch ${NS}/sft-tune-0`]);
    expect(first.res).toEqual({ requeueAfter: 5_000 });
    expect(t.status()).toBeUndefined(); // the REST view says CREATING meanwhile
    expect(t.stores.holds.get(`acme/${holderOf('tune')}`)).toEqual({ 'a100-us-illinois-2': 1 });
    expect((await t.pass()).writes).toEqual([]);
    t.cluster.listers.pods.put(trainerPod());
    expect((await t.pass()).writes).toEqual([`status ${OBJ}`]);
    expect(t.status()).toMatchObject({
      state: 'JOB_STATE_RUNNING',
      training: { attempt: 0, job: 'sft-tune-0', acceleratorType: 'NVIDIA_A100_80GB', acceleratorCount: 1, nodes: 1, region: 'US_ILLINOIS_2', quotaName: 'a100-us-illinois-2', trainDataset: 'accounts/acme/datasets/tune-train-split', evalDataset: 'accounts/acme/datasets/tune-eval-split' },
    });
    expect(t.status()?.training?.estimatedCostUsd).toBeGreaterThan(0);
    expect(t.status()?.training?.pendingReason).toBeUndefined();
    // What the trainer endpoint serves before this write: the same datasets, from the spec.
    const tr = t.status()!.training!;
    expect(trainingDatasets('acme', 'tune', t.cluster.listers.sftJobs.get(KEY)!.spec)).toEqual({ train: tr.trainDataset, eval: tr.evalDataset });

    expect(await writesTo(setup({ fast }))).toHaveLength(3);
    expect(await writesTo(setup())).toHaveLength(5); // VALIDATING, Secret, Job, PENDING, RUNNING
  });

  it('a restart between the Job create and the first status write: the placement is read back from the Job (not placed again, the hold stays), then RUNNING; a second pass writes nothing', async () => {
    const t = setup({ fast });
    await t.pass();
    expect(t.status()).toBeUndefined();
    [...filling('a100-0'), ...filling('a100-1')].forEach((p) => t.cluster.listers.pods.put(p)); // a new choice would be H100
    t.restart();
    const again = await t.pass();
    // The Secret is there (409: kept, a started pod keeps its token); no second Job.
    expect(again.writes).toEqual([`create Secret ${SECRET()}`]);
    expect(secretToken(t)).toBe(tokenOf(0));
    expect(t.cluster.listers.jobs.list(NS)).toHaveLength(1);
    expect(t.stores.holds.get(`acme/${holderOf('tune')}`)).toEqual({ 'a100-us-illinois-2': 1 });
    t.cluster.listers.pods.put(trainerPod());
    expect((await t.pass()).writes).toEqual([`status ${OBJ}`]);
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_RUNNING', training: { job: 'sft-tune-0', acceleratorType: 'NVIDIA_A100_80GB', region: 'US_ILLINOIS_2' } });
    expect((await t.pass()).writes).toEqual([]);
  });

  it('GPUs of a run placed with no status yet are not given twice: in this process, and by a new one (read from its Job)', async () => {
    for (const restart of [false, true]) {
      const t = setup({ fast, jobs: [sftJobNamed('first'), sftJob()], pods: [...filling('a100-0'), gpuPod('busy-7', 'a100-1', 7)] });
      await t.passOf(`${NS}/first`);
      expect(t.cluster.status(`${NS}/first`)).toBeUndefined();
      expect(t.cluster.listers.jobs.get(`${NS}/sft-first-0`)?.metadata?.labels?.['hearth.dev/accelerator-type']).toBe('NVIDIA_A100_80GB');
      if (restart) t.restart();
      await t.pass();
      expect(t.cluster.listers.jobs.get(`${NS}/sft-tune-0`)?.metadata?.labels?.['hearth.dev/accelerator-type']).toBe('NVIDIA_H100_80GB');
    }
  });

  it(':cancel before any status was written deletes the placed Job → CANCELLING → CANCELLED, quota released', async () => {
    const t = setup({ fast });
    await t.pass();
    t.cluster.edit(KEY, (j) => (j.metadata.annotations = { 'hearth.dev/cancel-requested': '2026-12-06T08:00:01Z' }));
    expect((await t.pass()).writes).toEqual([`delete Job/batch ${NS}/sft-tune-0`, `status ${OBJ}`]);
    expect(t.status()?.state).toBe('JOB_STATE_CANCELLING');
    expect((await t.pass()).writes).toEqual([`status ${OBJ}`, `event Normal/Cancelled ${NS}/tune`]);
    expect(t.status()?.state).toBe('JOB_STATE_CANCELLED');
    expect(t.stores.holds.size).toBe(0);
  });

  it('waiting for GPUs, then placed: PENDING (with why) → RUNNING, the placement in the RUNNING write', async () => {
    const busy = FLEET.flatMap((n) => filling(n.metadata!.name!));
    const t = setup({ fast, pods: busy });
    await t.pass();
    expect(t.status()?.state).toBe('JOB_STATE_PENDING');
    t.cluster.listers.pods.put({ ...busy[0]!, status: { phase: 'Succeeded' } });
    t.clock.advance(10_000);
    const placed = await t.pass();
    expect(placed.writes).toEqual([`create Secret ${SECRET()}`, `create Job/batch ${NS}/sft-tune-0`]);
    t.cluster.listers.pods.put(trainerPod());
    expect((await t.pass()).writes).toEqual([`status ${OBJ}`]);
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_RUNNING', training: { job: 'sft-tune-0', region: 'US_ILLINOIS_2' } });
    expect(t.status()?.training?.pendingReason).toBeUndefined();
  });
  it(':resume → PENDING (the resume acknowledged) → the new attempt placed with no write → RUNNING with its Job and token digest', async () => {
    const t = setup({ fast });
    await t.pass();
    t.cluster.listers.pods.put(trainerPod());
    await t.pass();
    report(t, { step: 4, totalSteps: 10, checkpoint: 'step-4' });
    await t.pass();
    t.cluster.edit(KEY, (j) => (j.metadata.annotations = { ...j.metadata.annotations, 'hearth.dev/cancel-requested': '2026-12-06T08:02:00Z' }));
    await t.pass();
    await t.pass();
    expect(t.status()?.state).toBe('JOB_STATE_CANCELLED');
    t.clock.advance(60_000);
    t.cluster.edit(KEY, (j) => {
      const a = { ...j.metadata.annotations };
      delete a['hearth.dev/cancel-requested'];
      j.metadata.annotations = { ...a, 'hearth.dev/resume-requested': '2026-12-06T08:03:00Z' };
    });
    t.cluster.take();
    expect((await t.pass()).writes).toEqual([`status ${OBJ}`]);
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_PENDING', training: { attempt: 1 } });
    const made = await t.pass();
    expect([...made.writes].sort()).toEqual([`create Job/batch ${NS}/sft-tune-1`, `create Secret ${SECRET(1)}`]);
    t.cluster.listers.pods.put(trainerPod('Running', 1));
    expect((await t.pass()).writes).toEqual([`status ${OBJ}`]);
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_RUNNING', training: { attempt: 1, job: 'sft-tune-1', checkpoint: 'step-4' } });
    expect((await t.pass()).writes).toEqual([]);
  });
  it(':cancel right after reports no pass has copied yet: CANCELLED keeps the last checkpoint (where :resume continues)', async () => {
    const t = setup({ fast });
    await t.pass();
    t.cluster.listers.pods.put(trainerPod());
    await t.pass(); // RUNNING
    report(t, { step: 2, totalSteps: 10, checkpoint: 'step-2' });
    report(t, { step: 4, totalSteps: 10, checkpoint: 'step-4' });
    t.cluster.edit(KEY, (j) => (j.metadata.annotations = { ...j.metadata.annotations, 'hearth.dev/cancel-requested': '2026-12-06T08:02:00Z' }));
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_CANCELLING', training: { checkpoint: 'step-4' } });
    await t.pass();
    expect(t.status()).toMatchObject({ state: 'JOB_STATE_CANCELLED', training: { checkpoint: 'step-4', step: 4 } });
    expect((await t.pass()).writes).toEqual([]);
  });
});
