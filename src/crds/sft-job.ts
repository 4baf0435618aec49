// SFTJob: supervised fine-tuning of a LoRA (Fireworks `gatewaySupervisedFineTuningJob`).
import { z } from 'zod';
import { Status, displayName, int32, required, resource, text, timestamp } from './common.js';
import { kubeStatusFields } from './conditions.js';
import { withRules } from './rules.js';

export const JobState = z.enum([
  'JOB_STATE_UNSPECIFIED',
  'JOB_STATE_CREATING',
  'JOB_STATE_RUNNING',
  'JOB_STATE_COMPLETED',
  'JOB_STATE_FAILED',
  'JOB_STATE_CANCELLED',
  'JOB_STATE_DELETING',
  'JOB_STATE_WRITING_RESULTS',
  'JOB_STATE_VALIDATING',
  'JOB_STATE_DELETING_CLEANING_UP',
  'JOB_STATE_PENDING',
  'JOB_STATE_EXPIRED',
  'JOB_STATE_RE_QUEUEING',
  'JOB_STATE_CREATING_INPUT_DATASET',
  'JOB_STATE_IDLE',
  'JOB_STATE_CANCELLING',
  'JOB_STATE_EARLY_STOPPED',
  'JOB_STATE_PAUSED',
  'JOB_STATE_DELETED',
]);
export type JobState = z.infer<typeof JobState>;

export const SFT_DEFAULTS = { epochs: 1, loraRank: 8, maxContextLength: 8192 } as const;
export const MAX_CONTEXT_LENGTH = 65536;
export const LORA_RANKS = [1, 2, 4, 8, 16, 32, 64] as const;

export const WandbConfig = z
  .object({
    enabled: z.boolean().optional().describe('Log training progress to Weights & Biases.'),
    apiKey: text(256).optional().describe('Weights & Biases API key.'),
    project: text(256).optional().describe('Weights & Biases project.'),
    entity: text(256).optional().describe('Weights & Biases team or user.'),
    runId: text(256).optional().describe('Weights & Biases run id.'),
  })
  .describe('Weights & Biases logging.');

export const AwsS3Config = z
  .object({
    credentialsSecret: text(512).optional().describe('Secret with AWS access keys: accounts/<a>/secrets/<s>.'),
    iamRoleArn: text(2048).optional().describe('IAM role ARN to assume for S3 access.'),
  })
  .describe('Access to a dataset in AWS S3.');

export const AzureBlobStorageConfig = z
  .object({
    credentialsSecret: text(512).optional().describe('Secret with Azure credentials: accounts/<a>/secrets/<s>.'),
    managedIdentityClientId: text(256).optional().describe('Client id of the managed identity.'),
    tenantId: text(256).optional().describe('Azure tenant id.'),
  })
  .describe('Access to a dataset in Azure Blob Storage.');

/** A resource id (common.ts RESOURCE_ID_PATTERN) of at most 63 characters, as a regex fragment. */
const ID = '[a-z]([-a-z0-9]{0,61}[a-z0-9])?';
/**
 * `outputModel`: the model id, or its full name `accounts/<account>/models/<id>` (the docs show both;
 * REST stores the id). CEL in a CRD cannot see the namespace, so whether `<account>` is the
 * namespace's account is checked by the chart's admission policy (templates/sftjob-policy.yaml) and
 * by the controller: another account's name fails the job in VALIDATING naming the field, before any
 * quota is held or Job made.
 */
export const OUTPUT_MODEL_PATTERN = `^(accounts/${ID}/models/)?${ID}$`;
const OUTPUT_MODEL_RE = new RegExp(OUTPUT_MODEL_PATTERN);
/** Longest full name: `accounts/` + 63 + `/models/` + 63. */
export const OUTPUT_MODEL_MAX = 9 + 63 + 8 + 63;

/** The parts of an `outputModel` value: the account (a full name only) and the id; undefined if it is neither form. */
export function parseOutputModel(value: string): { account?: string; id: string } | undefined {
  if (value.length > OUTPUT_MODEL_MAX || !OUTPUT_MODEL_RE.test(value)) return undefined;
  const parts = value.split('/');
  return parts.length === 1 ? { id: value } : { account: parts[1]!, id: parts[3]! };
}

