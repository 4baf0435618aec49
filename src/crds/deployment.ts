// Deployment: a model served on dedicated GPUs (Fireworks `gatewayDeployment`). Spec holds the
// user-settable fields under their Fireworks names; status the output-only ones plus conditions.
import { z } from 'zod';
import {
  ACCELERATOR_TYPES,
  type AcceleratorType,
  DEFAULT_ACCELERATOR_TYPE,
  MultiRegion,
  REGIONS,
  Region,
  Status,
  annotations,
  description,
  displayName,
  int32,
  required,
  resource,
  text,
  timestamp,
} from './common.js';
import { kubeStatusFields } from './conditions.js';
import { duration } from './duration.js';
import { withRules } from './rules.js';

export const DeploymentState = z.enum(['STATE_UNSPECIFIED', 'CREATING', 'READY', 'DELETING', 'FAILED', 'UPDATING', 'DELETED']);
export type DeploymentState = z.infer<typeof DeploymentState>;

export const Precision = z.enum([
  'FP16',
  'FP8',
  'FP8_MM',
  'FP8_AR',
  'FP8_MM_KV_ATTN',
  'FP8_KV',
  'FP8_MM_V2',
  'FP8_V2',
  'FP8_MM_KV_ATTN_V2',
  'NF4',
  'FP4',
  'BF16',
  'FP4_BLOCKSCALED_MM',
  'FP4_MX_MOE',
]);
export type Precision = z.infer<typeof Precision>;

/** Accelerators that serve FP8 precisions (fleet catalog: `fp8: true`). */
export const FP8_ACCELERATORS: readonly AcceleratorType[] = ['NVIDIA_H100_80GB'];

/**
 * Hearth: `acceleratorType: CPU` serves the model without an accelerator, on the operator's CPU
 * runtime (the model-server configuration's `servers.cpu`: image, CPU and memory per replica, the
 * nodes it runs on). No GPUs, so no acceleratorCount, GPU quota, GPU-hours or region placement.
 */
export const CPU_ACCELERATOR_TYPE = 'CPU';
export const DeploymentAcceleratorType = z.enum([...ACCELERATOR_TYPES, CPU_ACCELERATOR_TYPE]);
export type DeploymentAcceleratorType = z.infer<typeof DeploymentAcceleratorType>;

export const DirectRouteType = z.enum(['INTERNET', 'GCP_PRIVATE_SERVICE_CONNECT', 'AWS_PRIVATELINK']);
export const HotLoadBucketType = z.enum(['MINIO', 'S3', 'NEBIUS', 'FW_HOSTED']);

export const DEPLOYMENT_DEFAULTS = {
  minReplicaCount: 0,
  scaleUpWindow: '30s',
  scaleDownWindow: '10m',
  scaleToZeroWindow: '1h',
  loadTarget: 0.8,
  acceleratorType: DEFAULT_ACCELERATOR_TYPE,
  precision: 'FP16',
  unusedAutoDeleteDuration: '168h',
} as const;

// ---- autoscaling --------------------------------------------------------------------------------

const CRON_PATTERN = '^[^ ]+( +[^ ]+){4}$';

export const ScalingSchedule = withRules(
  z.object({
    minReplicaCount: int32().describe(
      'Minimum number of replicas while this schedule is active (at most maxReplicaCount). Overlapping schedules: the highest wins.',
    ),
    schedule: required(128).describe('Standard 5-field cron expression for when the window starts, e.g. "0 8 * * Mon-Fri".'),
    duration: duration({ field: 'duration', min: '300s', max: '604800s', wholeSeconds: true }).describe(
      'How long the schedule stays active after it triggers: 300s to 604800s (7 days), whole seconds.',
    ),
    timezone: required(64).describe('IANA timezone of the cron expression, e.g. "America/New_York" or "UTC".'),
    description: text(999).optional().describe('Human-readable description of the schedule.'),
    disabled: z.boolean().optional().describe('If true, the schedule is ignored.'),
  }),
  [
    {
      rule: `self.schedule.matches('${CRON_PATTERN}')`,
      message: 'schedule must be a 5-field cron expression (minute hour day-of-month month day-of-week)',
      fieldPath: '.schedule',
      holds: (s) => new RegExp(CRON_PATTERN).test(s.schedule),
    },
  ],
).describe('A time-based floor on the replica count.');

