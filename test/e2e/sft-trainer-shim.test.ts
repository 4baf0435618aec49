// The real trainer shim (trainer/hearth-trainer, what a TRL trainer image carries) against Hearth's
// real trainer endpoints, on the simulated cluster with a real PostgreSQL: an SFT job made over
// REST → the SFTJob controller's Job (the TRL reference command `hearth-trainer run -- trl sft …`)
// → for its pod, the shim runs as the container would, with the pod's env and argv: it fetches the
// dataset through the signed URLs, runs `trl`, turns TRL's console output into progress reports,
// uploads the checkpoints and the adapter, reports done → COMPLETED, the output model READY with
// the files the trainer wrote. Cancel mid-run and :resume → the shim downloads the checkpoint and
// the trainer continues from it.
//
// Simulation, and only this: KWOK runs no containers, so test/support/trainer-fleet.ts starts the
// shim for each trainer pod (env from the pod spec as the kubelet resolves it; the pod's /work
// emptyDir is a temp directory, so `/work` in its argv and env becomes that directory); and `trl`
// on the shim's PATH is test/fixtures/trl-stand-in/trl, a clearly named stand-in that prints what
// TRL's Trainer prints and writes what it writes (TRL itself needs a GPU and packages that cannot
// be installed here). The shim, the endpoints, the controller and the stores are the real ones.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRange, type FsArtifactStore } from '../../src/artifacts/index.js';
import { DEFAULT_TRAINER } from '../../src/controllers/sft-job/trainer.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import type { SFTJobStatus } from '../../src/crds/sft-job.js';
import { getModel } from '../../src/db/repositories/models.js';
import type { TrainerFixtureResult } from '../fixtures/trainer/index.js';
import { callApi } from '../support/api.js';
import { startClusterHearth, type ClusterHearth } from '../support/cluster-hearth.js';
import { testKubeConfig } from '../support/env.js';
import { TrainerFleet, type TrainerRunner } from '../support/trainer-fleet.js';
import { dumpNamespace, waitFor } from '../support/wait.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const SHIM = resolve('trainer/hearth-trainer');
const STAND_IN = resolve('test/fixtures/trl-stand-in');
const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `shim-${suffix}`;
const NS = `acct-${ACCOUNT}`;
const dbName = `hearth_t_shim_${suffix}`;

const kc = testKubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);
const sftTarget = { group: GROUP, version: VERSION, namespace: NS, plural: 'sftjobs' };

let hearth: ClusterHearth;
let app: FastifyInstance;
let trainers: TrainerFleet;
let store: FsArtifactStore;
let apiKey = '';
/** Each shim run's output, by pod. */
const outputs = new Map<string, string>();
const workDirs: string[] = [];

const rest = (method: string, path: string, body?: unknown) => callApi(app, method, `/v1/accounts/${ACCOUNT}${path}`, apiKey, body);
const example = (i: number) => JSON.stringify({ messages: [{ role: 'user', content: `question ${i}` }, { role: 'assistant', content: `select ${i};` }] });

