// SFT benchmark (issue 14), every figure beside a same-run baseline:
//
//   KUBECONFIG=… npm run bench:sft [-- --jobs 50 --reports 100]
//
//   1. create → RUNNING for N SFTJobs (kubectl-style creates; the SFTJob controller validates the
//      dataset, holds quota, makes the token Secret and the Indexed Job; RUNNING once its pod runs)
//      vs the same N batch/v1 Jobs (the controller's own builder, no owner) created directly →
//      their pod running (the Job's ready/succeeded count), in the same run. Goal: within 1.2×.
//   2. Progress lag: a trainer report POSTed to the trainer endpoint (with the job's token, read
//      from its Secret as the pod would) → the REST GET of the job shows it (jobProgress.percent).
//      p50/p99 over R reports. Goal: visible within 1 s.
//
// Simulation: KWOK runs no containers (its Job pods go Running then Succeeded on their own), so no
// trainer runs; a report is sent by the bench. Everything lives in one scratch namespace (deleted
// at the end); datasets, models and quota in an embedded PGlite database; artifacts in a temp dir.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BatchV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node';
import { pino } from 'pino';
import { installCrds } from '../hack/lib/crds.js';
import { buildApp } from '../src/api/app.js';
import { KubeKindClients } from '../src/api/kube/kind-client.js';
import { NamespaceEnsurer } from '../src/api/kube/namespaces.js';
import { FsArtifactStore } from '../src/artifacts/index.js';
import { bootstrap } from '../src/auth/bootstrap.js';
import { controllerManager } from '../src/controllers/manager.js';
import { makeTrainerJob } from '../src/controllers/sft-job/resources.js';
import { DEFAULT_TRAINER } from '../src/controllers/sft-job/trainer.js';
import { API_VERSION, GROUP, VERSION } from '../src/crds/group.js';
import type { SFTJobSpec, SFTJobStatus } from '../src/crds/sft-job.js';
import { openDatabase } from '../src/db/client.js';
import { createDataset } from '../src/db/repositories/datasets.js';
import { listQuotas, setQuotaLimits } from '../src/db/repositories/quotas.js';
import { KubeClients } from '../src/kube/client.js';
import { InformerFactory } from '../src/kube/informer-factory.js';
import { realClock } from '../src/util/clock.js';
import { fmt, percentile } from './lib.js';
import { TEST_SEAL } from '../test/support/tenancy.js';

