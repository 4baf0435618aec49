// From a Deployment spec and the operator's model-server configuration to the model server a replica
// runs: which accelerator, how many of them, which image, which arguments. Pure functions; every
// rule the product docs state about these fields is applied (or reported) here, once.
import { minimumAcceleratorCount } from '../../fleet/base-models.js';
import { ACCELERATORS, DEFAULT_ACCELERATOR_TYPE, isAcceleratorType, type AcceleratorType } from '../../fleet/catalog.js';
import { acceptsAddons, addonSlots } from '../../fleet/lora.js';
import type { CpuServerTemplate, LoraSettings, ModelFilesSidecar, ModelServerTemplate, ModelSource, ModelServerConfig } from './model-server-config.js';
import { CPU_ACCELERATOR_TYPE, type DeploymentSpec, type Precision } from '../../crds/deployment.js';

/** A verdict the reconciler turns into a condition: `reason` is CamelCase, `message` a sentence. */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string; message: string };

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const fail = (reason: string, message: string): Checked<never> => ({ ok: false, reason, message });

/** Everything a replica's container needs, resolved from spec + config: on GPUs, or on the CPU runtime. */
export type ModelServer = GpuModelServer | CpuModelServer;

export interface GpuModelServer extends ModelServerCommon {
  template: ModelServerTemplate;
  acceleratorType: AcceleratorType;
  acceleratorCount: number;
  /** Why that many GPUs, for status ("2 GPUs: acceleratorCount from the spec"). */
  acceleratorCountReason: string;
}

/** `acceleratorType: CPU`: the operator's CPU runtime (its CPU, memory and nodes), no GPU. */
export interface CpuModelServer extends ModelServerCommon {
  template: CpuServerTemplate;
  acceleratorType: typeof CPU_ACCELERATOR_TYPE;
  acceleratorCount: 0;
  acceleratorCountReason: string;
}

interface ModelServerCommon {
  args: string[];
  env: { name: string; value: string }[];
  /** The sidecar that puts adapters' files into /mnt/models: deployments with addons, when configured. */
  modelFiles?: ModelFilesSidecar;
}

// ---- models ------------------------------------------------------------------------------------

const MODEL_NAME_RE = /^accounts\/([^/]+)\/models\/([^/]+)$/;

/** `accounts/<account>/models/<model>` → its parts; undefined for any other form. */
export function parseModelName(name: string): { account: string; model: string } | undefined {
  const m = MODEL_NAME_RE.exec(name);
  return m?.[1] && m[2] ? { account: m[1], model: m[2] } : undefined;
}

/**
 * What the server loads for a Fireworks model name: the configured source when the operator knows
 * the model, else `modelPathTemplate` with `{account}`/`{model}` filled in. A name that is not in
 * the `accounts/…/models/…` form (e.g. a Hugging Face id written with kubectl) is loaded as is.
 */
export function modelSource(baseModel: string, config: Pick<ModelServerConfig, 'models' | 'modelPathTemplate'>): ModelSource {
  const known = config.models[baseModel];
  if (known) return known;
  const parts = parseModelName(baseModel);
  if (!parts) return { path: baseModel };
  return { path: config.modelPathTemplate.replaceAll('{account}', parts.account).replaceAll('{model}', parts.model) };
}

// ---- accelerators ------------------------------------------------------------------------------

/** The spec's accelerator type, defaulted (A100 80GB, as the docs say), if this fleet offers it. */
export function resolveAcceleratorType(spec: { acceleratorType?: string }): Checked<AcceleratorType> {
  const acc = spec.acceleratorType ?? DEFAULT_ACCELERATOR_TYPE;
  if (!isAcceleratorType(acc)) {
    return fail('UnsupportedAcceleratorType', `accelerator type ${acc} is not offered by this fleet`);
  }
  return ok(acc);
}

// The sizing rule is the fleet's (shared with the deployment shapes the REST API offers).
export { bytesPerParameter, minimumAcceleratorCount, WEIGHTS_MEMORY_FRACTION } from '../../fleet/base-models.js';

/**
 * GPUs per replica (the docs' rules): an explicit `acceleratorCount` wins; otherwise the minimum
 * for the model, doubled for `autoTune.longPrompt` ("a deployment using twice the minimum number
 * of GPUs … will be created"). A replica cannot span nodes, so the result is capped at
 * `maxPerReplica`; a model whose minimum alone does not fit is an error.
 */
