// Fireworks `SupervisedFineTuningJob` (gatewaySupervisedFineTuningJob, wire) ⇄ `sftjobs.hearth.dev`
// custom object.
//
// - The spec holds the writable Fireworks fields under their Fireworks names; the wire adds the
//   output-only ones: `name` (accounts/{a}/supervisedFineTuningJobs/{id}), `createTime`,
//   `completedTime`, `updateTime`, `state`, `status`, `createdBy` (annotation written at create),
//   `jobProgress`, `trainerLogsSignedUrl`, `metricsFileSignedUrl`, `wandbConfig.url`
//   (status.wandbUrl), and `outputModel` once the controller has written the model.
// - Deprecated fields (`nodes`, `mtp*`) and `estimatedCost` are accepted and ignored.
// - `:cancel` and `:resume` write annotations (see JOB_ANNOTATIONS); until the controller reports,
//   a cancelled job reads JOB_STATE_CANCELLING and a resumed one JOB_STATE_RE_QUEUEING.
import { z } from 'zod';
import { Status } from '../../crds/common.js';
import { API_VERSION, LABELS } from '../../crds/group.js';
import { JobProgress, JobState, SFTJobSpecFields, WandbConfig } from '../../crds/sft-job.js';
import { SFT_ANNOTATIONS, parseProgress } from '../../crds/sft-trainer.js';
import type { JobState as JobStateName } from '../../crds/sft-job.js';
import type { CustomObject } from '../kube/kind-client.js';
import { omitUnset } from '../wire/omit.js';
import { SHARED_ACCOUNT, modelReference, referenceInput, type ReferenceField } from '../wire/resource-names.js';
import { JOB_ANNOTATIONS, isoOf } from './batch-job.js';

export const COLLECTION = 'supervisedFineTuningJobs';

/**
 * The fields naming other resources, in either form (an id of the caller's account or a full name):
 * datasets and models are stored as full names; `outputModel` (the model the job creates, of the
 * caller's account) as the id. A missing or another account's dataset is 400 naming the field.
 */
export const REFERENCES: readonly ReferenceField[] = [
  { field: 'dataset', collection: 'datasets', resourceType: 'dataset', stored: 'name', missing: 'invalid-argument', shared: [SHARED_ACCOUNT] },
  { field: 'evaluationDataset', collection: 'datasets', resourceType: 'dataset', stored: 'name', missing: 'invalid-argument', shared: [SHARED_ACCOUNT] },
  modelReference('baseModel'),
  modelReference('warmStartFrom'),
  { field: 'outputModel', collection: 'models', resourceType: 'model', stored: 'id', missing: 'invalid-argument', output: true },
];

export function sftJobName(accountId: string, id: string): string {
  return `accounts/${accountId}/${COLLECTION}/${id}`;
}

// ---- wire schemas ---------------------------------------------------------------------------------

const timestampOut = z.string().describe('RFC 3339 timestamp.');

const OUTPUT_ONLY = {
  name: z.string().describe('Output only. accounts/{account}/supervisedFineTuningJobs/{job}.'),
  createTime: timestampOut.describe('Output only. Creation time.'),
  completedTime: timestampOut.describe('Output only. When the job completed.'),
  updateTime: timestampOut.describe('Output only. Last update time.'),
  state: JobState.describe('Output only. The state of the job.'),
  status: Status.describe('Output only. Details of the most recent failure.'),
  createdBy: z.string().describe('Output only. E-mail of the user who created the job.'),
  jobProgress: JobProgress.describe('Output only. Progress of the job.'),
  trainerLogsSignedUrl: z.string().describe('Output only. Signed URL of the trainer logs.'),
  estimatedCost: z
    .object({ currencyCode: z.string(), units: z.string(), nanos: z.int32() })
    .partial()
    .describe('Output only. Estimated cost (not computed by Hearth).'),
  metricsFileSignedUrl: z.string().describe('Signed URL of the metrics file (written by the controller; ignored on input).'),
  trainingProgress: z
    .object({
      step: z.int32().describe('Latest step the trainer reported.'),
      totalSteps: z.int32().describe('Steps of the whole run.'),
      trainLoss: z.number().describe('Latest training loss.'),
      evalLoss: z.number().describe('Latest evaluation loss.'),
      lossCurve: z.array(z.object({ step: z.int32(), loss: z.number() })).describe('The training loss by step (at most 200 points, thinned evenly on long runs).'),
    })
    .partial()
    .describe('Output only. Hearth extension: the trainer\'s step, losses and training loss curve.'),
};
/** Deprecated in the published spec; accepted and ignored. */
const DEPRECATED = ['nodes', 'mtpEnabled', 'mtpNumDraftTokens', 'mtpFreezeBaseModel'] as const;
export const IGNORED_FIELDS: readonly string[] = [...Object.keys(OUTPUT_ONLY), ...DEPRECATED];

