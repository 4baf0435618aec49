// Fireworks `Environment` (wire) ⇄ `environments.hearth.dev` custom object.
//
// - Names: `accounts/{a}/clusters/default/environments/{e}` (the single cluster id of
//   mappers/node-pool.ts); URLs omit the cluster segment.
// - Writable: displayName, baseImageRef, shared, annotations (the spec's, under their Fireworks
//   names). Output only: name, createTime, updateTime, createdBy, state, status, connection,
//   imageRef, snapshotImageRef — accepted and ignored on input.
// - `:connect` writes the requested connection to `spec.connection` (the CRD's contract: set it to
//   connect, remove it to disconnect) and the caller to `hearth.dev/connected-by` (whose binding
//   the controller checks); the wire `connection` shows it, with the zone the controller reports.
//   The shell command of a connected environment is in `status.message` (and, for kubectl, in
//   status.connection.shellCommand). `:connect`/`:disconnect` options that are not part of the spec (vscodeVersion, force,
//   resetSnapshots) and the creator's e-mail are annotations (ENV_ANNOTATIONS).
// - State: the controller's `status.state`; CREATING until it reports. The API never writes status;
//   it derives CONNECTING for a requested connection the controller still reports DISCONNECTED, and
//   DISCONNECTING for a removed one it still reports CONNECTED (as deployments read UPDATING for an
//   unobserved generation). DELETING while the object is being removed.
import { z } from 'zod';
import { Status } from '../../crds/common.js';
import { EnvironmentConnection, EnvironmentSpecFields, EnvironmentState } from '../../crds/environment.js';
import { ANNOTATIONS, API_VERSION, LABELS } from '../../crds/group.js';
import type { CustomObject } from '../kube/kind-client.js';
import { omitUnset } from '../wire/omit.js';
import { normalizeReferences, referenceInput, type ReferenceField } from '../wire/resource-names.js';
import { CLUSTER_ID, isoOf } from './node-pool.js';

/**
 * `:connect`'s `connection.nodePoolId`: an id, `accounts/{a}/nodePools/{p}` or the cluster-scoped
 * name; stored as the id. A missing or another account's pool is 404 naming it.
 */
export const CONNECTION_NODE_POOL: ReferenceField = {
  field: 'connection.nodePoolId',
  collection: 'nodePools',
  resourceType: 'nodePool',
  stored: 'id',
  missing: 'not-found',
  cluster: CLUSTER_ID,
};

export const COLLECTION = 'environments';

/** Annotations the facade writes on Environment objects. */
export const ENV_ANNOTATIONS = {
  /** E-mail of the user whose key created the environment (wire `createdBy`). */
  createdBy: ANNOTATIONS.createdBy,
  /** RFC 3339 time of the last `:connect`. */
  connectTime: ANNOTATIONS.connectRequested,
  /** `vscodeVersion` of the last `:connect`, when given. */
  vscodeVersion: ANNOTATIONS.vscodeVersion,
  /** RFC 3339 time of the last `:disconnect`. */
  disconnectTime: ANNOTATIONS.disconnectRequested,
  /** "true" when the last `:disconnect` asked to disconnect even if snapshotting fails. */
  disconnectForce: ANNOTATIONS.disconnectForce,
  /** "true" when the last `:disconnect` asked to rebuild the snapshot layers. */
  resetSnapshots: ANNOTATIONS.resetSnapshots,
} as const;

export function environmentName(accountId: string, id: string): string {
  return `accounts/${accountId}/clusters/${CLUSTER_ID}/${COLLECTION}/${id}`;
}

// ---- wire schemas --------------------------------------------------------------------------------

const timestampOut = z.string().describe('RFC 3339 timestamp.');

/** The connection as the wire shows it: the requested one plus the zone (output only). */
const ConnectionOut = EnvironmentConnection.extend({ zone: z.string().optional().describe('Output only. The zone of the last connection.') });

const OUTPUT_ONLY = {
  name: z.string().describe('Output only. accounts/{account}/clusters/{cluster}/environments/{environment}.'),
  createTime: timestampOut.describe('Output only. Creation time.'),
  updateTime: timestampOut.describe('Output only. Last update time.'),
  createdBy: z.string().describe('Output only. E-mail of the creator.'),
  state: EnvironmentState.describe('Output only. The state of the environment.'),
  status: Status.describe('Output only. The current error, if any.'),
  connection: ConnectionOut.describe('Output only. The current connection; set with :connect, removed with :disconnect.'),
  imageRef: z.string().describe('Output only. Immutable snapshot of the base image taken at creation.'),
  snapshotImageRef: z.string().describe('Output only. Latest snapshot image.'),
};
export const OUTPUT_ONLY_FIELDS: readonly string[] = Object.keys(OUTPUT_ONLY);

const { connection: _connection, ...WRITABLE } = EnvironmentSpecFields.shape;
export const WRITABLE_FIELDS: readonly string[] = Object.keys(WRITABLE);

