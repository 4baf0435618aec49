// Fireworks `BatchInferenceJob` (gatewayBatchInferenceJob, wire) ⇄ `batchinferencejobs.hearth.dev`
// custom object.
//
// - The spec holds the writable Fireworks fields under their Fireworks names (dataset references as
//   full names, `accounts/{a}/datasets/{d}`, whichever form was sent); the wire adds the output-only
//   ones: `name`, `createTime`, `createdBy` (annotation written at create), `state`, `status`,
//   `updateTime`, `jobProgress`, and what the controller resolved (`model`, the datasets) for a
//   continuation that left them out.
// - The published API has no update and no cancel. Hearth adds `:cancel` (spec.cancelRequested):
//   the job stops and keeps what it answered; until the controller reports it reads
//   JOB_STATE_CANCELLING.
import { z } from 'zod';
import { BatchInferenceJobSpecFields } from '../../crds/batch-inference-job.js';
import { Status } from '../../crds/common.js';
import { API_VERSION, LABELS } from '../../crds/group.js';
import { JobProgress, JobState } from '../../crds/sft-job.js';
import type { JobState as JobStateName } from '../../crds/sft-job.js';
import type { CustomObject } from '../kube/kind-client.js';
import { omitUnset } from '../wire/omit.js';
import { JOB_ANNOTATIONS, isoOf } from './batch-job.js';

export const COLLECTION = 'batchInferenceJobs';

export function batchInferenceJobName(accountId: string, id: string): string {
  return `accounts/${accountId}/${COLLECTION}/${id}`;
}

export const datasetName = (accountId: string, id: string): string => `accounts/${accountId}/datasets/${id}`;

// ---- wire schemas ---------------------------------------------------------------------------------

const timestampOut = z.string().describe('RFC 3339 timestamp.');

const OUTPUT_ONLY = {
  name: z.string().describe('Output only. accounts/{account}/batchInferenceJobs/{job}.'),
  createTime: timestampOut.describe('Output only. Creation time.'),
  createdBy: z.string().describe('Output only. E-mail of the user who created the job.'),
  state: JobState.describe('Output only. The state of the job.'),
  status: Status.describe('Output only. Details of the state (the failure, for a FAILED job).'),
  updateTime: timestampOut.describe('Output only. Last update time.'),
  jobProgress: JobProgress.describe('Output only. Lines answered (successfully or with an error) out of the input lines.'),
};
export const OUTPUT_ONLY_FIELDS: readonly string[] = Object.keys(OUTPUT_ONLY);

/** Hearth's own spec fields, not on the published wire. */
const HEARTH_ONLY = ['maxConcurrency', 'cancelRequested'] as const;

const WRITABLE = BatchInferenceJobSpecFields.omit({ maxConcurrency: true, cancelRequested: true }).shape;
export const WRITABLE_FIELDS: readonly string[] = Object.keys(WRITABLE);

const ignoredOnInput = Object.fromEntries(
  OUTPUT_ONLY_FIELDS.map((k) => [k, z.unknown().optional().describe(`${(OUTPUT_ONLY as Record<string, z.ZodType>)[k]?.description ?? ''} Ignored on input.`)]),
) as Record<string, z.ZodOptional<z.ZodUnknown>>;

/** POST body: the resource. Unknown fields are rejected; output-only ones ignored. */
export const CreateBatchInferenceJobBody = z
  .strictObject({ ...WRITABLE, ...ignoredOnInput })
  .describe('The batch inference job to create: model and inputDatasetId (unless continuedFromJobName), optionally outputDatasetId and inferenceParameters.');

export const BatchInferenceJobResponse = z
  .object({ ...WRITABLE, ...OUTPUT_ONLY })
  .partial()
  .describe('A Fireworks BatchInferenceJob.');

// ---- states ---------------------------------------------------------------------------------------

export const FINAL_STATES: readonly JobStateName[] = ['JOB_STATE_COMPLETED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED'];

/** The Fireworks state, from the controller's status and the API's marks. */
export function wireState(obj: CustomObject): JobStateName {
  if (obj.metadata.deletionTimestamp !== undefined) return 'JOB_STATE_DELETING';
  const reported = obj.status?.state as JobStateName | undefined;
  const state: JobStateName = !reported || reported === 'JOB_STATE_UNSPECIFIED' ? 'JOB_STATE_CREATING' : reported;
  if (obj.spec.cancelRequested === true && !FINAL_STATES.includes(state)) return 'JOB_STATE_CANCELLING';
  return state;
}

/** A dataset reference as the wire shows it: the full name (the controller reports bare ids). */
function datasetRef(accountId: string, v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  return v.startsWith('accounts/') ? v : datasetName(accountId, v);
}

/** The wire resource for a custom object of account `accountId`. */
export function toWire(obj: CustomObject, accountId: string): Record<string, unknown> {
  const spec = structuredClone(obj.spec ?? {});
  for (const k of HEARTH_ONLY) delete spec[k];
  const status = obj.status ?? {};
  const createTime = isoOf(obj.metadata.creationTimestamp);
  return omitUnset({
    name: batchInferenceJobName(accountId, obj.metadata.name),
    ...spec,
    model: spec.model ?? status.model,
    inputDatasetId: datasetRef(accountId, spec.inputDatasetId ?? status.inputDatasetId),
    outputDatasetId: datasetRef(accountId, status.outputDatasetId ?? spec.outputDatasetId),
    createTime,
    updateTime: isoOf(status.updateTime) ?? createTime,
    createdBy: obj.metadata.annotations?.[JOB_ANNOTATIONS.createdBy],
    state: wireState(obj),
    status: status.status,
    jobProgress: status.jobProgress,
  });
}

// ---- wire → object --------------------------------------------------------------------------------

/** The writable part of a wire body (output-only fields dropped). */
export function specFromWire(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (!OUTPUT_ONLY_FIELDS.includes(k) && v !== undefined) out[k] = structuredClone(v);
  return out;
}

export function newBatchInferenceJobObject(args: { accountId: string; namespace: string; id: string; spec: Record<string, unknown>; createdBy?: string }): CustomObject {
  return {
    apiVersion: API_VERSION,
    kind: 'BatchInferenceJob',
    metadata: {
      name: args.id,
      namespace: args.namespace,
      labels: { [LABELS.account]: args.accountId },
      ...(args.createdBy ? { annotations: { [JOB_ANNOTATIONS.createdBy]: args.createdBy } } : {}),
    },
    spec: args.spec,
  };
}