const LoadTargets = withRules(
  z.object({
    default: z
      .number()
      .gt(0)
      .lte(1)
      .optional()
      .describe('Target utilisation (0 < x ≤ 1) for all load metrics. Default 0.8.'),
    tokens_generated_per_second: z
      .number()
      .gt(0)
      .optional()
      .describe('Desired generated tokens per second per replica.'),
  }),
  [
    {
      rule: 'has(self.default) || has(self.tokens_generated_per_second)',
      message: 'loadTargets must set default or tokens_generated_per_second',
      holds: (t) => t.default !== undefined || t.tokens_generated_per_second !== undefined,
    },
  ],
);

export const AutoscalingPolicy = z
  .object({
    scaleUpWindow: duration({ field: 'scaleUpWindow', max: '1h' })
      .default(DEPLOYMENT_DEFAULTS.scaleUpWindow)
      .describe('How long the autoscaler waits after load rises before adding replicas. Default 30s; at most 1h.'),
    scaleDownWindow: duration({ field: 'scaleDownWindow', max: '1h' })
      .default(DEPLOYMENT_DEFAULTS.scaleDownWindow)
      .describe('How long the autoscaler waits after load falls before removing replicas. Default 10m; at most 1h.'),
    scaleToZeroWindow: duration({ field: 'scaleToZeroWindow', min: '5m' })
      .default(DEPLOYMENT_DEFAULTS.scaleToZeroWindow)
      .describe('Idle time (no requests) before scaling to zero; only when minReplicaCount is 0. Default 1h; at least 5m.'),
    loadTargets: LoadTargets.default({ default: DEPLOYMENT_DEFAULTS.loadTarget }).describe(
      'Load metric targets; the replica count is the maximum over them. Default {"default": 0.8}.',
    ),
    scalingSchedules: z
      .record(z.string().max(63), ScalingSchedule)
      .meta({ maxProperties: 5 })
      .optional()
      .describe('Named schedules that raise minReplicaCount on a cron schedule (at most 5).'),
  })
  .describe('How the deployment scales with load. Every field has a default.');
export type AutoscalingPolicy = z.output<typeof AutoscalingPolicy>;

export const Placement = withRules(
  z.object({
    region: Region.optional().describe('The region the deployment must run in. Immutable once set.'),
    multiRegion: MultiRegion.optional().describe('The multi-region the deployment must run in.'),
    regions: z
      .array(Region)
      .min(1)
      .max(REGIONS.length)
      .meta({ 'x-kubernetes-list-type': 'set' })
      .optional()
      .describe('The regions the deployment may run in.'),
  }),
  [
    {
      rule: '(has(self.region) ? 1 : 0) + (has(self.multiRegion) ? 1 : 0) + (has(self.regions) ? 1 : 0) == 1',
      message: 'placement must set exactly one of region, multiRegion or regions',
      holds: (p) => [p.region, p.multiRegion, p.regions].filter((x) => x !== undefined).length === 1,
    },
  ],
).describe('Where the deployment may be placed. Unset: the GLOBAL multi-region. The region is chosen once, then immutable.');

// ---- spec ---------------------------------------------------------------------------------------

/** The spec's fields without its object-level rules, for .pick/.omit/.partial (zod refuses those on
 * refined objects). Validate the final object with the full spec schema. */
