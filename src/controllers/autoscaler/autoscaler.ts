// The autoscaler loop around the pure decision: it plugs into the Deployment reconciler as its
// `DesiredReplicas` (so the count and the decision log ride on the reconciler's one status write),
// keeps each deployment's history in memory, and feeds it the gateways' summed load samples.
//
//   reconcile pass → desiredReplicas(dep, spec, now):
//       history (memory; after a restart rebuilt by newHistory from status) ← observe(latest sample)
//       d = decide(policyFromSpec(spec), history, now); history ← d.history
//       → { replicas: d.desiredReplicas, status: { scalingDecisions (last 10, noteworthy only),
//           lastRequestTime (only when it moved ≥ 1 min: a busy deployment must not rewrite its
//           status, and so re-trigger its own reconcile, every second) } }
//   tick (every tickMs, default 2 s): for every tracked deployment, fold in the newest sample and
//       run decide() on it (pure, cheap); enqueue the key only when the count would change or the
//       log would grow. A steady deployment costs no reconcile.
//   demand (the gateway holds a request: LoadAggregator.onDemand): enqueue the key at once, so 0 → 1
//       happens now, not at the next tick or resync.
//
//   soft delete (`unusedAutoDeleteDuration`, when `softDelete` is given): the pass that first decides
//       UnusedAutoDelete scales to 0 and logs it in status; a later pass that finds that entry
//       written (the tick asks for one) sets the soft-delete annotation, as REST DELETE does, once:
//       not while a request is out, never when the annotation is there. Two steps so the annotation
//       (a metadata write) never races the pass's own status write and loses the log entry.
//       After `:undelete` (annotation `hearth.dev/undelete-time`) idle time counts from the undelete.
//
// Not done here: the account quota as a policy cap (the reconciler clamps to quota after this
// function, and reports QuotaExceeded).
import type { Logger } from 'pino';
import type { DeploymentStatus, DesiredReplicas, ReplicaDecision } from '../../crds/deployment.js';
import type { Clock, Timer } from '../../util/clock.js';
import { ANNOTATIONS } from '../../crds/group.js';
import { policyFromSpec, type AdapterOptions } from './adapter.js';
import { decide, Reason, type Decision } from './decide.js';
import { DECISION_LOG_LIMIT, isNoteworthy, type DecisionRecord } from './decision-log.js';
import { newHistory, observe, type AutoscalerHistory, type LoadSample } from './history.js';
import { DEFAULT_OPERATOR_SETTINGS, type AutoscalerPolicy, type OperatorSettings } from './policy.js';
import type { SoftDelete } from './soft-delete.js';
import { rfc3339 } from '../../util/rfc3339.js';

type ScalingDecision = NonNullable<DeploymentStatus['scalingDecisions']>[number];

/** Where the summed load comes from: the gateway's LoadAggregator (structurally). */
export interface LoadSource {
  /** The sum over live gateway replicas, or undefined when none reported recently (no data). */
  sample(namespace: string, deployment: string, now: number): LoadSample | undefined;
  /** Called at once when a gateway holds a request for a deployment (scale from zero wanted). */
  onDemand?(fn: (namespace: string, deployment: string) => void): () => void;
}

export interface AutoscalerOptions {
  load: LoadSource;
  clock: Clock;
  /** Operator settings (same for every deployment); e.g. `minScaleToZeroWindowMs` (default 5 min). */
  settings?: Partial<OperatorSettings>;
  /**
   * TEST / OPERATOR OVERRIDE of every deployment's effective scale-to-zero window (the CRD refuses
   * < 5m). Unset in production.
   */
  scaleToZeroWindowOverrideMs?: number;
  /** How often tracked deployments are re-evaluated without a reconcile (default 2 s). */
  tickMs?: number;
  /** `status.lastRequestTime` is rewritten only when it moved this much (default 60 s). */
  lastRequestGranularityMs?: number;
  /**
   * Sets the soft-delete annotation (soft-delete.ts `kubeSoftDelete`). Unset: an UnusedAutoDelete
   * decision only scales to 0 and is logged.
   */
  softDelete?: SoftDelete;
  log?: Logger;
}