const ignoredOnInput = Object.fromEntries(
  Object.entries(OUTPUT_ONLY).map(([k, v]) => [k, z.unknown().optional().describe(`${v.description ?? ''} Ignored on input.`)]),
) as Record<keyof typeof OUTPUT_ONLY, z.ZodOptional<z.ZodUnknown>>;

export const EnvironmentInput = z.strictObject({ ...WRITABLE, ...ignoredOnInput }).describe('The properties of the environment being created.');

/** POST body: the `{environment, environmentId}` wrapper (both required). */
export const CreateEnvironmentBody = z
  .strictObject({
    environment: EnvironmentInput,
    environmentId: z.string().describe('The environment id to use in the environment name, e.g. my-env.'),
  })
  .describe('The environment to create and its id.');

export const UpdateEnvironmentBody = z
  .strictObject({ ...WRITABLE, ...ignoredOnInput })
  .partial()
  .describe('The fields to change (displayName, baseImageRef, shared, annotations); the update mask is the set of fields present (or `updateMask`).');

export const EnvironmentResponse = z
  .object({ ...WRITABLE, ...Object.fromEntries(Object.entries(OUTPUT_ONLY).map(([k, v]) => [k, v.optional()])) })
  .partial()
  .describe('A Fireworks Environment.');

/** `:connect` body. */
export const ConnectBody = z
  .strictObject({
    connection: z
      .strictObject({
        ...EnvironmentConnection.shape,
        nodePoolId: referenceInput(CONNECTION_NODE_POOL, 'The node pool to connect to.'),
        zone: z.unknown().optional().describe('Output only; ignored on input.'),
      })
      .describe('The node pool to connect to and how.'),
    vscodeVersion: z.string().max(256).optional().describe('VSCode version of the client that initiated the connect request.'),
  })
  .describe('Connect the environment to a node pool.');

/** `:disconnect` body. */
export const DisconnectBody = z
  .strictObject({
    force: z.boolean().optional().describe('Disconnect even if snapshotting fails.'),
    resetSnapshots: z.boolean().optional().describe('Rebuild the snapshot layers.'),
  })
  .describe('Disconnect the environment from its node pool.');

export const ATOMIC_PATHS = ['annotations'] as const;

// ---- object → wire -------------------------------------------------------------------------------

export type EnvironmentStateName = z.infer<typeof EnvironmentState>;

export function requestedConnection(obj: CustomObject): Record<string, unknown> | undefined {
  const c = obj.spec.connection;
  return c !== null && typeof c === 'object' ? (c as Record<string, unknown>) : undefined;
}

function observedConnection(obj: CustomObject): Record<string, unknown> | undefined {
  const c = obj.status?.connection;
  return c !== null && typeof c === 'object' ? (c as Record<string, unknown>) : undefined;
}

export function wireState(obj: CustomObject): EnvironmentStateName {
  if (obj.metadata.deletionTimestamp !== undefined) return 'DELETING';
  const reported = obj.status?.state as EnvironmentStateName | undefined;
  if (!reported || reported === 'STATE_UNSPECIFIED') return 'CREATING';
  const requested = requestedConnection(obj) !== undefined;
  if (reported === 'DISCONNECTED' && requested) return 'CONNECTING';
  if (reported === 'CONNECTED' && !requested) return 'DISCONNECTING';
  return reported;
}

export function toWire(obj: CustomObject, accountId: string): Record<string, unknown> {
  const { connection: _requested, ...spec } = structuredClone(obj.spec);
  const status = obj.status ?? {};
  const createTime = isoOf(obj.metadata.creationTimestamp);
  const observed = observedConnection(obj);
  const requested = requestedConnection(obj);
  const connection = requested ? { ...requested, zone: observed?.zone } : observed;
  return omitUnset({
    name: environmentName(accountId, obj.metadata.name),
    ...spec,
    createTime,
    updateTime: isoOf(status.updateTime) ?? createTime,
    createdBy: obj.metadata.annotations?.[ENV_ANNOTATIONS.createdBy],
    state: wireState(obj),
    status: status.status,
    connection,
    imageRef: status.imageRef,
    snapshotImageRef: status.snapshotImageRef,
  });
}

// ---- wire → object -------------------------------------------------------------------------------

export function specFromWire(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (!OUTPUT_ONLY_FIELDS.includes(k) && v !== undefined) out[k] = v;
  return out;
}

export function newEnvironmentObject(args: { accountId: string; namespace: string; id: string; spec: Record<string, unknown>; createdBy: string }): CustomObject {
  return {
    apiVersion: API_VERSION,
    kind: 'Environment',
    metadata: {
      name: args.id,
      namespace: args.namespace,
      labels: { [LABELS.account]: args.accountId },
      annotations: { [ENV_ANNOTATIONS.createdBy]: args.createdBy },
    },
    spec: args.spec,
  };
}

/** The requested connection as the spec stores it (the output-only zone dropped). */
export function connectionFromWire(connection: Record<string, unknown>, callerAccountId: string): Record<string, unknown> {
  const { zone: _zone, ...rest } = connection;
  const out = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  normalizeReferences({ connection: out }, [CONNECTION_NODE_POOL], callerAccountId);
  return out;
}