const outputModel = withRules(text(OUTPUT_MODEL_MAX), [
  {
    rule: `self.matches('${OUTPUT_MODEL_PATTERN}')`,
    message: "outputModel must be a model id (1-63 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-') or accounts/<account>/models/<id> of the namespace's account",
    holds: (v) => parseOutputModel(v) !== undefined,
  },
]);

/** The spec's fields without its object-level rules, for .pick/.omit/.partial (zod refuses those on
 * refined objects). Validate the final object with the full spec schema. */
export const SFTJobSpecFields = z.object({
  displayName: displayName(),
  dataset: required(512).describe('The training dataset, e.g. accounts/my-account/datasets/my-data.'),
  awsS3Config: AwsS3Config.optional(),
  azureBlobStorageConfig: AzureBlobStorageConfig.optional(),
  outputModel: outputModel.optional().describe('The resulting model: its id, or accounts/<account>/models/<id> of the namespace\'s account. Default: the job id.'),
  baseModel: text(512).optional().describe('The base model to fine-tune; exclusive with warmStartFrom.'),
  warmStartFrom: text(512).optional().describe('A PEFT addon to continue training from; exclusive with baseModel.'),
  jinjaTemplate: text(65536).optional().describe("Jinja template for conversations. Default: the base model's chat template."),
  earlyStop: z.boolean().optional().describe('Stop early when the validation loss stops improving.'),
  epochs: int32(1).default(SFT_DEFAULTS.epochs).describe('Passes over the training data. Default 1; greater than 0.'),
  learningRate: z.number().gt(0).optional().describe('Learning rate; greater than 0. Default: chosen for the base model.'),
  maxContextLength: int32(1)
    .max(MAX_CONTEXT_LENGTH)
    .default(SFT_DEFAULTS.maxContextLength)
    .describe('Maximum context length for training. Default 8192; at most 65536.'),
  loraRank: withRules(int32(1).default(SFT_DEFAULTS.loraRank), [
    {
      rule: `self in [${LORA_RANKS.join(', ')}]`,
      message: 'loraRank must be a power of two up to 64',
      holds: (r) => (LORA_RANKS as readonly number[]).includes(r),
    },
  ]).describe('Rank of the LoRA layers: a power of two up to 64. Default 8.'),
  wandbConfig: WandbConfig.optional(),
  evaluationDataset: text(512).optional().describe('A separate evaluation dataset.'),
  isTurbo: z.boolean().optional().describe('Run in turbo mode.'),
  evalAutoCarveout: z.boolean().optional().describe('Carve the evaluation set out of the training set.'),
  batchSize: int32(1).optional().describe('Batch size for sequence packing (tokens).'),
  batchSizeSamples: int32(1).optional().describe('Samples per gradient batch.'),
  gradientAccumulationSteps: int32(1).optional().describe('Gradient accumulation steps.'),
  learningRateWarmupSteps: int32().optional().describe('Learning-rate warm-up steps.'),
  optimizerWeightDecay: z.number().min(0).optional().describe('Optimizer weight decay (L2 regularisation).'),
  purpose: z.enum(['PURPOSE_PILOT']).optional().describe('Scheduling purpose of the job.'),
});

export const SFTJobSpec = withRules(
  SFTJobSpecFields,
  [
    {
      rule: 'has(self.baseModel) != has(self.warmStartFrom)',
      message: 'exactly one of baseModel or warmStartFrom must be set',
      fieldPath: '.baseModel',
      holds: (s) => (s.baseModel !== undefined) !== (s.warmStartFrom !== undefined),
    },
  ],
).describe('Desired state of the fine-tuning job: the data, the model and the hyperparameters.');
export type SFTJobSpec = z.output<typeof SFTJobSpec>;
export type SFTJobSpecInput = z.input<typeof SFTJobSpec>;

