// The Deployment reconciler: level-triggered and idempotent (controller-runtime's contract). Each
// pass reads the hearth.dev Deployment and everything it depends on from the informer caches,
// decides region, replicas (clamped to quota) and children, writes only what differs from what it
// observed, and writes the status once, only when it changed.
//
//   fetch (gone → release the quota holds of a deployment this process reconciled, if the API
//   server confirms it is gone) → being deleted? release quota holds (and a finalizer an older
//   version added) → soft-deleted? release pods (delete the workload), DELETING → DELETED, purge
//   after retention → model server from spec + config
//   → region (spec, status, or chosen once) → desired replicas → quota clamp + hold
//   → children (create / replace only on difference; never touch what we do not control) → status
import type { KubernetesObject, V1Deployment, V1Namespace, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { CPU_ACCELERATOR_TYPE, DeploymentSpec, replicaBounds, type Deployment, type DeploymentStatus, type DesiredReplicas, type ReplicaDecision } from '../../crds/deployment.js';
import { accountOfNamespace } from '../../crds/account.js';
import { ANNOTATIONS, FINALIZER, SOFT_DELETE_RETENTION_MS } from '../../crds/group.js';
import { QuotaExceededError } from '../../db/errors.js';
import { ACCELERATORS, gpuQuotaName, isRegion, regionsOffering, type AcceleratorType } from '../../fleet/catalog.js';
import { deploymentGpus, podGpus } from '../../fleet/gpus.js';
import type { Logger } from 'pino';
import type { Clock } from '../../util/clock.js';
import { splitKey } from '../../kube/keys.js';
import { EventRecorder } from '../runtime/events.js';
import type { Lister } from '../runtime/controller.js';
import { hasFinalizer } from '../runtime/finalizers.js';
import { OwnWrites, PassObject } from '../runtime/pass.js';
import { inUnverifiedNamespace } from '../runtime/tenancy.js';
import type { ReconcileContext, Reconciler, Result } from '../runtime/result.js';
import type { ObjectWriter } from '../runtime/writer.js';
import { chooseRegion, freeGpusByRegion, regionsAllowedBy } from './placement.js';
import { NEWER_HOLD_RECHECK_MS, fencedLedger, holderOf, type QuotaLedger } from './quota-ledger.js';
import {
  ANNOTATION_TEMPLATE_HASH,
  LABEL_POD_ACCELERATOR,
  LABEL_POD_REGION,
  isControlledBy,
  makeService,
  makeWorkload,
  names,
  selectorLabels,
  selectorString,
} from './children/index.js';
import { buildModelServer, type GpuModelServer, type ModelServer } from './model-server.js';
import { DEFAULT_MODEL_SERVER_CONFIG, type ModelServerConfig } from './model-server-config.js';
import { DEFAULT_PROGRESS_INTERVAL_MS, Reason, computeStatus, eventsFor, statusEqual, statusWriteDue, summarizePods, type Outcome } from './status.js';
import { rfc3339 } from '../../util/rfc3339.js';

/**
 * How a soft delete is requested until the REST facade settles it: this annotation with the
 * request time (RFC 3339). Removing it undeletes. `kubectl delete` stays a real (hard) delete.
 */
export const SOFT_DELETE_ANNOTATION = ANNOTATIONS.softDeleteRequested;
/**
 * Set by the REST facade's `:undelete` (src/api README). Copied onto the pod template, so an
 * undelete of a FAILED deployment (say, a model that could not load) starts fresh pods.
 */
export const UNDELETE_TIME_ANNOTATION = ANNOTATIONS.undeleteTime;
/** How long a soft-deleted deployment is kept before it is purged (Fireworks `purgeTime`). */
export const DEFAULT_RETENTION_MS = SOFT_DELETE_RETENTION_MS;
/** How often a deployment no region can take looks again (capacity changes are not watched). */
export const DEFAULT_CAPACITY_RETRY_MS = 30_000;
/** How often a deployment clamped by its quota looks again (another deployment may release some). */
export const DEFAULT_QUOTA_RETRY_MS = 60_000;

/** The informer caches the reconciler reads (cache.ts declares them). */
export interface Listers {
  deployments: Lister<Deployment>;
  workloads: Lister<V1Deployment>;
  services: Lister<V1Service>;
  pods: Lister<V1Pod>;
  nodes: Lister<V1Node>;
  namespaces: Lister<V1Namespace>;
}

/**
 * Replicas the deployment should run before quota (DesiredReplicas, src/crds/deployment.ts): the
 * seam where the autoscaler plugs in (src/controllers/autoscaler/autoscaler.ts). Without it:
 * `spec.replicaCount` when set (the /scale subresource), else `minReplicaCount`.
 */
export type { DesiredReplicas, ReplicaDecision };

export const replicasFromSpec: DesiredReplicas = (_dep, spec) => {
  const b = replicaBounds(spec);
  return b.fixed ? b.max : b.min;
};

export interface DeploymentReconcilerOptions {
  listers: Listers;
  writer: ObjectWriter;
  /** Where events go (default: a de-duplicating recorder on `writer`). */
  events?: EventRecorder;
  quotas: QuotaLedger;
  clock: Clock;
  modelServerConfig?: ModelServerConfig;
  desiredReplicas?: DesiredReplicas;
  /** Soft-delete retention before purge (default 7 days). */
  retentionMs?: number;
  capacityRetryMs?: number;
  quotaRetryMs?: number;
  /** How long progress alone may wait before it is written (status.ts `statusWriteDue`; default 30 s, 0 writes every change). */
  progressIntervalMs?: number;
  /**
   * Whether the Deployment `key` still exists, asked of the API server (a GET, not the cache):
   * before the holds of a deployment that left the cache are released. It may have left only this
   * controller's shard (a label change) or been recreated under the same name. Unset: a
   * deployment that left the cache is taken as deleted (unit tests).
   */
  exists?: (key: string) => Promise<boolean>;
}

type RegionDecision = { region: string; reason?: string; chosen?: boolean } | { failed: string } | { unplaced: string };

const fromSpec = (region: string): string => `${region} from spec.placement.region`;

interface Children {
  workload: V1Deployment | undefined;
  service: V1Service | undefined;
  workloadOwned: boolean;
  serviceOwned: boolean;
}

/**
 * The account a namespace's deployments hold quota under: the namespace's account
 * (src/crds/account.ts: its label, never its name). A namespace of no account (made with kubectl,
 * unlabelled) gets `namespace/<name>`, which no account id can be: its deployments run on the
 * catalog's default quota alone (as for an account the database does not know), held from and
 * billed to nobody, and the gateway does not route to them.
 */
export function accountOf(ns: V1Namespace | undefined, namespace: string): string {
  return accountOfNamespace(ns) ?? `namespace/${namespace}`;
}

/** GPUs per quota that a workload's current spec asks for (replicas × the template's GPUs). */
export function footprintOf(w: V1Deployment): Record<string, number> {
  const labels = w.spec?.template.metadata?.labels ?? {};
  const acc = labels[LABEL_POD_ACCELERATOR];
  const region = labels[LABEL_POD_REGION];
  if (!acc || !region || !(acc in ACCELERATORS)) return {};
  const perPod = podGpus({ spec: w.spec?.template.spec }, ACCELERATORS[acc as AcceleratorType].resource);
  const n = deploymentGpus(w.spec?.replicas ?? 1, perPod);
  return n > 0 ? { [gpuQuotaName(acc as AcceleratorType, region)]: n } : {};
}

function maxMerge(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = Math.max(out[k] ?? 0, v);
  return out;
}

function sameHolds(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => (a[k] ?? 0) === (b[k] ?? 0));
}