/** The trainer container of a pod as the kubelet would start it: its command and args, its env, /work an emptyDir. */
const runShim: TrainerRunner = async ({ env, pod, signal }) => {
  const work = await mkdtemp(join(tmpdir(), 'hearth-shim-work-'));
  workDirs.push(work);
  const atWork = (v: string) => v.replaceAll('/work', work);
  const c = pod.spec!.containers[0]!;
  const argv = [...(c.command ?? []), ...(c.args ?? [])].map(atWork);
  expect(argv.slice(0, 5)).toEqual(['hearth-trainer', 'run', '--', 'trl', 'sft']);
  const childEnv = { ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, atWork(v)])), PATH: `${STAND_IN}:${process.env.PATH ?? ''}`, HEARTH_TRL_STAND_IN_STEP_MS: pod.metadata?.labels?.['hearth.dev/sft-job']?.includes('resume') ? '500' : '150' };
  return new Promise<TrainerFixtureResult>((done) => {
    const child = spawn(SHIM, argv.slice(1), { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (b: Buffer) => (out += b.toString('utf8'));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    signal.addEventListener('abort', () => child.kill('SIGTERM'), { once: true });
    child.on('close', (code, sig) => {
      outputs.set(pod.metadata?.name ?? '', out);
      done({ exitCode: code ?? (sig === 'SIGTERM' ? 143 : 1), message: out.slice(-4000), steps: 0, startStep: 0, trainExamples: 0 });
    });
  });
};

async function uploadDataset(id: string, lines: string[]): Promise<void> {
  expect((await rest('POST', '/datasets', { datasetId: id, dataset: { format: 'CHAT' } })).status).toBe(200);
  const boundary = '----hearth-shim-e2e';
  const payload = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${id}.jsonl"\r\nContent-Type: application/octet-stream\r\n\r\n${lines.join('\n')}\n\r\n--${boundary}--\r\n`);
  const up = await app.inject({ method: 'POST', url: `/v1/accounts/${ACCOUNT}/datasets/${id}:upload`, headers: { authorization: `Bearer ${apiKey}`, 'content-type': `multipart/form-data; boundary=${boundary}` }, payload });
  expect(up.statusCode, up.body).toBe(200);
}

const getJob = async (name: string) => (await custom.getNamespacedCustomObject({ ...sftTarget, name }).catch(() => undefined)) as { status?: SFTJobStatus; metadata: { annotations?: Record<string, string> } } | undefined;

const dump = async (): Promise<unknown> => ({
  sftJobs: ((await custom.listNamespacedCustomObject(sftTarget)) as { items: { metadata: { name: string }; status?: unknown }[] }).items.map((j) => ({ name: j.metadata.name, status: j.status })),
  shim: Object.fromEntries([...outputs].map(([k, v]) => [k, v.slice(-3000)])),
  runs: [...trainers.runs.values()].map((r) => ({ pod: r.pod, result: r.result && { exitCode: r.result.exitCode, tail: r.result.message.slice(-1500) } })),
  ...((await dumpNamespace(kc, NS)) as object),
});

const waitState = (name: string, state: string, timeoutMs = 120_000) =>
  waitFor(`SFT job ${name} to reach ${state}`, async () => {
    const j = await getJob(name);
    return j?.status?.state === state ? j.status : undefined;
  }, { timeoutMs, intervalMs: 100, dump });

beforeAll(async () => {
  trainers = new TrainerFleet(kc, NS, () => ({}), runShim);
  trainers.start();
  hearth = await startClusterHearth({
    account: ACCOUNT,
    dbName,
    maxConnections: 10,
    crdManager: 'hearth-shim-e2e',
    artifacts: true,
    listen: true,
    manager: ({ apiUrl, store }) => ({
      deployment: { selector: `hearth.dev/shim-e2e=${suffix}` },
      // The reference trainer: the default image and the TRL command, unchanged.
      sftJob: { artifacts: store!, trainer: { ...DEFAULT_TRAINER, apiUrl }, pollMs: 500, reportGraceMs: 60_000, quotaRetryMs: 2_000 },
    }),
  });
  ({ app, apiKey } = hearth);
  store = hearth.store!;
  await uploadDataset('chats', Array.from({ length: 10 }, (_, i) => example(i)));
}, 120_000);

afterAll(async () => {
  await trainers?.stop();
  await hearth?.close();
  for (const d of workDirs) await rm(d, { recursive: true, force: true });
}, 60_000);

describe('the trainer shim around a TRL stand-in, against the real endpoints', () => {
  it('fetches the dataset, reports TRL progress, uploads checkpoints and the adapter → COMPLETED, the model READY with the trainer\'s files', async () => {
    const created = await rest('POST', '/supervisedFineTuningJobs?supervisedFineTuningJobId=shim-rest', { dataset: 'chats', baseModel: BASE, outputModel: 'shim-tuned', epochs: 1, loraRank: 8 });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const done = await waitState('shim-rest', 'JOB_STATE_COMPLETED');
    const run = trainers.of('shim-rest');
    expect(run.map((r) => r.result?.exitCode), JSON.stringify(await dump())).toEqual([0]);
    const out = outputs.get(run[0]!.pod) ?? '';
    // The stand-in saw the data the shim laid out: the 9-example training split, 9 steps.
    expect(out).toContain('Num examples = 9');
    expect(out).toContain('adapter uploaded (adapter_config.json, adapter_model.safetensors, tokenizer_config.json); done');
    // Progress from TRL's console output: the step from its bar, the losses from its logged dicts.
    expect(done.training).toMatchObject({ step: 9, totalSteps: 9, checkpoint: 'checkpoint-8' });
    const wire = (await rest('GET', '/supervisedFineTuningJobs/shim-rest')).body as { trainingProgress?: { lossCurve?: { step: number; loss: number }[] } };
    const curve = wire.trainingProgress?.lossCurve ?? [];
    expect(curve.find((p) => p.step === 1)?.loss).toBeCloseTo(2 / 1.3, 3);
    // Every report's point survives (the endpoint merges under the object's resourceVersion).
    expect(curve.length, JSON.stringify(curve)).toBeGreaterThanOrEqual(5);
    // Checkpoints: every file of checkpoint-<step>/ uploaded, then reported.
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'trainer_state.json']) expect(await store.head(`sft-jobs/${ACCOUNT}/shim-rest/checkpoints/checkpoint-2/${f}`)).toBeDefined();
    // The output model holds the adapter the trainer wrote.
    expect((await rest('GET', '/models/shim-tuned')).body).toMatchObject({ state: 'READY', kind: 'HF_PEFT_ADDON', peftDetails: { baseModel: BASE, r: 8 } });
    const row = await getModel(hearth.database.db, ACCOUNT, 'shim-tuned');
    const weights = await readRange(store, row!.files!.uploaded['adapter_model.safetensors']!.key);
    expect(weights!.toString('latin1')).toContain('trl-stand-in');
  }, 180_000);

  it('cancel mid-run, :resume → the shim fetches the checkpoint and TRL continues from it → COMPLETED', async () => {
    const created = await rest('POST', '/supervisedFineTuningJobs?supervisedFineTuningJobId=shim-resume', { dataset: 'chats', baseModel: BASE, outputModel: 'shim-resumed', epochs: 2 });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    await waitFor('a checkpoint at step ≥ 4', async () => {
      const p = (await getJob('shim-resume'))?.metadata.annotations?.['hearth.dev/trainer-progress'];
      return p !== undefined && Number(/"lastCheckpoint":"checkpoint-(\d+)"/.exec(p)?.[1] ?? 0) >= 4;
    }, { timeoutMs: 90_000, intervalMs: 100, dump });
    expect((await rest('POST', '/supervisedFineTuningJobs/shim-resume:cancel', {})).status).toBe(200);
    const cancelled = await waitState('shim-resume', 'JOB_STATE_CANCELLED');
    const checkpoint = cancelled.training?.checkpoint ?? '';
    expect(checkpoint).toMatch(/^checkpoint-\d+$/);
    await waitFor('the first run to stop', async () => trainers.of('shim-resume')[0]?.result !== undefined, { timeoutMs: 30_000, dump });
    expect(trainers.of('shim-resume')[0]!.result!.exitCode).not.toBe(0);

    expect((await rest('POST', '/supervisedFineTuningJobs/shim-resume:resume', {})).status).toBe(200);
    const done = await waitState('shim-resume', 'JOB_STATE_COMPLETED');
    expect(done.training?.attempt).toBe(1);
    const second = trainers.of('shim-resume')[1]!;
    expect(second.result?.exitCode).toBe(0);
    const out = outputs.get(second.pod) ?? '';
    expect(out).toContain(`resume from ${checkpoint}`);
    expect(out).toContain(`Resuming training from checkpoint`);
    expect(out).toContain(`(step ${checkpoint.slice('checkpoint-'.length)})`);
    expect((await rest('GET', '/models/shim-resumed')).body).toMatchObject({ state: 'READY' });
  }, 240_000);
});
