// The narrow view of a hearth.dev/v1alpha1 Deployment that the pure builders read.
//
// The CRD schema (src/crds/deployment.ts) is being written concurrently and had not landed when
// this was written, so this is a local input interface with exactly the Fireworks field names of
// `gatewayDeployment` (shared/spec/api-notes.md §5.1). Every field is optional except `baseModel`,
// as on the wire; defaults are applied here by the builders, not assumed. When the CRD types land,
// `DeploymentSpecInput` should become an alias of the CRD's spec output type (one source of truth).

/** `DeploymentPrecision` (api-notes §4), without the legacy `PRECISION_UNSPECIFIED` zero value. */
export const PRECISIONS = [
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
] as const;
export type Precision = (typeof PRECISIONS)[number];

/** `Placement`: exactly one of region | multiRegion | regions (unset ⇒ GLOBAL). */
export interface PlacementInput {
  region?: string;
  multiRegion?: string;
  regions?: string[];
}

/** `AutoTune`. */
export interface AutoTuneInput {
  /** Optimise for long prompts: roughly doubles GPU memory; twice the GPUs when no count is given. */
  longPrompt?: boolean;
}

/** The spec fields the Deployment controller's pure parts read (Fireworks names). */
export interface DeploymentSpecInput {
  /** Required: e.g. `accounts/fireworks/models/llama-v3p1-8b-instruct`. */
  baseModel: string;
  /** String, not the fleet enum: the API accepts types this fleet may not offer. */
  acceleratorType?: string;
  /** GPUs per replica; unset/0 ⇒ estimated minimum for the model. */
  acceleratorCount?: number;
  precision?: Precision;
  draftModel?: string;
  draftTokenCount?: number;
  ngramSpeculationLength?: number;
  enableAddons?: boolean;
  autoTune?: AutoTuneInput;
  /** 0/unset ⇒ model default. */
  maxContextLength?: number;
  placement?: PlacementInput;
  minReplicaCount?: number;
  maxReplicaCount?: number;
}

/** The status fields the builders read: the region chosen once at creation (Fireworks `region`, RO). */
export interface DeploymentStatusInput {
  region?: string;
}

/** The object metadata the builders need to name children and point ownerReferences at the owner. */
export interface OwnerMeta {
  name: string;
  namespace?: string;
  uid?: string;
}

/** A hearth.dev/v1alpha1 Deployment as the builders see it. */
export interface HearthDeployment {
  apiVersion: 'hearth.dev/v1alpha1';
  kind: 'Deployment';
  metadata: OwnerMeta;
  spec: DeploymentSpecInput;
  status?: DeploymentStatusInput;
}
