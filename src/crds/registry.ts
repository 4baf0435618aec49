// The seven kinds and how they are served: names, printer columns, subresources, REST collection.
// The CRD generator, the controllers' informers and the REST facade all read this table.
import type { z } from 'zod';
import { BatchInferenceJob, BatchInferenceJobSpec, BatchInferenceJobStatus } from './batch-inference-job.js';
import { BatchJob, BatchJobSpec, BatchJobStatus } from './batch-job.js';
import { DeployedModel, DeployedModelSpec, DeployedModelStatus } from './deployed-model.js';
import { Deployment, DeploymentSpec, DeploymentStatus } from './deployment.js';
import { Environment, EnvironmentSpec, EnvironmentStatus } from './environment.js';
import { API_VERSION, CATEGORY, GROUP, VERSION } from './group.js';
import { NodePool, NodePoolSpec, NodePoolStatus } from './node-pool.js';
import { checkUpdate, type RuleIssue } from './rules.js';
import { SFTJob, SFTJobSpec, SFTJobStatus } from './sft-job.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  /** 0: shown by `kubectl get`; 1: only with `-o wide`. */
  priority?: number;
}

export interface ScaleSubresource {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath: string;
}

export interface KindInfo {
  kind: string;
  group: typeof GROUP;
  version: typeof VERSION;
  apiVersion: typeof API_VERSION;
  plural: string;
  singular: string;
  listKind: string;
  shortNames: string[];
  categories: string[];
  namespaced: true;
  /** The Fireworks REST collection (`/v1/accounts/{a}/<restCollection>`). */
  restCollection: string;
  /** One-line summary, the CRD's top-level description. */
  summary: string;
  /** Whole object (apiVersion, kind, metadata, spec, status). */
  schema: z.ZodType;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
  scale?: ScaleSubresource;
  /** Fields usable in field selectors (`--field-selector`, informers), CRD selectableFields. */
  selectableFields?: string[];
}

const STATE: PrinterColumn = { name: 'State', type: 'string', jsonPath: '.status.state', description: 'Fireworks state.' };
const READY: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: 'Ready condition.',
};
const REASON: PrinterColumn = {
  name: 'Reason',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
  description: 'Reason of the Ready condition.',
  priority: 1,
};
const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age.' };

function kind(k: Omit<KindInfo, 'group' | 'version' | 'apiVersion' | 'singular' | 'listKind' | 'categories' | 'namespaced'>): KindInfo {
  return { ...k, group: GROUP, version: VERSION, apiVersion: API_VERSION, singular: k.kind.toLowerCase(), listKind: `${k.kind}List`, categories: [CATEGORY], namespaced: true };
}

export const DEPLOYMENT = kind({
  kind: 'Deployment',
  plural: 'deployments',
  shortNames: ['hdep'],
  restCollection: 'deployments',
  summary: 'A model served on dedicated GPUs, autoscaled between minReplicaCount and maxReplicaCount (Fireworks Deployment).',
  schema: Deployment,
  spec: DeploymentSpec,
  status: DeploymentStatus,
  printerColumns: [
    STATE,
    READY,
    { name: 'Region', type: 'string', jsonPath: '.status.region', description: 'Region the deployment runs in.' },
    { name: 'Accelerator', type: 'string', jsonPath: '.spec.acceleratorType', description: 'Accelerator type.' },
    { name: 'GPUs', type: 'integer', jsonPath: '.spec.acceleratorCount', description: 'Accelerators per replica.', priority: 1 },
    { name: 'Replicas', type: 'integer', jsonPath: '.status.replicaCount', description: 'Current replicas.' },
    { name: 'Desired', type: 'integer', jsonPath: '.status.desiredReplicaCount', description: 'Replicas the autoscaler wants.' },
    { name: 'Min', type: 'integer', jsonPath: '.spec.minReplicaCount', description: 'Minimum replicas.', priority: 1 },
    { name: 'Max', type: 'integer', jsonPath: '.spec.maxReplicaCount', description: 'Maximum replicas.', priority: 1 },
    { name: 'Model', type: 'string', jsonPath: '.spec.baseModel', description: 'Base model.', priority: 1 },
    REASON,
    AGE,
  ],
  scale: { specReplicasPath: '.spec.replicaCount', statusReplicasPath: '.status.replicaCount', labelSelectorPath: '.status.labelSelector' },
});

export const DEPLOYED_MODEL = kind({
  kind: 'DeployedModel',
  plural: 'deployedmodels',
  shortNames: ['hdm'],
  restCollection: 'deployedModels',
  summary: 'A LoRA addon loaded onto the replicas of a Deployment (Fireworks DeployedModel).',
  schema: DeployedModel,
  selectableFields: ['.spec.deployment', '.spec.model'],
  spec: DeployedModelSpec,
  status: DeployedModelStatus,
  printerColumns: [
    STATE,
    READY,
    { name: 'Model', type: 'string', jsonPath: '.spec.model', description: 'Addon model.' },
    { name: 'Deployment', type: 'string', jsonPath: '.spec.deployment', description: 'Base deployment.' },
    { name: 'Default', type: 'boolean', jsonPath: '.spec.default', description: 'Default target of the model.', priority: 1 },
    REASON,
    AGE,
  ],
});

