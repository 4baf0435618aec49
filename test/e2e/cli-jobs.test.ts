// The `hearth` CLI's job workflows end to end (issue 17): the real binary (bin/hearth.mjs, a child
// process) against Hearth's REST API listening on a port, on the simulated cluster and a real
// PostgreSQL, with the controllers that run jobs (SFTJob, NodePool, BatchJob) as mode `all` wires
// them:
// - `create sftj … --wait`: one line per change with epoch, step and loss while it trains, exit 0
//   at COMPLETED, the job printed;
// - `get-logs --follow` of a running batch job: every line its rank prints, exit 0 once the job has
//   ended; `get-logs` afterwards from the archive, `--filter` on the server.
//
// Simulation: KWOK runs no containers, so test/support/trainer-fleet.ts runs the trainer fixture for
// each trainer pod, and test/fixtures/kwok-sim gives a batch job's rank pod its output lines and
// (hack/kwok/stages.yaml, HEARTH_SIM_* env vars) its run time and exit code. The CLI only speaks
// HTTP to the API.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TRAINER } from '../../src/controllers/sft-job/trainer.js';
import { KubePodLogs } from '../../src/kube/pod-logs.js';
import { SIM_ENV, SimulatedOutput } from '../fixtures/kwok-sim/index.js';
import { callApi } from '../support/api.js';
import { startClusterHearth, type ClusterHearth } from '../support/cluster-hearth.js';
import { testKubeConfig } from '../support/env.js';
import { TrainerFleet } from '../support/trainer-fleet.js';
import { dumpNamespace } from '../support/wait.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'hearth.mjs');
const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `clijobs-${suffix}`;
const NS = `acct-${ACCOUNT}`;
const dbName = `hearth_t_clijobs_${suffix}`;
/** Lines a batch job's rank prints (the simulated output). */
const LINES = 40;
const outputOf = (job: string, rank: number): string[] => Array.from({ length: LINES }, (_, i) => `${job} rank ${rank} line ${i}`);

const kc = testKubeConfig();

