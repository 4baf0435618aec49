// The status of a hearth.dev Deployment, computed in memory from what one reconcile pass found
// (Knative's `*_lifecycle.go`): the Fireworks `state`, `status {code, message}`, replica counts and
// stats, and the Ready/Progressing/Degraded conditions. Pure: the reconciler writes the result
// once, and only when it differs from what it read.
import type { V1Pod } from '@kubernetes/client-node';
import { ConditionReason, ConditionType, findCondition, setCondition, type Condition } from '../../crds/conditions.js';
import type { Code } from '../../crds/common.js';
import type { DeploymentState, DeploymentStatus } from '../../crds/deployment.js';
import { stableStringify } from './children/hash.js';
import { ANNOTATION_TEMPLATE_HASH } from './children/labels.js';
import type { ObjectEvent } from '../runtime/writer.js';
import { rfc3339 } from '../../util/rfc3339.js';

/** Reasons this controller adds to the shared ones of src/crds (CamelCase). */
export const Reason = {
  ...ConditionReason,
  AsExpected: 'AsExpected',
  Complete: 'Complete',
  ScaledToZero: 'ScaledToZero',
  InvalidPlacement: 'InvalidPlacement',
  InvalidModelServerConfig: 'InvalidModelServerConfig',
  ModelLoadFailed: 'ModelLoadFailed',
  CrashLoopBackOff: 'CrashLoopBackOff',
  ImagePullBackOff: 'ImagePullBackOff',
  Unschedulable: 'Unschedulable',
  SoftDeleting: 'SoftDeleting',
  SoftDeleted: 'SoftDeleted',
} as const;

// ---- pods --------------------------------------------------------------------------------------

/** A pod problem: `fatal` ones will not fix themselves (the deployment is FAILED). */
export interface PodProblem {
  reason: string;
  message: string;
  fatal: boolean;
}

/** What the model-server pods of one deployment are doing. Terminating and finished pods are left out. */
export interface PodSummary {
  /** Pods that hold (or wait for) GPUs: not terminating, not finished. */
  total: number;
  pendingScheduling: number;
  /** Scheduled, containers not started yet (image and weights download, init containers). */
  downloading: number;
  /** Containers started, not Ready yet (the server loading the model). */
  initializing: number;
  ready: number;
  /** Pods of another pod template than the current one (a rollout in progress). */
  stale: number;
  /** Pods being deleted (they still hold their GPUs until gone). */
  terminating: number;
  problems: PodProblem[];
}

/**
 * Messages of a model server that cannot load its model (vLLM/PyTorch/Hugging Face wording), read
 * from the container's termination message (the workload sets FallbackToLogsOnError). A crash loop
 * that says so will not fix itself; any other crash loop might (a node problem, a transient
 * download error) and only degrades the deployment.
 */
const MODEL_LOAD_ERRORS = [
  /failed to load (the )?model/i,
  /error loading model/i,
  /repository not found/i,
  /is not a valid model identifier/i,
  /no such file or directory.*(config\.json|safetensors|\.bin)/i,
  /(safetensors|checkpoint|weights?).*(error|corrupt|missing|not found)/i,
  /out of memory|CUDA error|insufficient memory to load/i,
  /ValueError: .*(model|max_model_len|tensor.parallel)/i,
];

export function isModelLoadError(message: string): boolean {
  return MODEL_LOAD_ERRORS.some((re) => re.test(message));
}

function lastLines(message: string, n = 3): string {
  return message.trim().split('\n').slice(-n).join('\n').slice(0, 1024);
}

function podProblem(pod: V1Pod): PodProblem | undefined {
  const name = pod.metadata?.name ?? '?';
  for (const cs of pod.status?.containerStatuses ?? []) {
    const waiting = cs.state?.waiting;
    if (!waiting?.reason) continue;
    if (waiting.reason === 'CrashLoopBackOff') {
      const term = cs.lastState?.terminated;
      const msg = term?.message ?? '';
      if (msg && isModelLoadError(msg)) {
        return { reason: Reason.ModelLoadFailed, message: `pod ${name} cannot load the model: ${lastLines(msg)}`, fatal: true };
      }
      const exit = term?.exitCode !== undefined ? ` (exit code ${term.exitCode})` : '';
      return { reason: Reason.CrashLoopBackOff, message: `pod ${name} keeps crashing${exit}${msg ? `: ${lastLines(msg)}` : ''}`, fatal: false };
    }
    if (waiting.reason === 'ImagePullBackOff' || waiting.reason === 'ErrImagePull' || waiting.reason === 'InvalidImageName') {
      return { reason: Reason.ImagePullBackOff, message: `pod ${name} cannot pull its image: ${waiting.message ?? waiting.reason}`, fatal: false };
    }
  }
  const sched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (!pod.spec?.nodeName && sched?.status === 'False' && sched.reason === 'Unschedulable') {
    return { reason: Reason.Unschedulable, message: `pod ${name} cannot be scheduled: ${sched.message ?? 'no node fits'}`, fatal: false };
  }
  return undefined;
}

function isPodReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/**
 * Counts the pods of a deployment by stage. `current`: annotations the pods of the current
 * template carry (a string is the template hash); other pods are stale, and their problems are
 * not reported (they are being replaced). Undefined: every pod is current.
 */
export function summarizePods(pods: readonly V1Pod[], current: string | Record<string, string | undefined> | undefined): PodSummary {
  const want = typeof current === 'string' ? { [ANNOTATION_TEMPLATE_HASH]: current } : current;
  const s: PodSummary = { total: 0, pendingScheduling: 0, downloading: 0, initializing: 0, ready: 0, stale: 0, terminating: 0, problems: [] };
  for (const pod of pods) {
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    if (pod.metadata?.deletionTimestamp) {
      s.terminating++;
      continue;
    }
    s.total++;
    const stale = want !== undefined && Object.entries(want).some(([k, v]) => pod.metadata?.annotations?.[k] !== v);
    if (stale) s.stale++;
    if (!pod.spec?.nodeName) s.pendingScheduling++;
    else if (isPodReady(pod)) s.ready++;
    else if (phase === 'Running') s.initializing++;
    else s.downloading++;
    const p = stale ? undefined : podProblem(pod);
    if (p) s.problems.push(p);
  }
  return s;
}

// ---- outcome of a pass -------------------------------------------------------------------------

/** What one pass of the reconciler found and did; the status follows from it. */
export type Outcome =
  | { kind: 'failed'; reason: string; message: string; code: Code; region?: string }
  | { kind: 'unplaced'; message: string }
  | { kind: 'softDeleted'; region?: string; deleteTime: string; purgeTime: string; podsLeft: number; childLeft: boolean }
  | {
      kind: 'running';
      /** Unset for a CPU deployment (the CPU runtime's nodes are in no GPU region). */
      region: string | undefined;
      /** Why this region: chosen in this pass (and why), or given by the spec. */
      regionReason?: string;
      /** The controller chose the region in this pass (not the spec). */
      regionChosen?: boolean;
      /** Replicas asked for (autoscaler or spec), before the quota. */
      desired: number;
      /** Replicas the child is asked to run: `desired` clamped to quota. */
      replicas: number;
      /** Set when the quota clamped `desired`. */
      quotaMessage?: string;
      /** Children that exist under our names without our controller reference. */
      notOwned: string[];
      /** The child workload exists, is ours, and already had the desired template and replicas. */
      childUpToDate: boolean;
      /** The child's controller has seen its latest spec and reports every replica updated. */
      rolloutDone: boolean;
      pods: PodSummary;
    };

export interface StatusInput {
  prev: DeploymentStatus | undefined;
  generation: number | undefined;
  now: number;
  labelSelector: string;
  /** spec.deploymentShape of this generation: the status says which shape the replicas follow. */
  deploymentShape?: string | undefined;
  outcome: Outcome;
}

interface Verdict {
  state: DeploymentState;
  status: { code: Code; message?: string };
  ready: { status: 'True' | 'False'; reason: string; message: string };
  progressing: { status: 'True' | 'False'; reason: string; message: string };
  degraded: { status: 'True' | 'False'; reason: string; message: string };
}

const HAS_BEEN_SERVING: ReadonlySet<string> = new Set(['READY', 'UPDATING', 'DELETING', 'DELETED', 'FAILED']);

function asExpected(): Verdict['degraded'] {
  return { status: 'False', reason: Reason.AsExpected, message: '' };
}

function verdictFailed(o: Extract<Outcome, { kind: 'failed' }>): Verdict {
  const c = { status: 'False' as const, reason: o.reason, message: o.message };
  return { state: 'FAILED', status: { code: o.code, message: o.message }, ready: c, progressing: c, degraded: { ...c, status: 'True' } };
}

function verdictUnplaced(o: Extract<Outcome, { kind: 'unplaced' }>): Verdict {
  const c = { status: 'False' as const, reason: Reason.WaitingForCapacity, message: o.message };
  return { state: 'CREATING', status: { code: 'RESOURCE_EXHAUSTED', message: o.message }, ready: c, progressing: c, degraded: asExpected() };
}

