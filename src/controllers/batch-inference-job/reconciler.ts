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
import { inUnverifiedNamespace } from '../runtime/tenancy.js';
import { isConflict, isNotFound, type ReconcileContext, type Reconciler, type Result } from '../runtime/result.js';
import type { HearthObject, ObjectWriter } from '../runtime/writer.js';
import { RESULTS_FILE, type DatasetCatalog, type DatasetRef } from './datasets.js';
import { jobDefaults } from './lines.js';
import { deploymentName, fullModelName, idIn, makeDeployment, namesDeployment, requestModel } from './resources.js';
import { JobRun, type Progress, type RunOptions, type RunOutcome } from './runner.js';
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
      const ns = this.o.listers.namespaces.get(namespace);
      const account = accountOfNamespace(ns);
      if (await inUnverifiedNamespace(ns, read, this.#events, ctx.log)) return {};
      if (!account) {
        ctx.log.debug({ namespace }, 'namespace without an account: not reconciled');
        return {};
      }
      return await this.#pass(key, obj, account, ctx);
    } finally {
      this.#written.remember(key, read, obj);
    }
  }

  async #pass(key: string, obj: PassObject<Job>, account: string, ctx: ReconcileContext): Promise<Result> {
    const job = obj.current;
    const prev = job.status;
    if (isFinal(prev?.state)) {
      this.runs.forget(key);
      await this.#removeDeployment(job);
      return {};
    }
    const { outcome, result } = prev?.state === 'JOB_STATE_RUNNING' ? await this.#running(key, job, account, prev) : await this.#start(job, account);
    const generation = typeof job.metadata.generation === 'number' ? job.metadata.generation : undefined;
    const next = computeStatus(prev, outcome, generation, new Date(this.o.clock.now()));
    if (await obj.writeStatus(next)) for (const e of eventsFor(prev, next)) await this.#events.record(obj.current, e, ctx.log);
    return result;
  }

  /** Resolves what the job uses and prepares it; a problem fails the job naming the field. */
  async #start(job: Job, account: string): Promise<{ outcome: Outcome; result: Result }> {
    try {
      const resolved = await this.#resolve(job, account);
      jobDefaultsOrInvalid(job);
      const output = { accountId: account, datasetId: resolved.outputDatasetId };
      const made = await this.o.catalog.createOutput(output, jobName(account, job), `results of batch inference job ${job.metadata.name}`);
      if (made === 'taken') throw new Invalid('ALREADY_EXISTS', `outputDatasetId: dataset ${resolved.outputDatasetId} already exists; name a new dataset`, resolved);
      if (!namesDeployment(resolved.model) && !this.#servedByDeployment(job, resolved.model)) {
        resolved.deployment = await this.#ensureDeployment(job, resolved.model);
      }
      // The next pass starts the run (the runtime requeues only after a positive delay).
      return { outcome: { state: 'JOB_STATE_RUNNING', resolved, progress: { succeeded: 0, failed: 0 } }, result: { requeueAfter: 1 } };
    } catch (e) {
      if (!(e instanceof Invalid)) throw e;
      return { outcome: { state: 'JOB_STATE_FAILED', code: e.code, message: e.message, resolved: e.resolved }, result: {} };
    }
  }

  async #resolve(job: Job, account: string): Promise<Resolved> {
    const spec = job.spec;
    const from = spec.continuedFromJobName ? this.#continued(job, account, spec.continuedFromJobName) : undefined;
    const model = required('model', spec.model ?? from?.model);
    const inputRef = required('inputDatasetId', spec.inputDatasetId ?? from?.inputDatasetId);
    const inputDatasetId = datasetIdOf('inputDatasetId', inputRef, account, { model });
    const outputDatasetId = datasetIdOf('outputDatasetId', spec.outputDatasetId ?? `${job.metadata.name}-output`, account, { model, inputDatasetId });
    const resolved: Resolved = { model, inputDatasetId, outputDatasetId };
    const input = await this.o.catalog.get({ accountId: account, datasetId: inputDatasetId });
    if (!input) throw new Invalid('NOT_FOUND', `inputDatasetId: dataset ${inputDatasetId} not found`, resolved);
    if (input.state !== 'READY') throw new Invalid('FAILED_PRECONDITION', `inputDatasetId: dataset ${inputDatasetId} is ${input.state}, not READY`, resolved);
    return resolved;
  }

  /** The status of the job this one continues: a job of the account that has ended. */
  #continued(job: Job, account: string, name: string): BatchInferenceJobStatus | undefined {
    const m = JOB_NAME.exec(name);
    if (!m || m[1] !== account) {
      throw new Invalid('INVALID_ARGUMENT', `continuedFromJobName: ${name} is not a batch inference job of account ${account} (accounts/${account}/batchInferenceJobs/<id>)`);
    }
    const prevJob = this.o.listers.jobs.get(`${job.metadata.namespace}/${m[2]}`);
    if (!prevJob) throw new Invalid('NOT_FOUND', `continuedFromJobName: batch inference job ${name} not found`);
    const from = prevJob.status;
    if (!isFinal(from?.state) || !from?.outputDatasetId) {
      throw new Invalid('FAILED_PRECONDITION', `continuedFromJobName: batch inference job ${name} has not ended (state ${from?.state ?? 'unknown'})`);
    }
    return from;
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
    if (job.spec.cancelRequested) {
      const stopped = await this.runs.stop(key);
      this.runs.forget(key);
      return { outcome: { state: 'JOB_STATE_CANCELLED', resolved, ...(stopped ? { progress: stopped.run.progress } : {}) }, result: {} };
    }
    const uid = String(job.metadata.uid ?? '');
    let entry = this.runs.get(key, uid);
    if (entry?.result && !stoppedRun(entry.result)) {
      this.runs.forget(key);
      return { outcome: await this.#settled(entry.result, entry.run.progress, account, resolved), result: {} };
    }
    // None yet in this process (a new job, a restart, a new leader), or one stopped: a run resumes from the output.
    if (!entry || entry.result) entry = this.runs.start(key, uid, new JobRun(this.#runOptions(job, account, resolved)));
    return { outcome: { state: 'JOB_STATE_RUNNING', resolved, progress: entry.run.progress }, result: { requeueAfter: this.#progressMs } };
  }

  /** A run ended by itself: completed (the output READY), or failed (retried: the next run resumes from the output). */
  async #settled(result: { outcome: RunOutcome } | { error: unknown }, p: Progress, account: string, resolved: Resolved): Promise<Outcome> {
    const output = { accountId: account, datasetId: resolved.outputDatasetId };
    if ('error' in result) {
      if (!(await this.o.catalog.get(output))) return outputGone(resolved);
      throw result.error;
    }
    if (!(await this.o.catalog.get(output))) return outputGone(resolved);
    const bytes = this.o.run.bytes;
    try {
      await this.o.catalog.finishOutput(output, p.succeeded + p.failed, await bytes.seal(output, RESULTS_FILE));
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      return outputGone(resolved);
    }
    await bytes.dropParts(output, RESULTS_FILE);
    return { state: 'JOB_STATE_COMPLETED', resolved, progress: p };
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

const stoppedRun = (r: { outcome: RunOutcome } | { error: unknown }): boolean => 'outcome' in r && r.outcome === 'stopped';

function required(field: string, v: string | undefined): string {
  if (!v) throw new Invalid('INVALID_ARGUMENT', `${field} is required`);
  return v;
}

/** The dataset id a field names within `account`, or the job fails naming the field. */
function datasetIdOf(field: string, ref: string, account: string, resolved: Partial<Resolved>): string {
  const id = idIn(ref, account, 'datasets');
  if (!id) throw new Invalid('INVALID_ARGUMENT', `${field}: ${ref} is not a dataset of account ${account}`, resolved);
  return id;
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
