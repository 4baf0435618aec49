// BatchInferenceJob: every line of a JSONL dataset sent through the inference gateway to a model,
// the answers written to an output dataset (Fireworks `gatewayBatchInferenceJob`).
import { z } from 'zod';
import { Status, displayName, int32, resource, text, timestamp } from './common.js';
import { kubeStatusFields } from './conditions.js';
import { Precision } from './deployment.js';
import { withRules } from './rules.js';
import { JobProgress, JobState } from './sft-job.js';

export const InferenceParameters = z
  .object({
    maxTokens: int32(1).optional().describe('Maximum tokens to generate per response.'),
    temperature: z.number().min(0).max(2).optional().describe('Sampling temperature, 0 to 2.'),
    topP: z.number().min(0).max(1).optional().describe('Top-p sampling, 0 to 1.'),
    n: int32(1).max(128).optional().describe('Response candidates per input line.'),
    extraBody: text(65536)
      .optional()
      .describe('More request fields as a JSON object string, e.g. {"stop": ["\\n"]}; a line\'s own fields win; not a JSON object: the job fails.'),
    topK: int32(1).optional().describe('Top-k sampling.'),
  })
  .describe('Parameters applied to every request of the job (a line\'s own fields win).');
export type InferenceParameters = z.output<typeof InferenceParameters>;

/** The spec's fields without its object-level rules (zod refuses .pick/.omit/.partial on refined objects). */
export const BatchInferenceJobSpecFields = z.object({
  displayName: displayName(),
  model: text(600)
    .optional()
    .describe(
      'The model: accounts/<a>/models/<m> (Hearth creates a deployment for the job unless one serves it), or an existing deployment: <model>#accounts/<a>/deployments/<d>, accounts/<a>/deployedModels/<x>.',
    ),
  inputDatasetId: text(512).optional().describe('The input dataset (JSONL, one request per line): its id or accounts/<a>/datasets/<d>.'),
  outputDatasetId: text(512).optional().describe('The dataset the results are written to; it must not exist. Default: <job>-output.'),
  inferenceParameters: InferenceParameters.optional(),
  precision: Precision.optional().describe('Precision of a deployment Hearth creates for the job. Default: chosen for the model.'),
  continuedFromJobName: text(512)
    .optional()
    .describe('accounts/<a>/batchInferenceJobs/<j>: re-run only the lines that job failed; its answered lines are copied.'),
  maxConcurrency: int32(1).max(256).optional().describe('Requests in flight at once. Default: the controller\'s setting.'),
  cancelRequested: z.boolean().optional().describe('Set to stop the job: lines answered so far stay in the output.'),
});

export const BatchInferenceJobSpec = withRules(BatchInferenceJobSpecFields, [
  {
    rule: 'has(self.model) || has(self.continuedFromJobName)',
    message: 'model is required unless continuedFromJobName is set',
    fieldPath: '.model',
    holds: (s) => s.model !== undefined || s.continuedFromJobName !== undefined,
  },
  {
    rule: 'has(self.inputDatasetId) || has(self.continuedFromJobName)',
    message: 'inputDatasetId is required unless continuedFromJobName is set',
    fieldPath: '.inputDatasetId',
    holds: (s) => s.inputDatasetId !== undefined || s.continuedFromJobName !== undefined,
  },
]).describe('Desired state of the batch inference job: the model, the input and output datasets, the parameters.');
export type BatchInferenceJobSpec = z.output<typeof BatchInferenceJobSpec>;
export type BatchInferenceJobSpecInput = z.input<typeof BatchInferenceJobSpec>;

export const BatchInferenceJobStatus = z
  .object({
    state: JobState.default('JOB_STATE_UNSPECIFIED').describe('Fireworks state of the job.'),
    status: Status.optional(),
    jobProgress: JobProgress.optional(),
    model: text(600).optional().describe('The model the job runs on (from the spec, or the job it continues).'),
    inputDatasetId: text(512).optional().describe('The input dataset actually read (from the spec, or the job it continues).'),
    outputDatasetId: text(512).optional().describe('The output dataset actually written.'),
    deployment: text(128).optional().describe('The deployment Hearth created for the job (removed when it ends).'),
    startTime: timestamp('When the job started running.'),
    completedTime: timestamp('When the job reached a final state.'),
    updateTime: timestamp('Last time the controller changed the state.'),
    ...kubeStatusFields,
  })
  .describe('Observed state of the batch inference job (written by the controller).');
export type BatchInferenceJobStatus = z.output<typeof BatchInferenceJobStatus>;

export const BatchInferenceJob = resource('BatchInferenceJob', BatchInferenceJobSpec, BatchInferenceJobStatus);
export type BatchInferenceJob = z.output<typeof BatchInferenceJob>;
export type BatchInferenceJobInput = z.input<typeof BatchInferenceJob>;
