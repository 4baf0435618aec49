// The Environment reconciler. `spec.connection` is the contract (REST `:connect` sets it,
// `:disconnect` removes it; kubectl may do either): the controller makes the pods match it.
//
//   fetch (gone or being deleted → nothing: the pods are owned and go by garbage collection)
//   → account of the namespace (none: not ours)
//   → pin the image: status.imageRef = baseImageRef (or the default) the first time, never after
//   → no connection requested: delete our pods → DISCONNECTING until none is left → DISCONNECTED
//   → requested: the pool (exists, not being deleted, can hold numRanks) and who asked (checkConnect: a user of the
//     account who may use the environment and the pool) → refused: no pods, DISCONNECTED naming the
//     pool in status and the Ready condition, checked again in REFUSED_RETRY_MS (a binding is data,
//     no event wakes us)
//     → one pod per rank (pods.ts): pods of another plan, of a rank beyond numRanks, or ended
//       (Failed/Succeeded: evicted, node lost) are deleted; missing ranks are created
//     → every rank Running and Ready → CONNECTED (zone of rank 0's node); else CONNECTING, or
//       RECONNECTING when it was connected
//   → status once, only if it changed; an event per state change
import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import { accountOfNamespace } from '../../crds/account.js';
import type { Code } from '../../crds/common.js';
import type { EnvironmentStatus } from '../../crds/environment.js';
import { ANNOTATIONS } from '../../crds/group.js';
import { numRanksProblem } from '../../fleet/pool-ranks.js';
import { splitKey } from '../../kube/keys.js';
import type { Clock } from '../../util/clock.js';
import type { Lister } from '../runtime/controller.js';
import { EventRecorder } from '../runtime/events.js';
import { isControlledBy } from '../runtime/owner-refs.js';
import { OwnWrites, PassObject } from '../runtime/pass.js';
import { inUnverifiedNamespace } from '../runtime/tenancy.js';
import { isConflict, isNotFound, type ReconcileContext, type Reconciler, type Result } from '../runtime/result.js';
import type { HearthObject, ObjectWriter } from '../runtime/writer.js';
import { checkConnect, type PoolAccess } from './access.js';
import { LABEL_RANK, planHash, podName, poolGpuResource, rankPod, shellCommand, type RankPlan } from './pods.js';
import { computeStatus, eventsFor, type Outcome } from './status.js';

type Env = HearthObject<'Environment'>;
type Pool = HearthObject<'NodePool'>;

export interface Listers {
  environments: Lister<Env>;
  nodePools: Lister<Pool>;
  pods: Lister<V1Pod>;
  namespaces: Lister<V1Namespace>;
}

/** The zone of a node (its topology.kubernetes.io/zone label, else its region). */
export interface NodeZones {
  zoneOf(nodeName: string): Promise<string | undefined>;
}

export interface EnvironmentReconcilerOptions {
  listers: Listers;
  writer: ObjectWriter;
  access: PoolAccess;
  zones: NodeZones;
  clock: Clock;
  /** The image of an environment created without baseImageRef. */
  defaultImage?: string;
}

export const DEFAULT_IMAGE = 'docker.io/library/python:3.12-slim';
/** How soon a refused connection is checked again (a new binding wakes nothing). */
export const REFUSED_RETRY_MS = 30_000;

export class EnvironmentReconciler implements Reconciler {
  readonly #written = new OwnWrites<Env>();
  readonly #events: EventRecorder;

  constructor(private readonly o: EnvironmentReconcilerOptions) {
    this.#events = new EventRecorder({ sink: o.writer, clock: o.clock });
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<Result> {
    const read = this.#written.read(key, this.o.listers.environments.get(key));
    if (!read || read.metadata.deletionTimestamp) return {};
    const { namespace = '' } = splitKey(key);
    const ns = this.o.listers.namespaces.get(namespace);
    const account = accountOfNamespace(ns);
    if (await inUnverifiedNamespace(ns, read, this.#events, ctx.log)) return {};
    if (!account) {
      ctx.log.debug({ namespace }, 'namespace without an account: not reconciled');
      return {};
    }
    const obj = new PassObject(this.o.writer, read);
    try {
      return await this.#pass(obj, account, ctx);
    } finally {
      this.#written.remember(key, read, obj);
    }
  }

  async #pass(obj: PassObject<Env>, account: string, ctx: ReconcileContext): Promise<Result> {
    const env = obj.current;
    const prev = env.status;
    const image = prev?.imageRef ?? env.spec.baseImageRef ?? this.o.defaultImage ?? DEFAULT_IMAGE;
    const pods = this.#ownPods(env);
    const { outcome, result } = await this.#outcome(env, account, image, pods);
    const generation = typeof env.metadata.generation === 'number' ? env.metadata.generation : undefined;
    const next = computeStatus(prev, outcome, { image, generation, now: new Date(this.o.clock.now()) });
    if (await obj.writeStatus(next)) for (const e of eventsFor(prev, next, outcome)) await this.#events.record(obj.current, e, ctx.log);
    return result;
  }

  async #outcome(env: Env, account: string, image: string, pods: V1Pod[]): Promise<{ outcome: Outcome; result: Result }> {
    const conn = env.spec.connection;
    if (!conn) return { outcome: await this.#teardown(pods), result: {} };
    const pool = this.o.listers.nodePools.get(`${env.metadata.namespace}/${conn.nodePoolId}`);
    const poolName = `accounts/${account}/nodePools/${conn.nodePoolId}`;
    const refusal = await this.#refusal(env, account, pool, poolName);
    if (refusal || !pool) {
      await this.#teardown(pods);
      return { outcome: refusal!, result: { requeueAfter: REFUSED_RETRY_MS } };
    }
    const gpuResource = poolGpuResource(pool);
    const plan: RankPlan = {
      account,
      poolId: conn.nodePoolId,
      numRanks: conn.numRanks ?? 1,
      image,
      useLocalStorage: conn.useLocalStorage === true,
      ...(gpuResource ? { gpuResource } : {}),
    };
    return { outcome: await this.#converge(env, plan, pods), result: {} };
  }

  /** Why the requested connection cannot be made, or undefined when it can. */
  async #refusal(env: Env, account: string, pool: Pool | undefined, poolName: string): Promise<Outcome | undefined> {
    const refused = (code: Code, reason: string, message: string): Outcome => ({ kind: 'refused', code, reason, message });
    if (!pool) return refused('NOT_FOUND', 'NodePoolNotFound', `connection.nodePoolId: node pool "${poolName}" not found`);
    if (pool.metadata.deletionTimestamp) return refused('FAILED_PRECONDITION', 'NodePoolDeleting', `connection.nodePoolId: node pool "${poolName}" is being deleted`);
    const tooMany = numRanksProblem(env.spec.connection?.numRanks ?? 1, poolName, pool.spec);
    if (tooMany) return refused('INVALID_ARGUMENT', 'TooManyRanks', `connection.numRanks: ${tooMany}`);
    const verdict = await checkConnect(this.o.access, env, account, pool.metadata.name ?? '');
    return verdict.ok ? undefined : refused(verdict.code, verdict.reason, verdict.message);
  }

  /** The pods this environment controls (by uid: a recreated environment does not adopt old pods). */
  #ownPods(env: Env): V1Pod[] {
    return this.o.listers.pods.list(env.metadata.namespace).filter((p) => isControlledBy(p, env));
  }

  async #teardown(pods: V1Pod[]): Promise<Outcome> {
    for (const p of pods) if (!p.metadata?.deletionTimestamp) await this.#delete(p);
    return pods.length === 0 ? { kind: 'disconnected' } : { kind: 'disconnecting', remaining: pods.length };
  }