export const NODE_POOL = kind({
  kind: 'NodePool',
  plural: 'nodepools',
  shortNames: ['hnp'],
  restCollection: 'nodePools',
  summary: 'GPU capacity for environments and batch jobs: EKS node group or simulated nodes (Fireworks NodePool).',
  schema: NodePool,
  spec: NodePoolSpec,
  status: NodePoolStatus,
  printerColumns: [
    STATE,
    READY,
    { name: 'Min', type: 'integer', jsonPath: '.spec.minNodeCount', description: 'Minimum nodes.' },
    { name: 'Max', type: 'integer', jsonPath: '.spec.maxNodeCount', description: 'Maximum nodes.' },
    { name: 'Nodes', type: 'integer', jsonPath: '.status.nodePoolStats.nodeCount', description: 'Nodes now.' },
    REASON,
    AGE,
  ],
});

export const ENVIRONMENT = kind({
  kind: 'Environment',
  plural: 'environments',
  shortNames: ['henv'],
  restCollection: 'environments',
  summary: 'A development environment (container image) that connects to a node pool (Fireworks Environment).',
  schema: Environment,
  selectableFields: ['.spec.connection.nodePoolId'],
  spec: EnvironmentSpec,
  status: EnvironmentStatus,
  printerColumns: [
    STATE,
    READY,
    { name: 'Node Pool', type: 'string', jsonPath: '.spec.connection.nodePoolId', description: 'Node pool it connects to.' },
    { name: 'Ranks', type: 'integer', jsonPath: '.spec.connection.numRanks', description: 'Ranks.', priority: 1 },
    { name: 'Image', type: 'string', jsonPath: '.spec.baseImageRef', description: 'Base image.', priority: 1 },
    REASON,
    AGE,
  ],
});

export const BATCH_JOB = kind({
  kind: 'BatchJob',
  plural: 'batchjobs',
  shortNames: ['hbj'],
  restCollection: 'batchJobs',
  summary: 'A job run on a node pool, in an environment or a container image (Fireworks BatchJob).',
  schema: BatchJob,
  selectableFields: ['.spec.nodePoolId'],
  spec: BatchJobSpec,
  status: BatchJobStatus,
  printerColumns: [
    STATE,
    READY,
    { name: 'Node Pool', type: 'string', jsonPath: '.spec.nodePoolId', description: 'Node pool it runs on.' },
    { name: 'Ranks', type: 'integer', jsonPath: '.spec.numRanks', description: 'Ranks.', priority: 1 },
    { name: 'Started', type: 'date', jsonPath: '.status.startTime', description: 'Start time.', priority: 1 },
    REASON,
    AGE,
  ],
});

export const SFT_JOB = kind({
  kind: 'SFTJob',
  plural: 'sftjobs',
  shortNames: ['sftj'],
  restCollection: 'supervisedFineTuningJobs',
  summary: 'Supervised fine-tuning of a LoRA on a dataset (Fireworks SupervisedFineTuningJob).',
  schema: SFTJob,
  spec: SFTJobSpec,
  status: SFTJobStatus,
  printerColumns: [
    STATE,
    READY,
    { name: 'Base Model', type: 'string', jsonPath: '.spec.baseModel', description: 'Base model.' },
    { name: 'Dataset', type: 'string', jsonPath: '.spec.dataset', description: 'Training dataset.' },
    { name: 'Progress', type: 'integer', jsonPath: '.status.jobProgress.percent', description: 'Percent done.' },
    { name: 'Output', type: 'string', jsonPath: '.status.outputModel', description: 'Resulting model.', priority: 1 },
    REASON,
    AGE,
  ],
});

export const BATCH_INFERENCE_JOB = kind({
  kind: 'BatchInferenceJob',
  plural: 'batchinferencejobs',
  shortNames: ['bij'],
  restCollection: 'batchInferenceJobs',
  summary: 'Every line of a JSONL dataset sent to a model through the gateway, the answers written to a dataset (Fireworks BatchInferenceJob).',
  schema: BatchInferenceJob,
  spec: BatchInferenceJobSpec,
  status: BatchInferenceJobStatus,
  printerColumns: [
    STATE,
    READY,
    { name: 'Model', type: 'string', jsonPath: '.status.model', description: 'Model the job runs on.' },
    { name: 'Input', type: 'string', jsonPath: '.status.inputDatasetId', description: 'Input dataset.', priority: 1 },
    { name: 'Output', type: 'string', jsonPath: '.status.outputDatasetId', description: 'Output dataset.', priority: 1 },
    { name: 'Progress', type: 'integer', jsonPath: '.status.jobProgress.percent', description: 'Percent of lines answered.' },
    { name: 'Failed', type: 'integer', jsonPath: '.status.jobProgress.failedRequests', description: 'Lines answered with an error.', priority: 1 },
    REASON,
    AGE,
  ],
});

export const KINDS: readonly KindInfo[] = [DEPLOYMENT, DEPLOYED_MODEL, NODE_POOL, ENVIRONMENT, BATCH_JOB, SFT_JOB, BATCH_INFERENCE_JOB];

export type KindName = 'Deployment' | 'DeployedModel' | 'NodePool' | 'Environment' | 'BatchJob' | 'SFTJob' | 'BatchInferenceJob';

export function kindInfo(kindName: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kindName);
}

/** `<plural>.<group>`, the CRD's name. */
export function crdName(k: KindInfo): string {
  return `${k.plural}.${k.group}`;
}

/**
 * The checks the API server runs on an update that zod alone cannot: transition rules (`oldSelf`),
 * e.g. Deployment placement.region and DeployedModel model/deployment immutable. Objects are parsed
 * first (defaults applied), as the API server does.
 */
export function checkObjectUpdate(k: KindInfo, newObj: unknown, oldObj: unknown): RuleIssue[] {
  const next = k.schema.safeParse(newObj);
  const prev = k.schema.safeParse(oldObj);
  if (!next.success || !prev.success) return [];
  return checkUpdate(k.schema, next.data, prev.data);
}
