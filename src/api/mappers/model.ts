// Fireworks `Model` (wire, `gatewayModel`) ⇄ `models` row (PostgreSQL): the one place that knows how
// the two line up.
//
// - Columns hold what lists sort on and what the server owns: `displayName`, `description`, `kind`,
//   `state`, `status`, `fineTuningJob`, the times. Every other writable field lives in `spec` under
//   its wire name (proto3 JSON), so a new field needs no migration.
// - Output-only fields (`name`, times, `state`, `status`, `importedFrom`, `deployedModelRefs`, the
//   tunable flags, `peftDetails.baseModelType`, `baseModelDetails.defaultPrecision`, …) are accepted
//   and ignored on input (AIP-203); unknown fields are rejected.
// - `kind` defaults to HF_PEFT_ADDON (also for KIND_UNSPECIFIED, proto3's "not set"). A created
//   model is UPLOADING, as the spec says of a model whose files have not arrived; Hearth has no
//   upload path yet, so it stays there until something (an SFT job, a later upload) makes it READY.
// - `baseModelDetails.parameterCount` is int64: a string on the wire, a string in `spec`.
import { z } from 'zod';
import { SHARED_ACCOUNT } from '../wire/resource-names.js';
import { Status } from '../../crds/common.js';
import { DeployedModelState } from '../../crds/deployed-model.js';
import { Precision } from '../../crds/deployment.js';
import { MODEL_STATES, type ModelRow } from '../../db/schema/index.js';
import { formatInt64, parseInt64 } from '../wire/int64.js';
import type { FieldViolation } from '../wire/errors.js';
import { omitUnset } from '../wire/omit.js';
import { formatTimestamp } from '../wire/timestamp.js';

export const COLLECTION = 'models';

/** The account whose models every account may reference by name (Hearth hosts no catalog of them). */
export const SHARED_MODELS_ACCOUNT = SHARED_ACCOUNT;

export const ModelKind = z.enum([
  'KIND_UNSPECIFIED',
  'HF_BASE_MODEL',
  'HF_PEFT_ADDON',
  'HF_TEFT_ADDON',
  'FLUMINA_BASE_MODEL',
  'FLUMINA_ADDON',
  'DRAFT_ADDON',
  'FIRE_AGENT',
  'LIVE_MERGE',
  'CUSTOM_MODEL',
  'EMBEDDING_MODEL',
  'SNAPSHOT_MODEL',
]);
export type ModelKind = z.infer<typeof ModelKind>;
export const DEFAULT_MODEL_KIND: ModelKind = 'HF_PEFT_ADDON';

/** Kinds that are addons loaded onto a base model's deployment (what a DeployedModel loads). */
export const ADDON_KINDS: readonly ModelKind[] = ['HF_PEFT_ADDON', 'HF_TEFT_ADDON', 'FLUMINA_ADDON'];

const CheckpointFormat = z.enum(['CHECKPOINT_FORMAT_UNSPECIFIED', 'NATIVE', 'HUGGINGFACE', 'UNINITIALIZED']);
const SnapshotType = z.enum(['FULL_SNAPSHOT', 'INCREMENTAL_SNAPSHOT']);
const ignored = (what: string) => z.unknown().optional().describe(`Output only (${what}); ignored on input.`);
const modelRef = z.string().max(512);
const int64 = z
  .union([z.string().regex(/^\d{1,19}$/, 'must be a non-negative integer (int64 as a string)'), z.int().min(0)])
  .describe('int64, as a string (a JSON number is accepted).');

const BaseModelDetails = z
  .strictObject({
    worldSize: z.int32().min(1).optional().describe('The default number of GPUs the model is served with (default 1).'),
    checkpointFormat: CheckpointFormat.optional(),
    huggingfaceFiles: z.array(z.string().max(1024)).max(10_000).optional().describe('Hugging Face files; only with checkpointFormat HUGGINGFACE.'),
    parameterCount: int64.optional().describe('The number of model parameters (int64 string).'),
    moe: z.boolean().optional().describe('A Mixture of Experts model.'),
    tunable: z.boolean().optional().describe('Deprecated.'),
    modelType: z.string().max(256).optional().describe('The type of the model.'),
    supportsFireattention: z.boolean().optional(),
    defaultPrecision: ignored('default precision'),
    supportsMtp: z.boolean().optional(),
  })
  .describe('Base model details; required if kind is HF_BASE_MODEL, not allowed otherwise.');