  async #converge(env: Env, plan: RankPlan, pods: V1Pod[]): Promise<Outcome> {
    const envName = env.metadata.name ?? '';
    const { live, stale, taken } = sortPods(envName, plan, pods);
    for (const p of stale) await this.#delete(p);
    for (let rank = 0; rank < plan.numRanks; rank++) {
      // A pod of this rank still being deleted keeps the name: created once it is gone (its deletion wakes us).
      if (!live.has(rank) && !taken.has(podName(envName, rank))) await this.#create(rankPod(env, plan, rank));
    }
    const ready = [...live.values()].filter(runningAndReady).length;
    if (ready < plan.numRanks) return { kind: 'waiting', poolId: plan.poolId, numRanks: plan.numRanks, ready };
    return this.#connected(env, plan, live.get(0)?.spec?.nodeName);
  }

  async #connected(env: Env, plan: RankPlan, node: string | undefined): Promise<Outcome> {
    const envName = env.metadata.name ?? '';
    const zone = node ? await this.o.zones.zoneOf(node) : undefined;
    return {
      kind: 'connected',
      poolId: plan.poolId,
      numRanks: plan.numRanks,
      pods: Array.from({ length: plan.numRanks }, (_, r) => podName(envName, r)),
      ...(zone ? { zone } : {}),
      shellCommand: shellCommand(env.metadata.namespace ?? '', podName(envName, 0)),
    };
  }

  async #create(pod: V1Pod): Promise<void> {
    try {
      await this.o.writer.create(pod);
    } catch (e) {
      // 409: our own create of an earlier pass the cache has not shown yet.
      if (!isConflict(e)) throw e;
    }
  }

  async #delete(p: V1Pod): Promise<void> {
    try {
      await this.o.writer.delete({ apiVersion: 'v1', kind: 'Pod', namespace: p.metadata?.namespace ?? '', name: p.metadata?.name ?? '', uid: p.metadata?.uid as string });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }
}

/**
 * The environment's pods by what becomes of them: `live` (by rank) stay; `stale` go — of another
 * plan, a rank beyond numRanks, or ended (Failed/Succeeded: evicted, node lost); `taken` are the
 * names still in use (a pod being deleted keeps its name until it is gone).
 */
function sortPods(envName: string, plan: RankPlan, pods: V1Pod[]): { live: Map<number, V1Pod>; stale: V1Pod[]; taken: Set<string> } {
  const hash = planHash(plan);
  const live = new Map<number, V1Pod>();
  const stale: V1Pod[] = [];
  const taken = new Set(pods.map((p) => p.metadata?.name ?? ''));
  for (const p of pods) {
    if (p.metadata?.deletionTimestamp) continue;
    const rank = rankOf(envName, plan, hash, p);
    if (rank !== undefined && !ended(p)) live.set(rank, p);
    else stale.push(p);
  }
  return { live, stale, taken };
}

/** The rank of a pod of the current plan (its hash, a rank below numRanks, the rank's name); else undefined. */
function rankOf(envName: string, plan: RankPlan, hash: string, p: V1Pod): number | undefined {
  const meta = p.metadata ?? {};
  const rank = Number(meta.labels?.[LABEL_RANK]);
  if (meta.annotations?.[ANNOTATIONS.templateHash] !== hash || !(rank >= 0 && rank < plan.numRanks)) return undefined;
  return meta.name === podName(envName, rank) ? rank : undefined;
}

const ended = (p: V1Pod): boolean => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded';

function runningAndReady(p: V1Pod): boolean {
  return p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export type { EnvironmentStatus };
