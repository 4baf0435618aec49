// Pure builders of what a BatchInferenceJob owns and refers to: the deployment Hearth creates for
// it (when no deployment serves its model), its name, and the names the job's fields accept.
import { createHash } from 'node:crypto';
import type { V1OwnerReference } from '@kubernetes/client-node';
import type { BatchInferenceJob } from '../../crds/batch-inference-job.js';
import type { DeploymentSpecInput } from '../../crds/deployment.js';
import { API_VERSION, GROUP, LABELS, MANAGED_BY } from '../../crds/group.js';
import { ownerReference } from '../runtime/owner-refs.js';
import type { HearthObject } from '../runtime/writer.js';

type Job = HearthObject<'BatchInferenceJob'>;

/** A hearth.dev Deployment as written (the API server applies the defaults). */
export interface JobDeployment {
  apiVersion: typeof API_VERSION;
  kind: 'Deployment';
  metadata: { name: string; namespace?: string | undefined; labels: Record<string, string>; ownerReferences: V1OwnerReference[] };
  spec: DeploymentSpecInput;
}

/** On the deployment a job created: the job's name. */
export const LABEL_JOB = `${GROUP}/batch-inference-job`;

const MAX_NAME = 63;

/** The deployment Hearth creates for `job`: `bij-<job>` (shortened with a hash if needed). */
export function deploymentName(job: Pick<Job, 'metadata'>): string {
  const name = job.metadata.name ?? '';
  const plain = `bij-${name}`;
  if (plain.length <= MAX_NAME) return plain;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${plain.slice(0, MAX_NAME - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/**
 * The deployment a job runs on when none serves its model: one replica of the model for as long as
 * the job runs (the job deletes it when it ends; the ownerReference covers a deleted job). The
 * job's labels are copied, so a controller that reconciles only a labelled shard serves both.
 */
export function makeDeployment(job: Job, model: string): JobDeployment {
  const labels: Record<string, string> = { ...job.metadata.labels, [LABELS.managedBy]: MANAGED_BY, [LABEL_JOB]: job.metadata.name ?? '' };
  return {
    apiVersion: API_VERSION,
    kind: 'Deployment',
    metadata: {
      name: deploymentName(job),
      namespace: job.metadata.namespace,
      labels,
      ownerReferences: [ownerReference(job)],
    },
    spec: {
      displayName: `batch inference job ${job.metadata.name}`,
      baseModel: model,
      minReplicaCount: 1,
      maxReplicaCount: 1,
      ...(job.spec.precision ? { precision: job.spec.precision } : {}),
    },
  };
}

/** The id of a resource of `collection` in `account`: a bare id, or `accounts/<account>/<collection>/<id>`. Undefined if it names another account or is malformed. */
export function idIn(ref: string, account: string, collection: string): string | undefined {
  const parts = ref.split('/');
  if (parts.length === 1) return parts[0] || undefined;
  if (parts.length === 4 && parts[0] === 'accounts' && parts[1] === account && parts[2] === collection) return parts[3] || undefined;
  return undefined;
}

/**
 * Whether a model id already names where to run: `<model>#<deployment>` or a deployed model.
 * Otherwise it names a model, served by a deployment of that base model if the account has one.
 */
export function namesDeployment(model: string): boolean {
  return model.includes('#') || /^accounts\/[^/]+\/deployedModels\/[^/]+$/.test(model);
}

/** `accounts/<a>/models/<m>` for the short form `<a>/<m>` (the gateway takes both). */
export function fullModelName(model: string): string {
  const parts = model.split('/');
  return parts.length === 2 ? `accounts/${parts[0]}/models/${parts[1]}` : model;
}

/** The model id the job's requests carry: on the job's own deployment if it has one. */
export function requestModel(model: string, account: string, deployment: string | undefined): string {
  return deployment ? `${fullModelName(model)}#accounts/${account}/deployments/${deployment}` : model;
}

export type { BatchInferenceJob };
