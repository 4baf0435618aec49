// The BatchInferenceJob reconciler. The lines are processed in THIS process, on the leader only
// (runner.ts, a bounded number of requests in flight per job); the reconciler starts, watches and
// ends those runs and says where the job is in its status. The output dataset is the checkpoint,
// so a new leader (or a restart) resumes a RUNNING job where its output ends.
//
//   fetch (gone → stop its run; the output stays, our deployment goes by GC)
//   → account of the namespace (none: not ours to run)
//   → final state? remove the deployment we created; nothing else
//   → not started: resolve the job it continues, the model, the input (exists, READY), the output
//     (created now, or ours from an earlier pass, never someone else's), the parameters
//     → a problem: FAILED naming the field; else our deployment if no deployment serves the model → RUNNING
//   → RUNNING: cancel requested → stop the run (what is answered is written) → CANCELLED
//     no run in this process → start one (it resumes from the output)
//     run completed → the output dataset READY → COMPLETED; run failed → retry (a new run resumes)
//     else the progress, again in `progressMs`
//   → status once, only if it changed; an event per state change
import type { V1Namespace } from '@kubernetes/client-node';
import type { BatchInferenceJob, BatchInferenceJobStatus } from '../../crds/batch-inference-job.js';
import { accountOfNamespace } from '../../crds/account.js';
import type { Deployment } from '../../crds/deployment.js';
import { NotFoundError } from '../../db/errors.js';
import { splitKey } from '../../kube/keys.js';
import type { Clock } from '../../util/clock.js';
import { EventRecorder } from '../runtime/events.js';
import type { Lister } from '../runtime/controller.js';
import { isControlledBy } from '../runtime/owner-refs.js';
import { OwnWrites, PassObject } from '../runtime/pass.js';
import { isConflict, isNotFound, type ReconcileContext, type Reconciler, type Result } from '../runtime/result.js';
import type { HearthObject, ObjectWriter } from '../runtime/writer.js';
import type { DatasetCatalog, DatasetRef } from './datasets.js';
import { jobDefaults } from './lines.js';
import { deploymentName, fullModelName, idIn, makeDeployment, namesDeployment, requestModel } from './resources.js';
import { JobRun, type RunOptions } from './runner.js';
import { Runs } from './runs.js';
import { computeStatus, eventsFor, isFinal, type Outcome, type Resolved } from './status.js';

type Job = HearthObject<'BatchInferenceJob'>;

export interface Listers {
  jobs: Lister<Job>;
  deployments: Lister<Deployment>;
  namespaces: Lister<V1Namespace>;
}

/** How runs are made: everything but the job's own settings. */
export type RunSettings = Pick<RunOptions, 'bytes' | 'send' | 'clock' | 'checkpointLines' | 'checkpointMs'> & {
  /** Requests in flight per job when the job does not say. */
  concurrency: number;
};

export interface BatchInferenceJobReconcilerOptions {
  listers: Listers;
  writer: ObjectWriter;
  catalog: DatasetCatalog;
  run: RunSettings;
  clock: Clock;
  /** How often a running job's progress is written (default 5 s). */
  progressMs?: number;
  runs?: Runs;
}

export const DEFAULT_PROGRESS_MS = 5_000;

const JOB_NAME = /^accounts\/([^/]+)\/batchInferenceJobs\/([^/]+)$/;

class Invalid extends Error {
  constructor(
    readonly code: 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'FAILED_PRECONDITION' | 'ALREADY_EXISTS',
    message: string,
    readonly resolved: Partial<Resolved> = {},
  ) {
    super(message);
  }
}

export class BatchInferenceJobReconciler implements Reconciler {
  readonly runs: Runs;
  readonly #written = new OwnWrites<Job>();
  readonly #events: EventRecorder;
  readonly #progressMs: number;

