// The last decisions, for `status`: what changed and why. Appends when the count or soft-delete
// flag changes, or when the reason changes to one worth telling (a limit, an override, stale
// metrics); not for a steady deployment's every tick, nor for load flickering in and out of a
// stabilization window. The latest decision, whatever it is, belongs in its own status field.

import { Reason, type Decision, type DecisionInputs } from './decide.js';
import { rfc3339 } from '../../util/rfc3339.js';

/** Reasons that do not earn a log entry on their own (without a change of count). */
const QUIET_REASONS: ReadonlySet<Reason> = new Set<Reason>([
  Reason.Steady,
  Reason.ScaleUpStabilizing,
  Reason.ScaleDownStabilizing,
  Reason.AwaitingScaleToZero,
]);

export const DECISION_LOG_LIMIT = 10;

/**
 * One entry of the status log, named as the Deployment CRD's `status.scalingDecisions[]`
 * (`time`, `fromReplicas`, `toReplicas`, `reason`, `message`). `time` is RFC 3339; `inputs`
 * keep ms, as the decision has them.
 */
export interface DecisionRecord {
  time: string;
  fromReplicas: number;
  toReplicas: number;
  reason: Reason;
  message: string;
  softDelete: boolean;
  inputs: DecisionInputs;
}

export function toRecord(d: Decision): DecisionRecord {
  return {
    time: rfc3339(d.at),
    fromReplicas: d.previousReplicas,
    toReplicas: d.desiredReplicas,
    reason: d.reason,
    message: d.message,
    softDelete: d.softDelete,
    inputs: d.inputs,
  };
}

/** Whether `d` earns an entry after `last`. */
export function isNoteworthy(last: DecisionRecord | undefined, d: Decision): boolean {
  if (!last) return true;
  if (last.toReplicas !== d.desiredReplicas || last.softDelete !== d.softDelete) return true;
  return last.reason !== d.reason && !QUIET_REASONS.has(d.reason);
}

/**
 * The log with `d` appended if it is noteworthy, newest last, at most `limit` entries. Returns
 * the same array when nothing was appended, so callers can skip the status write.
 */
export function appendDecision(log: readonly DecisionRecord[], d: Decision, limit = DECISION_LOG_LIMIT): readonly DecisionRecord[] {
  if (!isNoteworthy(log[log.length - 1], d)) return log;
  const next = [...log, toRecord(d)];
  return next.length > limit ? next.slice(next.length - limit) : next;
}
