// BatchJob: a job run on a node pool (Fireworks `gatewayBatchJob`), with exactly one executor,
// in an environment (optionally from a snapshot) or in a container image.
import { z } from 'zod';
import { annotations, displayName, int32, required, resource, resourceId, text, timestamp } from './common.js';
import { kubeStatusFields } from './conditions.js';
import { withRules } from './rules.js';

export const BatchJobState = z.enum([
  'STATE_UNSPECIFIED',
  'CREATING',
  'QUEUED',
  'PENDING',
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'CANCELLING',
  'CANCELLED',
  'DELETING',
]);
export type BatchJobState = z.infer<typeof BatchJobState>;

export const PythonExecutor = z
  .object({
    targetType: z.enum(['MODULE', 'FILENAME']).describe('How target is interpreted: a module (python -m) or a file.'),
    target: required(1024).describe('Module name or file name to run.'),
    args: z.array(text(4096)).max(256).optional().describe('Arguments.'),
  })
  .describe('Run a Python module or file.');

export const NotebookExecutor = z
  .object({ notebookFilename: required(1024).describe('Notebook to run.') })
  .describe('Run a Jupyter notebook.');

export const ShellExecutor = z
  .object({ command: required(16384).describe('Shell command to run.') })
  .describe('Run a shell command.');

const EXECUTORS = ['pythonExecutor', 'notebookExecutor', 'shellExecutor'] as const;

/** The spec's fields without its object-level rules, for .pick/.omit/.partial (zod refuses those on
 * refined objects). Validate the final object with the full spec schema. */
export const BatchJobSpecFields = z.object({
  displayName: displayName(),
  nodePoolId: resourceId('nodePoolId').describe('The node pool to run on (its id, in this namespace).'),
  environmentId: resourceId('environmentId')
    .optional()
    .describe('Environment to run in; exclusive with imageRef.'),
  snapshotId: text(256).optional().describe('Environment snapshot to run from; requires environmentId.'),
  numRanks: int32(1).optional().describe('Ranks: GPUs on a GPU pool, hosts on a CPU pool.'),
  envVars: z
    .record(z.string().max(256), text(32768))
    .meta({ maxProperties: 128 })
    .optional()
    .describe('Environment variables of the job (at most 128).'),
  role: text(2048).optional().describe("IAM role ARN. Default: the node pool's node role."),
  pythonExecutor: PythonExecutor.optional(),
  notebookExecutor: NotebookExecutor.optional(),
  shellExecutor: ShellExecutor.optional(),
  imageRef: text(1024).optional().describe('Container image to run; exclusive with environmentId and snapshotId.'),
  annotations: annotations('batch job'),
  shared: z.boolean().optional().describe('If true, shared with every user of the account.'),
});

export const BatchJobSpec = withRules(
  BatchJobSpecFields,
  [
    {
      rule: `[${EXECUTORS.map((e) => `has(self.${e})`).join(', ')}].filter(x, x).size() == 1`,
      message: 'exactly one of pythonExecutor, notebookExecutor or shellExecutor must be set',
      holds: (s) => EXECUTORS.filter((e) => s[e] !== undefined).length === 1,
    },
    {
      rule: 'has(self.environmentId) != has(self.imageRef)',
      message: 'exactly one of environmentId or imageRef must be set',
      fieldPath: '.imageRef',
      holds: (s) => (s.environmentId !== undefined) !== (s.imageRef !== undefined),
    },
    {
      rule: '!has(self.snapshotId) || has(self.environmentId)',
      message: 'snapshotId requires environmentId',
      fieldPath: '.snapshotId',
      holds: (s) => s.snapshotId === undefined || s.environmentId !== undefined,
    },
  ],
).describe('Desired state of the batch job: where and what to run.');
export type BatchJobSpec = z.output<typeof BatchJobSpec>;
export type BatchJobSpecInput = z.input<typeof BatchJobSpec>;

export const BatchJobStatus = z
  .object({
    state: BatchJobState.default('STATE_UNSPECIFIED').describe('Fireworks state of the batch job.'),
    status: text(32768).optional().describe('Free-text detail of the state (a string, as in Fireworks).'),
    startTime: timestamp('When the job started running.'),
    endTime: timestamp('When the job finished.'),
    updateTime: timestamp('Last time the controller changed the state.'),
    ...kubeStatusFields,
  })
  .describe('Observed state of the batch job (written by the controller).');
export type BatchJobStatus = z.output<typeof BatchJobStatus>;

export const BatchJob = resource('BatchJob', BatchJobSpec, BatchJobStatus);
export type BatchJob = z.output<typeof BatchJob>;
export type BatchJobInput = z.input<typeof BatchJob>;
