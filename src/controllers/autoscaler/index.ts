// The autoscaler's decision function and its inputs. See decide.ts for the pipeline and README.md
// for the semantics chosen where the product docs are silent.
export { decide, targetRecommendations, Reason, type Decision, type DecisionInputs } from './decide.js';
export { appendDecision, isNoteworthy, toRecord, DECISION_LOG_LIMIT, type DecisionRecord } from './decision-log.js';
export {
  newHistory,
  observe,
  recordRecommendation,
  windowExtremes,
  MAX_STEPS,
  type AutoscalerHistory,
  type LoadSample,
  type RecommendationStep,
} from './history.js';
export {
  resolvePolicy,
  DEFAULT_OPERATOR_SETTINGS,
  DEFAULT_LOAD_TARGET,
  DEFAULT_SCALE_DOWN_WINDOW_MS,
  DEFAULT_SCALE_TO_ZERO_WINDOW_MS,
  DEFAULT_SCALE_UP_WINDOW_MS,
  DEFAULT_UNUSED_AUTO_DELETE_MS,
  LOAD_TARGET_DEFAULT,
  LOAD_TARGET_TOKENS,
  type AutoscalerPolicy,
  type LoadTargets,
  type OperatorSettings,
  type ScalingSchedule,
} from './policy.js';
export { CronError, parseCron, assertTimeZone, lastFireAtOrBefore } from './cron.js';
export { activeWindow, scheduleFloor } from './schedules.js';
export { durationMs, policyFromSpec, type AdapterOptions } from './adapter.js';
export { Autoscaler, appendStatusDecision, statusRecord, type AutoscalerOptions, type LoadSource } from './autoscaler.js';
export { kubeSoftDelete, softDeletePatch, type SoftDelete, type SoftDeleteTarget } from './soft-delete.js';