function verdictSoftDeleted(o: Extract<Outcome, { kind: 'softDeleted' }>): Verdict {
  const gone = o.podsLeft === 0 && !o.childLeft;
  const message = gone
    ? `soft-deleted at ${o.deleteTime}; GPUs released; purged at ${o.purgeTime} unless undeleted`
    : `soft-deleting: waiting for ${o.podsLeft} pod(s) to release their GPUs`;
  return {
    state: gone ? 'DELETED' : 'DELETING',
    status: { code: 'OK', message },
    ready: { status: 'False', reason: gone ? Reason.SoftDeleted : Reason.SoftDeleting, message },
    progressing: gone ? { status: 'False', reason: Reason.SoftDeleted, message } : { status: 'True', reason: Reason.SoftDeleting, message },
    degraded: asExpected(),
  };
}

function runningMessage(o: Extract<Outcome, { kind: 'running' }>, prev: DeploymentStatus | undefined): string {
  if (o.regionReason) return o.regionReason;
  const kept = prev?.status?.code === 'OK' && prev.region === o.region ? prev.status.message : undefined;
  return kept && !kept.startsWith('soft-delet') ? kept : o.region !== undefined ? `placed in ${o.region}` : 'served by the CPU runtime (no accelerator, no region)';
}

function degradedOf(o: Extract<Outcome, { kind: 'running' }>): Verdict['degraded'] {
  if (o.notOwned.length > 0) {
    return { status: 'True', reason: Reason.NotOwned, message: `${o.notOwned.join(' and ')} exist(s) without this Deployment as controller; not adopting or overwriting them` };
  }
  const problems = o.pods.problems;
  const first = problems[0];
  const parts = [...(o.quotaMessage ? [o.quotaMessage] : []), ...problems.map((p) => p.message)];
  if (o.quotaMessage) return { status: 'True', reason: Reason.QuotaExceeded, message: parts.join('; ') };
  if (first) return { status: 'True', reason: first.reason, message: parts.join('; ') };
  return asExpected();
}

function verdictRunning(o: Extract<Outcome, { kind: 'running' }>, prev: DeploymentStatus | undefined): Verdict {
  const fatal = o.pods.problems.find((p) => p.fatal);
  if (fatal) return verdictFailed({ kind: 'failed', reason: fatal.reason, message: fatal.message, code: 'FAILED_PRECONDITION' });
  const p = o.pods;
  const converged =
    o.notOwned.length === 0 && o.childUpToDate && o.rolloutDone && p.stale === 0 && p.total === o.replicas && p.ready >= o.replicas && p.terminating === 0;
  const starved = o.replicas === 0 && o.desired > 0; // the quota leaves no room for a single replica
  const degraded = degradedOf(o);
  const status = { code: 'OK' as const, message: runningMessage(o, prev) };
  if (converged && !starved) {
    const message = o.replicas === 0 ? 'scaled to zero' : `${p.ready} of ${o.replicas} replicas ready`;
    return {
      state: 'READY',
      status,
      ready: { status: 'True', reason: o.replicas === 0 ? Reason.ScaledToZero : Reason.Ready, message },
      progressing: { status: 'False', reason: Reason.Complete, message },
      degraded,
    };
  }
  const state: DeploymentState = HAS_BEEN_SERVING.has(prev?.state ?? '') ? 'UPDATING' : 'CREATING';
  if (o.notOwned.length > 0 || starved) {
    const c = { status: 'False' as const, reason: degraded.reason, message: degraded.message };
    return { state, status, ready: c, progressing: c, degraded };
  }
  const stages = [
    p.pendingScheduling && `${p.pendingScheduling} pending scheduling`,
    p.downloading && `${p.downloading} downloading`,
    p.initializing && `${p.initializing} initializing`,
    p.stale && `${p.stale} of the previous template`,
    p.terminating && `${p.terminating} terminating`,
  ].filter(Boolean);
  const message = `${p.ready} of ${o.replicas} replicas ready${stages.length ? ` (${stages.join(', ')})` : ''}`;
  // The reason does not say whether this pass wrote the child: a pass that finds its own writes
  // must compute the same status (or every change would cost two status writes).
  const reason = Reason.Reconciling;
  return { state, status, ready: { status: 'False', reason, message }, progressing: { status: 'True', reason, message }, degraded };
}