function serviceDiffers(observed: V1Service, desired: V1Service): boolean {
  const ports = (s: V1Service) =>
    (s.spec?.ports ?? []).map((p) => `${p.name}/${p.port}/${String(p.targetPort)}/${p.protocol ?? 'TCP'}`).join(',');
  return (
    JSON.stringify(observed.spec?.selector ?? {}) !== JSON.stringify(desired.spec?.selector ?? {}) ||
    ports(observed) !== ports(desired) ||
    (observed.spec?.type ?? 'ClusterIP') !== desired.spec?.type
  );
}

function matchesLabels(obj: KubernetesObject, want: Record<string, string>): boolean {
  const labels = obj.metadata?.labels ?? {};
  return Object.entries(want).every(([k, v]) => labels[k] === v);
}

function describeChild(kind: string, name: string): string {
  return `${kind} ${name}`;
}

export class DeploymentReconciler implements Reconciler {
  readonly #o: DeploymentReconcilerOptions;
  readonly #config: ModelServerConfig;
  readonly #desired: DesiredReplicas;
  readonly #events: EventRecorder;
  /** Read your own writes: what the last pass wrote (finalizer, status) until the cache shows it. */
  readonly #written = new OwnWrites<Deployment>();
  /** When this process last wrote each deployment's status (progress waits relative to it). */
  readonly #statusWrittenAt = new Map<string, number>();
  /**
   * The account of every deployment this reconciler found in its cache and has not seen go:
   * whose holds it releases when the deployment leaves the cache (no finalizer: see README.md).
   */
  readonly #known = new Map<string, string>();