interface Entry {
  namespace: string;
  name: string;
  history: AutoscalerHistory;
  policy: AutoscalerPolicy;
  /** The decision log as status had it after the last pass. */
  log: readonly ScalingDecision[];
  /** Ticks that enqueued the key without a pass answering (the deployment is gone or not running). */
  unanswered: number;
  /** The `hearth.dev/undelete-time` annotation the history was built under (a new one rebuilds it). */
  undeleteTime: string | undefined;
  /** When the soft-delete annotation was asked for (at most once, until a request or an undelete). */
  softDeleteRequestedAt?: number;
}

const MAX_UNANSWERED = 3;
const REASON_MAX = 256;
const MESSAGE_MAX = 1024;

function parseTime(t: string | Date | undefined): number | undefined {
  if (!t) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

const round = (n: number): number => Math.round(n * 100) / 100;

/** The decision's message with the load it saw in words (`inputs` has the numbers). */
function messageOf(d: Decision): string {
  const i = d.inputs;
  const load =
    i.inFlight === undefined
      ? 'no fresh load sample'
      : `in flight ${i.inFlight}, ${round(i.requestsPerSecond ?? 0)} req/s, ${round(i.tokensPerSecond ?? 0)} tokens/s; recommendation ${i.recommendation ?? '-'}`;
  const text = `${d.message} (${load}; bounds ${i.minReplicas}..${i.maxReplicas}${i.scheduleFloor > 0 ? `, schedule floor ${i.scheduleFloor}` : ''})`;
  return text.length > MESSAGE_MAX ? `${text.slice(0, MESSAGE_MAX - 1)}…` : text;
}

type StatusInputs = NonNullable<ScalingDecision['inputs']>;

/** The decision's inputs in the CRD's shape (counts, load, window extremes; idle time in seconds). */
export function statusInputs(d: Decision): StatusInputs {
  const i = d.inputs;
  const out: StatusInputs = {
    currentReplicas: i.currentReplicas,
    minReplicas: i.minReplicas,
    maxReplicas: i.maxReplicas,
    scheduleFloor: i.scheduleFloor,
    idleSeconds: Math.round(i.idleForMs / 1000),
  };
  const opt = {
    quotaMaxReplicas: i.quotaMaxReplicas,
    fixedReplicas: i.fixedReplicas,
    inFlight: i.inFlight,
    requestsPerSecond: i.requestsPerSecond === undefined ? undefined : round(i.requestsPerSecond),
    tokensPerSecond: i.tokensPerSecond === undefined ? undefined : round(i.tokensPerSecond),
    recommendation: i.recommendation,
    scaleUpWindowMin: i.scaleUpWindowMin,
    scaleDownWindowMax: i.scaleDownWindowMax,
  };
  for (const [k, v] of Object.entries(opt)) if (v !== undefined && Number.isFinite(v)) (out as unknown as Record<string, number>)[k] = v;
  if (Object.keys(i.targetRecommendations).length > 0) out.targetRecommendations = { ...i.targetRecommendations };
  return out;
}

/** The status entry for a decision, in the CRD's `status.scalingDecisions[]` shape. */
export function statusRecord(d: Decision): ScalingDecision {
  return { time: rfc3339(d.at), fromReplicas: d.previousReplicas, toReplicas: d.desiredReplicas, reason: d.reason.slice(0, REASON_MAX), message: messageOf(d), inputs: statusInputs(d) };
}

function lastAsRecord(log: readonly ScalingDecision[]): DecisionRecord | undefined {
  const last = log[log.length - 1];
  if (!last) return undefined;
  // Only toReplicas, softDelete and reason matter to isNoteworthy.
  return { ...last, message: last.message ?? '', reason: last.reason as Reason, softDelete: last.reason === Reason.UnusedAutoDelete, inputs: {} as DecisionRecord['inputs'] };
}

/** The status log with `d` appended when it is worth an entry (decision-log.ts), else undefined. */
export function appendStatusDecision(log: readonly ScalingDecision[], d: Decision, limit = DECISION_LOG_LIMIT): ScalingDecision[] | undefined {
  if (!isNoteworthy(lastAsRecord(log), d)) return undefined;
  const next = [...log, statusRecord(d)];
  return next.length > limit ? next.slice(next.length - limit) : next;
}

export class Autoscaler {
  readonly #o: AutoscalerOptions;
  readonly #adapter: AdapterOptions;
  readonly #entries = new Map<string, Entry>();
  #enqueue: ((key: string) => void) | undefined;
  #exists: ((key: string) => boolean) | undefined;
  #timer: Timer | undefined;
  #offDemand: (() => void) | undefined;
  readonly #startedAt: number;

  constructor(opts: AutoscalerOptions) {
    this.#o = opts;
    this.#startedAt = opts.clock.now();
    this.#adapter = {
      ...(opts.settings ? { settings: opts.settings } : {}),
      ...(opts.scaleToZeroWindowOverrideMs === undefined ? {} : { scaleToZeroWindowOverrideMs: opts.scaleToZeroWindowOverrideMs }),
    };
  }

  /** The reconciler's seam (DeploymentReconcilerOptions.desiredReplicas). */
  readonly desiredReplicas: DesiredReplicas = (dep, spec, now): ReplicaDecision => {
    const namespace = dep.metadata.namespace ?? '';
    const name = dep.metadata.name ?? '';
    const key = `${namespace}/${name}`;
    const status = dep.status;
    const policy = policyFromSpec(spec, this.#adapter);
    const undeleteTime = dep.metadata.annotations?.[ANNOTATIONS.undeleteTime];
    let e = this.#entries.get(key);
    if (!e || e.undeleteTime !== undeleteTime) {
      // Idle time counts from creation, or from the last undelete: an undeleted deployment gets a
      // full unusedAutoDeleteDuration again, whatever its last request before the delete.
      const created = parseTime(dep.metadata.creationTimestamp as string | Date | undefined) ?? now;
      const since = Math.min(Math.max(created, parseTime(undeleteTime) ?? -Infinity), now);
      const lastRequest = parseTime(status?.lastRequestTime);
      e = {
        namespace,
        name,
        history: newHistory(since, status?.desiredReplicaCount ?? 0, lastRequest !== undefined && lastRequest >= since ? lastRequest : undefined),
        policy,
        log: [],
        unanswered: 0,
        undeleteTime,
      };
      this.#entries.set(key, e);
    }
    const sample = this.#o.load.sample(namespace, name, now);
    if (sample) e.history = observe(e.history, sample);
    const d = decide(policy, e.history, now);
    for (const w of d.warnings) this.#o.log?.warn({ key }, `autoscaling policy: ${w}`);
    e.history = d.history;
    e.policy = policy;
    e.unanswered = 0;
    const prevLog = status?.scalingDecisions ?? [];
    // An UnusedAutoDelete entry from before an undelete does not stand for this decision: log anew.
    const staleDelete = d.softDelete && prevLog.at(-1)?.reason === Reason.UnusedAutoDelete && !this.#writtenSince(prevLog, Reason.UnusedAutoDelete, e.history.since);
    const log = this.#warmingUp(d, now) ? undefined : staleDelete ? [...prevLog, statusRecord(d)].slice(-DECISION_LOG_LIMIT) : appendStatusDecision(prevLog, d);
    e.log = log ?? prevLog;
    if (log) this.#o.log?.info({ key, from: d.previousReplicas, to: d.desiredReplicas, reason: d.reason }, d.message);
    const out: ReplicaDecision['status'] = {};
    if (log) out.scalingDecisions = log;
    const last = e.history.lastRequestAt;
    const written = parseTime(status?.lastRequestTime);
    if (last !== undefined && (written === undefined || last - written >= (this.#o.lastRequestGranularityMs ?? 60_000))) out.lastRequestTime = rfc3339(last);
    if (!d.softDelete) e.softDeleteRequestedAt = undefined;
    else if (this.#softDeleteDue(e, dep, prevLog)) this.#requestSoftDelete(e, key, dep.metadata.resourceVersion as string | undefined, now);
    return { replicas: d.desiredReplicas, status: out };
  };

  /**
   * Whether this pass should set the soft-delete annotation: wired, not asked yet, not already
   * soft-deleted, and the UnusedAutoDelete entry is already in the status this pass read (written
   * by an earlier pass, after this history began).
   */
  #softDeleteDue(e: Entry, dep: Parameters<DesiredReplicas>[0], written: readonly ScalingDecision[]): boolean {
    if (!this.#o.softDelete || e.softDeleteRequestedAt !== undefined) return false;
    if (dep.metadata.annotations?.[ANNOTATIONS.softDeleteRequested] !== undefined) return false;
    return this.#writtenSince(written, Reason.UnusedAutoDelete, e.history.since);
  }

  /** Whether the newest status entry has `reason` and was written at or after `since` (ms). */
  #writtenSince(written: readonly ScalingDecision[], reason: Reason, since: number): boolean {
    const last = written[written.length - 1];
    return last?.reason === reason && (parseTime(last.time) ?? -Infinity) >= Math.floor(since / 1000) * 1000;
  }

  #requestSoftDelete(e: Entry, key: string, resourceVersion: string | undefined, now: number): void {
    e.softDeleteRequestedAt = now;
    const at = rfc3339(now);
    this.#o.log?.info({ key, at }, 'unused past unusedAutoDeleteDuration: soft-deleting (annotation hearth.dev/soft-delete-requested)');
    this.#o.softDelete?.({ namespace: e.namespace, name: e.name, ...(resourceVersion ? { resourceVersion } : {}) }, at).catch((err: unknown) => {
      // A conflict (the object changed) or an outage: ask again on a later pass.
      if (e.softDeleteRequestedAt === now) e.softDeleteRequestedAt = undefined;
      this.#o.log?.warn({ key, err }, 'soft delete of an unused deployment failed; retried on a later pass');
    });
  }

  /**
   * Just started, the gateways have not reported yet: holding for lack of data is no news (and
   * would add an entry to every deployment's log on each controller restart).
   */
  #warmingUp(d: Decision, now: number): boolean {
    return d.reason === Reason.MetricsStale && now - this.#startedAt < (this.#o.settings?.metricsStalenessMs ?? DEFAULT_OPERATOR_SETTINGS.metricsStalenessMs);
  }

  /**
   * Re-evaluates every tracked deployment at `now` without writing anything; returns (and
   * enqueues, when attached) the keys whose count would change or whose log would grow.
   */
  tick(now = this.#o.clock.now()): string[] {
    const due: string[] = [];
    for (const [key, e] of this.#entries) {
      if (e.unanswered >= MAX_UNANSWERED || this.#exists?.(key) === false) {
        this.#entries.delete(key); // gone, soft-deleted or failing: a later pass rebuilds it from status
        continue;
      }
      const sample = this.#o.load.sample(e.namespace, e.name, now);
      if (sample) e.history = observe(e.history, sample);
      const d = decide(e.policy, e.history, now);
      // On softDelete alone only while the annotation is still to be set (once wired): else that
      // would ask a pass every tick for every unused deployment.
      const softDeleteDue = d.softDelete && this.#o.softDelete !== undefined && e.softDeleteRequestedAt === undefined;
      if (d.desiredReplicas !== e.history.replicas || softDeleteDue || (!this.#warmingUp(d, now) && isNoteworthy(lastAsRecord(e.log), d))) {
        e.unanswered++;
        due.push(key);
      } else {
        e.history = d.history; // the recommendation recorded for the stabilization windows
      }
    }
    for (const key of due) this.#enqueue?.(key);
    return due;
  }

  /**
   * Starts ticking and listening for demand, enqueueing into `enqueue` (the current leadership
   * term's controller queue; a later call replaces it). `exists` (the controller's cache) lets a
   * tick forget deployments that are gone. Returns a function that stops both.
   */
  attach(enqueue: (key: string) => void, exists?: (key: string) => boolean): () => void {
    this.#enqueue = enqueue;
    this.#exists = exists;
    if (!this.#offDemand && this.#o.load.onDemand) {
      this.#offDemand = this.#o.load.onDemand((namespace, name) => this.#enqueue?.(`${namespace}/${name}`));
    }
    if (this.#timer === undefined) {
      const every = this.#o.tickMs ?? 2_000;
      const loop = (): void => {
        try {
          this.tick();
        } catch (err) {
          this.#o.log?.error({ err }, 'autoscaler tick failed');
        }
        this.#timer = this.#o.clock.setTimeout(loop, every);
      };
      this.#timer = this.#o.clock.setTimeout(loop, every);
    }
    return () => this.stop();
  }

  stop(): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#offDemand?.();
    this.#offDemand = undefined;
    this.#enqueue = undefined;
    this.#exists = undefined;
  }

  /** Drops a deployment's in-memory history (e.g. on delete). */
  forget(key: string): void {
    this.#entries.delete(key);
  }

  /** Keys tracked in memory (for metrics and tests). */
  tracked(): string[] {
    return [...this.#entries.keys()];
  }
}
