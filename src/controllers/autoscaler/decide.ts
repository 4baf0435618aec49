// The autoscaler's decision: a pure function of (policy, history, now). No I/O, no clock.
//
// Pipeline (ARCHITECTURE §5; mechanics of the Kubernetes HPA and Knative KPA):
//  1. A fixed count (scale subresource / REST `:scale`) wins over everything but the quota.
//  2. Without a fresh load sample the count is held (only min/max/quota are applied): the
//     autoscaler never scales to zero or deletes on missing data.
//  3. Idle (no request in flight or arriving) at a floor of 0: after `unusedAutoDeleteMs` → 0 and
//     soft-delete; after `scaleToZeroWindowMs` → 0.
//  4. Load recommendation = max over load targets, raised to any active schedule floor; recorded.
//  5. Stabilization (HPA): scale up only to the lowest recommendation over the up-window, scale
//     down only to the highest over the down-window.
//  6. From zero with a request: at least one replica at once.
//  7. Floor: max(min, schedule floors), or 1 while a floor-0 deployment waits out its
//     scale-to-zero window. Caps: maxReplicas, then the quota. The caps win over floors.

import {
  isActive,
  recordRecommendation,
  windowExtremes,
  type AutoscalerHistory,
  type LoadSample,
} from './history.js';
import {
  historyHorizonMs,
  LOAD_TARGET_DEFAULT,
  LOAD_TARGET_TOKENS,
  resolvePolicy,
  type AutoscalerPolicy,
  type ResolvedPolicy,
} from './policy.js';
import { scheduleFloor, type ScheduleFloor } from './schedules.js';