const PeftDetails = z
  .strictObject({
    baseModel: modelRef.optional().describe('Required. The base model, e.g. accounts/fireworks/models/falcon-7b.'),
    r: z.int32().min(4).max(64).optional().describe('Required. The rank of the update matrices, 4 to 64.'),
    targetModules: z.array(z.string().min(1).max(256)).max(256).optional().describe('Required. The target modules of the adapter.'),
    baseModelType: ignored('the type of the base model'),
    mergeAddonModelName: modelRef.optional().describe('The model to merge with the base model.'),
  })
  .describe('PEFT addon details; required if kind is HF_PEFT_ADDON or HF_TEFT_ADDON.');

const ConversationConfig = z.strictObject({
  style: z.string().max(256).optional().describe('Required. The chat template to use.'),
  system: z.string().max(32_768).optional().describe('The system prompt.'),
  template: z.string().max(65_536).optional().describe('The Jinja template (style "jinja").'),
});

const DateMessage = z.strictObject({
  year: z.int32().min(0).max(9999).optional(),
  month: z.int32().min(0).max(12).optional(),
  day: z.int32().min(0).max(31).optional(),
});

/** Writable fields of the wire resource. */
const WRITABLE = {
  displayName: z.string().max(63).describe('Human-readable name, fewer than 64 characters.'),
  description: z.string().max(999).describe('Fewer than 1000 characters.'),
  kind: ModelKind.describe('The kind of model; default HF_PEFT_ADDON.'),
  githubUrl: z.string().max(2048),
  huggingFaceUrl: z.string().max(2048),
  baseModelDetails: BaseModelDetails,
  peftDetails: PeftDetails,
  teftDetails: z.strictObject({}).describe('TEFT addon details; required if kind is HF_TEFT_ADDON, not allowed otherwise.'),
  public: z.boolean().describe('If true, the model is publicly readable.'),
  conversationConfig: ConversationConfig.describe('If set, the Chat Completions API is enabled for this model.'),
  contextLength: z.int32().min(0).describe('The maximum context length.'),
  supportsImageInput: z.boolean(),
  supportsTools: z.boolean(),
  defaultDraftModel: modelRef.describe('Default draft model for speculative decoding.'),
  defaultDraftTokenCount: z.int32().min(0).describe('Required with defaultDraftModel.'),
  deprecationDate: DateMessage,
  supportsLora: z.boolean(),
  useHfApplyChatTemplate: z.boolean(),
  trainingContextLength: z.int32().min(0),
  snapshotType: SnapshotType,
};
export const WRITABLE_FIELDS: readonly string[] = Object.keys(WRITABLE);

const OUTPUT_ONLY = {
  name: z.string().describe('Output only. accounts/{account}/models/{model}.'),
  createTime: z.string().describe('Output only. RFC 3339.'),
  updateTime: z.string().describe('Output only. RFC 3339.'),
  state: z.enum(MODEL_STATES).describe('Output only. UPLOADING until the files are in, then READY.'),
  status: Status.describe('Output only. {code (a google.rpc.Code name), message}.'),
  importedFrom: z.string().describe('Output only.'),
  fineTuningJob: z.string().describe('Output only. The fine-tuning job that produced the model.'),
  deployedModelRefs: z
    .array(z.object({ name: z.string(), deployment: z.string(), state: DeployedModelState, default: z.boolean(), public: z.boolean() }).partial())
    .describe('Output only. Where the model is loaded (Get only).'),
  cluster: z.string().describe('Output only.'),
  calibrated: z.boolean().describe('Output only.'),
  tunable: z.boolean().describe('Output only.'),
  rlTunable: z.boolean().describe('Output only.'),
  defaultSamplingParams: z.record(z.string(), z.number()).describe('Output only.'),
  supportsServerless: z.boolean().describe('Output only.'),
  supervisedLoraTunable: z.boolean().describe('Output only.'),
  supervisedFullParameterTunable: z.boolean().describe('Output only.'),
  rlLoraTunable: z.boolean().describe('Output only.'),
  rlFullParameterTunable: z.boolean().describe('Output only.'),
};
export const OUTPUT_ONLY_FIELDS: readonly string[] = Object.keys(OUTPUT_ONLY);
/** Output-only fields inside writable messages. */
const NESTED_OUTPUT_ONLY = ['peftDetails.baseModelType', 'baseModelDetails.defaultPrecision'];