const WandbConfigWire = WandbConfig.extend({ url: z.string().optional().describe('Output only. The run URL.') });

const WRITABLE = {
  ...SFTJobSpecFields.shape,
  wandbConfig: WandbConfigWire.optional(),
  // Either form on the wire (REFERENCES); the spec keeps the id.
  outputModel: referenceInput(REFERENCES.find((r) => r.field === 'outputModel')!, 'The model the job creates. Default: the job id.'),
};
export const WRITABLE_FIELDS: readonly string[] = Object.keys(WRITABLE);

const ignoredOnInput = Object.fromEntries(
  IGNORED_FIELDS.map((k) => [k, z.unknown().optional().describe(`${(OUTPUT_ONLY as Record<string, z.ZodType>)[k]?.description ?? 'Deprecated.'} Ignored on input.`)]),
) as Record<string, z.ZodOptional<z.ZodUnknown>>;

/** POST body: the resource (`dataset` required). Unknown fields are rejected; output-only ones ignored. */
export const CreateSFTJobBody = z.strictObject({ ...WRITABLE, ...ignoredOnInput }).describe('The supervised fine-tuning job to create.');

export const SFTJobResponse = z
  .object({ ...WRITABLE, ...OUTPUT_ONLY })
  .partial()
  .describe('A Fireworks SupervisedFineTuningJob.');

// ---- states ---------------------------------------------------------------------------------------

/** States a job does not leave by itself. */
export const FINAL_STATES: readonly JobStateName[] = [
  'JOB_STATE_COMPLETED',
  'JOB_STATE_FAILED',
  'JOB_STATE_CANCELLED',
  'JOB_STATE_EXPIRED',
  'JOB_STATE_EARLY_STOPPED',
  'JOB_STATE_DELETED',
];
const DELETING_STATES: readonly JobStateName[] = ['JOB_STATE_DELETING', 'JOB_STATE_DELETING_CLEANING_UP', 'JOB_STATE_DELETED'];

/** `:resume` applies to jobs stopped before completing: failed, cancelled or paused. */
export const RESUMABLE_STATES: readonly JobStateName[] = ['JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_PAUSED'];

/** `:cancel` applies to jobs that have not finished and are not on their way out. */
export function isCancellable(state: JobStateName): boolean {
  return !FINAL_STATES.includes(state) && !DELETING_STATES.includes(state) && state !== 'JOB_STATE_CANCELLING';
}