  constructor(private readonly o: BatchInferenceJobReconcilerOptions) {
    this.runs = o.runs ?? new Runs();
    this.#events = new EventRecorder({ sink: o.writer, clock: o.clock });
    this.#progressMs = o.progressMs ?? DEFAULT_PROGRESS_MS;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<Result> {
    const read = this.#written.read(key, this.o.listers.jobs.get(key));
    if (!read) {
      // Deleted: stop sending. What it answered stays in its output dataset.
      await this.runs.stop(key);
      this.runs.forget(key);
      return {};
    }
    const obj = new PassObject(this.o.writer, read);
    try {
      const { namespace = '' } = splitKey(key);
      const account = accountOfNamespace(this.o.listers.namespaces.get(namespace));
      if (!account) {
        ctx.log.debug({ namespace }, 'namespace without an account: not reconciled');
        return {};
      }
      const job = obj.current;
      const prev = job.status;
      const state = prev?.state;
      if (isFinal(state)) {
        this.runs.forget(key);
        await this.#removeDeployment(job);
        return {};
      }
      let outcome: Outcome;
      let result: Result = {};
      if (state !== 'JOB_STATE_RUNNING') {
        outcome = await this.#start(job, account);
        // The next pass starts the run (the runtime requeues only after a positive delay).
        if (outcome.state === 'JOB_STATE_RUNNING') result = { requeueAfter: 1 };
      } else {
        ({ outcome, result } = await this.#running(key, job, account, prev));
      }
      const generation = typeof job.metadata.generation === 'number' ? job.metadata.generation : undefined;
      const next = computeStatus(prev, outcome, generation, new Date(this.o.clock.now()));
      if (await obj.writeStatus(next)) for (const e of eventsFor(prev, next)) await this.#events.record(obj.current, e, ctx.log);
      return result;
    } finally {
      this.#written.remember(key, read, obj);
    }
  }

  /** Resolves what the job uses and prepares it; a problem fails the job naming the field. */
  async #start(job: Job, account: string): Promise<Outcome> {
    try {
      const resolved = await this.#resolve(job, account);
      jobDefaultsOrInvalid(job);
      const output = { accountId: account, datasetId: resolved.outputDatasetId };
      const made = await this.o.catalog.createOutput(output, jobName(account, job), `results of batch inference job ${job.metadata.name}`);
      if (made === 'taken') throw new Invalid('ALREADY_EXISTS', `outputDatasetId: dataset ${resolved.outputDatasetId} already exists; name a new dataset`, resolved);
      if (!namesDeployment(resolved.model) && !this.#servedByDeployment(job, resolved.model)) {
        resolved.deployment = await this.#ensureDeployment(job, resolved.model);
      }
      return { state: 'JOB_STATE_RUNNING', resolved, progress: { succeeded: 0, failed: 0 } };
    } catch (e) {
      if (!(e instanceof Invalid)) throw e;
      return { state: 'JOB_STATE_FAILED', code: e.code, message: e.message, resolved: e.resolved };
    }
  }

