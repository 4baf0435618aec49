// Fireworks `BatchJob` (gatewayBatchJob, wire) ⇄ `batchjobs.hearth.dev` custom object.
//
// - Ids are numeric and assigned by the server (api-notes §1.3). Kubernetes object names must be
//   resource ids (a letter first, CRD rule `nameIsResourceId`), so job `17` is the object `bj-17`.
// - The wire `name` is `accounts/{a}/clusters/{c}/batchJobs/{id}` (URLs omit the cluster segment);
//   Hearth has one cluster per installation, `CLUSTER_ID` (`default`, the node pools' one).
// - The spec holds the writable Fireworks fields under their Fireworks names; the wire adds the
//   output-only ones: `name`, `createTime` (creationTimestamp), `startTime`/`endTime`/`updateTime`,
//   `createdBy` (annotation written at create), `state`, `status` (a free-text string here).
// - `:cancel` writes the annotation `hearth.dev/cancel-requested=<time>`; until the controller
//   reports a final state the job reads CANCELLING.
import { z } from 'zod';
import { BatchJobSpecFields, BatchJobState } from '../../crds/batch-job.js';
import { ANNOTATIONS, API_VERSION, LABELS } from '../../crds/group.js';
import type { CustomObject } from '../kube/kind-client.js';
import { omitUnset } from '../wire/omit.js';
import { referenceInput, type ReferenceField } from '../wire/resource-names.js';
import { CLUSTER_ID } from './node-pool.js';
import { rfc3339 } from '../../util/rfc3339.js';

export const COLLECTION = 'batchJobs';

/** Hearth's single cluster, the `{c}` of `accounts/{a}/clusters/{c}/…` names (shared with node pools). */
export { CLUSTER_ID };

/** Prefix of the object name: job `17` is `bj-17`. */
export const OBJECT_NAME_PREFIX = 'bj-';

/**
 * The node pool and environment a job runs on: an id (the spec's form), `accounts/{a}/nodePools/{p}`
 * (the docs' form) or `accounts/{a}/clusters/default/nodePools/{p}`; stored as the id. A missing or
 * another account's pool (or environment) is 404 naming the field (issue 13 item 2: another
 * account's pool is NOT_FOUND, never PERMISSION_DENIED).
 */
export const REFERENCES: readonly ReferenceField[] = [
  { field: 'nodePoolId', collection: 'nodePools', resourceType: 'nodePool', stored: 'id', missing: 'field-not-found', cluster: CLUSTER_ID },
  { field: 'environmentId', collection: 'environments', resourceType: 'environment', stored: 'id', missing: 'field-not-found', cluster: CLUSTER_ID },
];

/** Marks the API writes on job objects (BatchJob and SFTJob); the controllers read them. */
export const JOB_ANNOTATIONS = {
  /** RFC 3339 time of the last `:cancel`; its presence means "cancel requested". */
  cancelRequested: ANNOTATIONS.cancelRequested,
  /** RFC 3339 time of the last `:resume` (SFT jobs). */
  resumeRequested: ANNOTATIONS.resumeRequested,
  /** E-mail of the user whose key created the job (wire `createdBy`). */
  createdBy: ANNOTATIONS.createdBy,
} as const;

/** Numeric ids: 1–16 digits, no leading zero (exact as a JS number, int64-safe). */
const NUMERIC_ID = /^[1-9][0-9]{0,15}$/;

export function isBatchJobId(id: string): boolean {
  return NUMERIC_ID.test(id);
}

export function objectNameOf(id: string): string {
  return `${OBJECT_NAME_PREFIX}${id}`;
}

/** The numeric id of an object name (`bj-17` → `17`), undefined for objects not named by the API. */
export function idOfObjectName(name: string): string | undefined {
  if (!name.startsWith(OBJECT_NAME_PREFIX)) return undefined;
  const id = name.slice(OBJECT_NAME_PREFIX.length);
  return isBatchJobId(id) ? id : undefined;
}

export function batchJobName(accountId: string, id: string): string {
  return `accounts/${accountId}/clusters/${CLUSTER_ID}/${COLLECTION}/${id}`;
}

// ---- wire schemas ---------------------------------------------------------------------------------

const timestampOut = z.string().describe('RFC 3339 timestamp.');

const OUTPUT_ONLY = {
  name: z.string().describe('Output only. accounts/{account}/clusters/{cluster}/batchJobs/{batchJob}.'),
  createTime: timestampOut.describe('Output only. Creation time.'),
  startTime: timestampOut.describe('Output only. When the job started running.'),
  endTime: timestampOut.describe('Output only. When the job finished.'),
  updateTime: timestampOut.describe('Output only. Last update time.'),
  createdBy: z.string().describe('Output only. E-mail of the user who created the job.'),
  state: BatchJobState.describe('Output only. The state of the batch job.'),
  status: z.string().describe('Output only. Free-text detail of the state.'),
};
export const OUTPUT_ONLY_FIELDS: readonly string[] = Object.keys(OUTPUT_ONLY);

// The references take either form on the wire (REFERENCES); the spec keeps the ids.
const WRITABLE = {
  ...BatchJobSpecFields.shape,
  nodePoolId: referenceInput(REFERENCES[0]!, 'The node pool to run on.'),
  environmentId: referenceInput(REFERENCES[1]!, 'The environment to run in; exclusive with imageRef.'),
};
export const WRITABLE_FIELDS: readonly string[] = Object.keys(WRITABLE);

