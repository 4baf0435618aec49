// The status of an SFTJob from the outcome of a pass (pure), and the events a change is worth.
// `state` is the Fireworks JOB_STATE_*; the Ready condition mirrors it for kubectl (True once
// COMPLETED or EARLY_STOPPED, both of which wrote the output model); `jobProgress` carries the
// percent and epoch, `training` the rest of what the trainer reported and what Hearth chose.
import type { Code } from '../../crds/common.js';
import { setCondition } from '../../crds/conditions.js';
import type { JobState, SFTJobStatus } from '../../crds/sft-job.js';
import type { TrainerProgress } from '../../crds/sft-trainer.js';
import { rfc3339 } from '../../util/rfc3339.js';
import type { ObjectEvent } from '../runtime/writer.js';

export type Training = NonNullable<SFTJobStatus['training']>;

export const FINAL_STATES: readonly JobState[] = ['JOB_STATE_COMPLETED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_EARLY_STOPPED'];
export const isFinal = (s: JobState | undefined): boolean => s !== undefined && FINAL_STATES.includes(s);

export interface Outcome {
  state: JobState;
  /** A failure (FAILED) or why the job waits (PENDING). */
  code?: Code;
  message?: string;
  /** Fields of `training` to set (undefined values remove). */
  training?: Partial<Training>;
  outputModel?: string;
}

/** `training` fields from a trainer report. */
export function fromProgress(p: TrainerProgress): Partial<Training> {
  return {
    step: p.step,
    ...(p.totalSteps !== undefined ? { totalSteps: p.totalSteps } : {}),
    ...(p.trainLoss !== undefined ? { trainLoss: p.trainLoss } : {}),
    ...(p.evalLoss !== undefined ? { evalLoss: p.evalLoss } : {}),
    ...(p.bestEvalLoss !== undefined ? { bestEvalLoss: p.bestEvalLoss } : {}),
    ...(p.evalsSinceBest !== undefined ? { evalsSinceBest: p.evalsSinceBest } : {}),
    ...(p.tokensProcessed !== undefined ? { tokensProcessed: p.tokensProcessed } : {}),
    ...(p.lastCheckpoint ? { checkpoint: p.lastCheckpoint } : {}),
    ...(p.bestCheckpoint ? { bestCheckpoint: p.bestCheckpoint } : {}),
  };
}

function jobProgressOf(state: JobState, t: Training | undefined, epochs: number, prev: SFTJobStatus['jobProgress']): SFTJobStatus['jobProgress'] {
  if (state === 'JOB_STATE_COMPLETED' || state === 'JOB_STATE_EARLY_STOPPED') return { ...prev, percent: 100 };
  if (!t?.totalSteps || t.step === undefined) return prev;
  const percent = Math.min(99, Math.floor((t.step * 100) / t.totalSteps));
  const epoch = Math.min(epochs - 1, Math.floor((t.step * epochs) / t.totalSteps));
  return { ...prev, percent, epoch, ...(t.tokensProcessed !== undefined ? { inputTokens: Math.min(t.tokensProcessed, 2 ** 31 - 1) } : {}) };
}

const READY_REASON: Partial<Record<JobState, string>> = {
  JOB_STATE_VALIDATING: 'Validating',
  JOB_STATE_PENDING: 'Pending',
  JOB_STATE_RUNNING: 'Running',
  JOB_STATE_WRITING_RESULTS: 'WritingResults',
  JOB_STATE_COMPLETED: 'Completed',
  JOB_STATE_EARLY_STOPPED: 'EarlyStopped',
  JOB_STATE_FAILED: 'Failed',
  JOB_STATE_CANCELLING: 'Cancelling',
  JOB_STATE_CANCELLED: 'Cancelled',
};

function statusOf(o: Outcome): NonNullable<SFTJobStatus['status']> {
  if (o.state === 'JOB_STATE_FAILED') return { code: o.code ?? 'INTERNAL', message: o.message ?? 'failed' };
  if (o.state === 'JOB_STATE_CANCELLED') return { code: 'CANCELLED', message: o.message ?? 'cancelled; :resume continues from the last checkpoint' };
  return { code: 'OK', ...(o.message ? { message: o.message } : {}) };
}

/** The next status: `prev` with the outcome applied; times move only when the state changes. */
export function computeStatus(prev: SFTJobStatus | undefined, o: Outcome, generation: number | undefined, epochs: number, now: Date): SFTJobStatus {
  const at = rfc3339(now);
  const changed = prev?.state !== o.state;
  const training: Training = { ...prev?.training };
  for (const [k, v] of Object.entries(o.training ?? {})) {
    if (v === undefined) delete (training as Record<string, unknown>)[k];
    else (training as Record<string, unknown>)[k] = v;
  }
  const status = statusOf(o);
  const observed = generation !== undefined ? { observedGeneration: generation } : {};
  const progress = jobProgressOf(o.state, training, epochs, prev?.jobProgress);
  const done = o.state === 'JOB_STATE_COMPLETED' || o.state === 'JOB_STATE_EARLY_STOPPED';
  const next: SFTJobStatus = {
    ...prev,
    state: o.state,
    status,
    ...(progress ? { jobProgress: progress } : {}),
    ...(Object.keys(training).length > 0 ? { training } : {}),
    ...(o.outputModel ? { outputModel: o.outputModel } : {}),
    updateTime: changed ? at : (prev?.updateTime ?? at),
    ...(isFinal(o.state) && changed ? { completedTime: at } : {}),
    ...observed,
    conditions: setCondition(prev?.conditions, { type: 'Ready', status: done ? 'True' : 'False', reason: READY_REASON[o.state] ?? 'Reconciling', message: status.message ?? '', ...observed }, now),
  };
  if (!isFinal(o.state)) delete next.completedTime;
  return next;
}

/**
 * Events on the Ready transitions (COMPLETED, EARLY_STOPPED) and on the other ends (FAILED,
 * CANCELLED) only, as STYLE.md asks: the way there (VALIDATING → PENDING → RUNNING →
 * WRITING_RESULTS) is in the status, its message and `training` (GPU type, region, Job). Each
 * event is an API write; two more per job on the way to RUNNING cost a burst of jobs time there
 * (bench:sft, README).
 */
const EVENTS: Partial<Record<JobState, { type: ObjectEvent['type']; reason: string; message: (s: SFTJobStatus) => string }>> = {
  JOB_STATE_COMPLETED: { type: 'Normal', reason: 'Completed', message: (s) => `output model ${s.outputModel ?? ''}` },
  JOB_STATE_EARLY_STOPPED: { type: 'Normal', reason: 'EarlyStopped', message: (s) => `evaluation loss stopped improving; output model ${s.outputModel ?? ''} from checkpoint ${s.training?.bestCheckpoint ?? ''}` },
  JOB_STATE_CANCELLED: { type: 'Normal', reason: 'Cancelled', message: (s) => `stopped at step ${s.training?.step ?? 0}` },
  JOB_STATE_FAILED: { type: 'Warning', reason: 'Failed', message: (s) => s.status?.message ?? 'failed' },
};

export function eventsFor(prev: SFTJobStatus | undefined, next: SFTJobStatus): ObjectEvent[] {
  const e = prev?.state === next.state ? undefined : EVENTS[next.state];
  return e ? [{ type: e.type, reason: e.reason, message: e.message(next) }] : [];
}