export const DeploymentSpecFields = z.object({
  displayName: displayName(),
  description: description('deployment'),
  annotations: annotations('deployment'),
  baseModel: required(512).describe('The base model to serve, e.g. accounts/fireworks/models/llama-v3p1-8b-instruct.'),
  minReplicaCount: int32()
    .default(DEPLOYMENT_DEFAULTS.minReplicaCount)
    .describe('Minimum number of replicas. Default 0 (scale to zero when idle).'),
  maxReplicaCount: int32()
    .optional()
    .describe('Maximum number of replicas; at least minReplicaCount. Unset: max(minReplicaCount, 1). 0 scales the deployment down to 0.'),
  maxWithRevocableReplicaCount: int32()
    .optional()
    .describe('Maximum replicas including revocable capacity (revocable = this − maxReplicaCount).'),
  replicaCount: int32()
    .optional()
    .describe(
      'Fixed replica count (Hearth; the `/scale` subresource, kubectl scale, an HPA and the REST :scale call write it). When set, the deployment runs exactly this many replicas and the built-in autoscaler is off. Unset to autoscale between minReplicaCount and maxReplicaCount (GET /scale, and so an HPA, needs it set).',
    ),
  autoscalingPolicy: AutoscalingPolicy.prefault({}),
  acceleratorCount: int32(1)
    .optional()
    .describe('Accelerators (GPUs) per replica. Unset: the estimated minimum for the base model.'),
  acceleratorType: DeploymentAcceleratorType.default(DEPLOYMENT_DEFAULTS.acceleratorType).describe(
    "Accelerator type of every replica. Default NVIDIA_A100_80GB. Hearth: CPU serves without an accelerator on the operator's CPU runtime (no acceleratorCount, placement or autoTune.longPrompt).",
  ),
  precision: Precision.default(DEPLOYMENT_DEFAULTS.precision).describe(
    'Serving precision. Default FP16. FP8 precisions need NVIDIA_H100_80GB.',
  ),
  enableAddons: z.boolean().optional().describe('If true, LoRA/PEFT addons (DeployedModels) can be loaded.'),
  draftTokenCount: int32(1)
    .optional()
    .describe('Candidate tokens per step for speculative decoding; required with draftModel or ngramSpeculationLength.'),
  draftModel: text(512)
    .optional()
    .describe('Draft model for speculative decoding, e.g. accounts/fireworks/models/my-draft-model. Empty disables it.'),
  ngramSpeculationLength: int32(1)
    .optional()
    .describe('Length of the previous input sequence considered for n-gram speculation; exclusive with draftModel.'),
  enableSessionAffinity: z.boolean().optional().describe('Sticky routing on the `user` field of requests.'),
  directRouteApiKeys: z
    .array(text(256))
    .max(32)
    .optional()
    .describe('API keys allowed on the direct route (unused without directRouteType), as SHA-256 digests sha256:<64 hex> (the REST API digests the keys it is sent; never store a key in plain text here).'),
  numPeftDeviceCached: int32()
    .optional()
    .describe('How many PEFT adapters to keep cached on the GPUs.'),
  directRouteType: DirectRouteType.optional().describe('If set, expose an endpoint that bypasses the API gateway.'),
  deploymentTemplate: text(256).optional().describe('Deployment template to use (enterprise accounts).'),
  autoTune: z
    .object({
      longPrompt: z
        .boolean()
        .optional()
        .describe('Optimise for long prompts: doubles GPU memory; needs at least 2 accelerators.'),
    })
    .optional()
    .describe('Performance profile of the deployment.'),
  placement: Placement.optional(),
  maxContextLength: int32()
    .optional()
    .describe('Maximum context length (context window). 0 or unset: the model default.'),
  disableDeploymentSizeValidation: z.boolean().optional().describe('Disable the deployment size validation.'),
  enableMtp: z.boolean().optional().describe('Enable multi-token prediction.'),
  enableHotLoad: z.boolean().optional().describe('Load weights from a hot-load bucket.'),
  hotLoadBucketType: HotLoadBucketType.optional().describe('Storage type of the hot-load bucket.'),
  hotLoadBucketUrl: text(1024)
    .optional()
    .describe('Hot-load bucket location, e.g. s3://bucket/path or gs://bucket/path, without a trailing slash.'),
  hotLoadTrainerJob: text(512).optional().describe("Trainer job whose hot-load bucket URL is copied at creation."),
  enableHotReloadLatestAddon: z
    .boolean()
    .optional()
    .describe('Load at most one addon at a time, merged into the base model.'),
  deploymentShape: text(512)
    .optional()
    .describe(
      'The deployment shape the deployment was made from, accounts/{account}/deploymentShapes/{shape}/versions/{version}. The REST API applies the shape (accelerator type and count, precision, context length) and writes the version name; the controller reads the settings, not this field. Empty: no shape.',
    ),
  targetModelVersion: text(512).optional().describe('Model version to roll out to the replicas.'),
  pricingPlanId: text(256).optional().describe('Custom pricing plan for billing.'),
  unusedAutoDeleteDuration: duration({ field: 'unusedAutoDeleteDuration' })
    .optional()
    .describe('Hearth: delete the deployment after this long without requests, when minReplicaCount is 0. Unset: 168h; "0s" disables.'),
});
type SpecOut = z.output<typeof DeploymentSpecFields>;

