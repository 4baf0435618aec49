// What the autoscaler remembers about one deployment between decisions. Immutable values: every
// function returns a new history. Memory is bounded by time: recommendations older than the
// longest stabilization window are dropped, and equal consecutive recommendations are stored once
// (a step function), so a steady deployment keeps a single entry however often it ticks.

/** Load reported by the gateway replicas for one deployment, summed over gateway replicas. */
export interface LoadSample {
  /** When the sample was taken (ms). */
  at: number;
  /** Requests in flight, including requests the gateway holds while a replica comes up. */
  inFlight: number;
  /** Request arrivals per second over the reporting interval. */
  requestsPerSecond: number;
  /** Generated tokens per second over the reporting interval. */
  tokensPerSecond: number;
}

/** A recommendation in force from `at` until the next step's `at` (or now). */
export interface RecommendationStep {
  at: number;
  replicas: number;
}

export interface AutoscalerHistory {
  /**
   * When tracking started: the deployment's creation (or undelete). With no request ever seen,
   * idle time for scale-to-zero and auto-delete counts from here.
   */
  since: number;
  /** The replica count currently decided (what the deployment is scaled to). */
  replicas: number;
  /** The newest load sample. */
  latest?: LoadSample;
  /** The last time a request was seen (in flight or arriving); kept however long ago. */
  lastRequestAt?: number;
  /** Raw recommendations (load and schedule floors, before min/max/quota), oldest first. */
  steps: readonly RecommendationStep[];
}

/** A hard cap on steps, a safety net under the time bound for pathological tick rates. */
export const MAX_STEPS = 4_096;

/**
 * A history with no recommendations yet: for a new deployment, or rebuilt after a controller
 * restart from what status keeps (creation time, desired count, `lastRequestTime`). The empty
 * record makes both stabilization windows wait a full window, so a restart never jumps.
 */
export function newHistory(since: number, replicas: number, lastRequestAt?: number): AutoscalerHistory {
  return lastRequestAt === undefined ? { since, replicas, steps: [] } : { since, replicas, lastRequestAt, steps: [] };
}

export function isActive(s: LoadSample): boolean {
  return s.inFlight > 0 || s.requestsPerSecond > 0;
}

/** Folds a sample in. Samples older than the newest one only update `lastRequestAt`. */
export function observe(h: AutoscalerHistory, sample: LoadSample): AutoscalerHistory {
  const lastRequestAt = isActive(sample) ? Math.max(h.lastRequestAt ?? -Infinity, sample.at) : h.lastRequestAt;
  const latest = !h.latest || sample.at >= h.latest.at ? sample : h.latest;
  return { ...h, latest, ...(lastRequestAt === undefined ? {} : { lastRequestAt }) };
}

/** Drops steps that ended at or before `cutoff`, keeping the one in force at `cutoff`. */
export function trimSteps(steps: readonly RecommendationStep[], cutoff: number): readonly RecommendationStep[] {
  let first = 0;
  while (first + 1 < steps.length && (steps[first + 1] as RecommendationStep).at <= cutoff) first++;
  if (steps.length - first > MAX_STEPS) first = steps.length - MAX_STEPS;
  return first === 0 ? steps : steps.slice(first);
}

/**
 * Records `replicas` as the recommendation from `at` on, and forgets what is older than
 * `horizonMs`. Time never runs backwards in the record: an `at` before the newest step counts as
 * the newest step's time.
 */
export function recordRecommendation(h: AutoscalerHistory, at: number, replicas: number, horizonMs: number): AutoscalerHistory {
  const last = h.steps[h.steps.length - 1];
  let steps: readonly RecommendationStep[];
  if (last && last.replicas === replicas) {
    steps = h.steps;
  } else if (last && at <= last.at) {
    steps = [...h.steps.slice(0, -1), { at: last.at, replicas }];
  } else {
    steps = [...h.steps, { at, replicas }];
  }
  const now = Math.max(at, last?.at ?? at);
  return { ...h, steps: trimSteps(steps, now - horizonMs) };
}

export interface WindowExtremes {
  min: number;
  max: number;
  /** False when the record does not reach back over the whole window. */
  covered: boolean;
}

/**
 * Lowest and highest recommendation in force at any time in [now − windowMs, now]. Where the
 * record does not reach back that far (a new deployment, a restarted controller), the uncovered
 * part counts as `uncoveredValue` (the current replica count): with no evidence, neither scale.
 */
export function windowExtremes(
  steps: readonly RecommendationStep[],
  now: number,
  windowMs: number,
  uncoveredValue: number,
): WindowExtremes {
  const from = now - windowMs;
  const covered = steps.length > 0 && (steps[0] as RecommendationStep).at <= from;
  let min = covered ? Infinity : uncoveredValue;
  let max = covered ? -Infinity : uncoveredValue;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i] as RecommendationStep;
    const end = steps[i + 1]?.at ?? Infinity;
    if (s.at > now || end <= from) continue;
    min = Math.min(min, s.replicas);
    max = Math.max(max, s.replicas);
  }
  if (min === Infinity) min = max = uncoveredValue;
  return { min, max, covered };
}