function annotationTime(obj: CustomObject, key: string): number | undefined {
  const v = obj.metadata.annotations?.[key];
  const t = v === undefined ? NaN : Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/** The controller has not reported since `t` (its status.updateTime is older, or absent). */
function unobservedSince(obj: CustomObject, t: number): boolean {
  const u = isoOf(obj.status?.updateTime);
  return u === undefined || Date.parse(u) < t;
}

/** The Fireworks state, from the controller's status and the API's marks. */
export function wireState(obj: CustomObject): JobStateName {
  if (obj.metadata.deletionTimestamp !== undefined) return 'JOB_STATE_DELETING';
  const reported = obj.status?.state as JobStateName | undefined;
  const state: JobStateName = !reported || reported === 'JOB_STATE_UNSPECIFIED' ? 'JOB_STATE_CREATING' : reported;
  const resumeAt = annotationTime(obj, JOB_ANNOTATIONS.resumeRequested);
  if (resumeAt !== undefined && RESUMABLE_STATES.includes(state) && unobservedSince(obj, resumeAt)) return 'JOB_STATE_RE_QUEUEING';
  if (obj.metadata.annotations?.[JOB_ANNOTATIONS.cancelRequested] !== undefined && !FINAL_STATES.includes(state) && !DELETING_STATES.includes(state)) {
    return 'JOB_STATE_CANCELLING';
  }
  return state;
}

/** The wire resource for a custom object of account `accountId`. */
export function toWire(obj: CustomObject, accountId: string): Record<string, unknown> {
  const spec = structuredClone(obj.spec ?? {});
  const status = obj.status ?? {};
  const createTime = isoOf(obj.metadata.creationTimestamp);
  const wandbUrl = typeof status.wandbUrl === 'string' ? status.wandbUrl : undefined;
  const wandbConfig = spec.wandbConfig || wandbUrl ? { ...(spec.wandbConfig as Record<string, unknown> | undefined), url: wandbUrl } : undefined;
  return omitUnset({
    name: sftJobName(accountId, obj.metadata.name),
    ...spec,
    wandbConfig,
    outputModel: (status.outputModel as string | undefined) ?? spec.outputModel,
    createTime,
    completedTime: isoOf(status.completedTime),
    updateTime: isoOf(status.updateTime) ?? createTime,
    createdBy: obj.metadata.annotations?.[JOB_ANNOTATIONS.createdBy],
    state: wireState(obj),
    status: status.status,
    jobProgress: liveProgress(obj),
    trainingProgress: trainingProgress(obj),
    metricsFileSignedUrl: status.metricsFileSignedUrl,
    trainerLogsSignedUrl: status.trainerLogsSignedUrl,
  });
}

/**
 * `jobProgress`: the controller's, or, while the job trains, the trainer's latest report (kept on the
 * job by the trainer endpoint) when it is newer: the REST view shows a report at once.
 */
function liveProgress(obj: CustomObject): unknown {
  const kept = obj.status?.jobProgress as Record<string, unknown> | undefined;
  const p = parseProgress(obj.metadata.annotations?.[SFT_ANNOTATIONS.trainerProgress]);
  const attempt = (obj.status?.training as { attempt?: number } | undefined)?.attempt ?? 0;
  if (!p?.totalSteps || p.attempt !== attempt || obj.status?.state !== 'JOB_STATE_RUNNING') return kept;
  const epochs = typeof obj.spec?.epochs === 'number' ? obj.spec.epochs : 1;
  return {
    ...kept,
    percent: Math.min(99, Math.floor((p.step * 100) / p.totalSteps)),
    epoch: Math.min(epochs - 1, Math.floor((p.step * epochs) / p.totalSteps)),
    ...(p.tokensProcessed !== undefined ? { inputTokens: Math.min(p.tokensProcessed, 2 ** 31 - 1) } : {}),
  };
}

/**
 * `trainingProgress` (Hearth extension): step, total steps and losses of the trainer's latest report
 * (else of status.training, as the controller copied them), and the loss curve the API keeps.
 */
function trainingProgress(obj: CustomObject): Record<string, unknown> | undefined {
  const t = (obj.status?.training ?? {}) as { step?: number; totalSteps?: number; trainLoss?: number; evalLoss?: number };
  const p = parseProgress(obj.metadata.annotations?.[SFT_ANNOTATIONS.trainerProgress]);
  const latest = p && (t.step === undefined || p.step >= t.step) ? p : t;
  const out = omitUnset({
    step: latest.step,
    totalSteps: latest.totalSteps ?? t.totalSteps,
    trainLoss: latest.trainLoss ?? t.trainLoss,
    evalLoss: latest.evalLoss ?? t.evalLoss,
    lossCurve: p?.lossCurve?.length ? p.lossCurve.map(([step, loss]) => ({ step, loss })) : undefined,
  });
  return Object.keys(out).length ? out : undefined;
}

// ---- wire → object --------------------------------------------------------------------------------

/** The writable part of a wire body (output-only, deprecated and `wandbConfig.url` dropped). */
export function specFromWire(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (!IGNORED_FIELDS.includes(k) && v !== undefined) out[k] = structuredClone(v);
  const wandb = out.wandbConfig;
  if (wandb && typeof wandb === 'object' && !Array.isArray(wandb)) delete (wandb as Record<string, unknown>).url;
  return out;
}

export function newSFTJobObject(args: { accountId: string; namespace: string; id: string; spec: Record<string, unknown>; createdBy?: string }): CustomObject {
  return {
    apiVersion: API_VERSION,
    kind: 'SFTJob',
    metadata: {
      name: args.id,
      namespace: args.namespace,
      labels: { [LABELS.account]: args.accountId },
      ...(args.createdBy ? { annotations: { [JOB_ANNOTATIONS.createdBy]: args.createdBy } } : {}),
    },
    spec: args.spec,
  };
}