export const JobProgress = z
  .object({
    percent: int32().max(100).optional().describe('Progress percent, 0 to 100.'),
    epoch: int32().optional().describe('Epoch the percent refers to, from 0.'),
    totalInputRequests: int32().optional().describe('Input rows.'),
    totalProcessedRequests: int32().optional().describe('Rows processed (successfully or not).'),
    successfullyProcessedRequests: int32().optional().describe('Rows processed successfully.'),
    failedRequests: int32().optional().describe('Rows that failed.'),
    outputRows: int32().optional().describe('Output rows.'),
    inputTokens: int32().optional().describe('Input tokens processed.'),
    outputTokens: int32().optional().describe('Output tokens generated.'),
    cachedInputTokenCount: int32().optional().describe('Input tokens that hit the prompt cache.'),
  })
  .describe('Progress of the job.');

export const TrainingStatus = z
  .object({
    attempt: int32().optional().describe('The run: 0, then one more per :resume (each a new batch/v1 Job).'),
    job: text(253).optional().describe('The batch/v1 Job of the current attempt.'),
    acceleratorType: text(64).optional().describe('GPU type the trainer runs on (from the base model size and the fleet catalog).'),
    acceleratorCount: int32().optional().describe('GPUs per node.'),
    nodes: int32().optional().describe('Nodes (pods of the Indexed Job).'),
    region: text(64).optional().describe('Region the trainer runs in.'),
    quotaName: text(128).optional().describe('The GPU quota the job holds while it trains.'),
    trainDataset: text(512).optional().describe('The dataset trained on (the training split when the evaluation set is carved out).'),
    evalDataset: text(512).optional().describe('The evaluation dataset (the carved-out split, or evaluationDataset).'),
    step: int32().optional().describe('Latest step the trainer reported.'),
    totalSteps: int32().optional().describe('Steps of the whole run.'),
    trainLoss: z.number().optional().describe('Latest training loss.'),
    evalLoss: z.number().optional().describe('Latest evaluation loss.'),
    bestEvalLoss: z.number().optional().describe('Lowest evaluation loss so far.'),
    evalsSinceBest: int32().optional().describe('Evaluations since the evaluation loss last improved.'),
    tokensProcessed: z.number().int().min(0).optional().describe('Tokens trained on so far.'),
    checkpoint: text(128).optional().describe('Latest complete checkpoint (a resume continues from it).'),
    bestCheckpoint: text(128).optional().describe('Checkpoint of the lowest evaluation loss (the output of an early stop).'),
    pendingReason: text(1024).optional().describe('Why the job waits (GPUs or quota).'),
    estimatedGpuHours: z.number().min(0).optional().describe('Estimated GPU-hours (dataset tokens × epochs at the GPU\'s training throughput).'),
    estimatedCostUsd: z.number().min(0).optional().describe('Estimated cost in USD at the catalog price of the GPU.'),
    earlyStopped: z.boolean().optional().describe('Hearth stopped the trainer early (the evaluation loss stopped improving); the output is the best checkpoint.'),
    earlyStopReason: text(1024).optional().describe('Why the job stopped early.'),
    trainerFinishedTime: timestamp('When the trainer reported its final adapter (or the Job ended without it).'),
  })
  .describe('Training details written by the controller.');

export const SFTJobStatus = z
  .object({
    state: JobState.default('JOB_STATE_UNSPECIFIED').describe('Fireworks state of the job.'),
    status: Status.optional(),
    jobProgress: JobProgress.optional(),
    outputModel: text(512).optional().describe('The resulting model, once written.'),
    completedTime: timestamp('When the job completed.'),
    updateTime: timestamp('Last time the controller changed the state.'),
    wandbUrl: text(2048).optional().describe('Weights & Biases run URL.'),
    metricsFileSignedUrl: text(4096).optional().describe('Signed URL of the metrics file.'),
    trainerLogsSignedUrl: text(4096).optional().describe('Signed URL of the trainer logs.'),
    training: TrainingStatus.optional(),
    ...kubeStatusFields,
  })
  .describe('Observed state of the fine-tuning job (written by the controller).');
export type SFTJobStatus = z.output<typeof SFTJobStatus>;

export const SFTJob = resource('SFTJob', SFTJobSpec, SFTJobStatus);
export type SFTJob = z.output<typeof SFTJob>;
export type SFTJobInput = z.input<typeof SFTJob>;
