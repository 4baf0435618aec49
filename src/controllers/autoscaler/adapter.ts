// The Deployment CRD → the decision function's policy. The only file of this module that reads
// src/crds: durations are parsed with the CRD's own helper (`durationSeconds`, the same grammar
// the CEL rules accept), counts come from `replicaBounds`-compatible fields, and `replicaCount`
// (the scale subresource / REST `:scale`) becomes `fixedReplicas`.
import { DEPLOYMENT_DEFAULTS, type DeploymentSpec } from '../../crds/deployment.js';
import { durationSeconds } from '../../crds/duration.js';
import {
  DEFAULT_OPERATOR_SETTINGS,
  DEFAULT_SCALE_DOWN_WINDOW_MS,
  DEFAULT_SCALE_TO_ZERO_WINDOW_MS,
  DEFAULT_SCALE_UP_WINDOW_MS,
  DEFAULT_UNUSED_AUTO_DELETE_MS,
  type AutoscalerPolicy,
  type OperatorSettings,
  type ScalingSchedule,
} from './policy.js';

export interface AdapterOptions {
  /** Operator settings (the same for every deployment); unset fields keep their defaults. */
  settings?: Partial<OperatorSettings>;
  /**
   * TEST / OPERATOR OVERRIDE: replaces every deployment's effective `scaleToZeroWindow` (the CRD
   * refuses anything under 5m, so a test that wants to see scale-to-zero in seconds sets this).
   * It also lowers the operator floor `minScaleToZeroWindowMs` to itself. Unset in production.
   */
  scaleToZeroWindowOverrideMs?: number;
  /** Most replicas the account's quota allows this deployment, when known (else: no quota cap). */
  quotaMaxReplicas?: number;
}

/** Milliseconds of a CRD duration string; `fallbackMs` when absent or unparsable. */
export function durationMs(text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs;
  const s = durationSeconds(text);
  return s === undefined ? fallbackMs : Math.round(s * 1000);
}

type Spec = Pick<DeploymentSpec, 'minReplicaCount' | 'maxReplicaCount' | 'replicaCount' | 'autoscalingPolicy' | 'unusedAutoDeleteDuration'>;

/** The decision function's policy for one deployment's (parsed, defaulted) spec. */
export function policyFromSpec(spec: Spec, opts: AdapterOptions = {}): AutoscalerPolicy {
  const ap = spec.autoscalingPolicy;
  const min = spec.minReplicaCount ?? DEPLOYMENT_DEFAULTS.minReplicaCount;
  const max = spec.maxReplicaCount ?? Math.max(min, 1);
  const loadTargets: Record<string, number> = {};
  for (const [k, v] of Object.entries(ap?.loadTargets ?? {})) if (typeof v === 'number') loadTargets[k] = v;
  const schedules: Record<string, ScalingSchedule> = {};
  for (const [name, s] of Object.entries(ap?.scalingSchedules ?? {})) {
    schedules[name] = {
      minReplicas: s.minReplicaCount,
      schedule: s.schedule,
      durationMs: durationMs(s.duration, 0),
      timezone: s.timezone,
      ...(s.disabled === undefined ? {} : { disabled: s.disabled }),
    };
  }
  const override = opts.scaleToZeroWindowOverrideMs;
  const settings: Partial<OperatorSettings> = { ...opts.settings };
  if (override !== undefined) {
    settings.minScaleToZeroWindowMs = Math.min(settings.minScaleToZeroWindowMs ?? DEFAULT_OPERATOR_SETTINGS.minScaleToZeroWindowMs, override);
  }
  const policy: AutoscalerPolicy = {
    minReplicas: min,
    maxReplicas: max,
    scaleUpWindowMs: durationMs(ap?.scaleUpWindow, DEFAULT_SCALE_UP_WINDOW_MS),
    scaleDownWindowMs: durationMs(ap?.scaleDownWindow, DEFAULT_SCALE_DOWN_WINDOW_MS),
    scaleToZeroWindowMs: override ?? durationMs(ap?.scaleToZeroWindow, DEFAULT_SCALE_TO_ZERO_WINDOW_MS),
    loadTargets,
    unusedAutoDeleteMs: durationMs(spec.unusedAutoDeleteDuration, DEFAULT_UNUSED_AUTO_DELETE_MS),
    settings,
  };
  if (Object.keys(schedules).length > 0) policy.scalingSchedules = schedules;
  if (spec.replicaCount !== undefined) policy.fixedReplicas = spec.replicaCount;
  if (opts.quotaMaxReplicas !== undefined) policy.quotaMaxReplicas = opts.quotaMaxReplicas;
  return policy;
}