const ignoredOnInput = Object.fromEntries(Object.keys(OUTPUT_ONLY).map((k) => [k, ignored(k)])) as Record<keyof typeof OUTPUT_ONLY, z.ZodOptional<z.ZodUnknown>>;

/** The `model` of a create body, and a PATCH body: any subset of the resource. */
export const ModelBody = z.strictObject({ ...WRITABLE, ...ignoredOnInput }).partial().describe('A Fireworks Model (output-only fields are ignored).');

/** POST body: the wrapper `{model, modelId, cluster}` (the spec's GatewayCreateModelBody). */
export const CreateModelBody = z
  .strictObject({
    model: ModelBody.optional().describe('The properties of the model being created.'),
    modelId: z.string().max(63).describe('Required. The model id.'),
    cluster: z.string().max(512).optional().describe('A BYOC cluster; Hearth has none, so it must be empty.'),
  })
  .describe('GatewayCreateModelBody.');

export const ModelResponse = z
  .object({
    ...WRITABLE,
    ...OUTPUT_ONLY,
    baseModelDetails: BaseModelDetails.extend({ defaultPrecision: Precision.optional(), parameterCount: z.string().optional().describe('The number of model parameters (int64, always a string on output).') }),
    peftDetails: PeftDetails.extend({ baseModelType: z.string().optional() }),
  })
  .partial()
  .describe('A Fireworks Model.');

/** Paths a PATCH mask replaces as a whole. */
export const ATOMIC_PATHS = ['deprecationDate', 'conversationConfig', 'teftDetails'] as const;

// ---- wire → row ----------------------------------------------------------------------------------

/** The writable part of a model body: output-only fields (also nested ones) dropped, int64 as strings. */
export function writableFromWire(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (WRITABLE_FIELDS.includes(k) && v !== undefined) out[k] = structuredClone(v);
  for (const p of NESTED_OUTPUT_ONLY) {
    const [top, leaf] = p.split('.') as [string, string];
    const msg = out[top];
    if (msg && typeof msg === 'object') delete (msg as Record<string, unknown>)[leaf];
  }
  const details = out.baseModelDetails as Record<string, unknown> | undefined;
  if (details && details.parameterCount !== undefined) details.parameterCount = formatInt64(parseInt64(details.parameterCount, 'baseModelDetails.parameterCount'));
  if (out.kind === 'KIND_UNSPECIFIED') delete out.kind;
  return out;
}

/** True when a mask path names an output-only field (ignored on input). */
export function isOutputOnlyPath(path: string): boolean {
  const top = path.split('.')[0]!;
  return OUTPUT_ONLY_FIELDS.includes(top) || NESTED_OUTPUT_ONLY.some((p) => path === p || path.startsWith(`${p}.`));
}

/** What goes into the columns and what into `spec`. */
export function rowFieldsOf(writable: Record<string, unknown>): { displayName: string; description: string; kind: ModelKind; spec: Record<string, unknown> } {
  const { displayName, description, kind, ...spec } = writable;
  return {
    displayName: (displayName as string | undefined) ?? '',
    description: (description as string | undefined) ?? '',
    kind: (kind as ModelKind | undefined) ?? DEFAULT_MODEL_KIND,
    spec,
  };
}

/** The writable fields of a stored model, as a wire object (the base a PATCH mask applies to). */
export function writableOfRow(row: ModelRow): Record<string, unknown> {
  // Not omitUnset: an empty message (`teftDetails: {}`) is set, and the kind rules must see it.
  const out: Record<string, unknown> = { ...structuredClone(row.spec), kind: row.kind };
  if (row.displayName !== '') out.displayName = row.displayName;
  if (row.description !== '') out.description = row.description;
  return out;
}