const isFp8 = (p: string): boolean => p.startsWith('FP8');
/** `accounts/{a}/deploymentShapes/{s}/versions/{v}` (resource ids; a version is lower-case hex or id characters). */
const SHAPE_VERSION_NAME = '^accounts/[a-z][a-z0-9-]{0,62}/deploymentShapes/[a-z][a-z0-9-]{0,62}/versions/[a-z0-9]{1,63}$';
const usesDraftModel = (s: SpecOut): boolean => s.draftModel !== undefined && s.draftModel !== '';

export const DeploymentSpec = withRules(
  DeploymentSpecFields,
  [
    {
      rule: '!has(self.maxReplicaCount) || self.minReplicaCount <= self.maxReplicaCount',
      message: 'maxReplicaCount must be greater than or equal to minReplicaCount',
      fieldPath: '.maxReplicaCount',
      holds: (s) => s.maxReplicaCount === undefined || s.minReplicaCount <= s.maxReplicaCount,
    },
    {
      rule: '!has(self.maxWithRevocableReplicaCount) || self.maxWithRevocableReplicaCount >= (has(self.maxReplicaCount) ? self.maxReplicaCount : self.minReplicaCount)',
      message: 'maxWithRevocableReplicaCount must be greater than or equal to maxReplicaCount',
      fieldPath: '.maxWithRevocableReplicaCount',
      holds: (s) => s.maxWithRevocableReplicaCount === undefined || s.maxWithRevocableReplicaCount >= (s.maxReplicaCount ?? s.minReplicaCount),
    },
    {
      rule: "!(has(self.draftModel) && self.draftModel != '' && has(self.ngramSpeculationLength))",
      message: 'draftModel and ngramSpeculationLength are mutually exclusive',
      fieldPath: '.ngramSpeculationLength',
      reason: 'FieldValueForbidden',
      holds: (s) => !(usesDraftModel(s) && s.ngramSpeculationLength !== undefined),
    },
    {
      rule: "!((has(self.draftModel) && self.draftModel != '') || has(self.ngramSpeculationLength)) || has(self.draftTokenCount)",
      message: 'draftTokenCount is required with draftModel or ngramSpeculationLength',
      fieldPath: '.draftTokenCount',
      reason: 'FieldValueRequired',
      holds: (s) => !(usesDraftModel(s) || s.ngramSpeculationLength !== undefined) || s.draftTokenCount !== undefined,
    },
    {
      rule: `!self.precision.startsWith('FP8') || self.acceleratorType in [${FP8_ACCELERATORS.map((a) => `'${a}'`).join(', ')}]`,
      message: `precision FP8 and FP8_* require acceleratorType ${FP8_ACCELERATORS.join(' or ')}`,
      fieldPath: '.precision',
      holds: (s) => !isFp8(s.precision) || (FP8_ACCELERATORS as readonly string[]).includes(s.acceleratorType),
    },
    {
      rule: `self.acceleratorType != '${CPU_ACCELERATOR_TYPE}' || !has(self.acceleratorCount)`,
      message: `acceleratorCount must be unset with acceleratorType ${CPU_ACCELERATOR_TYPE}: a CPU replica has no accelerators`,
      fieldPath: '.acceleratorCount',
      reason: 'FieldValueForbidden',
      holds: (s) => s.acceleratorType !== CPU_ACCELERATOR_TYPE || s.acceleratorCount === undefined,
    },
    {
      rule: `self.acceleratorType != '${CPU_ACCELERATOR_TYPE}' || !has(self.placement)`,
      message: `placement must be unset with acceleratorType ${CPU_ACCELERATOR_TYPE}: CPU replicas run on the nodes the operator's CPU runtime names, in no GPU region`,
      fieldPath: '.placement',
      reason: 'FieldValueForbidden',
      holds: (s) => s.acceleratorType !== CPU_ACCELERATOR_TYPE || s.placement === undefined,
    },
    {
      rule: `self.acceleratorType != '${CPU_ACCELERATOR_TYPE}' || !(has(self.autoTune) && has(self.autoTune.longPrompt) && self.autoTune.longPrompt)`,
      message: `autoTune.longPrompt needs accelerators (it doubles them); acceleratorType ${CPU_ACCELERATOR_TYPE} has none`,
      fieldPath: '.autoTune.longPrompt',
      reason: 'FieldValueForbidden',
      holds: (s) => s.acceleratorType !== CPU_ACCELERATOR_TYPE || s.autoTune?.longPrompt !== true,
    },
    {
      rule: '!(has(self.autoTune) && has(self.autoTune.longPrompt) && self.autoTune.longPrompt) || !has(self.acceleratorCount) || self.acceleratorCount >= 2',
      message: 'acceleratorCount must be at least 2 with autoTune.longPrompt',
      fieldPath: '.acceleratorCount',
      holds: (s) => !s.autoTune?.longPrompt || s.acceleratorCount === undefined || s.acceleratorCount >= 2,
    },
    {
      rule: `!has(self.deploymentShape) || self.deploymentShape == '' || self.deploymentShape.matches('${SHAPE_VERSION_NAME}')`,
      message: 'deploymentShape must be a shape version name, accounts/{account}/deploymentShapes/{shape}/versions/{version}',
      fieldPath: '.deploymentShape',
      holds: (s) => s.deploymentShape === undefined || s.deploymentShape === '' || new RegExp(SHAPE_VERSION_NAME).test(s.deploymentShape),
    },
    {
      rule: "!has(self.hotLoadBucketUrl) || !self.hotLoadBucketUrl.endsWith('/')",
      message: 'hotLoadBucketUrl must not end with a slash',
      fieldPath: '.hotLoadBucketUrl',
      holds: (s) => s.hotLoadBucketUrl === undefined || !s.hotLoadBucketUrl.endsWith('/'),
    },
    {
      rule: '!has(self.autoscalingPolicy.scalingSchedules) || !has(self.maxReplicaCount) || self.autoscalingPolicy.scalingSchedules.all(k, self.autoscalingPolicy.scalingSchedules[k].minReplicaCount <= self.maxReplicaCount)',
      message: 'autoscalingPolicy.scalingSchedules minReplicaCount must be at most maxReplicaCount',
      fieldPath: '.autoscalingPolicy.scalingSchedules',
      holds: (s) =>
        s.maxReplicaCount === undefined || Object.values(s.autoscalingPolicy.scalingSchedules ?? {}).every((x) => x.minReplicaCount <= s.maxReplicaCount!),
    },
  ],
  [
    {
      rule: '!has(oldSelf.placement) || !has(oldSelf.placement.region) || (has(self.placement) && has(self.placement.region) && self.placement.region == oldSelf.placement.region)',
      message: 'placement.region is immutable once set',
      fieldPath: '.placement.region',
      holdsOnUpdate: (s, old) => old.placement?.region === undefined || s.placement?.region === old.placement.region,
    },
  ],
).describe('Desired state of the deployment: the Fireworks Deployment fields users set.');
export type DeploymentSpec = z.output<typeof DeploymentSpec>;
export type DeploymentSpecInput = z.input<typeof DeploymentSpec>;