export function effectiveAcceleratorCount(
  spec: Partial<Pick<DeploymentSpec, 'acceleratorCount' | 'autoTune' | 'precision'>>,
  acc: AcceleratorType,
  source: ModelSource,
  maxPerReplica: number,
): Checked<{ count: number; reason: string }> {
  const explicit = spec.acceleratorCount ?? 0;
  if (explicit > 0) {
    if (explicit > maxPerReplica) {
      return fail('TooManyAccelerators', `acceleratorCount ${explicit} exceeds the ${maxPerReplica} GPUs of one node`);
    }
    return ok({ count: explicit, reason: `${gpus(explicit)}: acceleratorCount from the spec` });
  }
  const min = minimumAcceleratorCount(source, acc, spec.precision);
  if (min > maxPerReplica) {
    return fail(
      'ModelTooLarge',
      `${source.path} needs ${gpus(min)} of ${acc} per replica at ${spec.precision ?? 'FP16'}, more than the ${maxPerReplica} of one node; use a lower precision or a larger accelerator`,
    );
  }
  const sized = source.parametersB === undefined ? 'default for a model of unknown size' : `minimum for ${source.parametersB}B parameters on ${acc}`;
  if (spec.autoTune?.longPrompt !== true) return ok({ count: min, reason: `${gpus(min)}: ${sized}` });
  const doubled = Math.min(min * 2, maxPerReplica);
  const capped = doubled < min * 2 ? `, capped at ${maxPerReplica} per node` : '';
  return ok({ count: doubled, reason: `${gpus(doubled)}: twice the ${sized} (${gpus(min)}) for longPrompt${capped}` });
}

function gpus(n: number): string {
  return `${n} GPU${n === 1 ? '' : 's'}`;
}

// ---- arguments ---------------------------------------------------------------------------------

/** Server arguments for a precision on an accelerator (FP8 needs FP8 hardware, as the docs say). */
export function precisionArgs(precision: Precision | undefined, acc: AcceleratorType, template: ModelServerTemplate): Checked<string[]> {
  // Unset (only outside the CRD, which defaults FP16): the checkpoint's own dtype, vLLM's `auto`.
  if (precision === undefined) return ok([]);
  if (precision.startsWith('FP8') && !ACCELERATORS[acc].fp8) {
    return fail('UnsupportedPrecision', `precision ${precision} needs FP8-capable GPUs; ${acc} is not one (use NVIDIA_H100_80GB)`);
  }
  const args = template.precisionArgs[precision];
  if (!args) return fail('UnsupportedPrecision', `precision ${precision} is not supported by the ${template.engine} runtime`);
  return ok(args);
}

/**
 * vLLM's `--speculative-config` JSON from the Fireworks speculation fields, or undefined when
 * speculation is off. Docs: draftModel and ngramSpeculationLength exclude each other; either needs
 * draftTokenCount; draftTokenCount 0 turns speculation off.
 */
export function speculativeConfig(
  spec: Pick<DeploymentSpec, 'draftModel' | 'draftTokenCount' | 'ngramSpeculationLength'>,
  config: Pick<ModelServerConfig, 'models' | 'modelPathTemplate'>,
): Checked<string | undefined> {
  const draft = spec.draftModel ? spec.draftModel : undefined;
  const ngram = spec.ngramSpeculationLength && spec.ngramSpeculationLength > 0 ? spec.ngramSpeculationLength : undefined;
  if (draft === undefined && ngram === undefined) return ok(undefined);
  if (draft !== undefined && ngram !== undefined) {
    return fail('InvalidSpec', 'draftModel and ngramSpeculationLength cannot be used together: they are alternative ways to speculate');
  }
  if (spec.draftTokenCount === undefined) {
    return fail('InvalidSpec', `draftTokenCount must be set when ${draft !== undefined ? 'draftModel' : 'ngramSpeculationLength'} is used`);
  }
  if (spec.draftTokenCount === 0) return ok(undefined);
  if (draft !== undefined) {
    const path = modelSource(draft, config).path;
    const method = draftMethod(draft, path);
    return ok(JSON.stringify({ model: path, num_speculative_tokens: spec.draftTokenCount, ...(method ? { method } : {}) }));
  }
  // vLLM defaults prompt_lookup_min to prompt_lookup_max: n-grams of exactly the spec's length.
  return ok(JSON.stringify({ method: 'ngram', prompt_lookup_max: ngram, num_speculative_tokens: spec.draftTokenCount }));
}

/**
 * The vLLM method of a draft model, when its name says it is not a plain draft model: recent vLLM
 * treats any draft without `method` as `draft_model`, so EAGLE heads (the docs' `eagle-*` drafts)
 * must be named. Undefined: a standalone draft model.
 */
export function draftMethod(...names: string[]): 'eagle' | 'eagle3' | undefined {
  const n = names.join(' ').toLowerCase();
  if (n.includes('eagle3')) return 'eagle3';
  if (n.includes('eagle')) return 'eagle';
  return undefined;
}

/**
 * LoRA serving when the deployment accepts addons (DeployedModels load adapters into the replicas
 * at runtime; src/fleet/lora.ts): `--max-loras` is the deployment's `numPeftDeviceCached` when set,
 * 1 for `enableHotReloadLatestAddon` alone, and the CPU cache never smaller than it.
 */
