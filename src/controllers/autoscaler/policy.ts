// The autoscaler's input types and their defaults. Plain TypeScript, local to this module: a later
// adapter maps the Deployment CRD spec (durations parsed to ms), the account's quota and the scale
// subresource onto `AutoscalerPolicy`. Nothing here imports from src/crds.

/** One time-based replica floor (the published `ScalingSchedule`, durations in ms). */
export interface ScalingSchedule {
  /** Floor while active; overlapping schedules: the highest wins. */
  minReplicas: number;
  /** 5-field cron expression for the window's start, e.g. `0 8 * * Mon-Fri`. */
  schedule: string;
  /** How long the floor holds after each start (the spec allows 5 min … 7 days). */
  durationMs: number;
  /** IANA time zone the cron expression is read in, e.g. `America/New_York`. */
  timezone: string;
  disabled?: boolean;
}

/**
 * Known load-target keys (the published `loadTargets` map):
 * - `default`: target utilisation fraction in (0, 1] of a replica's concurrency capacity;
 * - `tokens_generated_per_second`: target generated tokens/s per replica (> 0).
 * Unknown keys are ignored with a warning in the decision.
 */
export type LoadTargets = Readonly<Record<string, number>>;

/** Settings of the operator, not of the user: the same for every deployment it runs. */
export interface OperatorSettings {
  /** Floor under any `scaleToZeroWindow` (the docs' 5 minutes); tests may shorten it. */
  minScaleToZeroWindowMs: number;
  /**
   * Concurrent requests one replica is sized to serve at 100% utilisation (Knative's
   * containerConcurrency). The `default` load target is a fraction of this.
   */
  concurrencyPerReplica: number;
  /** A load sample older than this is not trusted: the autoscaler holds its count. */
  metricsStalenessMs: number;
}

export interface AutoscalerPolicy {
  minReplicas: number;
  maxReplicas: number;
  /** Default 30s. */
  scaleUpWindowMs?: number;
  /** Default 10m. */
  scaleDownWindowMs?: number;
  /** Default 1h; never below `settings.minScaleToZeroWindowMs`. Only used when the floor is 0. */
  scaleToZeroWindowMs?: number;
  /** Default `{ default: 0.8 }` when absent or empty. */
  loadTargets?: LoadTargets;
  scalingSchedules?: Readonly<Record<string, ScalingSchedule>>;
  /** Default 7 days; 0 disables. Only when the floor is 0. */
  unusedAutoDeleteMs?: number;
  /** Most replicas the account's quota allows this deployment (undefined: no quota limit known). */
  quotaMaxReplicas?: number;
  /** A count fixed through the scale subresource / REST `:scale`: overrides the autoscaler until cleared. */
  fixedReplicas?: number;
  settings?: Partial<OperatorSettings>;
}

export const DEFAULT_SCALE_UP_WINDOW_MS = 30_000;
export const DEFAULT_SCALE_DOWN_WINDOW_MS = 600_000;
export const DEFAULT_SCALE_TO_ZERO_WINDOW_MS = 3_600_000;
export const DEFAULT_UNUSED_AUTO_DELETE_MS = 7 * 86_400_000;
export const DEFAULT_LOAD_TARGET = 0.8;
/** The published spec caps both stabilization windows at one hour; so does the autoscaler. */
export const MAX_STABILIZATION_WINDOW_MS = 3_600_000;

export const DEFAULT_OPERATOR_SETTINGS: Readonly<OperatorSettings> = Object.freeze({
  minScaleToZeroWindowMs: 300_000,
  concurrencyPerReplica: 16,
  metricsStalenessMs: 30_000,
});

export const LOAD_TARGET_DEFAULT = 'default';
export const LOAD_TARGET_TOKENS = 'tokens_generated_per_second';

/** A policy with every default filled in and every window clamped to its legal range. */
export interface ResolvedPolicy {
  minReplicas: number;
  maxReplicas: number;
  scaleUpWindowMs: number;
  scaleDownWindowMs: number;
  scaleToZeroWindowMs: number;
  /** Only valid targets; never empty. */
  loadTargets: Readonly<Record<string, number>>;
  schedules: ReadonlyArray<ScalingSchedule & { name: string }>;
  unusedAutoDeleteMs: number;
  quotaMaxReplicas: number | undefined;
  fixedReplicas: number | undefined;
  settings: OperatorSettings;
  /** Problems found in the policy (ignored targets, bad numbers); carried into the decision. */
  warnings: string[];
}

function count(v: number | undefined, fallback: number): number {
  return v === undefined || !Number.isFinite(v) ? fallback : Math.max(0, Math.floor(v));
}

function duration(v: number | undefined, fallback: number): number {
  return v === undefined || !Number.isFinite(v) || v < 0 ? fallback : v;
}

function resolveTargets(raw: LoadTargets | undefined, warnings: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(raw ?? {})) {
    if (key !== LOAD_TARGET_DEFAULT && key !== LOAD_TARGET_TOKENS) {
      warnings.push(`load target "${key}" is not supported and was ignored`);
    } else if (!Number.isFinite(value) || value <= 0 || (key === LOAD_TARGET_DEFAULT && value > 1)) {
      warnings.push(`load target ${key}=${value} is out of range and was ignored`);
    } else {
      out[key] = value;
    }
  }
  if (Object.keys(out).length === 0) out[LOAD_TARGET_DEFAULT] = DEFAULT_LOAD_TARGET;
  return out;
}

export function resolvePolicy(p: AutoscalerPolicy): ResolvedPolicy {
  const warnings: string[] = [];
  const settings: OperatorSettings = { ...DEFAULT_OPERATOR_SETTINGS, ...definedOnly(p.settings ?? {}) };
  if (!(settings.concurrencyPerReplica > 0)) {
    warnings.push(`concurrencyPerReplica ${settings.concurrencyPerReplica} is invalid; using ${DEFAULT_OPERATOR_SETTINGS.concurrencyPerReplica}`);
    settings.concurrencyPerReplica = DEFAULT_OPERATOR_SETTINGS.concurrencyPerReplica;
  }
  const window = (v: number | undefined, d: number): number => Math.min(duration(v, d), MAX_STABILIZATION_WINDOW_MS);
  return {
    minReplicas: count(p.minReplicas, 0),
    maxReplicas: count(p.maxReplicas, 0),
    scaleUpWindowMs: window(p.scaleUpWindowMs, DEFAULT_SCALE_UP_WINDOW_MS),
    scaleDownWindowMs: window(p.scaleDownWindowMs, DEFAULT_SCALE_DOWN_WINDOW_MS),
    scaleToZeroWindowMs: Math.max(duration(p.scaleToZeroWindowMs, DEFAULT_SCALE_TO_ZERO_WINDOW_MS), settings.minScaleToZeroWindowMs),
    loadTargets: resolveTargets(p.loadTargets, warnings),
    schedules: Object.entries(p.scalingSchedules ?? {}).map(([name, s]) => ({ ...s, name })),
    unusedAutoDeleteMs: duration(p.unusedAutoDeleteMs, DEFAULT_UNUSED_AUTO_DELETE_MS),
    quotaMaxReplicas: p.quotaMaxReplicas === undefined ? undefined : count(p.quotaMaxReplicas, 0),
    fixedReplicas: p.fixedReplicas === undefined ? undefined : count(p.fixedReplicas, 0),
    settings,
    warnings,
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The longest window the history must remember for this policy. */
export function historyHorizonMs(p: ResolvedPolicy): number {
  return Math.max(p.scaleUpWindowMs, p.scaleDownWindowMs);
}
