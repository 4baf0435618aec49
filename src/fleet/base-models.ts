// The base models Hearth's fleet serves under the shared `fireworks` account, and the one sizing
// rule (how many accelerators hold a model's weights) that the Deployment controller's defaults
// and the deployment shapes offered over REST both follow. The model-server configuration's default
// model map is derived from this list (src/controllers/deployment/runtime-config.ts).
import type { Precision } from '../crds/deployment.js';
import { ACCELERATORS, type AcceleratorType } from './catalog.js';

export interface BaseModel {
  /** Hugging Face repo id the model server loads. */
  path: string;
  /** Parameters in billions (total, for mixture-of-experts models). */
  parametersB: number;
  moe?: boolean;
  /** The model's own context window in tokens (its config's max_position_embeddings). */
  contextLength: number;
}

/** The shared account whose models (and deployment shapes) every account may read. */
export const BASE_MODEL_ACCOUNT = 'fireworks';

/** Base models by id (the `{m}` of `accounts/fireworks/models/{m}`). */
export const BASE_MODELS: Readonly<Record<string, BaseModel>> = {
  'llama-v3-8b-instruct': { path: 'meta-llama/Meta-Llama-3-8B-Instruct', parametersB: 8, contextLength: 8192 },
  'llama-v3p1-8b-instruct': { path: 'meta-llama/Llama-3.1-8B-Instruct', parametersB: 8, contextLength: 131072 },
  'llama-v3p1-70b-instruct': { path: 'meta-llama/Llama-3.1-70B-Instruct', parametersB: 70, contextLength: 131072 },
  'llama-v3p1-405b-instruct': { path: 'meta-llama/Llama-3.1-405B-Instruct', parametersB: 405, contextLength: 131072 },
  'llama-v3p2-1b-instruct': { path: 'meta-llama/Llama-3.2-1B-Instruct', parametersB: 1, contextLength: 131072 },
  'llama-v3p2-3b-instruct': { path: 'meta-llama/Llama-3.2-3B-Instruct', parametersB: 3, contextLength: 131072 },
  'llama-v3p3-70b-instruct': { path: 'meta-llama/Llama-3.3-70B-Instruct', parametersB: 70, contextLength: 131072 },
  'qwen2p5-0p5b-instruct': { path: 'Qwen/Qwen2.5-0.5B-Instruct', parametersB: 0.5, contextLength: 32768 },
  'qwen2p5-vl-32b-instruct': { path: 'Qwen/Qwen2.5-VL-32B-Instruct', parametersB: 33, contextLength: 128000 },
  'mixtral-8x7b-instruct': { path: 'mistralai/Mixtral-8x7B-Instruct-v0.1', parametersB: 47, moe: true, contextLength: 32768 },
  'deepseek-v3': { path: 'deepseek-ai/DeepSeek-V3', parametersB: 671, moe: true, contextLength: 163840 },
  'deepseek-r1': { path: 'deepseek-ai/DeepSeek-R1', parametersB: 671, moe: true, contextLength: 163840 },
};

export function baseModelName(id: string): string {
  return `accounts/${BASE_MODEL_ACCOUNT}/models/${id}`;
}

/** GPUs of one node: tensor parallelism does not span nodes (the fleet's largest node). */
export const MAX_ACCELERATORS_PER_NODE = 8;

/** Bytes per parameter the weights take at a precision (unset = the 16-bit default). */
export function bytesPerParameter(precision: Precision | undefined): number {
  if (precision === undefined || precision === 'FP16' || precision === 'BF16') return 2;
  if (precision.startsWith('FP8')) return 1;
  return 0.5; // NF4, FP4*
}

/** Share of a GPU's memory the weights may take; the rest is KV cache, activations, CUDA graphs. */
export const WEIGHTS_MEMORY_FRACTION = 0.6;

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * The fewest GPUs that serve a model without long-prompt tuning: the docs' default of 1 when the
 * model's size is unknown, else enough GPUs for the weights to take at most 60% of their memory,
 * rounded up to a power of two (tensor parallelism must divide the attention heads).
 */
export function minimumAcceleratorCount(source: { parametersB?: number | undefined }, acc: AcceleratorType, precision: Precision | undefined): number {
  if (source.parametersB === undefined) return 1;
  const weightsGiB = (source.parametersB * 1e9 * bytesPerParameter(precision)) / 2 ** 30;
  const usableGiB = ACCELERATORS[acc].memoryGiB * WEIGHTS_MEMORY_FRACTION;
  return nextPowerOfTwo(Math.max(1, Math.ceil(weightsGiB / usableGiB)));
}