/** Fields PATCH may change at any time; the others say what runs where and are fixed at create. */
export const MUTABLE_FIELDS: readonly string[] = ['displayName', 'annotations', 'shared'];

const ignoredOnInput = Object.fromEntries(
  Object.entries(OUTPUT_ONLY).map(([k, v]) => [k, z.unknown().optional().describe(`${v.description ?? ''} Ignored on input.`)]),
) as Record<keyof typeof OUTPUT_ONLY, z.ZodOptional<z.ZodUnknown>>;

/** POST body: the resource (nodePoolId required). Unknown fields are rejected; output-only ones ignored. */
export const CreateBatchJobBody = z.strictObject({ ...WRITABLE, ...ignoredOnInput }).describe('The batch job to create.');

/** PATCH body: any subset of the resource. */
export const UpdateBatchJobBody = z
  .strictObject({ ...WRITABLE, ...ignoredOnInput })
  .partial()
  .describe('The fields to change; the update mask is the set of fields present (or `updateMask`).');

export const BatchJobResponse = z
  .object({ ...WRITABLE, ...OUTPUT_ONLY })
  .partial()
  .describe('A Fireworks BatchJob.');

/** Paths of PATCH masks that replace a value as a whole (maps). */
export const ATOMIC_PATHS = ['annotations', 'envVars'] as const;

// ---- object → wire --------------------------------------------------------------------------------

export function isoOf(v: unknown): string | undefined {
  if (v instanceof Date) return rfc3339(v);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** States after which a job does not run again. */
export const FINAL_STATES: readonly BatchJobState[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** States `:cancel` applies to (docs: "if it is queued, pending, or running"; CREATING has not started either). */
export const CANCELLABLE_STATES: readonly BatchJobState[] = ['CREATING', 'QUEUED', 'PENDING', 'RUNNING'];

export function cancelRequested(obj: CustomObject): boolean {
  return obj.metadata.annotations?.[JOB_ANNOTATIONS.cancelRequested] !== undefined;
}

/** The Fireworks state, from the controller's status and the API's marks. */
export function wireState(obj: CustomObject): BatchJobState {
  if (obj.metadata.deletionTimestamp !== undefined) return 'DELETING';
  const reported = obj.status?.state as BatchJobState | undefined;
  const state: BatchJobState = !reported || reported === 'STATE_UNSPECIFIED' ? 'CREATING' : reported;
  if (cancelRequested(obj) && !FINAL_STATES.includes(state) && state !== 'DELETING') return 'CANCELLING';
  return state;
}

/** The wire resource for a custom object of account `accountId`. */
export function toWire(obj: CustomObject, accountId: string): Record<string, unknown> {
  const id = idOfObjectName(obj.metadata.name) ?? obj.metadata.name;
  const status = obj.status ?? {};
  const createTime = isoOf(obj.metadata.creationTimestamp);
  return omitUnset({
    name: batchJobName(accountId, id),
    ...structuredClone(obj.spec ?? {}),
    createTime,
    startTime: isoOf(status.startTime),
    endTime: isoOf(status.endTime),
    updateTime: isoOf(status.updateTime) ?? createTime,
    createdBy: obj.metadata.annotations?.[JOB_ANNOTATIONS.createdBy],
    state: wireState(obj),
    status: typeof status.status === 'string' ? status.status : undefined,
  });
}

// ---- wire → object --------------------------------------------------------------------------------

/** The writable part of a wire body (output-only fields dropped). */
export function specFromWire(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (!OUTPUT_ONLY_FIELDS.includes(k) && v !== undefined) out[k] = v;
  return out;
}

export function newBatchJobObject(args: { accountId: string; namespace: string; id: string; spec: Record<string, unknown>; createdBy?: string }): CustomObject {
  return {
    apiVersion: API_VERSION,
    kind: 'BatchJob',
    metadata: {
      name: objectNameOf(args.id),
      namespace: args.namespace,
      labels: { [LABELS.account]: args.accountId },
      ...(args.createdBy ? { annotations: { [JOB_ANNOTATIONS.createdBy]: args.createdBy } } : {}),
    },
    spec: args.spec,
  };
}

/** The next id to try: one more than the largest numeric id among `objects` (1 for the first job). */
export function nextBatchJobId(objects: readonly CustomObject[]): string {
  let max = 0n;
  for (const o of objects) {
    const id = idOfObjectName(o.metadata.name);
    if (id !== undefined && BigInt(id) > max) max = BigInt(id);
  }
  return String(max + 1n);
}

// ---- :getLogs ------------------------------------------------------------------------------------

export const LogEntry = z
  .object({
    logTime: timestampOut.describe('When the line was written.'),
    message: z.string().describe('The log line.'),
    rank: z.int32().describe('The rank that wrote it.'),
  })
  .partial()
  .describe('One log line of a batch job.');

export const GetLogsResponse = z
  .object({
    entries: z.array(LogEntry).optional(),
    nextPageToken: z.string().optional().describe('Token for the next page (later lines when polling).'),
  })
  .describe('Log lines of a batch job.');