  async #resolve(job: Job, account: string): Promise<Resolved> {
    const spec = job.spec;
    let from: BatchInferenceJobStatus | undefined;
    if (spec.continuedFromJobName) {
      const m = JOB_NAME.exec(spec.continuedFromJobName);
      if (!m || m[1] !== account) {
        throw new Invalid('INVALID_ARGUMENT', `continuedFromJobName: ${spec.continuedFromJobName} is not a batch inference job of account ${account} (accounts/${account}/batchInferenceJobs/<id>)`);
      }
      const prevJob = this.o.listers.jobs.get(`${job.metadata.namespace}/${m[2]}`);
      if (!prevJob) throw new Invalid('NOT_FOUND', `continuedFromJobName: batch inference job ${spec.continuedFromJobName} not found`);
      from = prevJob.status;
      if (!isFinal(from?.state) || !from?.outputDatasetId) {
        throw new Invalid('FAILED_PRECONDITION', `continuedFromJobName: batch inference job ${spec.continuedFromJobName} has not ended (state ${from?.state ?? 'unknown'})`);
      }
    }
    const model = spec.model ?? from?.model;
    const inputRef = spec.inputDatasetId ?? from?.inputDatasetId;
    if (!model) throw new Invalid('INVALID_ARGUMENT', 'model is required');
    if (!inputRef) throw new Invalid('INVALID_ARGUMENT', 'inputDatasetId is required');
    const inputDatasetId = idIn(inputRef, account, 'datasets');
    if (!inputDatasetId) throw new Invalid('INVALID_ARGUMENT', `inputDatasetId: ${inputRef} is not a dataset of account ${account}`, { model });
    const outputRef = spec.outputDatasetId ?? `${job.metadata.name}-output`;
    const outputDatasetId = idIn(outputRef, account, 'datasets');
    if (!outputDatasetId) throw new Invalid('INVALID_ARGUMENT', `outputDatasetId: ${outputRef} is not a dataset of account ${account}`, { model, inputDatasetId });
    const resolved: Resolved = { model, inputDatasetId, outputDatasetId };
    const input = await this.o.catalog.get({ accountId: account, datasetId: inputDatasetId });
    if (!input) throw new Invalid('NOT_FOUND', `inputDatasetId: dataset ${inputDatasetId} not found`, resolved);
    if (input.state !== 'READY') throw new Invalid('FAILED_PRECONDITION', `inputDatasetId: dataset ${inputDatasetId} is ${input.state}, not READY`, resolved);
    return resolved;
  }

  /** A deployment of the account already serves `model` (the gateway routes a plain model id to it). */
  #servedByDeployment(job: Job, model: string): boolean {
    const want = fullModelName(model);
    return this.o.listers.deployments
      .list()
      .some((d) => d.metadata?.namespace === job.metadata.namespace && fullModelName(d.spec.baseModel) === want && !d.metadata?.deletionTimestamp && !isControlledBy(d, job) && !['DELETING', 'DELETED'].includes(d.status?.state ?? ''));
  }

  async #ensureDeployment(job: Job, model: string): Promise<string> {
    const name = deploymentName(job);
    const cur = this.o.listers.deployments.get(`${job.metadata.namespace}/${name}`);
    if (cur && !isControlledBy(cur, job)) throw new Invalid('ALREADY_EXISTS', `model: the deployment ${name} the job would create exists and is not the job's`);
    if (!cur) {
      try {
        await this.o.writer.create(makeDeployment(job, model));
      } catch (e) {
        // 409: our own create of an earlier pass the cache has not shown yet.
        if (!isConflict(e)) throw e;
      }
    }
    return name;
  }

  async #removeDeployment(job: Job): Promise<void> {
    const name = job.status?.deployment;
    if (!name) return;
    const cur = this.o.listers.deployments.get(`${job.metadata.namespace}/${name}`);
    if (!cur || !isControlledBy(cur, job)) return;
    try {
      await this.o.writer.delete({ apiVersion: cur.apiVersion, kind: cur.kind, namespace: job.metadata.namespace ?? '', name, uid: cur.metadata?.uid as string });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async #running(key: string, job: Job, account: string, prev: BatchInferenceJobStatus | undefined): Promise<{ outcome: Outcome; result: Result }> {
    const resolved = resolvedOf(prev);
    const uid = String(job.metadata.uid ?? '');
    if (job.spec.cancelRequested) {
      const stopped = await this.runs.stop(key);
      this.runs.forget(key);
      return { outcome: { state: 'JOB_STATE_CANCELLED', resolved, ...(stopped ? { progress: stopped.run.progress } : {}) }, result: {} };
    }
    let entry = this.runs.get(key, uid);
    const output = { accountId: account, datasetId: resolved.outputDatasetId };
    if (entry?.result && 'error' in entry.result) {
      this.runs.forget(key);
      if (!(await this.o.catalog.get(output))) return { outcome: outputGone(resolved), result: {} };
      // The next pass starts a fresh run, which resumes from the output.
      throw entry.result.error;
    }
    if (entry?.result && 'outcome' in entry.result && entry.result.outcome === 'completed') {
      const p = entry.run.progress;
      this.runs.forget(key);
      try {
        await this.o.catalog.finishOutput(output, p.succeeded + p.failed);
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
        return { outcome: outputGone(resolved), result: {} };
      }
      return { outcome: { state: 'JOB_STATE_COMPLETED', resolved, progress: p }, result: {} };
    }
    if (!entry || entry.result) entry = this.runs.start(key, uid, new JobRun(this.#runOptions(job, account, resolved)));
    return { outcome: { state: 'JOB_STATE_RUNNING', resolved, progress: entry.run.progress }, result: { requeueAfter: this.#progressMs } };
  }

  #runOptions(job: Job, account: string, r: Resolved): RunOptions {
    const s = this.o.run;
    const previous = this.#previousOutput(job, account);
    return {
      accountId: account,
      input: { accountId: account, datasetId: r.inputDatasetId },
      output: { accountId: account, datasetId: r.outputDatasetId },
      ...(previous ? { previous } : {}),
      model: requestModel(r.model, account, r.deployment),
      defaults: jobDefaults(job.spec.inferenceParameters),
      concurrency: job.spec.maxConcurrency ?? s.concurrency,
      checkpointLines: s.checkpointLines,
      checkpointMs: s.checkpointMs,
      bytes: s.bytes,
      send: s.send,
      clock: s.clock,
    };
  }

  #previousOutput(job: Job, account: string): DatasetRef | undefined {
    const m = job.spec.continuedFromJobName ? JOB_NAME.exec(job.spec.continuedFromJobName) : null;
    const id = m ? this.o.listers.jobs.get(`${job.metadata.namespace}/${m[2]}`)?.status?.outputDatasetId : undefined;
    return id ? { accountId: account, datasetId: id } : undefined;
  }
}

function jobDefaultsOrInvalid(job: Job): void {
  try {
    jobDefaults(job.spec.inferenceParameters);
  } catch (e) {
    throw new Invalid('INVALID_ARGUMENT', (e as Error).message);
  }
}

const outputGone = (resolved: Resolved): Outcome => ({
  state: 'JOB_STATE_FAILED',
  code: 'NOT_FOUND',
  message: `outputDatasetId: dataset ${resolved.outputDatasetId} was deleted while the job ran`,
  resolved,
});

function resolvedOf(s: BatchInferenceJobStatus | undefined): Resolved {
  return {
    model: s?.model ?? '',
    inputDatasetId: s?.inputDatasetId ?? '',
    outputDatasetId: s?.outputDatasetId ?? '',
    ...(s?.deployment ? { deployment: s.deployment } : {}),
  };
}

export const jobName = (account: string, job: { metadata: { name?: string } }): string => `accounts/${account}/batchInferenceJobs/${job.metadata.name ?? ''}`;

export type { BatchInferenceJob };