function verdict(outcome: Outcome, prev: DeploymentStatus | undefined): Verdict {
  switch (outcome.kind) {
    case 'failed':
      return verdictFailed(outcome);
    case 'unplaced':
      return verdictUnplaced(outcome);
    case 'softDeleted':
      return verdictSoftDeleted(outcome);
    case 'running':
      return verdictRunning(outcome, prev);
  }
}

function conditions(prev: readonly Condition[] | undefined, v: Verdict, generation: number | undefined, now: Date): Condition[] {
  const ours = new Set<string>([ConditionType.Ready, ConditionType.Progressing, ConditionType.Degraded]);
  // Ours first, in a fixed order; conditions other writers set are kept after them.
  let list: Condition[] = (prev ?? []).filter((c) => ours.has(c.type));
  const order = [ConditionType.Ready, ConditionType.Progressing, ConditionType.Degraded] as const;
  const values = { Ready: v.ready, Progressing: v.progressing, Degraded: v.degraded };
  for (const type of order) list = setCondition(list, { type, ...values[type], observedGeneration: generation }, now);
  list.sort((a, b) => order.indexOf(a.type as (typeof order)[number]) - order.indexOf(b.type as (typeof order)[number]));
  return [...list, ...(prev ?? []).filter((c) => !ours.has(c.type))];
}

function replicaFields(o: Outcome, prev: DeploymentStatus | undefined): Pick<DeploymentStatus, 'replicaCount' | 'desiredReplicaCount' | 'replicaStats'> {
  if (o.kind === 'running') {
    const p = o.pods;
    return {
      replicaCount: p.total,
      desiredReplicaCount: o.replicas,
      replicaStats: {
        pendingSchedulingReplicaCount: p.pendingScheduling,
        downloadingModelReplicaCount: p.downloading,
        initializingReplicaCount: p.initializing,
        readyReplicaCount: p.ready,
      },
    };
  }
  if (o.kind === 'softDeleted') {
    return { replicaCount: o.podsLeft, desiredReplicaCount: 0, replicaStats: { pendingSchedulingReplicaCount: 0, downloadingModelReplicaCount: 0, initializingReplicaCount: 0, readyReplicaCount: 0 } };
  }
  // Failed or unplaced: nothing new is known about the replicas; keep what was reported.
  return { replicaCount: prev?.replicaCount ?? 0, desiredReplicaCount: prev?.desiredReplicaCount ?? 0, replicaStats: prev?.replicaStats };
}

/**
 * The status after this pass: the previous one (fields other writers own, such as the autoscaler's
 * scalingDecisions and lastRequestTime, are kept) with this controller's fields recomputed.
 * Unchanged inputs give a deep-equal result, so a second pass writes nothing.
 */
export function computeStatus(input: StatusInput): DeploymentStatus {
  const { prev, outcome: o } = input;
  const v = verdict(o, prev);
  const now = new Date(input.now);
  const replicas = replicaFields(o, prev);
  const region = o.kind === 'unplaced' ? prev?.region : o.region ?? prev?.region;
  const next: DeploymentStatus = {
    ...prev,
    state: v.state,
    status: v.status,
    ...replicas,
    labelSelector: input.labelSelector,
    deploymentShape: input.deploymentShape || undefined,
    observedGeneration: input.generation,
    conditions: conditions(prev?.conditions, v, input.generation, now),
    updateTime: prev?.state === v.state && prev.updateTime ? prev.updateTime : rfc3339(input.now),
    lastScaleTime:
      prev?.desiredReplicaCount === replicas.desiredReplicaCount || (prev?.desiredReplicaCount === undefined && replicas.desiredReplicaCount === 0)
        ? prev?.lastScaleTime
        : rfc3339(input.now),
  };
  if (region !== undefined) next.region = region as DeploymentStatus['region'];
  if (o.kind === 'softDeleted') {
    next.deleteTime = o.deleteTime;
    next.purgeTime = o.purgeTime;
  } else {
    delete next.deleteTime;
    delete next.purgeTime;
  }
  for (const k of Object.keys(next) as Array<keyof DeploymentStatus>) if (next[k] === undefined) delete next[k];
  return next;
}

/** Semantic equality of two statuses (key order and undefined fields do not matter). */
export function statusEqual(a: unknown, b: unknown): boolean {
  return stableStringify(a ?? {}) === stableStringify(b ?? {});
}

// ---- events --------------------------------------------------------------------------------------

