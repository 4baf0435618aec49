// DeployedModel: a LoRA addon loaded onto the replicas of a Deployment (Fireworks
// `gatewayDeployedModel`). Which model on which deployment is fixed at creation.
import { z } from 'zod';
import { Status, description, displayName, required, resource, timestamp } from './common.js';
import { kubeStatusFields } from './conditions.js';
import { withRules } from './rules.js';

/**
 * The Fireworks states, plus FAILED (Hearth): a replica refused the adapter (bad files, rank above
 * the deployment's `--max-lora-rank`, more adapters than its `--max-loras`) after bounded retries;
 * `status.status` and the replica entries say why.
 */
export const DeployedModelState = z.enum(['STATE_UNSPECIFIED', 'UNDEPLOYING', 'DEPLOYING', 'DEPLOYED', 'UPDATING', 'FAILED']);
export type DeployedModelState = z.infer<typeof DeployedModelState>;

const immutable = (field: string) => ({
  rule: 'self == oldSelf',
  message: `${field} is immutable`,
  holdsOnUpdate: (self: string, old: string) => self === old,
});

/** The spec's fields without its object-level rules, for .pick/.omit/.partial (zod refuses those on
 * refined objects). Validate the final object with the full spec schema. */
export const DeployedModelSpecFields = z.object({
  displayName: displayName(),
  description: description('deployed model'),
  model: withRules(required(512), [], [immutable('model')]).describe(
    'The addon model to load, e.g. accounts/my-account/models/my-lora. Immutable.',
  ),
  deployment: withRules(required(512), [], [immutable('deployment')]).describe(
    'The base Deployment: its name in this namespace, or accounts/<account>/deployments/<id>. Immutable.',
  ),
  default: z
    .boolean()
    .optional()
    .describe('If true, the default target when the model is called without the #<deployment> suffix.'),
  serverless: z
    .boolean()
    .optional()
    .describe('Must be false or unset: a DeployedModel loads a LoRA onto a dedicated deployment.'),
  public: z.boolean().optional().describe('If true, the deployed model is publicly reachable.'),
});

export const DeployedModelSpec = withRules(
  DeployedModelSpecFields,
  [
    {
      rule: '!has(self.serverless) || !self.serverless',
      message: 'serverless must be false or unset for a LoRA addon',
      fieldPath: '.serverless',
      holds: (s) => !s.serverless,
    },
  ],
).describe('Desired state: which addon model to load onto which deployment.');
export type DeployedModelSpec = z.output<typeof DeployedModelSpec>;
export type DeployedModelSpecInput = z.input<typeof DeployedModelSpec>;

/** Whether one replica of the base deployment has the adapter (what the gateway routes on). */
export const ReplicaAdapterState = z.enum(['LOADING', 'LOADED', 'FAILED']);
export type ReplicaAdapterState = z.infer<typeof ReplicaAdapterState>;

export const ReplicaAdapter = z
  .object({
    pod: z.string().max(253).describe('The replica: its pod name.'),
    address: z.string().max(64).describe('The model server of the replica, `<pod IP>:<port>` (as the EndpointSlice lists it).'),
    state: ReplicaAdapterState.describe('LOADED: the server answered the load (or lists the adapter); the gateway routes to it.'),
    attempts: z.int32().min(0).optional().describe('Load attempts the replica refused so far.'),
    message: z.string().max(1024).optional().describe("The server's answer to the last refused load."),
  })
  .describe('The adapter on one Ready replica.');
export type ReplicaAdapter = z.output<typeof ReplicaAdapter>;

export const DeployedModelStatus = z
  .object({
    state: DeployedModelState.default('STATE_UNSPECIFIED').describe('Fireworks state of the deployed model.'),
    status: Status.optional(),
    updateTime: timestamp('Last time the controller changed the state.'),
    replicas: z
      .array(ReplicaAdapter)
      .max(1024)
      .optional()
      .describe('Per Ready replica of the base deployment: whether the adapter is loaded there (Hearth).'),
    adapterPath: z.string().max(2048).optional().describe('Where the model servers load the adapter from (`lora_path`).'),
    ...kubeStatusFields,
  })
  .describe('Observed state of the deployed model (written by the controller).');
export type DeployedModelStatus = z.output<typeof DeployedModelStatus>;

export const DeployedModel = resource('DeployedModel', DeployedModelSpec, DeployedModelStatus);
export type DeployedModel = z.output<typeof DeployedModel>;
export type DeployedModelInput = z.input<typeof DeployedModel>;
