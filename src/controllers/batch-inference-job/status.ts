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

/** The next status: `prev` with the outcome applied; times move only when the state changes. */
export function computeStatus(prev: BatchInferenceJobStatus | undefined, outcome: Outcome, generation: number | undefined, now: Date): BatchInferenceJobStatus {
  const changed = prev?.state !== outcome.state;
  const at = rfc3339(now);
  const resolved = outcome.resolved ?? {};
  const progress =
    'progress' in outcome && outcome.progress ? jobProgress(outcome.progress, outcome.state) : prev?.jobProgress;
  const message =
    outcome.state === 'JOB_STATE_FAILED'
      ? outcome.message
      : outcome.state === 'JOB_STATE_CANCELLED'
        ? 'cancelled: the lines answered so far are in the output'
        : undefined;
  const code: Code = outcome.state === 'JOB_STATE_FAILED' ? outcome.code : outcome.state === 'JOB_STATE_CANCELLED' ? 'CANCELLED' : 'OK';
  const next: BatchInferenceJobStatus = {
    ...prev,
    state: outcome.state,
    status: { code, ...(message !== undefined ? { message } : {}) },
    ...resolved,
    ...(progress ? { jobProgress: progress } : {}),
    ...(outcome.state === 'JOB_STATE_RUNNING' && !prev?.startTime ? { startTime: at } : {}),
    ...(isFinal(outcome.state) && changed ? { completedTime: at } : {}),
    updateTime: changed ? at : (prev?.updateTime ?? at),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: setCondition(
      prev?.conditions,
      {
        type: 'Ready',
        status: outcome.state === 'JOB_STATE_COMPLETED' ? 'True' : 'False',
        reason: READY_REASON[outcome.state] ?? 'Reconciling',
        message: message ?? '',
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
      },
      now,
    ),
  };
  if (next.status?.message === undefined && next.status) delete next.status.message;
  return next;
}

/** One event per state change worth telling (Normal for progress, Warning for a failure). */
export function eventsFor(prev: BatchInferenceJobStatus | undefined, next: BatchInferenceJobStatus): ObjectEvent[] {
  if (prev?.state === next.state) return [];
  const p = next.jobProgress;
  const counts = p ? `${p.successfullyProcessedRequests ?? 0} lines answered, ${p.failedRequests ?? 0} with an error` : '';
  switch (next.state) {
    case 'JOB_STATE_RUNNING':
      return [{ type: 'Normal', reason: 'Started', message: `running on ${next.model ?? 'the model'}, writing ${next.outputDatasetId ?? 'the output'}` }];
    case 'JOB_STATE_COMPLETED':
      return [{ type: 'Normal', reason: 'Completed', message: counts }];
    case 'JOB_STATE_CANCELLED':
      return [{ type: 'Normal', reason: 'Cancelled', message: counts }];
    case 'JOB_STATE_FAILED':
      return [{ type: 'Warning', reason: 'Failed', message: next.status?.message ?? 'failed' }];
    default:
      return [];
  }
}