export function loraArgs(
  enableAddons: boolean | undefined,
  lora: LoraSettings,
  spec: { numPeftDeviceCached?: number; enableHotReloadLatestAddon?: boolean } = {},
): string[] {
  const flags = { ...spec, ...(enableAddons !== undefined ? { enableAddons } : {}) };
  if (!acceptsAddons(flags)) return [];
  const maxLoras = addonSlots(flags, lora.maxLoras);
  return [
    '--enable-lora',
    '--max-loras',
    String(maxLoras),
    '--max-lora-rank',
    String(lora.maxLoraRank),
    '--max-cpu-loras',
    String(Math.max(lora.maxCpuLoras, maxLoras)),
  ];
}

/** vLLM's switch for `/v1/load_lora_adapter` and `/v1/unload_lora_adapter`. */
export const RUNTIME_LORA_ENV = { name: 'VLLM_ALLOW_RUNTIME_LORA_UPDATING', value: 'True' };

/**
 * The model server of one replica, or the first reason the spec cannot be served. The server is
 * named after the Fireworks model (`--served-model-name`), so the gateway forwards `model` as is.
 */
export function buildModelServer(spec: DeploymentSpec, config: ModelServerConfig): Checked<ModelServer> {
  if (spec.acceleratorType === CPU_ACCELERATOR_TYPE) return buildCpuModelServer(spec, config);
  const acc = resolveAcceleratorType(spec);
  if (!acc.ok) return acc;
  const info = ACCELERATORS[acc.value];
  const template = config.servers[info.vendor];
  const source = modelSource(spec.baseModel, config);
  if (source.moe === true && !info.moeSupported) {
    return fail('UnsupportedModel', `mixture-of-experts models such as ${spec.baseModel} cannot be served on ${acc.value}`);
  }
  const count = effectiveAcceleratorCount(spec, acc.value, source, config.workload.maxAcceleratorsPerReplica);
  if (!count.ok) return count;
  const precision = precisionArgs(spec.precision, acc.value, template);
  if (!precision.ok) return precision;
  const speculative = speculativeConfig(spec, config);
  if (!speculative.ok) return speculative;

  return ok({
    template,
    acceleratorType: acc.value,
    acceleratorCount: count.value.count,
    acceleratorCountReason: count.value.reason,
    ...serverCommon(spec, config, template, source, count.value.count, precision.value, speculative.value),
  });
}

/** The arguments, environment and sidecar every model server gets, on GPUs or on CPU. */
function serverCommon(
  spec: DeploymentSpec,
  config: ModelServerConfig,
  template: ModelServerTemplate,
  source: ModelSource,
  tensorParallel: number,
  precision: string[],
  speculative: string | undefined,
): ModelServerCommon {
  const args = [
    ...(template.modelArg === 'positional' ? [source.path] : ['--model', source.path]),
    '--served-model-name',
    spec.baseModel,
    '--host',
    '0.0.0.0',
    '--port',
    String(template.port),
    '--tensor-parallel-size',
    String(tensorParallel),
    ...precision,
    ...(spec.maxContextLength && spec.maxContextLength > 0 ? ['--max-model-len', String(spec.maxContextLength)] : []),
    ...(speculative !== undefined ? ['--speculative-config', speculative] : []),
    ...loraArgs(spec.enableAddons, config.lora, spec),
    ...template.extraArgs,
  ];
  const addons = acceptsAddons(spec);
  const env = [...template.env, ...(addons ? [RUNTIME_LORA_ENV] : [])];
  return { args, env, ...(addons && config.modelFiles ? { modelFiles: config.modelFiles } : {}) };
}

/**
 * `acceleratorType: CPU`: the operator's CPU runtime (`servers.cpu`), one process per replica
 * (tensor parallelism 1), the precisions its `precisionArgs` allow.
 */
function buildCpuModelServer(spec: DeploymentSpec, config: ModelServerConfig): Checked<CpuModelServer> {
  const template = config.servers.cpu;
  if (!template) {
    return fail(
      'UnsupportedAcceleratorType',
      `acceleratorType ${CPU_ACCELERATOR_TYPE} needs a CPU runtime, and the operator has configured none (model-server configuration servers.cpu)`,
    );
  }
  const args = template.precisionArgs[spec.precision];
  if (!args) return fail('UnsupportedPrecision', `precision ${spec.precision} is not supported by the CPU runtime (use FP16 or BF16)`);
  const speculative = speculativeConfig(spec, config);
  if (!speculative.ok) return speculative;
  return ok({
    template,
    acceleratorType: CPU_ACCELERATOR_TYPE,
    acceleratorCount: 0,
    acceleratorCountReason: `no accelerator: ${template.cpu} CPU and ${template.memory} memory per replica on the CPU runtime`,
    ...serverCommon(spec, config, template, modelSource(spec.baseModel, config), 1, args, speculative.value),
  });
}
