// Fine-tuning on the fleet: which base models can be tuned, on which GPUs a LoRA run of a base
// model fits, and what a run costs. One rule each, shared by the REST API (bad input,
// :estimateCost) and the SFTJob controller (the Job it builds, the estimate in its status).
import { BASE_MODELS, BASE_MODEL_ACCOUNT, MAX_ACCELERATORS_PER_NODE, type BaseModel } from './base-models.js';
import { ACCELERATORS, regionsOffering, type AcceleratorType, type Region } from './catalog.js';

/**
 * List prices per GPU-hour in USD (Fireworks' published on-demand prices for these GPUs), used for
 * cost estimates. AMD GPUs are priced but not used for training (the reference trainers are CUDA).
 */
export const GPU_HOUR_PRICE_USD: Readonly<Record<AcceleratorType, number>> = {
  NVIDIA_A100_80GB: 2.9,
  NVIDIA_H100_80GB: 5.8,
  NVIDIA_H200_141GB: 6.99,
  AMD_MI300X_192GB: 4.99,
};

/** GPU types training may run on, in order of preference (cheapest first). */
export const TRAINING_ACCELERATORS: readonly AcceleratorType[] = ['NVIDIA_A100_80GB', 'NVIDIA_H100_80GB', 'NVIDIA_H200_141GB'];

/** Largest base model Hearth fine-tunes (billions of parameters); bigger ones are serve-only. */
export const MAX_TUNABLE_PARAMETERS_B = 72;

/** Share of GPU memory the frozen 16-bit weights may take during LoRA training (the rest: activations, optimizer state of the adapter). */
export const TRAINING_WEIGHTS_FRACTION = 0.5;

/** LoRA training throughput of one A100 on an 8B model, tokens per second; scales with 8/size and the GPU. */
const A100_TOKENS_PER_SECOND_8B = 3000;
const SPEEDUP: Readonly<Record<AcceleratorType, number>> = { NVIDIA_A100_80GB: 1, NVIDIA_H100_80GB: 2, NVIDIA_H200_141GB: 2.3, AMD_MI300X_192GB: 1.5 };

/** The base model a full name or id names among the shared ones, or undefined. */
export function sharedBaseModel(ref: string): { id: string; model: BaseModel } | undefined {
  const m = /^accounts\/([^/]+)\/models\/([^/#]+)$/.exec(ref) ?? /^([^/]+)\/([^/#]+)$/.exec(ref);
  const account = m ? m[1] : BASE_MODEL_ACCOUNT;
  const id = m ? m[2]! : ref;
  if (account !== BASE_MODEL_ACCOUNT) return undefined;
  const model = BASE_MODELS[id];
  return model ? { id, model } : undefined;
}

/** Why a base model cannot be tuned, or undefined when it can. */
export function untunableReason(model: BaseModel): string | undefined {
  if (model.moe) return 'mixture-of-experts models cannot be fine-tuned (Tunable: false)';
  if (model.parametersB > MAX_TUNABLE_PARAMETERS_B) return `models over ${MAX_TUNABLE_PARAMETERS_B}B parameters cannot be fine-tuned (Tunable: false)`;
  return undefined;
}

export interface TrainingShape {
  acceleratorType: AcceleratorType;
  /** GPUs per node (per pod). */
  acceleratorCount: number;
  nodes: number;
}

/** GPUs holding the frozen weights of `model` on `acc` for LoRA training: a power of two. */
export function trainingGpus(model: Pick<BaseModel, 'parametersB'>, acc: AcceleratorType): number {
  const weightsGiB = (model.parametersB * 1e9 * 2) / 2 ** 30;
  const need = Math.max(1, Math.ceil(weightsGiB / (ACCELERATORS[acc].memoryGiB * TRAINING_WEIGHTS_FRACTION)));
  let p = 1;
  while (p < need) p *= 2;
  return p;
}

/** The shape of a run on `acc`: one node while the GPUs fit one, else whole nodes. */
export function trainingShape(model: Pick<BaseModel, 'parametersB'>, acc: AcceleratorType): TrainingShape {
  const gpus = trainingGpus(model, acc);
  if (gpus <= MAX_ACCELERATORS_PER_NODE) return { acceleratorType: acc, acceleratorCount: gpus, nodes: 1 };
  return { acceleratorType: acc, acceleratorCount: MAX_ACCELERATORS_PER_NODE, nodes: Math.ceil(gpus / MAX_ACCELERATORS_PER_NODE) };
}

/** Candidate placements, in order: each training GPU type in each region offering it (GA first). */
export function trainingCandidates(model: Pick<BaseModel, 'parametersB'>): { shape: TrainingShape; region: Region }[] {
  return TRAINING_ACCELERATORS.flatMap((acc) => regionsOffering(acc).map((region) => ({ shape: trainingShape(model, acc), region })));
}

export interface CostEstimate {
  gpuHours: number;
  usd: number;
}

/** GPU-hours and price of `tokens` × `epochs` on `shape` (at least one GPU-minute). */
export function estimateTrainingCost(model: Pick<BaseModel, 'parametersB'>, shape: TrainingShape, tokens: number, epochs: number): CostEstimate {
  const gpus = shape.acceleratorCount * shape.nodes;
  const perGpu = (A100_TOKENS_PER_SECOND_8B * (8 / Math.max(model.parametersB, 0.5)) * SPEEDUP[shape.acceleratorType]) / Math.sqrt(gpus);
  const seconds = (Math.max(tokens, 0) * epochs) / (perGpu * gpus);
  const gpuHours = Math.max(1 / 60, (seconds * gpus) / 3600);
  const rounded = Math.round(gpuHours * 1000) / 1000;
  return { gpuHours: rounded, usd: Math.round(rounded * GPU_HOUR_PRICE_USD[shape.acceleratorType] * 100) / 100 };
}
