// The model server as operator configuration, not code: one template per GPU vendor
// (vLLM for NVIDIA, its ROCm build for AMD), the pod settings every replica gets, the LoRA limits
// and the map from Fireworks model names to what the server loads. Defaults live here; an operator
// overrides any part with a typed, zod-validated object (loaded later from a ConfigMap or a file).
import { z } from 'zod';
import { Precision } from '../../crds/deployment.js';
import { DEFAULT_LORA_LIMITS, DEFAULT_MODEL_PATH_TEMPLATE, MODEL_FILES_PORT } from '../../fleet/lora.js';
import { BASE_MODELS, baseModelName } from '../../fleet/base-models.js';

/** The vLLM release both default images pin; the CLI flags built in model-server.ts follow it. */
export const VLLM_VERSION = 'v0.28.0';

const quantity = z.string().regex(/^\d+(\.\d+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/, 'a Kubernetes quantity, e.g. 8, 500m, 64Gi');
const envVar = z.object({ name: z.string().min(1), value: z.string() });

/**
 * Server arguments per Fireworks precision; `null` marks a precision this model server cannot serve
 * (the deployment then fails with InvalidSpec instead of starting a server that cannot load).
 */
const PrecisionArgs = z.record(Precision, z.array(z.string()).nullable());

/** How one vendor's model server is started. */
export const ModelServerTemplate = z.object({
  /** Short name of the engine; only `vllm` argument building exists today. */
  engine: z.literal('vllm'),
  image: z.string().min(1),
  /** Entrypoint; the upstream images' own entrypoint is `vllm serve`. */
  command: z.array(z.string().min(1)).min(1),
  /**
   * `positional`: `vllm serve <model> …` (what current vLLM expects; `--model` is deprecated for
   * `vllm serve`). `flag`: `--model <model>`, for entrypoints such as
   * `python3 -m vllm.entrypoints.openai.api_server`.
   */
  modelArg: z.enum(['positional', 'flag']),
  port: z.int().min(1).max(65535),
  /** Liveness, readiness and startup probe path; vLLM answers 200 once the engine is up. */
  healthPath: z.string().startsWith('/'),
  env: z.array(envVar),
  /** Appended after the arguments Hearth derives from the spec. */
  extraArgs: z.array(z.string()),
  precisionArgs: PrecisionArgs,
  /** The image's non-root user; the restricted pod security profile forbids root. */
  runAsUser: z.int().min(1),
  runAsGroup: z.int().min(1),
  fsGroup: z.int().min(1),
  /** Extra groups, e.g. `video`/`render` for /dev/kfd and /dev/dri on ROCm hosts. */
  supplementalGroups: z.array(z.int().min(0)),
  /** Caches, /tmp and $HOME are emptyDirs; turn off for images that write elsewhere. */
  readOnlyRootFilesystem: z.boolean(),
});
export type ModelServerTemplate = z.infer<typeof ModelServerTemplate>;

const labelKey = z.string().regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'a label key, e.g. hearth.dev/node-kind');
const labelValue = z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, 'a label value (≤ 63 characters: letters, digits, -, _, .)');

/** A pod toleration, as the Kubernetes API spells it. */
const Toleration = z
  .object({
    key: labelKey.optional(),
    operator: z.enum(['Equal', 'Exists']).optional(),
    value: labelValue.optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
    tolerationSeconds: z.int().optional(),
  })
  .strict();

/**
 * The CPU runtime: how a deployment with `acceleratorType: CPU` is served (vLLM's CPU build, or any
 * server that takes vLLM's command line and speaks its OpenAI-compatible API). The engine fields
 * are a vendor template's; instead of GPUs each replica asks for `cpu` and `memory`, and it runs
 * only on the nodes `nodeSelector` names, with `tolerations` for their taints. Unset in the
 * defaults: a CPU deployment then fails with UnsupportedAcceleratorType until the operator names one.
 */
export const CpuServerTemplate = ModelServerTemplate.extend({
  /** CPU per replica (requested). */
  cpu: quantity,
  /** Memory per replica (requested and the limit). */
  memory: quantity,
  /** The nodes CPU replicas may run on (required labels); empty: any node that tolerates nothing else. */
  nodeSelector: z.record(labelKey, labelValue),
  /** The taints of those nodes the replicas tolerate. */
  tolerations: z.array(Toleration),
});
export type CpuServerTemplate = z.infer<typeof CpuServerTemplate>;

