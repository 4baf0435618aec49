// The status of a BatchInferenceJob from the outcome of a pass (pure), and the events a change is
// worth. The Fireworks `state` says where the job is; the Ready condition mirrors it for kubectl
// (True once COMPLETED); jobProgress counts the answers in the output.
import type { BatchInferenceJobStatus } from '../../crds/batch-inference-job.js';
import type { Code } from '../../crds/common.js';
import { setCondition } from '../../crds/conditions.js';
import type { JobState } from '../../crds/sft-job.js';
import { rfc3339 } from '../../util/rfc3339.js';
import type { ObjectEvent } from '../runtime/writer.js';
import type { Progress } from './runner.js';

export const FINAL_STATES: readonly JobState[] = ['JOB_STATE_COMPLETED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED'];

export const isFinal = (s: JobState | undefined): boolean => s !== undefined && FINAL_STATES.includes(s);

/** What a job uses, fixed when it starts (from the spec, or the job it continues). */
export interface Resolved {
  model: string;
  inputDatasetId: string;
  outputDatasetId: string;
  /** The deployment Hearth created for the job. */
  deployment?: string;
}

export type Outcome =
  | { state: 'JOB_STATE_FAILED'; code: Code; message: string; resolved?: Partial<Resolved> }
  | { state: 'JOB_STATE_RUNNING' | 'JOB_STATE_COMPLETED' | 'JOB_STATE_CANCELLED'; resolved: Resolved; progress?: Progress };

export function jobProgress(p: Progress, state: JobState): NonNullable<BatchInferenceJobStatus['jobProgress']> {
  const processed = p.succeeded + p.failed;
  const total = p.total;
  const percent = state === 'JOB_STATE_COMPLETED' ? 100 : total ? Math.min(100, Math.floor((processed * 100) / total)) : 0;
  return {
    percent,
    ...(total !== undefined ? { totalInputRequests: total } : {}),
    totalProcessedRequests: processed,
    successfullyProcessedRequests: p.succeeded,
    failedRequests: p.failed,
    outputRows: processed,
  };
}

const READY_REASON: Partial<Record<JobState, string>> = {
  JOB_STATE_RUNNING: 'Running',
  JOB_STATE_COMPLETED: 'Completed',
  JOB_STATE_FAILED: 'Failed',
  JOB_STATE_CANCELLED: 'Cancelled',
};

const CANCELLED_MESSAGE = 'cancelled: the lines answered so far are in the output';

/** The Fireworks Status of an outcome: the failure, the cancel, or OK. */
function statusOf(outcome: Outcome): NonNullable<BatchInferenceJobStatus['status']> {
  if (outcome.state === 'JOB_STATE_FAILED') return { code: outcome.code, message: outcome.message };
  if (outcome.state === 'JOB_STATE_CANCELLED') return { code: 'CANCELLED', message: CANCELLED_MESSAGE };
  return { code: 'OK' };
}

/** startTime once RUNNING, completedTime on reaching a final state, updateTime on any state change. */
function timesOf(prev: BatchInferenceJobStatus | undefined, state: JobState, at: string): Pick<BatchInferenceJobStatus, 'startTime' | 'completedTime' | 'updateTime'> {
  const changed = prev?.state !== state;
  return {
    ...(state === 'JOB_STATE_RUNNING' && !prev?.startTime ? { startTime: at } : {}),
    ...(isFinal(state) && changed ? { completedTime: at } : {}),
    updateTime: changed ? at : (prev?.updateTime ?? at),
  };
}

/** The next status: `prev` with the outcome applied; times move only when the state changes. */
export function computeStatus(prev: BatchInferenceJobStatus | undefined, outcome: Outcome, generation: number | undefined, now: Date): BatchInferenceJobStatus {
  const progress = 'progress' in outcome && outcome.progress ? jobProgress(outcome.progress, outcome.state) : prev?.jobProgress;
  const status = statusOf(outcome);
  const observed = generation !== undefined ? { observedGeneration: generation } : {};
  return {
    ...prev,
    state: outcome.state,
    status,
    ...outcome.resolved,
    ...(progress ? { jobProgress: progress } : {}),
    ...timesOf(prev, outcome.state, rfc3339(now)),
    ...observed,
    conditions: setCondition(
      prev?.conditions,
      { type: 'Ready', status: outcome.state === 'JOB_STATE_COMPLETED' ? 'True' : 'False', reason: READY_REASON[outcome.state] ?? 'Reconciling', message: status.message ?? '', ...observed },
      now,
    ),
  };
}

const EVENTS: Partial<Record<JobState, { type: ObjectEvent['type']; reason: string; message: (s: BatchInferenceJobStatus) => string }>> = {
  JOB_STATE_RUNNING: { type: 'Normal', reason: 'Started', message: (s) => `running on ${s.model ?? 'the model'}, writing ${s.outputDatasetId ?? 'the output'}` },
  JOB_STATE_COMPLETED: { type: 'Normal', reason: 'Completed', message: (s) => counts(s) },
  JOB_STATE_CANCELLED: { type: 'Normal', reason: 'Cancelled', message: (s) => counts(s) },
  JOB_STATE_FAILED: { type: 'Warning', reason: 'Failed', message: (s) => s.status?.message ?? 'failed' },
};

function counts(s: BatchInferenceJobStatus): string {
  const p = s.jobProgress;
  return p ? `${p.successfullyProcessedRequests ?? 0} lines answered, ${p.failedRequests ?? 0} with an error` : '';
}

/** One event per state change worth telling (Normal for progress, Warning for a failure). */
export function eventsFor(prev: BatchInferenceJobStatus | undefined, next: BatchInferenceJobStatus): ObjectEvent[] {
  const e = prev?.state === next.state ? undefined : EVENTS[next.state];
  return e ? [{ type: e.type, reason: e.reason, message: e.message(next) }] : [];
}