/** Not-ready reasons the user asked for (a rollout, a soft delete): Normal events, not Warnings. */
const EXPECTED_NOT_READY: ReadonlySet<string> = new Set([Reason.Reconciling, Reason.SoftDeleting, Reason.SoftDeleted]);

/** The events a status change is worth (KServe: on Ready transitions; sample-controller: on ownership conflicts). */
export function eventsFor(prev: DeploymentStatus | undefined, next: DeploymentStatus): ObjectEvent[] {
  const was = findCondition(prev?.conditions, ConditionType.Ready);
  const is = findCondition(next.conditions, ConditionType.Ready);
  const out: ObjectEvent[] = [];
  if (is && (was?.status ?? 'Unknown') !== is.status) {
    const ready = is.status === 'True';
    // A fresh deployment that is not ready yet is no news; losing readiness, or failing, is.
    if (ready || was?.status === 'True' || next.state === 'FAILED') {
      const expected = ready || EXPECTED_NOT_READY.has(is.reason);
      out.push({ type: expected ? 'Normal' : 'Warning', reason: ready ? 'Ready' : is.reason, message: is.message || next.state });
    }
  }
  const dWas = findCondition(prev?.conditions, ConditionType.Degraded);
  const dIs = findCondition(next.conditions, ConditionType.Degraded);
  if (dIs?.status === 'True' && (dWas?.status !== 'True' || dWas.reason !== dIs.reason) && !out.some((e) => e.reason === dIs.reason)) {
    out.push({ type: 'Warning', reason: dIs.reason, message: dIs.message });
  }
  return out;
}

// ---- coalescing ----------------------------------------------------------------------------------

/**
 * How long progress alone (replica counts while CREATING or UPDATING) may wait before it is written.
 * A deployment that becomes READY sooner goes from no status to READY in one write.
 */
export const DEFAULT_PROGRESS_INTERVAL_MS = 30_000;

const PROGRESSING_STATES: ReadonlySet<string> = new Set(['CREATING', 'UPDATING']);

/** The status without what progress alone changes: replica counts and the Ready/Progressing messages reciting them. */
function withoutProgress(s: DeploymentStatus): unknown {
  const { replicaCount: _count, replicaStats: _stats, ...rest } = s;
  const conditions = s.conditions?.map((c) =>
    c.type === ConditionType.Ready || c.type === ConditionType.Progressing ? { ...c, message: '' } : c,
  );
  return { ...rest, conditions };
}

/** Nothing in a fresh deployment's first status a user must see at once: still creating, nothing wrong. */
function isQuietStart(next: DeploymentStatus): boolean {
  const ready = findCondition(next.conditions, ConditionType.Ready);
  const degraded = findCondition(next.conditions, ConditionType.Degraded);
  return next.state === 'CREATING' && ready?.reason === Reason.Reconciling && degraded?.status !== 'True';
}

export interface WriteDueInput {
  prev: DeploymentStatus | undefined;
  next: DeploymentStatus;
  now: number;
  /** When this status was last written (by this process), else when the object was created. */
  since: number;
  progressIntervalMs: number;
  /** This pass chose the region (its reason is known only now): written at once. */
  regionChosen?: boolean;
}

/**
 * Whether a status change is written now, or may wait (issue 11: as few writes from CREATING to
 * READY as the state machine allows, never skipping a state a user can see for long).
 *
 * At once: a new state, a condition whose status or reason changed, a new region, desired
 * replicas, generation or message — everything a user acts on (waiting for capacity, a quota
 * clamp, a crash loop: each a Degraded reason), and READY itself. May wait, for at most
 * `progressIntervalMs` after `since`: progress alone — counts of pods scheduled, starting and
 * ready while the state stays CREATING or UPDATING — and a fresh deployment's first CREATING
 * with nothing wrong and its region given in the spec (the REST facade shows a deployment without
 * status as CREATING). A region the controller chose is written at once, with why. The caller
 * looks again after `waitMs`.
 */
export function statusWriteDue(input: WriteDueInput): { write: true } | { write: false; waitMs: number } {
  const { prev, next } = input;
  const waitMs = input.since + input.progressIntervalMs - input.now;
  if (waitMs <= 0) return { write: true };
  const first = prev?.state === undefined || prev.state === 'STATE_UNSPECIFIED';
  if (first) return isQuietStart(next) && !input.regionChosen ? { write: false, waitMs } : { write: true };
  const progress = prev?.state === next.state && PROGRESSING_STATES.has(next.state ?? '') && statusEqual(withoutProgress(prev), withoutProgress(next));
  return progress ? { write: false, waitMs } : { write: true };
}