/** Pod settings every model-server replica gets. */
export const WorkloadSettings = z.object({
  cpuPerAccelerator: quantity,
  memoryPerAccelerator: quantity,
  /** /dev/shm (memory-backed emptyDir) for tensor-parallel NCCL/RCCL traffic. */
  shmSizeLimit: quantity,
  /** Disk emptyDir for downloaded weights and compile caches; unset = node's ephemeral storage. */
  cacheSizeLimit: quantity.optional(),
  /** How long a replica may take to load its model before it is restarted. */
  startupTimeoutSeconds: z.int().min(60),
  probePeriodSeconds: z.int().min(1).max(60),
  terminationGracePeriodSeconds: z.int().min(0),
  /** GPUs of one node: tensor parallelism does not span nodes. */
  maxAcceleratorsPerReplica: z.int().min(1),
  /** Rolling update surge: 0 (default) never asks for GPUs beyond the replica count. */
  maxSurge: z.int().min(0).max(1),
  revisionHistoryLimit: z.int().min(0),
});
export type WorkloadSettings = z.infer<typeof WorkloadSettings>;

/** A model the operator knows: what the server loads, and its size for GPU-count defaults. */
export const ModelSource = z.object({
  /** Hugging Face repo id or a path inside the pod. */
  path: z.string().min(1),
  /** Parameters in billions (total, for MoE); unknown ⇒ the docs' default of 1 GPU. */
  parametersB: z.number().positive().optional(),
  moe: z.boolean().optional(),
});
export type ModelSource = z.infer<typeof ModelSource>;

export const LoraSettings = z.object({
  /** Adapters resident on the GPU at once (vLLM `--max-loras`). */
  maxLoras: z.int().min(1),
  /** Highest adapter rank accepted (Fireworks trains ranks up to 64). */
  maxLoraRank: z.int().min(1),
  /** Adapters kept in host memory (vLLM `--max-cpu-loras`), ≥ maxLoras. */
  maxCpuLoras: z.int().min(1),
});
export type LoraSettings = z.infer<typeof LoraSettings>;

/**
 * The `model-files` sidecar of pods that accept addons (Hearth's own image in mode `model-files`,
 * src/artifacts/model-files-server.ts): it fetches an adapter's files from the Hearth API's signed
 * download URLs into the pod's /mnt/models. No GPU; small requests (the GPU count and quota
 * footprint of the pod are unchanged).
 */
export const ModelFilesSidecar = z.object({
  /** Hearth's image (the chart sets the one it runs). */
  image: z.string().min(1),
  /** The Hearth API as the pods reach it; the sidecar fetches only this API's signed URLs. */
  sourceUrl: z.url({ protocol: /^https?$/ }),
  port: z.int().min(1).max(65535).default(MODEL_FILES_PORT),
  cpu: quantity.default('50m'),
  memory: quantity.default('128Mi'),
  /** The /mnt/models emptyDir's limit; unset: the node's ephemeral storage. */
  sizeLimit: quantity.optional(),
});
export type ModelFilesSidecar = z.infer<typeof ModelFilesSidecar>;

export const ModelServerConfig = z
  .object({
    servers: z.object({ nvidia: ModelServerTemplate, amd: ModelServerTemplate, cpu: CpuServerTemplate.optional() }),
    workload: WorkloadSettings,
    lora: LoraSettings,
    /** Fireworks model name (`accounts/<a>/models/<m>`) → source. */
    models: z.record(z.string(), ModelSource),
    /** Where a model not in `models` is loaded from; `{account}` and `{model}` are substituted. */
    modelPathTemplate: z.string().min(1),
    /** Unset: pods get no sidecar, and adapters' files must reach /mnt/models some other way. */
    modelFiles: ModelFilesSidecar.optional(),
  })
  .refine((c) => c.lora.maxCpuLoras >= c.lora.maxLoras, {
    message: 'lora.maxCpuLoras must be at least lora.maxLoras',
    path: ['lora', 'maxCpuLoras'],
  });
export type ModelServerConfig = z.infer<typeof ModelServerConfig>;