const isSet = (v: unknown): boolean => v !== undefined && v !== null;

/**
 * The rules of a whole model (after defaults, after a PATCH is applied) that a per-field schema
 * cannot state: which details each kind requires or forbids, and required sub-fields.
 */
export function modelViolations(writable: Record<string, unknown>, prefix = ''): FieldViolation[] {
  const f = (field: string) => `${prefix}${field}`;
  const out: FieldViolation[] = [];
  const kind = (writable.kind as ModelKind | undefined) ?? DEFAULT_MODEL_KIND;
  const base = writable.baseModelDetails as Record<string, unknown> | undefined;
  const peft = writable.peftDetails as Record<string, unknown> | undefined;
  if (kind === 'HF_BASE_MODEL' && !isSet(base)) out.push({ field: f('baseModelDetails'), description: 'is required when kind is HF_BASE_MODEL', reason: 'REQUIRED' });
  if (kind !== 'HF_BASE_MODEL' && isSet(base)) out.push({ field: f('baseModelDetails'), description: 'must not be set unless kind is HF_BASE_MODEL', reason: 'NOT_ALLOWED' });
  if (kind === 'HF_TEFT_ADDON' && !isSet(writable.teftDetails)) out.push({ field: f('teftDetails'), description: 'is required when kind is HF_TEFT_ADDON', reason: 'REQUIRED' });
  if (kind !== 'HF_TEFT_ADDON' && isSet(writable.teftDetails)) out.push({ field: f('teftDetails'), description: 'must not be set unless kind is HF_TEFT_ADDON', reason: 'NOT_ALLOWED' });
  if (kind === 'HF_PEFT_ADDON' || kind === 'HF_TEFT_ADDON') {
    if (!isSet(peft)) out.push({ field: f('peftDetails'), description: `is required when kind is ${kind}`, reason: 'REQUIRED' });
    else {
      if (typeof peft!.baseModel !== 'string' || peft!.baseModel === '') out.push({ field: f('peftDetails.baseModel'), description: 'is required', reason: 'REQUIRED' });
      if (!isSet(peft!.r)) out.push({ field: f('peftDetails.r'), description: 'is required (4 to 64)', reason: 'REQUIRED' });
      if (!Array.isArray(peft!.targetModules) || peft!.targetModules.length === 0) out.push({ field: f('peftDetails.targetModules'), description: 'is required (at least one module)', reason: 'REQUIRED' });
    }
  }
  if (base && Array.isArray(base.huggingfaceFiles) && base.huggingfaceFiles.length > 0 && base.checkpointFormat !== 'HUGGINGFACE') {
    out.push({ field: f('baseModelDetails.huggingfaceFiles'), description: 'may be set only when checkpointFormat is HUGGINGFACE', reason: 'NOT_ALLOWED' });
  }
  const conv = writable.conversationConfig as Record<string, unknown> | undefined;
  if (conv && (typeof conv.style !== 'string' || conv.style === '')) out.push({ field: f('conversationConfig.style'), description: 'is required', reason: 'REQUIRED' });
  if (isSet(writable.defaultDraftModel) && writable.defaultDraftModel !== '' && !isSet(writable.defaultDraftTokenCount)) {
    out.push({ field: f('defaultDraftTokenCount'), description: 'is required when defaultDraftModel is set', reason: 'REQUIRED' });
  }
  return out;
}

// ---- row → wire ----------------------------------------------------------------------------------

export interface DeployedModelRef {
  name: string;
  deployment: string;
  state: string;
  default?: boolean;
  public?: boolean;
}

/** The wire resource; `deployedModelRefs` only where the caller has them (Get). */
export function modelToWire(row: ModelRow, refs?: DeployedModelRef[]): Record<string, unknown> {
  return omitUnset({
    name: `accounts/${row.accountId}/${COLLECTION}/${row.modelId}`,
    displayName: row.displayName,
    description: row.description,
    createTime: formatTimestamp(row.createTime),
    updateTime: formatTimestamp(row.updateTime),
    state: row.state,
    status: row.status,
    kind: row.kind,
    ...structuredClone(row.spec),
    fineTuningJob: row.fineTuningJob ?? undefined,
    deployedModelRefs: refs,
  });
}