  constructor(opts: DeploymentReconcilerOptions) {
    this.#o = opts;
    this.#events = opts.events ?? new EventRecorder({ sink: opts.writer, clock: opts.clock });
    this.#config = opts.modelServerConfig ?? DEFAULT_MODEL_SERVER_CONFIG;
    this.#desired = opts.desiredReplicas ?? replicasFromSpec;
  }

  async reconcile(key: string, ctx?: ReconcileContext): Promise<Result> {
    const dep = this.#written.read(key, this.#o.listers.deployments.get(key));
    // Once the lease is lost (ctx.signal aborts), no quota write of this pass reaches PostgreSQL.
    const quotas = fencedLedger(this.#o.quotas, ctx?.signal);
    if (!dep) return this.#gone(key, quotas); // its children are garbage-collected through their ownerReferences
    const { namespace } = splitKey(key);
    if (!namespace) return {};
    const ns = this.#o.listers.namespaces.get(namespace);
    const account = accountOf(ns, namespace);
    if (dep.metadata.deletionTimestamp) return this.#deleting(key, dep, account, quotas);
    // A namespace labelled with an account by hand (not sealed by Hearth): no children, no quota.
    if (await inUnverifiedNamespace(ns, dep, this.#events, ctx?.log)) return {};
    this.#known.set(key, account);
    const statusClock = {
      since: () => this.#statusWrittenAt.get(key) ?? createdAt(dep),
      wrote: (at: number) => this.#statusWrittenAt.set(key, at),
    };
    const env: PassEnv = { ...this.#o, quotas, events: this.#events, config: this.#config, desiredReplicas: this.#desired, log: ctx?.log, statusClock };
    const obj = new PassObject(this.#o.writer, dep);
    try {
      return await new Pass(env, obj, namespace, account).run();
    } finally {
      // A pass that starts right after a status write — a child event, a retry — would otherwise
      // decide on the old status, write it again and fail with a conflict.
      this.#written.remember(key, dep, obj);
    }
  }

  /**
   * A hard delete in progress (deletionTimestamp: another finalizer, or foreground deletion, keeps
   * the object a while): give back the quota holds now — deletion cannot be undone. A finalizer
   * an older version of the controller added is removed (nothing adds it any more).
   */
  async #deleting(key: string, dep: Deployment, account: string, quotas: QuotaLedger): Promise<Result> {
    if (quotas.tracksHolds) await quotas.releaseAll(account, holderOf(dep.metadata.name ?? ''));
    this.#known.delete(key); // released: nothing left to do when it leaves the cache
    if (hasFinalizer(dep, FINALIZER)) await new PassObject(this.#o.writer, dep).removeFinalizer(FINALIZER);
    return {};
  }

  /**
   * The deployment left the cache: deleted (GC takes its children; nothing holds its deletion), or
   * moved to another shard, or never ours (a child or pod event of another shard's deployment).
   * The quota holds of one this reconciler knew are given back once the API server confirms it is
   * gone. What this misses (deleted while no controller ran, or before this leader's first pass of
   * it) the orphan sweep frees (orphan-holds.ts).
   */
  async #gone(key: string, quotas: QuotaLedger): Promise<Result> {
    this.#statusWrittenAt.delete(key);
    const account = this.#known.get(key);
    if (account === undefined || !quotas.tracksHolds) return {};
    if (this.#o.exists && (await this.#o.exists(key))) {
      this.#known.delete(key); // another shard's now, or a cache behind a re-create: not ours to release
      return {};
    }
    await quotas.releaseAll(account, holderOf(splitKey(key).name));
    this.#known.delete(key);
    return {};
  }
}

interface PassEnv extends DeploymentReconcilerOptions {
  events: EventRecorder;
  statusClock: { since(): number; wrote(at: number): void };
  config: ModelServerConfig;
  desiredReplicas: DesiredReplicas;
  log?: Logger;
}

/** One reconcile pass over one deployment: state that lives only for the pass. */
class Pass {
  readonly #now: number;
  #requeueAfter: number | undefined;
  /** This deployment's quota holds as read in this pass (undefined until read). */
  #mine: Record<string, number> | undefined;
  /** Status fields the autoscaler decided in this pass. */
  #autoscalerStatus: ReplicaDecision['status'];

  private readonly config: ModelServerConfig;
  private readonly desiredReplicas: DesiredReplicas;

  constructor(
    private readonly o: PassEnv,
    /** The Deployment as of this pass's last write (or as read): finalizer and status writes move it. */
    private readonly obj: PassObject<Deployment>,
    private readonly namespace: string,
    private readonly account: string,
  ) {
    this.#now = o.clock.now();
    this.config = o.config;
    this.desiredReplicas = o.desiredReplicas;
  }

  get #cur(): Deployment {
    return this.obj.current;
  }

  get #holder(): string {
    return holderOf(this.#cur.metadata.name ?? '');
  }

  #requeue(ms: number): void {
    const after = Math.max(1, ms);
    this.#requeueAfter = this.#requeueAfter === undefined ? after : Math.min(this.#requeueAfter, after);
  }

  async run(): Promise<Result> {
    const parsed = DeploymentSpec.safeParse(this.#cur.spec);
    if (!parsed.success) {
      const message = `invalid spec: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
      return this.#finish({ kind: 'failed', reason: Reason.InvalidSpec, message, code: 'INVALID_ARGUMENT', region: this.#cur.status?.region });
    }
    const spec = parsed.data;
    const children = this.#children();
    const softDelete = this.#cur.metadata.annotations?.[SOFT_DELETE_ANNOTATION];
    if (softDelete !== undefined) return this.#softDelete(softDelete, children);

    const server = buildModelServer(spec, this.config);
    if (!server.ok) {
      return this.#finish({ kind: 'failed', reason: server.reason, message: server.message, code: 'INVALID_ARGUMENT', region: this.#cur.status?.region });
    }
    const asked = this.desiredReplicas(this.#cur, spec, this.#now);
    const decision: ReplicaDecision = typeof asked === 'number' ? { replicas: asked } : asked;
    this.#autoscalerStatus = decision.status;
    const desired = Math.max(0, decision.replicas);
    // CPU replicas run where the operator's CPU runtime says: no region, no GPU capacity to find.
    const region = server.value.acceleratorType === CPU_ACCELERATOR_TYPE ? { region: undefined } : await this.#region(spec, server.value, desired, children);
    if ('failed' in region) {
      return this.#finish({ kind: 'failed', reason: Reason.InvalidPlacement, message: region.failed, code: 'FAILED_PRECONDITION', region: this.#cur.status?.region });
    }
    if ('unplaced' in region) {
      this.#requeue(this.o.capacityRetryMs ?? DEFAULT_CAPACITY_RETRY_MS);
      return this.#finish({ kind: 'unplaced', message: region.unplaced });
    }
    return this.#run(server.value, region, desired, children);
  }

  async #run(server: ModelServer, region: { region: string | undefined; reason?: string; chosen?: boolean }, desired: number, children: Children): Promise<Result> {
    const running = children.workloadOwned ? (children.workload?.spec?.replicas ?? 0) : 0;
    const quota = await this.#clamp(server, region.region, desired, running);
    const workload = makeWorkload(this.#cur, server, { replicas: quota.replicas, region: region.region, workload: this.config.workload });
    const hash = workload.metadata?.annotations?.[ANNOTATION_TEMPLATE_HASH];
    const restart = this.#cur.metadata.annotations?.[UNDELETE_TIME_ANNOTATION];
    const tplMeta = workload.spec!.template.metadata!;
    if (restart !== undefined) tplMeta.annotations = { ...tplMeta.annotations, [UNDELETE_TIME_ANNOTATION]: restart };
    const notOwned: string[] = [];
    const childWrites: Array<Promise<void>> = [];
    let childUpToDate = false;

    if (children.workload && !children.workloadOwned) {
      notOwned.push(describeChild('apps/v1 Deployment', names.workload(this.#cur)));
      await this.#setHolds({}); // nothing of ours runs
    } else {
      const observed = children.workload;
      const target = quota.footprint;
      childUpToDate =
        observed !== undefined &&
        observed.metadata?.annotations?.[ANNOTATION_TEMPLATE_HASH] === hash &&
        observed.spec?.template.metadata?.annotations?.[UNDELETE_TIME_ANNOTATION] === restart &&
        observed.spec?.replicas === quota.replicas;
      // Hold before scaling up; shrink the hold once the child runs the new spec (next pass).
      if (childUpToDate || !observed) await this.#setHolds(target);
      else await this.#holdDuringChange(footprintOf(observed), target);
      if (!observed) childWrites.push(this.o.writer.create(workload));
      else if (!childUpToDate) childWrites.push(this.o.writer.update(replacement(workload, observed)));
    }

    const service = makeService(this.#cur);
    if (children.service && !children.serviceOwned) notOwned.push(describeChild('Service', names.service(this.#cur)));
    else if (!children.service) childWrites.push(this.o.writer.create(service));
    else if (serviceDiffers(children.service, service)) {
      // clusterIP, ipFamilies… are set by the API server and partly immutable: keep them.
      const spec = { ...children.service.spec, ...service.spec };
      childWrites.push(this.o.writer.update(replacement({ ...service, spec }, children.service)));
    }
    // The two children do not depend on each other: one round trip instead of two.
    await allOrFirstError(childWrites);

    const w = children.workload;
    const rolloutDone =
      childUpToDate &&
      w !== undefined &&
      (w.status?.observedGeneration ?? 0) >= (w.metadata?.generation ?? 0) &&
      (w.status?.updatedReplicas ?? 0) >= quota.replicas;
    if (quota.message) this.#requeue(this.o.quotaRetryMs ?? DEFAULT_QUOTA_RETRY_MS);
    return this.#finish({
      kind: 'running',
      region: region.region,
      regionReason: region.reason,
      regionChosen: region.chosen === true,
      desired,
      replicas: quota.replicas,
      quotaMessage: quota.message,
      notOwned,
      childUpToDate,
      rolloutDone,
      pods: summarizePods(this.#pods(), { [ANNOTATION_TEMPLATE_HASH]: hash, [UNDELETE_TIME_ANNOTATION]: restart }),
    });
  }

  /** The replicas the quota allows, the GPUs they hold, and a message when that is fewer than desired. */
  /**
   * Replicas the quotas allow: the GPU quota of the region and accelerator (what other holders hold
   * is not ours to take), and no scaling up beyond `running` once the month's GPU-hours are spent.
   */
  async #clamp(
    server: ModelServer,
    region: string | undefined,
    desired: number,
    running: number,
  ): Promise<{ replicas: number; footprint: Record<string, number>; message?: string }> {
    // CPU replicas hold no GPUs and spend no GPU-hours: maxReplicaCount and the nodes bound them.
    if (server.acceleratorType === CPU_ACCELERATOR_TYPE || region === undefined) return { replicas: desired, footprint: {} };
    const g = server.acceleratorCount;
    const quotaName = gpuQuotaName(server.acceleratorType, region);
    // Scaling up may need the month's GPU-hours: asked together with the quota (one round trip to
    // PostgreSQL instead of two in a row on every new deployment's first pass), used only if so.
    const spentQuery = desired > running ? this.o.quotas.gpuHoursSpent(this.account) : undefined;
    spentQuery?.catch(() => undefined); // awaited below when needed; not an unhandled rejection otherwise
    const q = await this.o.quotas.gpuQuota(this.account, quotaName, this.#holder);
    this.#mine = q.mine;
    const room = Math.max(0, q.limit - q.heldByOthers);
    let replicas = Math.min(desired, Math.floor(room / g));
    const messages: string[] = [];
    if (replicas < desired) {
      const note = q.note ? ` (${q.note})` : '';
      messages.push(
        `${desired} replica(s) of ${g} GPU(s) need ${deploymentGpus(desired, g)} GPUs of quota ${quotaName} of account ${this.account}, ` +
          `which has ${room} of ${q.limit} left${note}: running ${replicas}`,
      );
    }
    if (replicas > running) {
      const spent = await (spentQuery ?? this.o.quotas.gpuHoursSpent(this.account));
      if (spent !== undefined) {
        replicas = running;
        messages.push(`${spent}: not scaling up beyond ${running} replica(s)`);
      }
    }
    const footprint = replicas > 0 ? { [quotaName]: deploymentGpus(replicas, g) } : {};
    return messages.length > 0 ? { replicas, footprint, message: messages.join('; ') } : { replicas, footprint };
  }


  /** Makes the holds exactly `targets`; skipped when the holds read in this pass already are. */
  async #setHolds(targets: Record<string, number>): Promise<void> {
    if (!this.o.quotas.tracksHolds) return;
    if (this.#mine !== undefined && sameHolds(this.#mine, targets)) return;
    // Tagged with the generation this pass reconciles: a raise the API made for a newer spec stays.
    const generation = this.#cur.metadata.generation;
    const r = await this.o.quotas.setHolds(this.account, this.#holder, targets, typeof generation === 'number' ? { generation } : {});
    this.#mine = targets;
    // A raise for a newer spec was kept: if that spec never arrives (the API died before writing
    // it), the hold is made exact once the raise is older than the grace, not at the next resync.
    if (r?.keptNewer) this.#requeue(NEWER_HOLD_RECHECK_MS);
  }

  /**
   * While the child moves from `running` to `target`, hold both (the old pods hold GPUs until
   * replaced). If that does not fit (the quota was lowered, or nothing was held before), hold the
   * target alone: what we are about to run must fit, what is going away may overlap for a moment.
   */
  async #holdDuringChange(running: Record<string, number>, target: Record<string, number>): Promise<void> {
    try {
      await this.#setHolds(maxMerge(running, target));
    } catch (err) {
      if (!(err instanceof QuotaExceededError)) throw err;
      await this.#setHolds(target);
    }
  }

  /**
   * The region: immutable once known (status, or the pod template of the child we own after a
   * status write was lost); from the spec, or chosen once where the account's quota has room and
   * the fleet has free GPUs.
   */
  async #region(spec: DeploymentSpec, server: GpuModelServer, desired: number, children: Children): Promise<RegionDecision> {
    const acc = server.acceleratorType;
    const requested = spec.placement?.region;
    const childRegion = children.workloadOwned ? children.workload?.spec?.template.metadata?.labels?.[LABEL_POD_REGION] : undefined;
    const known = this.#cur.status?.region ?? childRegion;
    if (known) {
      if (requested && requested !== known) {
        return { failed: `placement.region ${requested} differs from ${known}, where the deployment was placed; the region cannot change` };
      }
      if (!isRegion(known) || !regionsOffering(acc).includes(known)) {
        return { failed: `${acc} is not offered in ${known}, the deployment's region (which cannot change); offered in ${regionsOffering(acc).join(', ') || 'no region'}` };
      }
      return requested ? { region: known, reason: fromSpec(known) } : { region: known };
    }
    const allowed = regionsAllowedBy(spec.placement);
    const candidates = requested ? [] : regionsOffering(acc).filter((r) => !allowed || allowed.includes(r));
    const rooms = new Map<string, number>();
    for (const r of candidates) {
      const q = await this.o.quotas.gpuQuota(this.account, gpuQuotaName(acc, r), this.#holder);
      rooms.set(r, Math.max(0, q.limit - q.heldByOthers));
    }
    const free = freeGpusByRegion(this.o.listers.nodes.list(), this.o.listers.pods.list(), acc);
    const g = server.acceleratorCount;
    const input = {
      acceleratorType: acc,
      gpusPerReplica: g,
      requestedRegion: requested,
      allowedRegions: allowed,
      quotaLeft: (r: string) => rooms.get(r) ?? 0,
      freeGpus: (r: string) => free.get(r)?.free ?? 0,
      largestFreeOnNode: (r: string) => free.get(r)?.largestFreeOnNode ?? 0,
    };
    // Room for every desired replica if some region has it; else for one (the quota clamps the rest).
    let p = chooseRegion({ ...input, gpusNeeded: g * Math.max(1, desired) });
    if (!('region' in p) && desired > 1) p = chooseRegion({ ...input, gpusNeeded: g });
    // The spec's region says the same on every pass (no status churn); a chosen one says why, once.
    if ('region' in p) return { region: p.region, reason: requested ? fromSpec(p.region) : p.reason, chosen: !requested };
    if (requested || candidates.length === 0) return { failed: p.reason };
    return { unplaced: p.reason };
  }

  #children(): Children {
    const ns = this.namespace;
    const workload = this.o.listers.workloads.get(`${ns}/${names.workload(this.#cur)}`);
    const service = this.o.listers.services.get(`${ns}/${names.service(this.#cur)}`);
    return {
      workload,
      service,
      workloadOwned: workload !== undefined && isControlledBy(workload, this.#cur),
      serviceOwned: service !== undefined && isControlledBy(service, this.#cur),
    };
  }

  #pods(): V1Pod[] {
    const sel = selectorLabels(this.#cur);
    return this.o.listers.pods.list(this.namespace).filter((p) => matchesLabels(p, sel));
  }

  /** Soft delete: release the GPUs (delete the workload), report DELETING → DELETED, purge when due. */
  async #softDelete(requestedAt: string, children: Children): Promise<Result> {
    const now = this.#now;
    const requested = Date.parse(requestedAt);
    const deleteTime = this.#cur.status?.deleteTime ?? rfc3339(Number.isNaN(requested) ? now : Math.min(requested, now));
    const purgeAt = Date.parse(deleteTime) + (this.o.retentionMs ?? DEFAULT_RETENTION_MS);
    const meta = this.#cur.metadata as { namespace: string; name: string; uid?: string };
    if (now >= purgeAt) {
      await this.o.writer.delete({ apiVersion: this.#cur.apiVersion, kind: this.#cur.kind, namespace: meta.namespace, name: meta.name, uid: meta.uid });
      return {};
    }
    const w = children.workload;
    if (w && children.workloadOwned) {
      await this.o.writer.delete({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: this.namespace, name: w.metadata?.name ?? '', uid: w.metadata?.uid });
    }
    await this.#setHolds({});
    const pods = summarizePods(this.#pods(), undefined);
    this.#requeue(purgeAt - now);
    return this.#finish({
      kind: 'softDeleted',
      region: this.#cur.status?.region,
      deleteTime,
      purgeTime: rfc3339(purgeAt),
      podsLeft: pods.total + pods.terminating,
      childLeft: w !== undefined && children.workloadOwned,
    });
  }

  /** The one status write of the pass, skipped when nothing changed. */
  async #finish(outcome: Outcome): Promise<Result> {
    const prev = this.#cur.status as DeploymentStatus | undefined;
    const next = computeStatus({
      prev,
      generation: this.#cur.metadata.generation as number | undefined,
      now: this.#now,
      labelSelector: selectorString(this.#cur),
      deploymentShape: this.#cur.spec.deploymentShape,
      outcome,
    });
    for (const [k, v] of Object.entries(this.#autoscalerStatus ?? {})) if (v !== undefined) (next as Record<string, unknown>)[k] = v;
    const progressIntervalMs = this.o.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
    const due = statusEqual(prev, next) ? { write: true as const } : statusWriteDue({
          prev,
          next,
          now: this.#now,
          since: this.o.statusClock.since(),
          progressIntervalMs,
          regionChosen: outcome.kind === 'running' && outcome.regionChosen === true,
        });
    if (!due.write) {
      this.#requeue(due.waitMs); // progress alone: written with the next change that matters, or then
    } else if (await this.obj.writeStatus(next, statusEqual)) {
      this.o.statusClock.wrote(this.#now);
      // Sent, not awaited (client-go's recorder is asynchronous too): an event tells a user what the
      // status already says and is no part of converging, so the pass ends with its status write
      // instead of one more API round trip later (issue 11: ~0.3 s of every READY pass under load).
      // Best effort: the recorder catches and logs a failure; it never fails (or repeats) the pass.
      for (const e of eventsFor(prev, next)) void this.o.events.record(this.#cur, e, this.o.log);
    }
    return this.#requeueAfter === undefined ? {} : { requeueAfter: this.#requeueAfter };
  }
}

/** When the object was created (ms), or 0 when unknown (progress is then never held back). */
function createdAt(obj: KubernetesObject): number {
  const t = obj.metadata?.creationTimestamp as Date | string | undefined;
  const ms = t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : Number.NaN;
  return Number.isFinite(ms) ? ms : 0;
}

/** Waits for every write (none is left running unobserved), then throws the first failure, if any. */
async function allOrFirstError(writes: Array<Promise<void>>): Promise<void> {
  const failed = (await Promise.allSettled(writes)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * The body that replaces `observed` with `desired`: our spec and ownerReference, labels and
 * annotations merged over the observed ones (others', such as the revision annotation the apps/v1
 * controller keeps, survive), and the observed resourceVersion, so the write fails if it changed.
 */
function replacement<T extends KubernetesObject>(desired: T, observed: KubernetesObject): T {
  const m = observed.metadata ?? {};
  return {
    ...desired,
    metadata: {
      ...desired.metadata,
      labels: { ...m.labels, ...desired.metadata?.labels },
      annotations: { ...m.annotations, ...desired.metadata?.annotations },
      resourceVersion: m.resourceVersion,
    },
  };
}