export const Reason = {
  /** A count fixed through the scale subresource or REST `:scale`. */
  FixedReplicas: 'FixedReplicas',
  /** No fresh load sample: the count is held. */
  MetricsStale: 'MetricsStale',
  /** No requests for `unusedAutoDeleteDuration` at a floor of 0: soft-delete. */
  UnusedAutoDelete: 'UnusedAutoDelete',
  /** No requests for `scaleToZeroWindow` at a floor of 0. */
  ScaleToZero: 'ScaleToZero',
  /** A request arrived for a deployment at zero: one replica at once. */
  ScaleFromZero: 'ScaleFromZero',
  ScaleUp: 'ScaleUp',
  ScaleDown: 'ScaleDown',
  /** Load asks for more, but not yet for the whole scale-up window. */
  ScaleUpStabilizing: 'ScaleUpStabilizing',
  /** Load asks for fewer, but not yet for the whole scale-down window. */
  ScaleDownStabilizing: 'ScaleDownStabilizing',
  /** Floor 0 and no load, but requests were seen within the scale-to-zero window: keep one. */
  AwaitingScaleToZero: 'AwaitingScaleToZero',
  MinReplicas: 'MinReplicas',
  ScheduleFloor: 'ScheduleFloor',
  MaxReplicas: 'MaxReplicas',
  QuotaLimited: 'QuotaLimited',
  /** Load matches the current count. */
  Steady: 'Steady',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** Everything the decision was based on, JSON-friendly, for status and logs. Times in ms. */
export interface DecisionInputs {
  currentReplicas: number;
  minReplicas: number;
  maxReplicas: number;
  quotaMaxReplicas?: number;
  fixedReplicas?: number;
  sampleAt?: number;
  inFlight?: number;
  requestsPerSecond?: number;
  tokensPerSecond?: number;
  /** Replicas each load target asks for. */
  targetRecommendations: Record<string, number>;
  /** Max over targets, raised to the schedule floor: what was recorded for stabilization. */
  recommendation?: number;
  /** Lowest recommendation over the scale-up window. */
  scaleUpWindowMin?: number;
  /** Highest recommendation over the scale-down window. */
  scaleDownWindowMax?: number;
  scheduleFloor: number;
  activeSchedules: string[];
  lastRequestAt?: number;
  idleForMs: number;
}

export interface Decision {
  at: number;
  desiredReplicas: number;
  previousReplicas: number;
  reason: Reason;
  message: string;
  /** No requests for `unusedAutoDeleteDuration`: the deployment should be soft-deleted. */
  softDelete: boolean;
  inputs: DecisionInputs;
  /** Problems in the policy that were ignored (bad targets, unparsable schedules). */
  warnings: string[];
  /** The history to pass to the next decision (the recommendation recorded, `replicas` updated). */
  history: AutoscalerHistory;
}

interface Outcome {
  desired: number;
  reason: Reason;
  message: string;
  softDelete?: boolean;
}

const ceilRatio = (n: number, d: number): number => Math.max(0, Math.ceil(n / d - 1e-9));

/** Replicas each load target asks for, given the sample. */
export function targetRecommendations(p: ResolvedPolicy, s: LoadSample): Record<string, number> {
  const out: Record<string, number> = {};
  const utilisation = p.loadTargets[LOAD_TARGET_DEFAULT];
  if (utilisation !== undefined) {
    // Utilisation = in-flight / (replicas × concurrencyPerReplica), as in Knative's KPA; the
    // target keeps it at or under the fraction.
    out[LOAD_TARGET_DEFAULT] = ceilRatio(Math.max(0, s.inFlight), p.settings.concurrencyPerReplica * utilisation);
  }
  const tokens = p.loadTargets[LOAD_TARGET_TOKENS];
  if (tokens !== undefined) out[LOAD_TARGET_TOKENS] = ceilRatio(Math.max(0, s.tokensPerSecond), tokens);
  return out;
}

function freshSample(h: AutoscalerHistory, now: number, stalenessMs: number): LoadSample | undefined {
  return h.latest && now - h.latest.at <= stalenessMs ? h.latest : undefined;
}

const fmt = (ms: number): string =>
  ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;

function capped(value: number, p: ResolvedPolicy, otherwise: Outcome): Outcome {
  const quota = p.quotaMaxReplicas ?? Infinity;
  if (value > quota && quota <= p.maxReplicas) {
    return { desired: quota, reason: Reason.QuotaLimited, message: `${value} wanted; the quota allows ${quota}` };
  }
  if (value > p.maxReplicas) {
    return { desired: p.maxReplicas, reason: Reason.MaxReplicas, message: `${value} wanted; maxReplicaCount is ${p.maxReplicas}` };
  }
  return otherwise;
}

function fixed(p: ResolvedPolicy, fixedReplicas: number): Outcome {
  const quota = p.quotaMaxReplicas ?? Infinity;
  if (fixedReplicas > quota) {
    return { desired: quota, reason: Reason.QuotaLimited, message: `fixed at ${fixedReplicas}; the quota allows ${quota}` };
  }
  return { desired: fixedReplicas, reason: Reason.FixedReplicas, message: `replica count fixed at ${fixedReplicas} until cleared` };
}

function held(p: ResolvedPolicy, current: number, schedule: ScheduleFloor): Outcome {
  const floor = Math.max(p.minReplicas, schedule.floor);
  if (current < floor) {
    const reason = schedule.floor > p.minReplicas ? Reason.ScheduleFloor : Reason.MinReplicas;
    return capped(floor, p, { desired: floor, reason, message: `no fresh load sample; raised to the floor of ${floor}` });
  }
  return capped(current, p, { desired: current, reason: Reason.MetricsStale, message: `no load sample in the last ${fmt(p.settings.metricsStalenessMs)}; holding ${current}` });
}

function idle(p: ResolvedPolicy, idleForMs: number): Outcome | undefined {
  if (p.unusedAutoDeleteMs > 0 && idleForMs >= p.unusedAutoDeleteMs) {
    return { desired: 0, reason: Reason.UnusedAutoDelete, softDelete: true, message: `no requests for ${fmt(idleForMs)} (unusedAutoDeleteDuration ${fmt(p.unusedAutoDeleteMs)})` };
  }
  if (idleForMs >= p.scaleToZeroWindowMs) {
    return { desired: 0, reason: Reason.ScaleToZero, message: `no requests for ${fmt(idleForMs)} (scaleToZeroWindow ${fmt(p.scaleToZeroWindowMs)})` };
  }
  return undefined;
}

interface Stabilized {
  value: number;
  upMin: number;
  downMax: number;
}

function stabilize(p: ResolvedPolicy, h: AutoscalerHistory, now: number): Stabilized {
  const up = windowExtremes(h.steps, now, p.scaleUpWindowMs, h.replicas);
  const down = windowExtremes(h.steps, now, p.scaleDownWindowMs, h.replicas);
  let value = h.replicas;
  if (value < up.min) value = up.min;
  if (value > down.max) value = down.max;
  return { value, upMin: up.min, downMax: down.max };
}

interface LoadCase {
  current: number;
  /** Max over load targets alone. */
  load: number;
  /** `load` raised to the schedule floor: what was recorded. */
  recommendation: number;
  stabilized: Stabilized;
  active: boolean;
  minReplicas: number;
  schedule: ScheduleFloor;
}

function byLoad(p: ResolvedPolicy, c: LoadCase): Outcome {
  const { current, recommendation, stabilized, active } = c;
  const fromZero = current === 0 && active && stabilized.value < 1;
  const value = fromZero ? 1 : stabilized.value;
  // Floors: min, schedules, and one replica while a floor-0 deployment is not yet idle long enough.
  const floor = Math.max(c.minReplicas, c.schedule.floor);
  const lower = floor === 0 && (current > 0 || active) ? 1 : floor;
  // The floor decides when it raises the count, or holds it where load alone would go lower.
  if (value < lower || (!fromZero && value === lower && c.load < lower)) {
    const reason = floor === 0 ? Reason.AwaitingScaleToZero : c.schedule.floor > c.minReplicas ? Reason.ScheduleFloor : Reason.MinReplicas;
    const why =
      reason === Reason.AwaitingScaleToZero
        ? `no load; keeping 1 until no requests for the scale-to-zero window (${fmt(p.scaleToZeroWindowMs)})`
        : reason === Reason.ScheduleFloor
          ? `scaling schedule ${c.schedule.active.filter((s) => s.minReplicas === floor).map((s) => `"${s.name}"`).join(', ')} holds at least ${floor}`
          : `minReplicaCount is ${floor}`;
    return capped(lower, p, { desired: lower, reason, message: why });
  }
  let outcome: Outcome;
  if (fromZero) {
    outcome = { desired: 1, reason: Reason.ScaleFromZero, message: 'request received at zero replicas; scaling to 1 at once' };
  } else if (value > current) {
    outcome = { desired: value, reason: Reason.ScaleUp, message: `load asked for at least ${value} over the ${fmt(p.scaleUpWindowMs)} scale-up window` };
  } else if (value < current) {
    outcome = { desired: value, reason: Reason.ScaleDown, message: `load asked for at most ${value} over the ${fmt(p.scaleDownWindowMs)} scale-down window` };
  } else if (recommendation > value) {
    outcome = { desired: value, reason: Reason.ScaleUpStabilizing, message: `load asks for ${recommendation}; waiting until it has for the ${fmt(p.scaleUpWindowMs)} scale-up window` };
  } else if (recommendation < value) {
    outcome = { desired: value, reason: Reason.ScaleDownStabilizing, message: `load asks for ${recommendation}; waiting until it has for the ${fmt(p.scaleDownWindowMs)} scale-down window` };
  } else {
    outcome = { desired: value, reason: Reason.Steady, message: `load matches ${value} replicas` };
  }
  return capped(value, p, outcome);
}

/**
 * Decides the replica count for one deployment at `now` (ms). Pure: the same arguments always
 * give the same decision. Pass `decision.history` to the next call.
 */
export function decide(policy: AutoscalerPolicy, history: AutoscalerHistory, now: number): Decision {
  const p = resolvePolicy(policy);
  const schedule = scheduleFloor(p.schedules, now);
  const current = history.replicas;
  const sample = freshSample(history, now, p.settings.metricsStalenessMs);
  const lastRequestAt = history.lastRequestAt;
  const idleForMs = Math.max(0, now - (lastRequestAt ?? history.since));
  const inputs: DecisionInputs = {
    currentReplicas: current,
    minReplicas: p.minReplicas,
    maxReplicas: p.maxReplicas,
    ...(p.quotaMaxReplicas === undefined ? {} : { quotaMaxReplicas: p.quotaMaxReplicas }),
    ...(p.fixedReplicas === undefined ? {} : { fixedReplicas: p.fixedReplicas }),
    ...(sample ? { sampleAt: sample.at, inFlight: sample.inFlight, requestsPerSecond: sample.requestsPerSecond, tokensPerSecond: sample.tokensPerSecond } : {}),
    targetRecommendations: {},
    scheduleFloor: schedule.floor,
    activeSchedules: schedule.active.map((s) => s.name),
    ...(lastRequestAt === undefined ? {} : { lastRequestAt }),
    idleForMs,
  };
  let next = history;
  let outcome: Outcome | undefined;
  if (sample) {
    inputs.targetRecommendations = targetRecommendations(p, sample);
    const recommendation = Math.max(schedule.floor, ...Object.values(inputs.targetRecommendations));
    inputs.recommendation = recommendation;
    next = recordRecommendation(history, now, recommendation, historyHorizonMs(p));
    const stabilized = stabilize(p, next, now);
    inputs.scaleUpWindowMin = stabilized.upMin;
    inputs.scaleDownWindowMax = stabilized.downMax;
    const active = isActive(sample);
    const floor = Math.max(p.minReplicas, schedule.floor);
    if (p.fixedReplicas === undefined && floor === 0 && !active) outcome = idle(p, idleForMs);
    const load = Math.max(0, ...Object.values(inputs.targetRecommendations));
    outcome ??= byLoad(p, { current, load, recommendation, stabilized, active, minReplicas: p.minReplicas, schedule });
  }
  if (p.fixedReplicas !== undefined) outcome = fixed(p, p.fixedReplicas);
  outcome ??= held(p, current, schedule);
  return {
    at: now,
    desiredReplicas: outcome.desired,
    previousReplicas: current,
    reason: outcome.reason,
    message: outcome.message,
    softDelete: outcome.softDelete ?? false,
    inputs,
    warnings: [...p.warnings, ...schedule.warnings],
    history: { ...next, replicas: outcome.desired },
  };
}