/** Hearth in-process (the CLI's `hearth` is the command below). */
let cluster: ClusterHearth;
let trainers: TrainerFleet;
let output: SimulatedOutput;
let apiKey = '';
let baseUrl = '';
const home = mkdtempSync(join(tmpdir(), 'hearth-clijobs-home-'));
const files = mkdtempSync(join(tmpdir(), 'hearth-clijobs-files-'));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `hearth args…` with the profile in `home`, fast polling and a bound on every wait. */
function hearth(args: string[], timeoutMs = 170_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { PATH: process.env.PATH, HOME: home, HEARTH_POLL_MS: '300', HEARTH_WAIT_TIMEOUT_SECONDS: '150' };
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const rest = (method: string, path: string, body?: unknown) => callApi(cluster.app, method, `/v1/accounts/${ACCOUNT}${path}`, apiKey, body);

/** What the CLI printed, and the namespace's state: the message of a failed expectation. */
async function explain(r: Run): Promise<string> {
  return `exit ${r.code} ${r.signal ?? ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}\n--- state\n${JSON.stringify(await dumpNamespace(kc, NS).catch(() => 'n/a'), null, 2).slice(0, 6000)}`;
}

const example = (i: number) => JSON.stringify({ messages: [{ role: 'system', content: 'You answer in SQL.' }, { role: 'user', content: `question ${i}` }, { role: 'assistant', content: `select ${i};` }] });

beforeAll(async () => {
  // 300 ms a step: several polls of the CLI see the step and loss move.
  trainers = new TrainerFleet(kc, NS, () => ({ stepMs: 300, evalEvery: 4, evalCurve: 'falling' }));
  trainers.start();
  output = new SimulatedOutput(kc, NS, join(files, 'pod-logs'), outputOf);
  output.start();
  cluster = await startClusterHearth({
    account: ACCOUNT,
    dbName,
    maxConnections: 10,
    crdManager: 'hearth-clijobs-e2e',
    artifacts: true,
    listen: true,
    app: (clients) => ({ podLogs: new KubePodLogs(clients) }),
    manager: ({ apiUrl, store }) => ({
      // No Deployment of this run: a selector nothing carries.
      deployment: { selector: `hearth.dev/clijobs-e2e=${suffix}` },
      nodePool: {},
      batchJob: { pollMs: 1000 },
      sftJob: { artifacts: store!, trainer: { ...DEFAULT_TRAINER, image: 'ghcr.io/hearth-dev/trainer-fixture:test', apiUrl }, pollMs: 500, reportGraceMs: 60_000, quotaRetryMs: 2_000 },
    }),
  });
  ({ apiKey, apiUrl: baseUrl } = cluster);

  writeFileSync(join(files, 'chats.jsonl'), `${Array.from({ length: 20 }, (_, i) => example(i)).join('\n')}\n`);
  const saved = await hearth(['set-api-key', apiKey, '--base-url', baseUrl]);
  expect(saved.code, await explain(saved)).toBe(0);
}, 180_000);

afterAll(async () => {
  output?.stop();
  await trainers?.stop();
  await cluster?.close();
  // The pool's nodes go with the pool; a run that failed midway may leave them.
  const core = kc.makeApiClient(CoreV1Api);
  const left = await core.listNode({ labelSelector: `hearth.dev/node-pool-account=${ACCOUNT}` }).catch(() => undefined);
  for (const n of left?.items ?? []) await core.deleteNode({ name: n.metadata!.name! }).catch(() => undefined);
}, 60_000);

describe('the hearth CLI runs jobs on the simulated cluster', () => {
  it('create sftj --wait: epoch, step and loss lines while it trains; exit 0 at COMPLETED', async () => {
    const ds = await hearth(['create', 'dataset', 'chats', join(files, 'chats.jsonl'), '-q']);
    expect(ds.code, await explain(ds)).toBe(0);
    const r = await hearth(['create', 'sftj', '--base-model', BASE, '--dataset', 'chats', '--output-model', 'sql-tuned', '--job-id', 'tune', '--epochs', '1', '--lora-rank', '8', '--wait']);
    expect(r.code, await explain(r)).toBe(0);
    const lines = r.stderr.trim().split('\n');
    // While it trains: the percent, the epoch, the step of the total and the loss, one line per change.
    // RUNNING follows the trainer pod's start, so it may show once before the trainer's first
    // report (a real trainer loads the base model first): then a bare "RUNNING".
    const training = lines.filter((l) => l.startsWith('RUNNING'));
    for (const l of training.slice(1)) expect(l).toMatch(/^RUNNING · \d+% · epoch 1\/1( · step \d+\/\d+ · loss \d+\.\d{4})?( · ETA (\?|\d+s|\d+m\d\ds))?$/);
    expect(training[0]).toMatch(/^RUNNING( · \d+% · epoch 1\/1( · step \d+\/\d+ · loss \d+\.\d{4})?( · ETA (\?|\d+s|\d+m\d\ds))?)?$/);
    const withLoss = training.filter((l) => / · step \d+\/\d+ · loss /.test(l));
    expect(withLoss.length, r.stderr).toBeGreaterThanOrEqual(3);
    const steps = withLoss.map((l) => Number(/ step (\d+)\//.exec(l)![1]));
    for (let i = 1; i < steps.length; i++) expect(steps[i]).toBeGreaterThanOrEqual(steps[i - 1]!);
    const losses = withLoss.map((l) => Number(/ loss (\d+\.\d+)/.exec(l)![1]));
    expect(losses.at(-1)!).toBeLessThan(losses[0]!); // the fixture's loss falls
    // Once the percent has moved since the wait began: an ETA from that rate.
    expect(training.some((l) => / · ETA (\d+s|\d+m\d\ds)$/.test(l)), r.stderr).toBe(true);
    for (let i = 1; i < lines.length; i++) expect(lines[i]).not.toBe(lines[i - 1]);
    expect(lines.at(-1)).toMatch(/^COMPLETED · 100%/);
    // The job as REST has it, printed at the end.
    expect(r.stdout).toMatch(/^state:\s+JOB_STATE_COMPLETED$/m);
    expect(r.stdout).toContain(`accounts/${ACCOUNT}/models/sql-tuned`);
    expect((await rest('GET', '/supervisedFineTuningJobs/tune')).body).toMatchObject({ state: 'JOB_STATE_COMPLETED', jobProgress: { percent: 100 } });
  }, 180_000);

  it('get-logs --follow of a running batch job prints every line as it comes and exits 0 when the job ends; get-logs reads the archive', async () => {
    const pool = await hearth(['create', 'node-pool', 'pool', '--max-node-count', '1', '--fake-machine-type', 'n2-standard-32', '--fake-num-nodes', '1']);
    expect(pool.code, await explain(pool)).toBe(0);
    const job = await hearth(['create', 'batch-job', '--node-pool', 'pool', '--image-ref', 'python:3.12', '--shell-command', 'python train.py', '--env', `${SIM_ENV.duration}=6s`, '--env', `${SIM_ENV.exitCode}=0`, '-o', 'json']);
    expect(job.code, await explain(job)).toBe(0);
    const id = String((JSON.parse(job.stdout) as { name: string }).name).split('/').pop()!;
    const name = `bj-${id}`;

    const followed = await hearth(['get-logs', id, '--follow']);
    expect(followed.code, await explain(followed)).toBe(0);
    const printed = followed.stdout.trim().split('\n');
    for (const l of printed) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\S+ \[0\] /);
    expect(printed.map((l) => l.replace(/^\S+ \[0\] /, ''))).toEqual(outputOf(name, 0));
    expect((await rest('GET', `/batchJobs/${id}`)).body).toMatchObject({ state: 'COMPLETED' });

    // After the job: the same lines from the archive (its pod is gone), and a filter on the server.
    const again = await hearth(['get-logs', id]);
    expect(again.code, await explain(again)).toBe(0);
    expect(again.stdout).toBe(followed.stdout);
    const filtered = await hearth(['get-logs', id, '--filter', 'line 3']);
    expect(filtered.code).toBe(0);
    expect(filtered.stdout.trim().split('\n').map((l) => l.replace(/^\S+ \[0\] /, ''))).toEqual(outputOf(name, 0).filter((l) => l.includes('line 3')));

    const missing = await hearth(['get-logs', '999999']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: NOT_FOUND: /);
  }, 180_000);
});