/** vLLM arguments per precision. FP4 variants need prequantised checkpoints and Blackwell GPUs. */
const VLLM_PRECISION_ARGS: Record<Precision, string[] | null> = {
  FP16: ['--dtype', 'float16'],
  BF16: ['--dtype', 'bfloat16'],
  // FP8 weights and activations (dynamic quantisation of a 16-bit checkpoint when not prequantised).
  FP8: ['--quantization', 'fp8'],
  FP8_V2: ['--quantization', 'fp8'],
  FP8_MM: ['--quantization', 'fp8'],
  FP8_MM_V2: ['--quantization', 'fp8'],
  // FP8 all-reduce has no vLLM switch: FP8 matmuls, 16-bit collectives.
  FP8_AR: ['--quantization', 'fp8'],
  // …plus an FP8 KV cache (FP8 attention reads it).
  FP8_KV: ['--quantization', 'fp8', '--kv-cache-dtype', 'fp8'],
  FP8_MM_KV_ATTN: ['--quantization', 'fp8', '--kv-cache-dtype', 'fp8'],
  FP8_MM_KV_ATTN_V2: ['--quantization', 'fp8', '--kv-cache-dtype', 'fp8'],
  // 4-bit NormalFloat: bitsandbytes in-flight quantisation.
  NF4: ['--quantization', 'bitsandbytes'],
  FP4: null,
  FP4_BLOCKSCALED_MM: null,
  FP4_MX_MOE: null,
};

/** Environment both vLLM images get: caches under the writable /cache emptyDir, no telemetry. */
const VLLM_ENV = [
  // The images run as root by default; as uid 1000 there is no passwd entry, and Python's
  // getpass.getuser() (torch's compile cache path) falls back to $USER.
  { name: 'USER', value: 'vllm' },
  { name: 'HOME', value: '/cache' },
  { name: 'HF_HOME', value: '/cache/huggingface' },
  { name: 'XDG_CACHE_HOME', value: '/cache' },
  { name: 'VLLM_NO_USAGE_STATS', value: '1' },
  { name: 'DO_NOT_TRACK', value: '1' },
];

/** What the NVIDIA and AMD vLLM templates share; they differ in image and device groups. */
const VLLM_BASE: Omit<ModelServerConfig['servers']['nvidia'], 'image' | 'supplementalGroups'> = {
  engine: 'vllm',
  command: ['vllm', 'serve'],
  modelArg: 'positional',
  port: 8000,
  healthPath: '/health',
  env: VLLM_ENV,
  extraArgs: [],
  precisionArgs: VLLM_PRECISION_ARGS,
  runAsUser: 1000,
  runAsGroup: 1000,
  fsGroup: 1000,
  readOnlyRootFilesystem: true,
};

/** vLLM's CPU build: 16- and 32-bit weights only (no FP8/FP4 kernels, no bitsandbytes). */
const VLLM_CPU_PRECISION_ARGS: Record<Precision, string[] | null> = {
  ...(Object.fromEntries(Precision.options.map((p) => [p, null])) as Record<Precision, null>),
  FP16: ['--dtype', 'float16'],
  BF16: ['--dtype', 'bfloat16'],
};

/**
 * What a CPU runtime an operator names (`servers.cpu`) starts from: vLLM's command line and
 * environment; the operator gives at least `image`, `cpu`, `memory` and where it runs.
 */
export const CPU_TEMPLATE_DEFAULTS: Omit<CpuServerTemplate, 'image' | 'cpu' | 'memory'> = {
  ...VLLM_BASE,
  precisionArgs: VLLM_CPU_PRECISION_ARGS,
  supplementalGroups: [],
  nodeSelector: {},
  tolerations: [],
};

