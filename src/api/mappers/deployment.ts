// Fireworks `Deployment` (wire) ⇄ `deployments.hearth.dev` custom object: the one place that knows
// how the two line up.
//
// - The spec holds the writable Fireworks fields under their Fireworks names; the wire resource adds
//   the output-only ones from metadata and status: `name` (accounts/{a}/deployments/{id}),
//   `createTime` (creationTimestamp), `updateTime`, `state`, `status`, `region`, `replicaCount`
//   (current replicas — the spec's `replicaCount` is Hearth's fixed count set by `:scale`),
//   `desiredReplicaCount`, `replicaStats`, `directRouteHandle`, `activeModelVersion`,
//   `deleteTime`/`purgeTime`.
// - Output-only fields are accepted and ignored on input (AIP-203); `expireTime` is deprecated and
//   ignored. Unknown fields are rejected.
// - Durations leave as proto3 JSON seconds (`"600s"`); Go-style input (`10m`) is accepted.
// - Soft delete: the facade marks the object with the annotation below (the request time); the
//   controller (src/controllers/deployment/reconciler.ts, same annotation) releases the GPUs, moves
//   `status.state` DELETING → DELETED with `deleteTime`/`purgeTime`, and hard-deletes it at the purge
//   time. Removing the annotation undeletes. Until the controller reports, the facade shows DELETING
//   with the request time and the purge time the retention gives.
import { z } from 'zod';
import { directRouteKeyDigest } from '../../auth/direct-route-keys.js';
import { Region, Status } from '../../crds/common.js';
import { DeploymentSpecFields, DeploymentState, ReplicaStats } from '../../crds/deployment.js';
import { ANNOTATIONS, API_VERSION, LABELS, SOFT_DELETE_RETENTION_MS } from '../../crds/group.js';
import { formatDuration, parseDuration } from '../wire/duration.js';
import { omitUnset } from '../wire/omit.js';
import { modelReference, type ReferenceField } from '../wire/resource-names.js';
import { rfc3339 } from '../../util/rfc3339.js';

export const COLLECTION = 'deployments';

/** The served model and the draft model: an id of the caller's account or a full name, stored as the full name. */
export const REFERENCES: readonly ReferenceField[] = [modelReference('baseModel'), modelReference('draftModel')];

/** Soft-delete marks written by the API (the shared contract is src/crds/group.ts ANNOTATIONS). */
export const SOFT_DELETE_ANNOTATIONS = {
  /** RFC 3339 time of the soft-delete request; its presence means "deleted, recoverable". */
  deleteTime: ANNOTATIONS.softDeleteRequested,
  /** RFC 3339 time of the last `:undelete` (the autoscaler can restart its idle clock there). */
  undeleteTime: ANNOTATIONS.undeleteTime,
} as const;

/** Retention before purge: the same default as the controller's (src/crds/group.ts). */
export const DEFAULT_SOFT_DELETE_RETENTION_MS = SOFT_DELETE_RETENTION_MS;

export interface KubeMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

