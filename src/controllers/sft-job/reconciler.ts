// The SFTJob reconciler (README.md has the diagram and which states are written when: quick
// checks and a run whose pods start soon go from no status to RUNNING in one write).
//
//   fetch (gone → release its GPU quota hold; the Job, Service and Secret go by GC)
//   → account of the namespace (none: not ours)
//   → :resume of a FAILED/CANCELLED job → PENDING, attempt + 1, from the last checkpoint
//   → final → the quota released; nothing else
//   → :cancel → CANCELLING (delete the Job) → CANCELLED once it is gone
//   → new → the checks (ranges, base model, datasets: exist, READY, chat examples ≥ 3, eval
//     carve-out written as datasets, output model free), VALIDATING written only if they take
//     longer than validatingAfterMs; else FAILED naming the field; the same pass places the run
//     (GPU type and region with quota and free GPUs: placement.ts), holds the quota and makes the
//     token Secret, headless Service and Indexed Job at once
//   → nothing fit → PENDING saying why, placed again later; the Job made → waits for its pods
//     (their events wake the job) → RUNNING once they run, in one write with the placement;
//     PENDING only if they are not running pendingAfterMs after the Job was made
//   → RUNNING: the trainer's reports (annotation) into the status; `done` → WRITING_RESULTS; the
//     Job failed → FAILED; `earlyStop` and the eval loss stopped improving → delete the Job →
//     WRITING_RESULTS from the best checkpoint
//   → WRITING_RESULTS: the output model registered (READY, files copied) → COMPLETED/EARLY_STOPPED
//   → status once per pass, only if it changed; an event per state change
import type { V1Job, V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import { accountOfNamespace } from '../../crds/account.js';
import { ANNOTATIONS } from '../../crds/group.js';
import { parseOutputModel, type SFTJobSpec, type SFTJobStatus } from '../../crds/sft-job.js';
import { EARLY_STOP_PATIENCE, SFT_ANNOTATIONS, SFT_LABELS, parseProgress, splitId } from '../../crds/sft-trainer.js';
import { BASE_MODELS } from '../../fleet/base-models.js';
import { ACCELERATOR_TYPES, gpuQuotaName, isAcceleratorType, type AcceleratorType } from '../../fleet/catalog.js';
import { estimateTrainingCost, sharedBaseModel, trainingCandidates, untunableReason } from '../../fleet/training.js';
import { splitKey } from '../../kube/keys.js';
import { sleep, type Clock } from '../../util/clock.js';
import type { Lister } from '../runtime/controller.js';
import { EventRecorder } from '../runtime/events.js';
import { isControlledBy } from '../runtime/owner-refs.js';
import { OwnWrites, PassObject } from '../runtime/pass.js';
import { inUnverifiedNamespace } from '../runtime/tenancy.js';
import { isConflict, isNotFound, type ReconcileContext, type Reconciler, type Result } from '../runtime/result.js';
import type { HearthObject, ObjectWriter } from '../runtime/writer.js';
import { jobName, makeService, makeTokenSecret, makeTrainerJob, placementOfJob, trainerToken, type Placement } from './resources.js';
import { computeStatus, eventsFor, fromProgress, isFinal, type Outcome, type Training } from './status.js';
import { InvalidAdapterError, type DatasetMeta, type SftStores } from './stores.js';
import type { TrainerSettings } from './trainer.js';
import { chooseTrainingPlacement, type Claim } from './placement.js';
import { Invalid, carveOut, checkBadLine, checkCount, checkRanges, firstBadLine, linesOf } from './validate.js';

type Job = HearthObject<'SFTJob'>;

export interface Listers {
  sftJobs: Lister<Job>;
  jobs: Lister<V1Job>;
  namespaces: Lister<V1Namespace>;
  /** Every pod (free GPUs; the trainer's pods by their labels). */
  pods: Lister<V1Pod>;
  /** The GPU nodes (free GPUs). */
  nodes: Lister<V1Node>;
}

export interface SFTJobReconcilerOptions {
  listers: Listers;
  writer: ObjectWriter;
  stores: SftStores;
  trainer: TrainerSettings;
  clock: Clock;
  /** How often a running job is looked at when nothing wakes it (default 5 s). */
  pollMs?: number;
  /** How long a Job that ended without the trainer's final report waits for it (default 30 s). */
  reportGraceMs?: number;
  /** Retry interval while waiting for quota or free GPUs (default 10 s). */
  quotaRetryMs?: number;
  /**
   * A new job's checks that take longer than this write VALIDATING while they run (default 2 s);
   * quicker ones go on to place and start the run in the same pass, with no VALIDATING write.
   * 0: VALIDATING is always written first.
   */
  validatingAfterMs?: number;
  /**
   * A placed run whose pods are not running this long after its Job was made writes PENDING
   * (default 5 s); sooner, the job goes to RUNNING in one write. 0: PENDING is written with the Job.
   */
  pendingAfterMs?: number;
}

export const DEFAULT_VALIDATING_AFTER_MS = 2_000;
export const DEFAULT_PENDING_AFTER_MS = 5_000;

const DATASET = /^accounts\/([^/]+)\/datasets\/([^/]+)$/;
const MODEL = /^accounts\/([^/]+)\/models\/([^/]+)$/;

export const holderOf = (name: string): string => `sftjob/${name}`;

/** Datasets whose validated lines are kept (READY datasets never change): at most this many, each at most DATASET_CACHE_BYTES. */
export const DATASET_CACHE_ENTRIES = 16;
export const DATASET_CACHE_BYTES = 4 * 1024 * 1024;

/** A READY dataset's lines, checked once as chat examples (keyed by account/id, valid for `version`). */
interface CheckedDataset {
  version: string;
  lines: string[];
  /** The first line that is not a chat example (each job names its own field). */
  bad?: { line: number; problem: string };
}

/** The GPUs a run was given in a pass, until the job is RUNNING (its pods bound) or ends. */
interface OwnClaim {
  namespace: string;
  name: string;
  attempt: number;
  acceleratorType: AcceleratorType;
  region: string;
  gpus: number;
}
export const jobFullName = (account: string, name: string): string => `accounts/${account}/supervisedFineTuningJobs/${name}`;

export class SFTJobReconciler implements Reconciler {
  readonly #written = new OwnWrites<Job>();
  readonly #events: EventRecorder;
  readonly #pollMs: number;
  readonly #graceMs: number;
  readonly #quotaRetryMs: number;
  readonly #datasets = new Map<string, CheckedDataset>();
  /** Reads in flight, shared by the passes that want the same thing at once (a burst of jobs on one dataset). */
  readonly #metaReads = new Map<string, Promise<DatasetMeta | undefined>>();
  readonly #lineReads = new Map<string, { version: string | undefined; read: Promise<CheckedDataset> }>();
  /** Validation started by the pass that wrote VALIDATING, for the next pass to finish (by key, for one uid and generation). */
  readonly #checks = new Map<string, { uid: string; generation: number | undefined; work: Promise<Checked> }>();
  readonly #claims = new Map<string, OwnClaim>();
  /** Runs placed (their Job made) whose status does not record the Job yet: what the first status write that does will say. */
  readonly #placed = new Map<string, PlacedRun>();
  readonly #validatingAfterMs: number;
  readonly #pendingAfterMs: number;

  constructor(private readonly o: SFTJobReconcilerOptions) {
    this.#events = new EventRecorder({ sink: o.writer, clock: o.clock });
    this.#pollMs = o.pollMs ?? 5_000;
    this.#graceMs = o.reportGraceMs ?? 30_000;
    this.#quotaRetryMs = o.quotaRetryMs ?? 10_000;
    this.#validatingAfterMs = o.validatingAfterMs ?? DEFAULT_VALIDATING_AFTER_MS;
    this.#pendingAfterMs = o.pendingAfterMs ?? DEFAULT_PENDING_AFTER_MS;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<Result> {
    const { namespace = '', name } = splitKey(key);
    const ns = this.o.listers.namespaces.get(namespace), account = accountOfNamespace(ns);
    const read = this.#written.read(key, this.o.listers.sftJobs.get(key));
    if (!read) {
      // Deleted: its children go by garbage collection; the quota hold is ours to release.
      this.#claims.delete(key);
      this.#checks.delete(key);
      this.#placed.delete(key);
      if (account) await this.o.stores.release(account, holderOf(name));
      return {};
    }
    if (await inUnverifiedNamespace(ns, read, this.#events, ctx.log)) return {};
    if (!account) {
      ctx.log.debug({ namespace }, 'namespace without an account: not reconciled');
      return {};
    }
    const obj = new PassObject(this.o.writer, read);
    try {
      const job = obj.current;
      const prev = job.status;
      const { outcome, result } = await this.#step(job, account, prev, key, ctx.signal);
      // Nothing a user must see yet (a run placed moments ago, its pods on their way): no write.
      if (!outcome) return result;
      const generation = typeof job.metadata.generation === 'number' ? job.metadata.generation : undefined;
      const next = computeStatus(prev, outcome, generation, job.spec.epochs ?? 1, new Date(this.o.clock.now()));
      if (!WAITING_STATES.has(next.state)) this.#claims.delete(key);
      if (!WAITING_STATES.has(next.state) || next.training?.job) this.#placed.delete(key);
      if (next.state !== 'JOB_STATE_VALIDATING') this.#checks.delete(key);
      // Events are for people: sent once the status is written, but the pass (and the worker) does
      // not wait for them (record() never rejects; a failure is logged).
      if (await obj.writeStatus(next)) for (const e of eventsFor(prev, next)) void this.#events.record(obj.current, e, ctx.log);
      return result;
    } finally {
      this.#written.remember(key, read, obj);
    }
  }

  async #step(job: Job, account: string, prev: SFTJobStatus | undefined, key: string, signal: AbortSignal): Promise<Step> {
    const state = prev?.state ?? 'JOB_STATE_UNSPECIFIED';
    const ann = job.metadata.annotations ?? {};
    const name = job.metadata.name!;
    if (this.#resumeRequested(job, prev)) {
      const attempt = (prev?.training?.attempt ?? 0) + 1;
      return {
        outcome: { state: 'JOB_STATE_PENDING', message: `resumed from checkpoint ${prev?.training?.checkpoint ?? '(none: from the start)'}`, training: { attempt, job: undefined, trainerFinishedTime: undefined } },
        result: { requeueAfter: 1 },
      };
    }
    if (isFinal(state)) {
      // The Job stays (its pods' logs) until the SFTJob is deleted; a cancel or early stop deleted it already.
      await this.o.stores.release(account, holderOf(name));
      // A final state keeps what it said (an early stop's reason too): a second pass changes nothing.
      const said = prev?.status;
      return {
        outcome: { state, ...(said?.code !== 'OK' ? { code: said?.code } : {}), ...(said?.message !== undefined ? { message: said.message } : {}), ...(prev?.outputModel ? { outputModel: prev.outputModel } : {}) },
        result: {},
      };
    }
    if (ann[ANNOTATIONS.cancelRequested] !== undefined) return this.#cancel(job, account, prev);
    // A run this process placed whose status does not say so yet: waiting for its pods.
    const placed = this.#placedRun(job, key, prev);
    if (placed) return this.#afterPlaced(job, placed);
    switch (state) {
      case 'JOB_STATE_UNSPECIFIED':
      case 'JOB_STATE_CREATING': {
        // The checks start at once. Quick ones (the usual case) go on to place and start the run
        // in this pass, with no VALIDATING write; slow ones (a large dataset, a slow store) write
        // VALIDATING when the deadline passes, and the next pass takes their result: the state
        // shows while they run, and does not add to them. FAILED is written either way.
        const checks = this.#startChecks(job, account, key);
        if (this.#validatingAfterMs > 0 && (await this.#within(checks, this.#validatingAfterMs, signal))) return this.#validate(job, account, key);
        return { outcome: { state: 'JOB_STATE_VALIDATING' }, result: { requeueAfter: 1 } };
      }
      case 'JOB_STATE_VALIDATING':
        return this.#validate(job, account, key);
      case 'JOB_STATE_PENDING':
        return this.#pending(job, account, prev!, key);
      case 'JOB_STATE_RUNNING':
        return this.#running(job, prev!);
      case 'JOB_STATE_WRITING_RESULTS':
        return this.#writeResults(job, account, prev!);
      default:
        return { outcome: { state }, result: {} };
    }
  }

  /** `:resume` of a stopped job not yet acted on (the annotation is newer than the last state change). */
  #resumeRequested(job: Job, prev: SFTJobStatus | undefined): boolean {
    const at = job.metadata.annotations?.[ANNOTATIONS.resumeRequested];
    if (!at || !['JOB_STATE_FAILED', 'JOB_STATE_CANCELLED'].includes(prev?.state ?? '')) return false;
    const t = Date.parse(at);
    const u = prev?.updateTime ? Date.parse(prev.updateTime) : 0;
    return !Number.isNaN(t) && t >= u && job.metadata.annotations?.[ANNOTATIONS.cancelRequested] === undefined;
  }

  async #cancel(job: Job, account: string, prev: SFTJobStatus | undefined): Promise<Step> {
    const current = this.#currentJob(job);
    if (current) await this.#deleteJob(job);
    // The trainer's last report is kept (its checkpoint is where :resume continues), also when no
    // pass copied it yet: a cancel may follow a report at once, or the first status write.
    const p = this.#progress(job, prev?.training?.attempt ?? 0);
    const reported = p ? fromProgress(p) : {};
    // Always through CANCELLING, also when the Job is already gone (a pass that deleted it lost its
    // status write to a conflict, or the job had no Job yet): the documented sequence, every time.
    if (current || prev?.state !== 'JOB_STATE_CANCELLING') {
      return { outcome: { state: 'JOB_STATE_CANCELLING', training: reported }, result: { requeueAfter: 1_000 } };
    }
    await this.o.stores.release(account, holderOf(job.metadata.name!));
    return { outcome: { state: 'JOB_STATE_CANCELLED', training: { ...reported, job: undefined } }, result: {} };
  }

  // ---- VALIDATING ----------------------------------------------------------------------------

  /** Validated → PENDING, and in the same pass placed and started (a Job made) when something fits. */
  async #validate(job: Job, account: string, key: string): Promise<Step> {
    const checked = await this.#takeChecks(job, account, key);
    if (!checked.ok) return { outcome: { state: 'JOB_STATE_FAILED', code: checked.invalid.code, message: checked.invalid.message }, result: {} };
    const { base, training, quota, written } = checked;
    return this.#place(job, account, base, training, key, quota, written);
  }

  /** True if `work` settles within `ms` (its failure is the caller's to see when it awaits it). */
  async #within(work: Promise<unknown>, ms: number, signal: AbortSignal): Promise<boolean> {
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await Promise.race([work.then(() => true, () => true), sleep(this.o.clock, ms, stop.signal).then(() => false)]);
    } finally {
      stop.abort(); // clears the timer
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Starts the checks of this uid and generation unless they are running already. */
  #startChecks(job: Job, account: string, key: string): Promise<Checked> {
    const uid = String(job.metadata.uid ?? '');
    const generation = typeof job.metadata.generation === 'number' ? job.metadata.generation : undefined;
    const had = this.#checks.get(key);
    if (had && had.uid === uid && had.generation === generation) return had.work;
    const work = this.#runChecks(job, account);
    work.catch(() => undefined); // awaited by the next pass; until then its failure is not unhandled
    this.#checks.set(key, { uid, generation, work });
    return work;
  }

  /** The checks the previous pass started (if they were for this uid and generation), else started now. */
  #takeChecks(job: Job, account: string, key: string): Promise<Checked> {
    const work = this.#startChecks(job, account, key);
    this.#checks.delete(key);
    return work;
  }

  /**
   * Everything VALIDATING decides: ranges, base model, datasets, output model, the carve-out
   * written; and the quota read for placement beside the checks (a read: nothing is held before
   * the job is valid).
   */
  async #runChecks(job: Job, account: string): Promise<Checked> {
    let quota: Promise<Map<string, number>> | undefined;
    try {
      const base = await this.#baseModel(job.spec as SFTJobSpec, account);
      quota = this.#quotaLeft(job, account, base);
      quota.catch(() => undefined); // awaited by placement, if the job is valid
      const { training, written } = await this.#check(job, account, base);
      return { ok: true, base, training: { attempt: 0, ...training }, quota, ...(written ? { written } : {}) };
    } catch (e) {
      if (!(e instanceof Invalid)) throw e;
      return { ok: false, invalid: e };
    }
  }

  /**
   * The checks; a valid job without an evaluation dataset also starts writing its carve-out
   * (`written`: placement holds the quota meanwhile, and the Job waits for both).
   */
  async #check(job: Job, account: string, base: BaseOf): Promise<{ training: Partial<Training>; written?: Promise<void> }> {
    const s = job.spec as SFTJobSpec;
    const name = job.metadata.name!;
    checkRanges(s);
    const outputId = outputModelId(job, account);
    const [taken, train, evalSet] = await Promise.all([
      this.o.stores.modelExists(account, outputId),
      this.#datasetLines('dataset', s.dataset, account, s.epochs),
      s.evaluationDataset ? this.#datasetLines('evaluationDataset', s.evaluationDataset, account, 1, 1) : undefined,
    ]);
    if (taken) throw new Invalid('ALREADY_EXISTS', `outputModel: model accounts/${account}/models/${outputId} already exists; name a new model`);
    let trainDataset = train.name;
    let evalDataset: string | undefined;
    let examples = train.lines.length;
    let written: Promise<void> | undefined;
    if (evalSet) {
      evalDataset = evalSet.name;
    } else if (s.evalAutoCarveout !== false) {
      // The carve-out is a real split: two datasets the trainer reads like any other.
      const split = carveOut(train.lines);
      const trainId = splitId(name, 'train');
      const evalId = splitId(name, 'eval');
      written = this.o.stores.writeDatasets(account, jobFullName(account, name), [
        { datasetId: trainId, lines: split.train, displayName: `training split of ${name}` },
        { datasetId: evalId, lines: split.eval, displayName: `evaluation split of ${name}` },
      ]);
      written.catch(() => undefined); // awaited by placement before the Job is made
      trainDataset = `accounts/${account}/datasets/${trainId}`;
      evalDataset = `accounts/${account}/datasets/${evalId}`;
      examples = split.train.length;
    }
    const first = trainingCandidates(base)[0]!;
    const tokens = train.tokens ?? examples * 256;
    const cost = estimateTrainingCost(base, first.shape, Math.round((tokens * examples) / Math.max(1, train.lines.length)), s.epochs);
    return { training: { trainDataset, ...(evalDataset ? { evalDataset } : {}), estimatedGpuHours: cost.gpuHours, estimatedCostUsd: cost.usd }, ...(written ? { written } : {}) };
  }

  /** The base model (or warm start's base) as the catalog knows it; fails naming the field. */
  async #baseModel(s: SFTJobSpec, account: string): Promise<BaseOf> {
    let field = 'baseModel';
    let ref = s.baseModel;
    if (!ref && s.warmStartFrom) {
      field = 'warmStartFrom';
      const m = MODEL.exec(s.warmStartFrom);
      const base = m && m[1] === account ? await this.o.stores.adapterBase(account, m[2]!) : undefined;
      if (!base) throw new Invalid('NOT_FOUND', `warmStartFrom: ${s.warmStartFrom} is not a READY adapter model of account ${account}`);
      ref = base;
    }
    if (!ref) throw new Invalid('INVALID_ARGUMENT', 'baseModel: exactly one of baseModel or warmStartFrom must be set');
    const shared = sharedBaseModel(ref);
    if (!shared) throw new Invalid('NOT_FOUND', `${field}: base model ${ref} does not exist`);
    const why = untunableReason(shared.model);
    if (why) throw new Invalid('FAILED_PRECONDITION', `${field}: ${ref}: ${why}`);
    return { parametersB: shared.model.parametersB, path: BASE_MODELS[shared.id]!.path, name: `accounts/fireworks/models/${shared.id}` };
  }

  async #datasetLines(field: string, ref: string, account: string, epochs: number, min?: number): Promise<{ name: string; lines: string[]; tokens?: number }> {
    const m = DATASET.exec(ref);
    if (!m || m[1] !== account) throw new Invalid('NOT_FOUND', `${field}: dataset ${ref} not found in account ${account}`);
    const meta = await this.#datasetMeta(account, m[2]!);
    if (!meta) throw new Invalid('NOT_FOUND', `${field}: dataset ${ref} not found`);
    if (meta.state !== 'READY') throw new Invalid('FAILED_PRECONDITION', `${field}: dataset ${ref} is ${meta.state}; only READY datasets can be trained on`);
    const checked = await this.#checkedLines(account, m[2]!, meta.version);
    checkBadLine(field, ref, checked.bad);
    checkCount(field, ref, checked.lines.length, epochs, min);
    return { name: ref, lines: checked.lines, ...(meta.estimatedTokens !== undefined ? { tokens: meta.estimatedTokens } : {}) };
  }

  /** The dataset's row; passes asking while a read is in flight share it (begun a moment before they asked: as fresh as a cache). */
  #datasetMeta(account: string, id: string): Promise<DatasetMeta | undefined> {
    const k = `${account}/${id}`;
    const inFlight = this.#metaReads.get(k);
    if (inFlight) return inFlight;
    const read = this.o.stores.dataset(account, id).finally(() => this.#metaReads.delete(k));
    this.#metaReads.set(k, read);
    return read;
  }

  /**
   * A READY dataset's lines, each checked as a chat example. Its bytes never change (a new upload
   * is a new dataset, a replaced one a new version), so what they say is kept for the next job on
   * the same dataset, and passes asking at once share one read: a burst of jobs on one dataset
   * reads and parses it once.
   */
  async #checkedLines(account: string, id: string, version: string | undefined): Promise<CheckedDataset> {
    const k = `${account}/${id}`;
    const hit = this.#datasets.get(k);
    if (hit && version !== undefined && hit.version === version) {
      this.#datasets.delete(k);
      this.#datasets.set(k, hit); // most recently used last
      return hit;
    }
    const inFlight = this.#lineReads.get(k);
    if (inFlight && version !== undefined && inFlight.version === version) return inFlight.read;
    const read = (async (): Promise<CheckedDataset> => {
      const bytes = await this.o.stores.datasetBytes(account, id);
      const lines = linesOf(bytes);
      const bad = firstBadLine(lines);
      const checked: CheckedDataset = { version: version ?? '', lines, ...(bad ? { bad } : {}) };
      if (version !== undefined && bytes.length <= DATASET_CACHE_BYTES) {
        this.#datasets.delete(k);
        this.#datasets.set(k, checked);
        while (this.#datasets.size > DATASET_CACHE_ENTRIES) this.#datasets.delete(this.#datasets.keys().next().value!);
      }
      return checked;
    })();
    const entry = { version, read };
    this.#lineReads.set(k, entry);
    const forget = (): void => {
      if (this.#lineReads.get(k) === entry) this.#lineReads.delete(k);
    };
    read.then(forget, forget);
    return read;
  }

  // ---- PENDING ---------------------------------------------------------------------------------

  async #pending(job: Job, account: string, prev: SFTJobStatus, key: string): Promise<Step> {
    const t = prev.training ?? {};
    const attempt = t.attempt ?? 0;
    const existing = this.#attemptJob(job, attempt);
    if (existing && t.job) {
      // Our Job exists: RUNNING once its pods run (the scheduler found the GPUs). Their events
      // wake the job (controller.ts); the Job's own counts are the fallback.
      const nodes = t.nodes ?? 1;
      if (this.#started(job, attempt, nodes, existing)) return { outcome: { state: 'JOB_STATE_RUNNING', message: '' }, result: { requeueAfter: this.#pollMs } };
      if ((existing.status?.failed ?? 0) > 0) return this.#jobFailed(existing);
      return { outcome: { state: 'JOB_STATE_PENDING', message: WAITING_FOR_PODS }, result: { requeueAfter: this.#pollMs } };
    }
    let base: BaseOf;
    try {
      base = await this.#baseModel(job.spec as SFTJobSpec, account);
    } catch (e) {
      if (!(e instanceof Invalid)) throw e;
      return { outcome: { state: 'JOB_STATE_FAILED', code: e.code, message: e.message }, result: {} };
    }
    return this.#place(job, account, base, t, key);
  }

  /**
   * Places the run (placement.ts: quota and free GPUs), holds its quota and makes the token
   * Secret, the headless Service (several nodes) and the Indexed Job, at once; or stays PENDING
   * saying why nothing fits.
   */
  async #place(job: Job, account: string, base: BaseOf, t: Partial<Training>, key: string, quotaRead?: Promise<Map<string, number>>, written?: Promise<void>): Promise<Step> {
    const name = job.metadata.name!;
    const holder = holderOf(name);
    const attempt = t.attempt ?? 0;
    // A pass whose status write was lost or not made yet (a conflict, a restart) made this attempt's Job already,
    // or the status names it and the Job cache has not caught up: keep where it runs, never place
    // the run a second time.
    const made = this.#attemptJob(job, attempt);
    const known = (made && placementOfJob(made)) ?? (t.job === jobName(name, attempt) ? placementOfStatus(t) : undefined);
    const p = known ? { placed: true as const, shape: known, region: known.region, quotaName: gpuQuotaName(known.acceleratorType, known.region) } : this.#choose(base, key, await (quotaRead ?? this.#quotaLeft(job, account, base)));
    if (!p.placed) {
      // Waiting on capacity is something a user must see at once, with why.
      const why = `waiting for GPUs: ${p.reason}`.slice(0, 1024);
      return { outcome: { state: 'JOB_STATE_PENDING', message: why, training: { ...t, pendingReason: why } }, result: { requeueAfter: this.#quotaRetryMs } };
    }
    const gpus = p.shape.acceleratorCount * p.shape.nodes;
    // Claimed before anything is awaited: a pass placing another job meanwhile sees these GPUs taken.
    this.#claims.set(key, { namespace: job.metadata.namespace ?? '', name, attempt, acceleratorType: p.shape.acceleratorType, region: p.region, gpus });
    // The quota is held while the carve-out (if any) is written; the Job waits for both.
    const [held] = await Promise.all([this.o.stores.hold(account, holder, p.quotaName, gpus), written]);
    if (!held.ok) {
      this.#claims.delete(key);
      // Read beside the checks, before the VALIDATING write: read it again and place once more now.
      if (quotaRead) return this.#place(job, account, base, t, key);
      // Another holder took the room since it was read: place again soon.
      const why = `waiting for GPU quota: ${held.why}`;
      return { outcome: { state: 'JOB_STATE_PENDING', message: why, training: { ...t, pendingReason: why } }, result: { requeueAfter: 1_000 } };
    }
    const uid = String(job.metadata.uid ?? '');
    const token = trainerToken(await this.o.stores.tokenKey(), uid, attempt); // read once per process (stores.ts)
    const spec = job.spec as SFTJobSpec;
    const k8sJob = makeTrainerJob({
      owner: job,
      account,
      attempt,
      placement: { ...p.shape, region: p.region },
      trainer: this.o.trainer,
      inputs: { spec, baseModelPath: base.path, baseModelName: base.name, resumeCheckpoint: t.checkpoint, hasEval: t.evalDataset !== undefined, nodes: p.shape.nodes, gpusPerNode: p.shape.acceleratorCount },
    });
    // The token Secret, the Service and the Job at once: the Secret is this uid's and attempt's
    // alone (resources.ts `secretName`, immutable, the same token on every pass), so a pod that
    // starts before it lands waits for it and never reads another token; made on every pass of
    // the attempt (a retry after a lost write makes what is missing).
    await Promise.all([this.#createIgnoringConflict(makeTokenSecret(job, attempt, token)), ...(p.shape.nodes > 1 ? [this.#createIgnoringConflict(makeService(job))] : []), ...(made ? [] : [this.#createJob(k8sJob, !known)])]);
    // Nothing written yet: the first status write that follows (RUNNING once the pods run, or
    // PENDING if they take long) carries all of it. The Job says where the run went (a restart
    // reads it back); until then this process remembers it.
    const run: PlacedRun = {
      uid,
      attempt,
      nodes: p.shape.nodes,
      since: made ? Date.parse(String(made.metadata?.creationTimestamp ?? '')) || this.o.clock.now() : this.o.clock.now(),
      training: { ...t, job: k8sJob.metadata!.name!, acceleratorType: p.shape.acceleratorType, acceleratorCount: p.shape.acceleratorCount, nodes: p.shape.nodes, region: p.region, quotaName: p.quotaName, pendingReason: undefined },
    };
    this.#placed.set(key, run);
    return this.#afterPlaced(job, run);
  }

  /** The run this process placed for the job's current attempt and has not recorded in the status yet. */
  #placedRun(job: Job, key: string, prev: SFTJobStatus | undefined): PlacedRun | undefined {
    const run = this.#placed.get(key);
    if (!run) return undefined;
    const waiting = WAITING_STATES.has(prev?.state ?? 'JOB_STATE_UNSPECIFIED') && !prev?.training?.job;
    if (run.uid !== String(job.metadata.uid ?? '') || run.attempt !== (prev?.training?.attempt ?? 0) || !waiting) {
      this.#placed.delete(key);
      return undefined;
    }
    return run;
  }

  /**
   * A placed run (its Job made): RUNNING once its pods run, in one write that says where it runs;
   * PENDING (the same fields, and that it waits for its pods) only if that takes longer than
   * `pendingAfterMs` after the Job was made; until then nothing is written.
   */
  #afterPlaced(job: Job, run: PlacedRun): Step {
    const k8sJob = this.#attemptJob(job, run.attempt);
    if (this.#started(job, run.attempt, run.nodes, k8sJob)) return { outcome: { state: 'JOB_STATE_RUNNING', message: '', training: run.training }, result: { requeueAfter: this.#pollMs } };
    if (k8sJob && (k8sJob.status?.failed ?? 0) > 0) return this.#jobFailed(k8sJob, run.training);
    const waited = this.o.clock.now() - run.since;
    if (waited >= this.#pendingAfterMs) return { outcome: { state: 'JOB_STATE_PENDING', message: WAITING_FOR_PODS, training: run.training }, result: { requeueAfter: this.#pollMs } };
    // The pods' events wake the job before that, usually.
    return { outcome: undefined, result: { requeueAfter: this.#pendingAfterMs - waited } };
  }

  /** The attempt's pods run (the pods informer: their own events), or the Job or a report says so. */
  #started(job: Job, attempt: number, nodes: number, k8sJob: V1Job | undefined): boolean {
    const s = k8sJob?.status ?? {};
    const podsUp = this.#podsOf(job, attempt).filter((p) => p.spec?.nodeName && (p.status?.phase === 'Running' || p.status?.phase === 'Succeeded')).length;
    return podsUp >= nodes || (s.ready ?? 0) + (s.succeeded ?? 0) >= nodes || ((s.active ?? 0) >= nodes && (s.ready ?? 0) > 0) || this.#progress(job, attempt) !== undefined;
  }

  /**
   * A new placement (placement.ts) from the quota left and the free GPUs less the other runs'
   * claims. Synchronous: the caller claims its GPUs before another pass chooses.
   */
  #choose(base: BaseOf, key: string, quota: Map<string, number>) {
    return chooseTrainingPlacement({
      model: base,
      quotaLeft: (q) => quota.get(q) ?? 0,
      nodes: this.o.listers.nodes.list(),
      pods: this.o.listers.pods.list(),
      claims: this.#otherClaims(key),
    });
  }

  /** GPUs the account's quota still allows the job, for every quota a training candidate of the base model uses. */
  #quotaLeft(job: Job, account: string, base: BaseOf): Promise<Map<string, number>> {
    const quotaNames = [...new Set(trainingCandidates(base).map((c) => gpuQuotaName(c.shape.acceleratorType, c.region)))];
    return this.o.stores.quotaLeft(account, holderOf(job.metadata.name!), quotaNames);
  }

  /** The pods of an attempt's Job (the informer's projection: labels, node, phase). */
  #podsOf(job: Job, attempt: number): V1Pod[] {
    return podsOf(this.o.listers.pods, job.metadata.namespace ?? '', job.metadata.name!, attempt);
  }

  /**
   * GPUs other runs were given whose pods may not be bound yet: every job the cache shows PENDING
   * with its Job, and what this reconciler placed since (the cache may not show it yet).
   */
  #otherClaims(key: string): Claim[] {
    const own = new Map(this.#claims);
    const out: Claim[] = [];
    const add = (namespace: string, name: string, attempt: number, acceleratorType: AcceleratorType, region: string, gpus: number) =>
      out.push({ acceleratorType, region, gpus, pods: podsOf(this.o.listers.pods, namespace, name, attempt) });
    for (const j of this.o.listers.sftJobs.list()) {
      const k = `${j.metadata.namespace}/${j.metadata.name}`;
      if (k === key || own.has(k)) continue;
      const t = j.status?.training;
      if (!WAITING_STATES.has(j.status?.state ?? 'JOB_STATE_UNSPECIFIED')) continue;
      const acc = t?.acceleratorType as AcceleratorType | undefined;
      if (j.status?.state === 'JOB_STATE_PENDING' && t?.job && t.region && acc && ACCELERATOR_TYPES.includes(acc)) {
        add(j.metadata.namespace ?? '', j.metadata.name ?? '', t.attempt ?? 0, acc, t.region, (t.acceleratorCount ?? 1) * (t.nodes ?? 1));
        continue;
      }
      // Placed (by another replica, or before a restart) with no status saying so yet: its Job does.
      const made = this.#attemptJob(j, t?.attempt ?? 0);
      const p = made && placementOfJob(made);
      if (p) add(j.metadata.namespace ?? '', j.metadata.name ?? '', t?.attempt ?? 0, p.acceleratorType, p.region, p.acceleratorCount * p.nodes);
    }
    for (const [k, c] of own) if (k !== key) add(c.namespace, c.name, c.attempt, c.acceleratorType, c.region, c.gpus);
    return out;
  }

  // ---- RUNNING ---------------------------------------------------------------------------------

  #progress(job: Job, attempt: number) {
    const p = parseProgress(job.metadata.annotations?.[SFT_ANNOTATIONS.trainerProgress]);
    return p && p.attempt === attempt ? p : undefined;
  }

  async #running(job: Job, prev: SFTJobStatus): Promise<Step> {
    const t = prev.training ?? {};
    const attempt = t.attempt ?? 0;
    const p = this.#progress(job, attempt);
    const reported = p ? fromProgress(p) : {};
    const now = this.o.clock.now();
    if (p?.done) {
      return { outcome: { state: 'JOB_STATE_WRITING_RESULTS', training: { ...reported, trainerFinishedTime: new Date(now).toISOString() } }, result: { requeueAfter: 1 } };
    }
    if (job.spec.earlyStop && (p?.evalsSinceBest ?? 0) >= EARLY_STOP_PATIENCE && p?.bestCheckpoint) {
      // Hearth's early stop: the evaluation loss has not improved for PATIENCE evaluations; the best checkpoint is the output.
      await this.#deleteJob(job);
      const why = `early stop: evaluation loss ${p.evalLoss} did not improve on ${p.bestEvalLoss} for ${p.evalsSinceBest} evaluations`;
      return { outcome: { state: 'JOB_STATE_WRITING_RESULTS', message: why, training: { ...reported, earlyStopped: true, earlyStopReason: why, trainerFinishedTime: new Date(now).toISOString() } }, result: { requeueAfter: 1 } };
    }
    const k8sJob = this.#currentJob(job);
    if (!k8sJob) return { outcome: { state: 'JOB_STATE_FAILED', code: 'ABORTED', message: `the trainer Job ${t.job ?? ''} was deleted; :resume continues from checkpoint ${t.checkpoint ?? '(none)'}`, training: reported }, result: {} };
    const cond = (type: string) => k8sJob.status?.conditions?.find((c) => c.type === type && c.status === 'True');
    const failed = cond('Failed');
    if (failed) return this.#jobFailed(k8sJob, reported);
    const complete = cond('Complete');
    if (complete) {
      // Exited 0 without the final report: it may still be in flight; then the contract was broken.
      const since = Date.parse(String(complete.lastTransitionTime ?? '')) || now;
      if (now - since < this.#graceMs) return { outcome: { state: 'JOB_STATE_RUNNING', training: reported }, result: { requeueAfter: Math.min(this.#pollMs, this.#graceMs) } };
      return { outcome: { state: 'JOB_STATE_FAILED', code: 'INTERNAL', message: `the trainer Job ${k8sJob.metadata?.name} completed without reporting its adapter (the trainer contract: report {"done": true} after uploading adapter/)`, training: reported }, result: {} };
    }
    return { outcome: { state: 'JOB_STATE_RUNNING', training: reported }, result: { requeueAfter: this.#pollMs } };
  }

  #jobFailed(k8sJob: V1Job, training: Partial<Training> = {}): { outcome: Outcome; result: Result } {
    const c = k8sJob.status?.conditions?.find((x) => x.type === 'Failed' && x.status === 'True');
    const why = c ? `${c.reason ?? 'Failed'}: ${c.message ?? ''}` : 'a trainer pod failed';
    return { outcome: { state: 'JOB_STATE_FAILED', code: 'INTERNAL', message: `the trainer failed (${why.trim()}); :resume continues from the last checkpoint`, training }, result: {} };
  }

  // ---- WRITING_RESULTS -------------------------------------------------------------------------

  async #writeResults(job: Job, account: string, prev: SFTJobStatus): Promise<{ outcome: Outcome; result: Result }> {
    const t = prev.training ?? {};
    const name = job.metadata.name!;
    const p = this.#progress(job, t.attempt ?? 0);
    // Hearth's early stop is decided once (training.earlyStopped); a report arriving after it changes nothing.
    const early = t.earlyStopped === true && t.bestCheckpoint !== undefined;
    const earlyByTrainer = !early && p?.done === true && p.earlyStopped === true;
    const from = early ? `checkpoints/${t.bestCheckpoint}/` : 'adapter/';
    const spec = job.spec as SFTJobSpec;
    let modelId: string;
    try {
      modelId = outputModelId(job, account);
      const base = (await this.#baseModel(spec, account)).name;
      const made = await this.o.stores.registerModel({ accountId: account, modelId, baseModel: base, job: jobFullName(account, name), displayName: spec.displayName ?? `fine-tuned by ${name}`, from, loraRank: spec.loraRank });
      if (made === 'exists' && !(await this.o.stores.modelOfJob(account, modelId, jobFullName(account, name)))) {
        throw new Invalid('ALREADY_EXISTS', `outputModel: model accounts/${account}/models/${modelId} was created by someone else while the job trained`);
      }
    } catch (e) {
      if (e instanceof InvalidAdapterError) return { outcome: { state: 'JOB_STATE_FAILED', code: 'INVALID_ARGUMENT', message: e.message }, result: {} };
      if (e instanceof Invalid) return { outcome: { state: 'JOB_STATE_FAILED', code: e.code, message: e.message }, result: {} };
      throw e;
    }
    await this.o.stores.release(account, holderOf(name));
    const state = early || earlyByTrainer ? 'JOB_STATE_EARLY_STOPPED' : 'JOB_STATE_COMPLETED';
    // The trainer may stop early on its own (its last report says so) before a pass of ours decides it: say why either way.
    const trainerWhy =
      earlyByTrainer && p
        ? p.evalLoss !== undefined && p.bestEvalLoss !== undefined
          ? `early stop: evaluation loss ${p.evalLoss} did not improve on ${p.bestEvalLoss} for ${p.evalsSinceBest ?? '?'} evaluations (the trainer stopped)`
          : 'early stop: the trainer stopped early'
        : undefined;
    const message = early ? t.earlyStopReason : (trainerWhy ?? prev.status?.message);
    return { outcome: { state, outputModel: `accounts/${account}/models/${modelId}`, ...(message ? { message } : {}) }, result: {} };
  }

  // ---- children --------------------------------------------------------------------------------

  /** This attempt's Job in the cache, if this SFTJob (its uid) controls it. */
  #attemptJob(job: Job, attempt: number): V1Job | undefined {
    const j = this.o.listers.jobs.get(`${job.metadata.namespace}/${jobName(job.metadata.name!, attempt)}`);
    return j && isControlledBy(j, job) && j.metadata?.labels?.[SFT_LABELS.attempt] === String(attempt) ? j : undefined;
  }

  /**
   * Creates the trainer Job. A 409 for a Job the cache does not show, on a new placement: a Job of
   * this attempt may exist elsewhere than just chosen (a lost status write and a lagging cache),
   * so the pass fails and is retried once the cache shows it (its placement is then read back).
   */
  async #createJob(k8sJob: V1Job, newPlacement: boolean): Promise<void> {
    try {
      await this.o.writer.create(k8sJob);
    } catch (e) {
      if (!isConflict(e)) throw e;
      const key = `${k8sJob.metadata!.namespace}/${k8sJob.metadata!.name}`;
      if (newPlacement && !this.o.listers.jobs.get(key)) throw new Error(`Job ${key} exists but is not in the cache yet: placed again once it is`, { cause: e });
    }
  }

  /** The Job the status names, else (placed, not recorded yet) the current attempt's Job. */
  #currentJob(job: Job): V1Job | undefined {
    const t = job.status?.training;
    if (!t?.job) return WAITING_STATES.has(job.status?.state ?? 'JOB_STATE_UNSPECIFIED') || job.status?.state === 'JOB_STATE_CANCELLING' ? this.#attemptJob(job, t?.attempt ?? 0) : undefined;
    const j = this.o.listers.jobs.get(`${job.metadata.namespace}/${t.job}`);
    return j && isControlledBy(j, job) ? j : undefined;
  }

  async #deleteJob(job: Job): Promise<void> {
    const j = this.#currentJob(job);
    if (!j || j.metadata?.deletionTimestamp) return;
    try {
      await this.o.writer.delete({ apiVersion: 'batch/v1', kind: 'Job', namespace: job.metadata.namespace ?? '', name: j.metadata!.name!, uid: j.metadata!.uid as string });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async #createIgnoringConflict(obj: Parameters<ObjectWriter['create']>[0]): Promise<void> {
    try {
      await this.o.writer.create(obj);
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
  }
}

type BaseOf = { parametersB: number; path: string; name: string };

/** What a pass decided: the status outcome to write (undefined: nothing to write yet) and when to look again. */
type Step = { outcome: Outcome | undefined; result: Result };

/** The states before RUNNING, in which a run may have been placed and its pods not be bound yet. */
const WAITING_STATES: ReadonlySet<string> = new Set(['JOB_STATE_UNSPECIFIED', 'JOB_STATE_CREATING', 'JOB_STATE_VALIDATING', 'JOB_STATE_PENDING']);

const WAITING_FOR_PODS = 'waiting for the trainer pods to be scheduled on GPUs';

/** A run placed by this process (its Job made) that the status does not record yet. */
interface PlacedRun {
  uid: string;
  attempt: number;
  nodes: number;
  /** When its Job was made (ms). */
  since: number;
  /** The `training` fields the first status write after placing records (placement, Job, token digest, the checks' fields). */
  training: Partial<Training>;
}

/** What VALIDATING found: the training fields, the base model and the quota read for placement; or why the job fails. */
type Checked = { ok: true; base: BaseOf; training: Partial<Training>; quota: Promise<Map<string, number>>; written?: Promise<void> } | { ok: false; invalid: Invalid };

/** The placement the status records with its Job (written by the pass that made that Job). */
function placementOfStatus(t: Partial<Training>): Placement | undefined {
  const acc = t.acceleratorType ?? '';
  if (!isAcceleratorType(acc) || !t.region || !t.acceleratorCount) return undefined;
  return { acceleratorType: acc, acceleratorCount: t.acceleratorCount, nodes: t.nodes ?? 1, region: t.region };
}

/** The pods of an SFT job's attempt (labels of resources.ts). */
function podsOf(pods: Lister<V1Pod>, namespace: string, name: string, attempt: number): V1Pod[] {
  return pods.list(namespace).filter((p) => p.metadata?.labels?.[SFT_LABELS.job] === name && p.metadata.labels[SFT_LABELS.attempt] === String(attempt));
}

/**
 * The output model's id: `outputModel` (an id, or a full name of the account: kubectl may give
 * either, REST stores the id), else the job's id. Another account's full name (the CRD's CEL cannot
 * see the namespace) fails the job naming the field.
 */
export function outputModelId(job: Job, account: string): string {
  const v = job.spec.outputModel;
  if (!v) return job.metadata.name!;
  const parsed = parseOutputModel(v);
  if (!parsed) throw new Invalid('INVALID_ARGUMENT', `outputModel: ${v} is neither a model id nor accounts/${account}/models/<id>`);
  if (parsed.account !== undefined && parsed.account !== account) throw new Invalid('INVALID_ARGUMENT', `outputModel: ${v} is not a model of account ${account}`);
  return parsed.id;
}

/** The carve-out datasets (shared with the trainer endpoint). */
export { splitId };
