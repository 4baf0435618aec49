// The BatchJob reconciler: a BatchJob runs as a batch/v1 Job (Indexed, one pod per rank) on its
// node pool's nodes; its state is what the pods show; a finished rank's output is archived so
// `:getLogs` serves it after the pods are gone.
//
//   fetch (gone → drop its archived logs; the Job goes by GC: no finalizer, so a namespace or a
//     job is never held up by a controller that is not running; logs of a job deleted meanwhile
//     go with the retention purge)
//   → account of the namespace (none: not ours)
//   → being deleted → remove the finalizer earlier versions added, if there
//   → final state → archive what the pods still hold, then delete the Job (its pods go with it)
//   → cancel requested → CANCELLING: archive, delete the Job; no Job and no pods → CANCELLED
//   → no Job yet, not started → check pool, binding, ranks, environment (shared), image → FAILED naming the field,
//     or create the Job → CREATING
//   → the pods → archive each finished rank → PENDING / RUNNING / COMPLETED / FAILED (rank, exit code)
//   → status once, only if it changed; an event per state change
import type { V1Job, V1Namespace, V1Pod } from '@kubernetes/client-node';
import { accountOfNamespace } from '../../crds/account.js';
import type { BatchJobState, BatchJobStatus } from '../../crds/batch-job.js';
import type { Environment } from '../../crds/environment.js';
import { ANNOTATIONS, FINALIZER } from '../../crds/group.js';
import { environmentAccessMessage, mayUseEnvironment } from '../../fleet/environment-access.js';
import type { NodePool } from '../../crds/node-pool.js';
import { splitKey } from '../../kube/keys.js';
import type { Clock } from '../../util/clock.js';
import type { Lister } from '../runtime/controller.js';
import { EventRecorder } from '../runtime/events.js';
import { hasFinalizer } from '../runtime/finalizers.js';
import { isControlledBy } from '../runtime/owner-refs.js';
import { OwnWrites, PassObject } from '../runtime/pass.js';
import { inUnverifiedNamespace } from '../runtime/tenancy.js';
import { isConflict, isNotFound, type ReconcileContext, type Reconciler, type Result } from '../runtime/result.js';
import type { HearthObject, ObjectWriter } from '../runtime/writer.js';
import { BATCH_JOB_LABELS, CONTAINER_NAME, buildJob, jobNameOf, numRanksOf, poolShape } from './resources.js';
import { eventsFor, isFinal, nextStatus, observe, podEnd, podsByRank } from './status.js';
import type { JobRef, LogArchive, PoolAccess } from './stores.js';

type BatchJob = HearthObject<'BatchJob'>;

export interface Listers {
  batchJobs: Lister<BatchJob>;
  jobs: Lister<V1Job>;
  pods: Lister<V1Pod>;
  nodePools: Lister<HearthObject<'NodePool'>>;
  environments: Lister<HearthObject<'Environment'>>;
  namespaces: Lister<V1Namespace>;
}

export interface BatchJobReconcilerOptions {
  listers: Listers;
  writer: ObjectWriter;
  access: PoolAccess;
  logs: LogArchive;
  clock: Clock;
  /** How often a job waiting on something the watches do not show is looked at again (default 5 s). */
  pollMs?: number;
}

/** A job the controller refuses: the status names the field and the rule. */
class Refused extends Error {
  constructor(
    readonly code: 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'FAILED_PRECONDITION' | 'PERMISSION_DENIED',
    message: string,
  ) {
    super(message);
  }
}

interface Outcome {
  state: BatchJobState;
  message?: string;
  result: Result;
  /**
   * Nothing to report yet: the Job is made and its pods are on their way (the wire reads an unset
   * state as CREATING). No status write, so a job costs its Job's create and one status write
   * (RUNNING) when nothing goes wrong.
   */
  silent?: boolean;
  /** The ranks ran (sets startTime once). */
  ran?: boolean;
}

export const DEFAULT_POLL_MS = 5_000;

export class BatchJobReconciler implements Reconciler {
  readonly #written = new OwnWrites<BatchJob>();
  readonly #events: EventRecorder;
  readonly #pollMs: number;

  constructor(private readonly o: BatchJobReconcilerOptions) {
    this.#events = new EventRecorder({ sink: o.writer, clock: o.clock });
    this.#pollMs = o.pollMs ?? DEFAULT_POLL_MS;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<Result> {
    const read = this.#written.read(key, this.o.listers.batchJobs.get(key));
    if (!read) {
      await this.o.logs.dropJob(key);
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
      if (read.metadata.deletionTimestamp) return await this.#finalize(obj);
      return await this.#pass(obj, account, ctx);
    } finally {
      this.#written.remember(key, read, obj);
    }
  }