/**
 * The replica range a Deployment asks for, with the documented defaults the schema cannot express:
 * maxReplicaCount unset ⇒ max(minReplicaCount, 1); replicaCount set ⇒ exactly that many (the
 * autoscaler is off).
 */
export function replicaBounds(spec: Pick<DeploymentSpec, 'minReplicaCount' | 'maxReplicaCount' | 'replicaCount'>): {
  min: number;
  max: number;
  fixed: boolean;
} {
  if (spec.replicaCount !== undefined) return { min: spec.replicaCount, max: spec.replicaCount, fixed: true };
  return { min: spec.minReplicaCount, max: spec.maxReplicaCount ?? Math.max(spec.minReplicaCount, 1), fixed: false };
}

// ---- status -------------------------------------------------------------------------------------

export const ReplicaStats = z
  .object({
    pendingSchedulingReplicaCount: int32().optional().describe('Replicas waiting to be scheduled to a node.'),
    downloadingModelReplicaCount: int32().optional().describe('Replicas downloading model weights.'),
    initializingReplicaCount: int32().optional().describe('Replicas initialising the model server.'),
    readyReplicaCount: int32().optional().describe('Replicas ready and serving traffic.'),
    revocableReplicaCount: int32().optional().describe('Replicas on revocable capacity.'),
    partialReplicaCount: z.number().min(0).optional().describe('Partial replicas before a full replica is ready.'),
  })
  .describe('Per-stage replica counters.');