/** A `deployments.hearth.dev` object as the API server returns it (plain JSON). */
export interface DeploymentObject {
  apiVersion: string;
  kind: string;
  metadata: KubeMeta;
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

// ---- wire schemas (request validation and the OpenAPI document) --------------------------------

const timestampOut = z.string().describe('RFC 3339 timestamp.');

/** Output-only fields of the wire resource: accepted on input and ignored. */
const OUTPUT_ONLY = {
  name: z.string().describe('Output only. accounts/{account}/deployments/{deployment}.'),
  createTime: timestampOut.describe('Output only. Creation time.'),
  updateTime: timestampOut.describe('Output only. Last update time.'),
  deleteTime: timestampOut.describe('Output only. When the deployment was soft-deleted.'),
  purgeTime: timestampOut.describe('Output only. When a soft-deleted deployment will be hard-deleted.'),
  state: DeploymentState.describe('Output only. The state of the deployment.'),
  status: Status.describe('Output only. Details of the most recent operation or failure.'),
  replicaCount: z.int32().describe('Output only. Current number of replicas.'),
  desiredReplicaCount: z.int32().describe('Output only. Replica count the autoscaler is driving towards.'),
  region: Region.describe('Output only. The region the deployment runs in.'),
  cluster: z.string().describe('Output only. Set when running on a BYOC cluster.'),
  directRouteHandle: z.string().describe('Output only. Hostname / PSC attachment / PrivateLink service of the direct route.'),
  activeModelVersion: z.string().describe('Output only. Model version active on the replicas.'),
  replicaStats: ReplicaStats.describe('Output only. Per-stage replica counters.'),
};
export const OUTPUT_ONLY_FIELDS: readonly string[] = [...Object.keys(OUTPUT_ONLY), 'expireTime'];

/** Writable fields on the wire: the spec's, except Hearth's fixed `replicaCount` (set by `:scale`). */
const { replicaCount: _fixedReplicas, ...WRITABLE } = DeploymentSpecFields.shape;
export const WRITABLE_FIELDS: readonly string[] = Object.keys(WRITABLE);

const ignoredOnInput = Object.fromEntries(
  Object.entries(OUTPUT_ONLY).map(([k, v]) => [k, z.unknown().optional().describe(`${v.description ?? ''} Ignored on input.`)]),
) as Record<keyof typeof OUTPUT_ONLY, z.ZodOptional<z.ZodUnknown>>;

const expireTime = z.unknown().optional().describe('Deprecated; ignored.');

/** POST body: the resource. Unknown fields are rejected; output-only ones ignored. */
export const CreateDeploymentBody = z.strictObject({ ...WRITABLE, ...ignoredOnInput, expireTime }).describe('The deployment to create.');

/** PATCH body: any subset of the resource. */
export const UpdateDeploymentBody = z
  .strictObject({ ...WRITABLE, ...ignoredOnInput, expireTime })
  .partial()
  .describe('The fields to change; the update mask is the set of fields present (or `updateMask`).');

/** The resource as the API returns it. */
export const DeploymentResponse = z
  .object({ ...WRITABLE, ...Object.fromEntries(Object.entries(OUTPUT_ONLY).map(([k, v]) => [k, v.optional()])) })
  .partial()
  .describe('A Fireworks Deployment.');

// ---- object → wire -------------------------------------------------------------------------------

function isoOf(v: unknown): string | undefined {
  if (v instanceof Date) return rfc3339(v);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** `10m` → `600s` (proto3 JSON); anything unparseable is passed through. */
function wireDuration(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return formatDuration(parseDuration(v, 'duration'));
  } catch {
    return v;
  }
}

function durationsToWire(spec: Record<string, unknown>): Record<string, unknown> {
  const out = structuredClone(spec);
  const policy = out.autoscalingPolicy as Record<string, unknown> | undefined;
  if (policy && typeof policy === 'object') {
    for (const k of ['scaleUpWindow', 'scaleDownWindow', 'scaleToZeroWindow']) if (k in policy) policy[k] = wireDuration(policy[k]);
    const schedules = policy.scalingSchedules as Record<string, Record<string, unknown>> | undefined;
    if (schedules && typeof schedules === 'object') {
      for (const s of Object.values(schedules)) if (s && typeof s === 'object' && 'duration' in s) s.duration = wireDuration(s.duration);
    }
  }
  if ('unusedAutoDeleteDuration' in out) out.unusedAutoDeleteDuration = wireDuration(out.unusedAutoDeleteDuration);
  return out;
}

export function isMarkedDeleted(obj: DeploymentObject): boolean {
  return obj.metadata.annotations?.[SOFT_DELETE_ANNOTATIONS.deleteTime] !== undefined;
}

/** Soft-deleted, or on its way out of the cluster (deletionTimestamp with finalizers pending). */
export function isDeleted(obj: DeploymentObject): boolean {
  return isMarkedDeleted(obj) || obj.metadata.deletionTimestamp !== undefined;
}

/** The Fireworks state of an object, from the controller's status and the facade's marks. */
export function wireState(obj: DeploymentObject): z.infer<typeof DeploymentState> {
  const reported = obj.status?.state as z.infer<typeof DeploymentState> | undefined;
  if (obj.metadata.deletionTimestamp !== undefined) return 'DELETING';
  if (isMarkedDeleted(obj)) return reported === 'DELETED' ? 'DELETED' : 'DELETING';
  // Not (or no longer) marked: a DELETING/DELETED left from before an undelete is stale.
  if (!reported || reported === 'STATE_UNSPECIFIED' || reported === 'DELETED' || reported === 'DELETING') return 'CREATING';
  const generation = obj.metadata.generation;
  const observed = obj.status?.observedGeneration as number | undefined;
  if (reported === 'READY' && generation !== undefined && observed !== undefined && observed < generation) return 'UPDATING';
  return reported;
}

function purgeTimeOf(deleteTime: string | undefined, retentionMs: number): string | undefined {
  const t = deleteTime === undefined ? NaN : Date.parse(deleteTime);
  return Number.isNaN(t) ? undefined : rfc3339(t + retentionMs);
}

/** The wire resource for a custom object of account `accountId`. */
export function toWire(obj: DeploymentObject, accountId: string, retentionMs = DEFAULT_SOFT_DELETE_RETENTION_MS): Record<string, unknown> {
  const { replicaCount: _fixed, ...spec } = durationsToWire(obj.spec ?? {});
  // Only digests leave the API, also for an object written before keys were digested.
  if (Array.isArray(spec.directRouteApiKeys)) spec.directRouteApiKeys = digestKeys(spec.directRouteApiKeys);
  const status = obj.status ?? {};
  const ann = obj.metadata.annotations ?? {};
  const createTime = isoOf(obj.metadata.creationTimestamp);
  const marked = isMarkedDeleted(obj);
  const deleteTime = isoOf(status.deleteTime) ?? ann[SOFT_DELETE_ANNOTATIONS.deleteTime];
  return omitUnset({
    name: `accounts/${accountId}/${COLLECTION}/${obj.metadata.name}`,
    ...spec,
    createTime,
    updateTime: isoOf(status.updateTime) ?? createTime,
    deleteTime: marked ? deleteTime : undefined,
    purgeTime: marked ? (isoOf(status.purgeTime) ?? purgeTimeOf(deleteTime, retentionMs)) : undefined,
    state: wireState(obj),
    status: status.status,
    region: status.region,
    replicaCount: status.replicaCount,
    desiredReplicaCount: status.desiredReplicaCount,
    replicaStats: status.replicaStats,
    directRouteHandle: status.directRouteHandle,
    activeModelVersion: status.activeModelVersion,
  });
}

// ---- wire → object -------------------------------------------------------------------------------

/** The writable part of a wire body (output-only and deprecated fields dropped). */
export function specFromWire(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (!OUTPUT_ONLY_FIELDS.includes(k) && v !== undefined) out[k] = v;
  // Direct route keys are stored as digests, never in plain text (src/auth/direct-route-keys.ts).
  if (Array.isArray(out.directRouteApiKeys)) out.directRouteApiKeys = digestKeys(out.directRouteApiKeys);
  return out;
}

/** Strings digested; anything else left for the schema to refuse, naming the field. */
const digestKeys = (keys: unknown[]): unknown[] => keys.map((k) => (typeof k === 'string' && k !== '' ? directRouteKeyDigest(k) : k));

/** The custom object for a new deployment (spec as the user wrote it: the API server defaults it). */
export function newDeploymentObject(args: { accountId: string; namespace: string; id: string; spec: Record<string, unknown> }): DeploymentObject {
  return {
    apiVersion: API_VERSION,
    kind: 'Deployment',
    metadata: { name: args.id, namespace: args.namespace, labels: { [LABELS.account]: args.accountId } },
    spec: args.spec,
  };
}

/** Paths of PATCH masks that replace a value as a whole (maps and lists, oneof messages). */
export const ATOMIC_PATHS = ['annotations', 'placement', 'directRouteApiKeys', 'autoscalingPolicy.loadTargets', 'autoscalingPolicy.scalingSchedules'] as const;