export const DEFAULT_MODEL_SERVER_CONFIG: ModelServerConfig = {
  servers: {
    nvidia: { ...VLLM_BASE, image: `vllm/vllm-openai:${VLLM_VERSION}`, supplementalGroups: [] },
    amd: {
      ...VLLM_BASE,
      // vLLM's own ROCm build (AMD points users from rocm/vllm to it), same release as NVIDIA's.
      image: `vllm/vllm-openai-rocm:${VLLM_VERSION}`,
      // `video` owns /dev/kfd and /dev/dri on ROCm hosts; add the host's `render` gid if it differs.
      supplementalGroups: [44],
    },
  },
  workload: {
    cpuPerAccelerator: '8',
    memoryPerAccelerator: '64Gi',
    shmSizeLimit: '16Gi',
    startupTimeoutSeconds: 1800,
    probePeriodSeconds: 10,
    terminationGracePeriodSeconds: 60,
    maxAcceleratorsPerReplica: 8,
    maxSurge: 0,
    revisionHistoryLimit: 3,
  },
  lora: { ...DEFAULT_LORA_LIMITS },
  // The fleet's base models (src/fleet/base-models.ts), by their Fireworks names.
  models: Object.fromEntries(
    Object.entries(BASE_MODELS).map(([id, m]) => [baseModelName(id), { path: m.path, parametersB: m.parametersB, ...(m.moe ? { moe: true } : {}) }]),
  ),
  // Models uploaded to an account are materialised here (KServe's /mnt/models convention).
  modelPathTemplate: DEFAULT_MODEL_PATH_TEMPLATE,
};

/** A vendor template override: any subset; `precisionArgs` entries replace the default's one by one. */
const ModelServerTemplateOverride = ModelServerTemplate.omit({ precisionArgs: true })
  .extend({ precisionArgs: z.partialRecord(Precision, z.array(z.string()).nullable()) })
  .partial()
  .strict();

/** What an operator may write: any subset, merged over the defaults section by section. */
export const ModelServerConfigOverride = z
  .object({
    servers: z
      .object({
        nvidia: ModelServerTemplateOverride,
        amd: ModelServerTemplateOverride,
        /** Over CPU_TEMPLATE_DEFAULTS (or the base's CPU runtime); `image`, `cpu` and `memory` must end up set. */
        cpu: CpuServerTemplate.omit({ precisionArgs: true })
          .extend({ precisionArgs: z.partialRecord(Precision, z.array(z.string()).nullable()) })
          .partial()
          .strict(),
      })
      .partial()
      .strict(),
    workload: WorkloadSettings.partial().strict(),
    lora: LoraSettings.partial().strict(),
    /** Added to (and replacing entries of) the default model map. */
    models: z.record(z.string(), ModelSource),
    modelPathTemplate: z.string().min(1),
    modelFiles: ModelFilesSidecar,
  })
  .partial()
  .strict();
export type ModelServerConfigOverride = z.input<typeof ModelServerConfigOverride>;

/**
 * The model-server configuration from an operator's override (parsed YAML/JSON, or undefined for the
 * defaults). Throws a ZodError listing every problem; the result is validated as a whole again,
 * so a merge can never produce a config the schema would reject.
 */
export function loadModelServerConfig(raw: unknown, base: ModelServerConfig = DEFAULT_MODEL_SERVER_CONFIG): ModelServerConfig {
  const o = ModelServerConfigOverride.parse(raw ?? {});
  const merged = {
    servers: {
      nvidia: mergeTemplate(base.servers.nvidia, o.servers?.nvidia),
      amd: mergeTemplate(base.servers.amd, o.servers?.amd),
      ...mergeCpu(base.servers.cpu, o.servers?.cpu),
    },
    workload: { ...base.workload, ...o.workload },
    lora: { ...base.lora, ...o.lora },
    models: { ...base.models, ...o.models },
    modelPathTemplate: o.modelPathTemplate ?? base.modelPathTemplate,
    ...(o.modelFiles ?? base.modelFiles ? { modelFiles: o.modelFiles ?? base.modelFiles } : {}),
  };
  return ModelServerConfig.parse(merged);
}

/** The CPU runtime: the override over the base's (or over CPU_TEMPLATE_DEFAULTS); none if neither names one. */
function mergeCpu(base: CpuServerTemplate | undefined, o: Parameters<typeof mergeTemplate<CpuServerTemplate>>[1]): { cpu?: CpuServerTemplate } {
  if (!base && !o) return {};
  // Until the whole config is parsed, `image`, `cpu` and `memory` may be missing: the parse says so.
  return { cpu: mergeTemplate({ ...CPU_TEMPLATE_DEFAULTS, ...base } as CpuServerTemplate, o) };
}

function mergeTemplate<T extends ModelServerTemplate>(base: T, o: Partial<Omit<T, 'precisionArgs'>> & { precisionArgs?: Partial<T['precisionArgs']> } | undefined): T {
  return { ...base, ...o, precisionArgs: { ...base.precisionArgs, ...o?.precisionArgs } };
}