export const ScalingDecisionInputs = z
  .object({
    currentReplicas: int32().describe('Replica count before the decision.'),
    minReplicas: int32().describe('minReplicaCount in force.'),
    maxReplicas: int32().describe('maxReplicaCount in force.'),
    quotaMaxReplicas: int32().optional().describe('Most replicas the quota allowed, when known.'),
    fixedReplicas: int32().optional().describe('The fixed count (replicaCount), when set.'),
    inFlight: z.number().min(0).optional().describe('Requests in flight (held ones included), summed over gateway replicas; unset without a fresh sample.'),
    requestsPerSecond: z.number().min(0).optional().describe('Request arrivals per second, summed over gateway replicas.'),
    tokensPerSecond: z.number().min(0).optional().describe('Generated tokens per second, summed over gateway replicas.'),
    targetRecommendations: z
      .record(z.string().max(64), int32())
      .meta({ maxProperties: 8 })
      .optional()
      .describe('Replicas each load target asked for.'),
    recommendation: int32().optional().describe('Max over load targets, raised to the schedule floor.'),
    scaleUpWindowMin: int32().optional().describe('Lowest recommendation over the scale-up window.'),
    scaleDownWindowMax: int32().optional().describe('Highest recommendation over the scale-down window.'),
    scheduleFloor: int32().optional().describe('Floor of the active scaling schedules (0 if none).'),
    idleSeconds: z.number().min(0).optional().describe('Seconds since the last request (or since creation if none).'),
  })
  .describe('What the autoscaler saw when it decided.');

export const ScalingDecision = z
  .object({
    time: z.iso.datetime({ offset: true }).describe('When the autoscaler decided.'),
    fromReplicas: int32().describe('Replica count before the decision.'),
    toReplicas: int32().describe('Replica count the autoscaler chose.'),
    reason: text(256).describe('Why, in CamelCase (e.g. LoadIncreased, ScaleToZeroWindowElapsed).'),
    message: text(1024).optional().describe('Details of the decision.'),
    inputs: ScalingDecisionInputs.optional(),
  })
  .describe('One autoscaler decision.');

export const DeploymentStatus = z
  .object({
    state: DeploymentState.default('STATE_UNSPECIFIED').describe('Fireworks state of the deployment.'),
    status: Status.optional(),
    region: Region.optional().describe('The region the deployment runs in (within placement).'),
    replicaCount: int32().optional().describe('Current number of replicas.'),
    desiredReplicaCount: int32().optional().describe('Replica count the autoscaler is driving towards.'),
    replicaStats: ReplicaStats.optional(),
    labelSelector: text(1024).optional().describe('Label selector of the replica pods (for the scale subresource and HPAs).'),
    directRouteHandle: text(1024).optional().describe('Hostname / PSC attachment / PrivateLink service of the direct route.'),
    activeModelVersion: text(512).optional().describe('Model version currently active on the replicas.'),
    deploymentShape: text(512)
      .optional()
      .describe('The deployment shape version (spec.deploymentShape) of the generation the controller last acted on; unset without a shape.'),
    updateTime: timestamp('Last time the controller changed the state.'),
    deleteTime: timestamp('When the deployment was soft-deleted.'),
    purgeTime: timestamp('When a soft-deleted deployment will be hard-deleted.'),
    lastRequestTime: timestamp('Last time a request arrived for the deployment (scale to zero, auto delete).'),
    lastScaleTime: timestamp('Last time the replica count changed.'),
    scalingDecisions: z.array(ScalingDecision).max(10).optional().describe('The most recent autoscaler decisions, newest last (at most 10).'),
    ...kubeStatusFields,
  })
  .describe('Observed state of the deployment (written by the controller).');
export type DeploymentStatus = z.output<typeof DeploymentStatus>;

export const Deployment = resource('Deployment', DeploymentSpec, DeploymentStatus);
export type Deployment = z.output<typeof Deployment>;
export type DeploymentInput = z.input<typeof Deployment>;

/**
 * The seam between the Deployment controller and its autoscaler (src/controllers/autoscaler): the
 * replicas a deployment should run before quota, as a count or with the status fields the
 * autoscaler owns (copied into the pass's one status write; undefined fields keep what status has).
 * It lives with the kind because both sides use it and neither may import the other.
 */
export interface ReplicaDecision {
  replicas: number;
  status?: Partial<Pick<DeploymentStatus, 'scalingDecisions' | 'lastRequestTime'>>;
}
export type DesiredReplicas = (dep: Deployment, spec: DeploymentSpec, now: number) => number | ReplicaDecision;