  async #pass(obj: PassObject<BatchJob>, account: string, ctx: ReconcileContext): Promise<Result> {
    const bj = obj.current;
    const prev = bj.status;
    const outcome = await this.#decide(bj, account, prev);
    if (outcome.silent && (!prev?.state || prev.state === 'STATE_UNSPECIFIED' || prev.state === 'CREATING')) return outcome.result;
    const generation = typeof bj.metadata.generation === 'number' ? bj.metadata.generation : undefined;
    const next = nextStatus(prev, { state: outcome.state, message: outcome.message, ran: outcome.ran ?? false, now: new Date(this.o.clock.now()), generation });
    if (await obj.writeStatus(next)) for (const e of eventsFor(prev, next)) await this.#events.record(obj.current, e, ctx.log);
    return outcome.result;
  }

  async #decide(bj: BatchJob, account: string, prev: BatchJobStatus | undefined): Promise<Outcome> {
    const state = prev?.state;
    if (state && isFinal(state)) {
      await this.#wrapUp(bj, account);
      return { state, ...(prev?.status !== undefined ? { message: prev.status } : {}), result: {} };
    }
    if (bj.metadata.annotations?.[ANNOTATIONS.cancelRequested] !== undefined) return this.#cancel(bj, account);
    const job = this.#job(bj);
    if (!job) {
      if (!state || state === 'STATE_UNSPECIFIED' || state === 'CREATING') return this.#start(bj, account);
      return { state: 'FAILED', message: `the Job ${jobNameOf(bj)} that ran the ranks was deleted`, result: {} };
    }
    return this.#observe(bj, account);
  }

  /** Checks what the job names, then creates its Job; a problem fails it naming the field. */
  async #start(bj: BatchJob, account: string): Promise<Outcome> {
    try {
      const pool = this.#pool(bj);
      await this.#checkAccess(bj, account);
      const shape = poolShape(pool);
      const ranks = numRanksOf(bj);
      if (ranks > shape.maxRanks) {
        throw new Refused(
          'INVALID_ARGUMENT',
          `numRanks: ${ranks} exceeds the maximum of node pool ${bj.spec.nodePoolId}: ${shape.maxRanks} (maxNodeCount ${pool.spec.maxNodeCount} × ${shape.ranksPerNode} ranks per node)`,
        );
      }
      const image = await this.#image(bj, account);
      try {
        await this.o.writer.create(buildJob({ bj, account, image, pool }));
      } catch (e) {
        // 409: our own create of an earlier pass the cache has not shown yet.
        if (!isConflict(e)) throw e;
      }
      return { state: 'CREATING', message: `Job ${jobNameOf(bj)} created: ${ranks} ranks on node pool ${bj.spec.nodePoolId}`, result: { requeueAfter: this.#pollMs }, silent: true };
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      return { state: 'FAILED', message: `${e.code}: ${e.message}`, result: {} };
    }
  }

  #pool(bj: BatchJob): HearthObject<'NodePool'> {
    const id = bj.spec.nodePoolId;
    const pool = this.o.listers.nodePools.get(`${bj.metadata.namespace}/${id}`);
    if (!pool) throw new Refused('NOT_FOUND', `nodePoolId: node pool ${id} not found`);
    if (pool.metadata?.deletionTimestamp || pool.status?.state === 'DELETING') throw new Refused('FAILED_PRECONDITION', `nodePoolId: node pool ${id} is being deleted`);
    return pool;
  }

  /**
   * The creator (annotation `createdBy`, written by the REST facade, or by whoever creates the
   * object for a user) must be an admin or bound to the pool. An object without a creator was
   * written with Kubernetes credentials on the namespace, which already grant everything.
   */
  async #checkAccess(bj: BatchJob, account: string): Promise<void> {
    const email = bj.metadata.annotations?.[ANNOTATIONS.createdBy];
    if (!email) return;
    if (await this.o.access.mayUse(account, bj.spec.nodePoolId, email)) return;
    throw new Refused('PERMISSION_DENIED', `nodePoolId: ${email} may not run jobs on node pool ${bj.spec.nodePoolId} (no node pool binding)`);
  }

  /**
   * The image: `imageRef`, or the environment's pinned image. The creator must be allowed in the
   * environment (its creator, anyone when `shared`, admins: src/fleet/environment-access.ts, the
   * rule REST applies at create); a job without a creator was written with Kubernetes credentials.
   */
  async #image(bj: BatchJob, account: string): Promise<string> {
    if (bj.spec.imageRef) return bj.spec.imageRef;
    const id = bj.spec.environmentId;
    if (!id) throw new Refused('INVALID_ARGUMENT', 'imageRef: exactly one of environmentId or imageRef must be set');
    if (bj.spec.snapshotId) throw new Refused('FAILED_PRECONDITION', 'snapshotId: environment snapshots are not supported');
    const env = this.o.listers.environments.get(`${bj.metadata.namespace}/${id}`);
    if (!env) throw new Refused('NOT_FOUND', `environmentId: environment ${id} not found`);
    const email = bj.metadata.annotations?.[ANNOTATIONS.createdBy];
    if (email && !mayUseEnvironment(env, { email, role: (await this.o.access.roleOf(account, email)) ?? 'none' })) {
      throw new Refused('PERMISSION_DENIED', `environmentId: ${environmentAccessMessage(`accounts/${account}/environments/${id}`, env)}`);
    }
    return imageOfEnvironment(env, bj.spec.nodePoolId);
  }

  #job(bj: BatchJob): V1Job | undefined {
    const job = this.o.listers.jobs.get(`${bj.metadata.namespace}/${jobNameOf(bj)}`);
    return job && isControlledBy(job, bj) ? job : undefined;
  }

  #pods(bj: BatchJob): V1Pod[] {
    return this.o.listers.pods.list(bj.metadata.namespace).filter((p) => p.metadata?.labels?.[BATCH_JOB_LABELS.batchJob] === bj.metadata.name);
  }

  async #observe(bj: BatchJob, account: string): Promise<Outcome> {
    const pods = this.#pods(bj);
    await this.#archive(bj, account, pods, false);
    const seen = observe(pods, numRanksOf(bj));
    // Pods on their way, none refused by the scheduler: not yet "waiting for capacity".
    if (seen.state === 'PENDING' && !seen.unschedulable) return { state: 'CREATING', message: seen.message, result: { requeueAfter: this.#pollMs }, silent: true };
    // A final state: the next pass archives what is left and deletes the Job.
    const ran = seen.state !== 'PENDING';
    if (isFinal(seen.state)) return { state: seen.state, message: seen.message, result: { requeueAfter: 1 }, ran };
    return { state: seen.state, message: seen.message, result: { requeueAfter: this.#pollMs }, ran };
  }

  /** Archives the ranks whose pods have ended (all of them when `all`: the job is over). */
  async #archive(bj: BatchJob, account: string, pods: V1Pod[], all: boolean): Promise<void> {
    const byRank = podsByRank(pods);
    if (byRank.size === 0) return;
    const ref = jobRef(bj, account);
    const done = await this.o.logs.archived(ref.uid);
    for (const [rank, pod] of byRank) {
      if (done.has(rank) || (!all && !podEnd(pod))) continue;
      await this.o.logs.archive(ref, rank, pod.metadata?.name ?? '', CONTAINER_NAME);
    }
  }

  /** The job ended: keep the output, let the pods go. */
  async #wrapUp(bj: BatchJob, account: string): Promise<void> {
    const job = this.#job(bj);
    if (!job) return;
    await this.#archive(bj, account, this.#pods(bj), true);
    await this.#deleteJob(bj, job);
  }

  async #cancel(bj: BatchJob, account: string): Promise<Outcome> {
    const job = this.#job(bj);
    const pods = this.#pods(bj);
    if (job) {
      await this.#archive(bj, account, pods, true);
      await this.#deleteJob(bj, job);
    }
    if (!job && pods.length === 0) return { state: 'CANCELLED', message: 'cancelled', result: {} };
    return { state: 'CANCELLING', message: `stopping ${pods.length} rank pods`, result: { requeueAfter: this.#pollMs } };
  }

  async #deleteJob(bj: BatchJob, job: V1Job): Promise<void> {
    if (job.metadata?.deletionTimestamp) return;
    try {
      await this.o.writer.delete({ apiVersion: 'batch/v1', kind: 'Job', namespace: bj.metadata.namespace ?? '', name: job.metadata?.name ?? '', uid: job.metadata?.uid ?? '' });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Deletion: the Job (and its pods) go by GC, the archived output when the object is gone; a finalizer is let go. */
  async #finalize(obj: PassObject<BatchJob>): Promise<Result> {
    if (hasFinalizer(obj.current, FINALIZER)) await obj.removeFinalizer(FINALIZER);
    return {};
  }
}

/** The image a job in this environment runs: the image pinned at creation, else its base image. */
export function imageOfEnvironment(env: Pick<Environment, 'spec' | 'metadata'> & { status?: Environment['status'] }, poolId: string): string {
  const name = env.metadata?.name ?? '';
  const connected = env.status?.connection?.nodePoolId;
  if (connected && connected !== poolId && ['CONNECTED', 'CONNECTING', 'RECONNECTING'].includes(env.status?.state ?? '')) {
    throw new Refused('FAILED_PRECONDITION', `environmentId: environment ${name} is connected to node pool ${connected}, not ${poolId}`);
  }
  const image = env.status?.imageRef ?? env.spec.baseImageRef;
  if (!image) throw new Refused('FAILED_PRECONDITION', `environmentId: environment ${name} has no image yet (its baseImageRef is not pinned)`);
  return image;
}

function jobRef(bj: BatchJob, account: string): JobRef {
  return { account, namespace: bj.metadata.namespace ?? '', name: bj.metadata.name ?? '', uid: String(bj.metadata.uid ?? '') };
}

export type { NodePool };
