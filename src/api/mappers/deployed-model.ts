// Fireworks `DeployedModel` (wire, `gatewayDeployedModel`: a LoRA loaded onto a deployment) ⇄
// `deployedmodels.hearth.dev` custom object: the one place that knows how the two line up.
//
// - The spec holds the writable fields under their wire names (src/crds/deployed-model.ts); `model`
//   and `deployment` are stored as full resource names (`accounts/{a}/models/{m}`,
//   `accounts/{a}/deployments/{d}`), the shape the gateway's catalog reads.
// - Output-only: `name` (accounts/{a}/deployedModels/{id}), `createTime` (creationTimestamp),
//   `updateTime` (status.updateTime, else createTime), `state`, `status`. Accepted and ignored on
//   input (AIP-203); unknown fields are rejected.
// - State: what the DeployedModel controller reports; before it reports a DeployedModel reads
//   DEPLOYING, and UNDEPLOYING once Kubernetes is deleting it.
import { z } from 'zod';
import { Status } from '../../crds/common.js';
import { DeployedModelSpecFields, DeployedModelState } from '../../crds/deployed-model.js';
import { API_VERSION, LABELS } from '../../crds/group.js';
import type { CustomObject } from '../kube/kind-client.js';
import { omitUnset } from '../wire/omit.js';
import { modelReference, type ReferenceField } from '../wire/resource-names.js';
import { rfc3339 } from '../../util/rfc3339.js';

export const COLLECTION = 'deployedModels';

/**
 * `model` (an addon of the caller's account, a shared or another account's public one) and
 * `deployment` (the caller's): an id or a full name, stored as the full name (the gateway's form).
 */
export const REFERENCES: readonly ReferenceField[] = [
  modelReference('model'),
  { field: 'deployment', collection: 'deployments', resourceType: 'deployment', stored: 'name', missing: 'not-found' },
];

/**
 * Whether a DeployedModel's stored `spec.deployment` is deployment `id` of `accountId`: REST stores
 * the full name, a `kubectl apply`'d object may hold the bare id (the CRD takes both).
 */
export function isOnDeployment(ref: unknown, accountId: string, id: string): boolean {
  return ref === id || ref === `accounts/${accountId}/deployments/${id}`;
}

/** The quota holder of a DeployedModel (one `loras` unit each). */
export const quotaHolder = (id: string): string => `deployedModel/${id}`;

const OUTPUT_ONLY = {
  name: z.string().describe('Output only. accounts/{account}/deployedModels/{id}.'),
  createTime: z.string().describe('Output only. RFC 3339.'),
  updateTime: z.string().describe('Output only. RFC 3339.'),
  state: DeployedModelState.describe('Output only. DEPLOYING until the LoRA is loaded.'),
  status: Status.describe('Output only. Deploy/undeploy details.'),
};
export const OUTPUT_ONLY_FIELDS: readonly string[] = Object.keys(OUTPUT_ONLY);

const WRITABLE = {
  ...DeployedModelSpecFields.shape,
  model: DeployedModelSpecFields.shape.model.describe('The addon model, accounts/{account}/models/{model}. Immutable.'),
  deployment: DeployedModelSpecFields.shape.deployment.describe('The base deployment, accounts/{account}/deployments/{deployment}. Immutable.'),
};
export const WRITABLE_FIELDS: readonly string[] = Object.keys(WRITABLE);

const ignoredOnInput = Object.fromEntries(Object.keys(OUTPUT_ONLY).map((k) => [k, z.unknown().optional().describe(`Output only (${k}); ignored on input.`)])) as Record<
  keyof typeof OUTPUT_ONLY,
  z.ZodOptional<z.ZodUnknown>
>;

/** POST body: the resource (`model` and `deployment` required). */
export const CreateDeployedModelBody = z.strictObject({ ...WRITABLE, ...ignoredOnInput }).describe('The LoRA to load: which model on which deployment.');

/** PATCH body: any subset of the resource. */
export const UpdateDeployedModelBody = z
  .strictObject({ ...WRITABLE, ...ignoredOnInput })
  .partial()
  .describe('The fields to change; the update mask is the set of fields present (or `updateMask`). model and deployment are immutable.');

export const DeployedModelResponse = z
  .object({ ...WRITABLE, ...OUTPUT_ONLY })
  .partial()
  .describe('A Fireworks DeployedModel (a loaded LoRA).');

function isoOf(v: unknown): string | undefined {
  if (v instanceof Date) return rfc3339(v);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The Fireworks state: the controller's, else DEPLOYING (UNDEPLOYING while Kubernetes deletes it). */
export function wireState(obj: CustomObject): z.infer<typeof DeployedModelState> {
  if (obj.metadata.deletionTimestamp !== undefined) return 'UNDEPLOYING';
  const reported = obj.status?.state as z.infer<typeof DeployedModelState> | undefined;
  return !reported || reported === 'STATE_UNSPECIFIED' ? 'DEPLOYING' : reported;
}

export function toWire(obj: CustomObject, accountId: string): Record<string, unknown> {
  const spec = obj.spec ?? {};
  const status = obj.status ?? {};
  const createTime = isoOf(obj.metadata.creationTimestamp);
  return omitUnset({
    name: `accounts/${accountId}/${COLLECTION}/${obj.metadata.name}`,
    displayName: spec.displayName,
    description: spec.description,
    createTime,
    updateTime: isoOf(status.updateTime) ?? createTime,
    model: spec.model,
    deployment: spec.deployment,
    default: spec.default,
    state: wireState(obj),
    serverless: spec.serverless,
    status: status.status,
    public: spec.public,
  });
}

/** `Model.deployedModelRefs[]` entry. */
export function deployedModelRef(obj: CustomObject, accountId: string): { name: string; deployment: string; state: string; default?: boolean; public?: boolean } {
  const spec = obj.spec ?? {};
  return omitUnset({
    name: `accounts/${accountId}/${COLLECTION}/${obj.metadata.name}`,
    deployment: spec.deployment as string,
    state: wireState(obj),
    default: spec.default as boolean | undefined,
    public: spec.public as boolean | undefined,
  });
}

/** The writable part of a wire body (output-only fields dropped). */
export function specFromWire(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (WRITABLE_FIELDS.includes(k) && v !== undefined) out[k] = v;
  return out;
}

export function newDeployedModelObject(args: { accountId: string; namespace: string; id: string; spec: Record<string, unknown> }): CustomObject {
  return {
    apiVersion: API_VERSION,
    kind: 'DeployedModel',
    metadata: { name: args.id, namespace: args.namespace, labels: { [LABELS.account]: args.accountId } },
    spec: args.spec,
  };
}