const { values } = parseArgs({ args: process.argv.slice(2).filter((a) => a !== '--'), options: { jobs: { type: 'string', default: '50' }, reports: { type: 'string', default: '100' } } });
const JOBS = Number(values.jobs);
const REPORTS = Number(values.reports);
const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `bench-sft-${suffix}`;
const NS = `acct-${ACCOUNT}`;
const log = pino({ level: process.env.HEARTH_BENCH_LOG ?? 'warn' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const stats = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${fmt(percentile(s, 50))} ms  p99 ${fmt(percentile(s, 99))} ms  max ${fmt(s.at(-1) ?? 0)} ms  (n=${s.length})`;
};

async function main(): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  await installCrds(kc, 'hearth-bench-sft');
  const custom = kc.makeApiClient(CustomObjectsApi);
  const batch = kc.makeApiClient(BatchV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const database = await openDatabase();
  await database.migrate();
  const db = database.db;
  const apiKey = (await bootstrap(db, { accountId: ACCOUNT, email: `bench@${ACCOUNT}.example` })).apiKey!.key;
  // Room for every job: the bench measures the controller, not the quota.
  for (const q of await listQuotas(db, ACCOUNT)) if (/^(a100|h100|h200)-/.test(q.name)) await setQuotaLimits(db, ACCOUNT, q.name, { maxValue: 1000, value: 1000 });
  await new NamespaceEnsurer(kc, { seal: TEST_SEAL }).ensure(ACCOUNT);
  const dir = await mkdtemp(join(tmpdir(), 'hearth-bench-sft-'));
  const store = new FsArtifactStore(dir);
  await store.init();
  const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `a${i}` }] }));
  const key = `datasets/${ACCOUNT}/chats/1/chats.jsonl`;
  await store.put(key, (async function* () {
    yield Buffer.from(lines.join('\n') + '\n');
  })());
  await createDataset(db, { accountId: ACCOUNT, datasetId: 'chats', state: 'READY', format: 'CHAT', exampleCount: 10n, estimatedTokenCount: 400n, storageUri: `artifact:${key}` });

  const clients = new KubeClients(kc, { qps: 200, burst: 400 }, realClock);
  const informers = new InformerFactory(clients, { clock: realClock, tenancy: TEST_SEAL, log, backoff: { initialMs: 200, maxMs: 2000 } });
  const kinds = new KubeKindClients({ clients, informers }, { log });
  await kinds.start();
  const app = await buildApp({ db, artifacts: store, deployments: kinds.deployments, kinds: kinds.others, logger: log, rateLimit: false });
  const apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  const manager = controllerManager({
    clients,
    informers,
    db,
    log,
    metering: false,
    deployment: { selector: `hearth.dev/bench-sft=${suffix}` },
    deployedModel: { namespace: NS },
    sftJob: { namespace: NS, artifacts: store, trainer: { ...DEFAULT_TRAINER, apiUrl }, pollMs: 500, reportGraceMs: 3_600_000 },
  });
  manager.start();

  // Watches: when each SFTJob is RUNNING, when each direct Job's pod runs.
  const running = new Map<string, number>();
  const jobUp = new Map<string, number>();
  const w1 = await new Watch(kc).watch(`/apis/${GROUP}/${VERSION}/namespaces/${NS}/sftjobs`, {}, (_p, o: { metadata: { name: string }; status?: SFTJobStatus }) => {
    if (o.status?.state === 'JOB_STATE_RUNNING' && !running.has(o.metadata.name)) running.set(o.metadata.name, performance.now());
  }, () => undefined);
  const w2 = await new Watch(kc).watch(`/apis/batch/v1/namespaces/${NS}/jobs`, { labelSelector: 'bench-direct' }, (_p, o: { metadata: { name: string }; status?: { ready?: number; succeeded?: number } }) => {
    if (((o.status?.ready ?? 0) > 0 || (o.status?.succeeded ?? 0) > 0) && !jobUp.has(o.metadata.name)) jobUp.set(o.metadata.name, performance.now());
  }, () => undefined);
  await sleep(1000);

  const waitAll = async (m: Map<string, number>, n: number, what: string) => {
    const deadline = Date.now() + 300_000;
    while (m.size < n) {
      if (Date.now() > deadline) throw new Error(`timed out: ${what} (${m.size}/${n})`);
      await sleep(20);
    }
  };

  // 1a. The same Jobs, created directly (no owner: nothing reconciles them).
  const spec = { dataset: `accounts/${ACCOUNT}/datasets/chats`, baseModel: BASE, epochs: 1, loraRank: 8, maxContextLength: 8192 } as SFTJobSpec;
  const directStart = new Map<string, number>();
  await Promise.all(
    Array.from({ length: JOBS }, async (_, i) => {
      const owner = { apiVersion: API_VERSION, kind: 'SFTJob', metadata: { name: `direct-${i}`, namespace: NS, uid: 'none' } };
      const job = makeTrainerJob({ owner, account: ACCOUNT, attempt: 0, placement: { acceleratorType: 'NVIDIA_A100_80GB', acceleratorCount: 1, nodes: 1, region: 'US_ILLINOIS_2' }, trainer: { ...DEFAULT_TRAINER, apiUrl }, inputs: { spec, baseModelPath: 'x', baseModelName: BASE, hasEval: true, nodes: 1, gpusPerNode: 1 } });
      delete job.metadata!.ownerReferences;
      job.metadata!.labels = { ...job.metadata!.labels, 'bench-direct': 'true' };
      job.spec!.template.metadata!.labels = { ...job.spec!.template.metadata!.labels, 'hearth.dev/sft-job': `direct-${i}` };
      // The pod's env names a Secret; create it as the controller would.
      await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: `sft-direct-${i}-trainer` }, stringData: { token: 'x' } } });
      directStart.set(job.metadata!.name!, performance.now());
      await batch.createNamespacedJob({ namespace: NS, body: job });
    }),
  );
  await waitAll(jobUp, JOBS, 'direct Jobs running');
  const direct = [...jobUp].map(([n, t]) => t - directStart.get(n)!);

  // 1b. SFTJobs.
  const sftStart = new Map<string, number>();
  await Promise.all(
    Array.from({ length: JOBS }, async (_, i) => {
      sftStart.set(`tune-${i}`, performance.now());
      await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'sftjobs', body: { apiVersion: API_VERSION, kind: 'SFTJob', metadata: { name: `tune-${i}` }, spec } });
    }),
  );
  await waitAll(running, JOBS, 'SFTJobs RUNNING');
  const sft = [...running].map(([n, t]) => t - sftStart.get(n)!);

  // 2. Progress lag: report → REST view.
  const secret = await core.readNamespacedSecret({ namespace: NS, name: 'sft-tune-0-trainer' });
  const token = Buffer.from(secret.data!.token!, 'base64').toString('utf8');
  const lags: number[] = [];
  for (let step = 1; step <= REPORTS; step++) {
    const t0 = performance.now();
    const res = await fetch(`${apiUrl}/v1-trainer/sft/${ACCOUNT}/tune-0/progress`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ step, totalSteps: REPORTS + 1, trainLoss: 1 / step }) });
    if (!res.ok) throw new Error(`progress: ${res.status} ${await res.text()}`);
    const want = Math.floor((step * 100) / (REPORTS + 1));
    for (;;) {
      const got = await app.inject({ method: 'GET', url: `/v1/accounts/${ACCOUNT}/supervisedFineTuningJobs/tune-0`, headers: { authorization: `Bearer ${apiKey}` } });
      const percent = (JSON.parse(got.body) as { jobProgress?: { percent?: number } }).jobProgress?.percent;
      if (percent === want) break;
      if (performance.now() - t0 > 10_000) throw new Error(`report ${step} not visible after 10 s (percent ${percent}, want ${want})`);
      await sleep(2);
    }
    lags.push(performance.now() - t0);
  }

  const ratio = percentile([...sft].sort((a, b) => a - b), 50) / percentile([...direct].sort((a, b) => a - b), 50);
  console.log(`SFT benchmark (${JOBS} jobs, ${REPORTS} reports; one run, same cluster)`);
  console.log(`  create → running, batch/v1 Jobs direct : ${stats(direct)}`);
  console.log(`  create → RUNNING, SFTJobs              : ${stats(sft)}`);
  console.log(`  ratio (p50)                            : ${fmt(ratio, 2)}×  (goal ≤ 1.2×)`);
  console.log(`  progress report → REST view            : ${stats(lags)}  (goal < 1000 ms)`);

  w1.abort();
  w2.abort();
  await manager.stop();
  await app.close();
  await kinds.stop();
  await informers.stop();
  await core.deleteNamespace({ name: NS }).catch(() => undefined);
  await database.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
