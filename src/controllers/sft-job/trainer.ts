// The trainer as configuration: a container image and a command template (src/config.ts,
// HEARTH_TRAINER_IMAGE / HEARTH_TRAINER_COMMAND). Every documented SFT field has a placeholder;
// an argument holding a placeholder whose value is unset is dropped, so `--learning_rate={{learningRate}}`
// appears only when the job sets a learning rate. Pure.
//
// The default template is the reference mapping for Hugging Face TRL's `trl sft` CLI (README.md):
// a shell that runs the contract's small shim around it (`hearth-trainer fetch` downloads the
// datasets through their signed URLs, `report`/`upload` speak the callback API).

import type { SFTJobSpec } from '../../crds/sft-job.js';

export interface TrainerSettings {
  image: string;
  /** argv template; `{{name}}` placeholders (TRAINER_PLACEHOLDERS). */
  command: readonly string[];
  /** Base URL of the REST process as trainer pods reach it (its /v1-trainer endpoints). */
  apiUrl: string;
  /** Seconds a Job may run before Kubernetes stops it (activeDeadlineSeconds). */
  activeDeadlineSeconds: number;
  /** Port of the rendezvous (torch.distributed) on the master pod. */
  masterPort: number;
  runAsUser: number;
}

/** Reference mapping: TRL's `trl sft` (https://huggingface.co/docs/trl/sft_trainer), LoRA via PEFT. */
export const TRL_SFT_COMMAND: readonly string[] = [
  'hearth-trainer',
  'run',
  '--',
  'trl',
  'sft',
  '--model_name_or_path={{baseModelPath}}',
  // The data directory: train.jsonl is the `train` split and eval.jsonl the `test` split
  // (the datasets library names a split by the words in its file's name).
  '--dataset_name={{dataDir}}',
  '--output_dir={{outputDir}}',
  '--resume_from_checkpoint={{resumeCheckpointDir}}',
  '--use_peft',
  '--lora_r={{loraRank}}',
  '--lora_alpha={{loraAlpha}}',
  '--lora_target_modules=all-linear',
  '--num_train_epochs={{epochs}}',
  '--learning_rate={{learningRate}}',
  '--warmup_steps={{learningRateWarmupSteps}}',
  '--per_device_train_batch_size={{batchSizeSequences}}',
  '--max_length={{maxContextLength}}',
  '--packing={{packing}}',
  '--gradient_accumulation_steps={{gradientAccumulationSteps}}',
  '--weight_decay={{optimizerWeightDecay}}',
  '--chat_template_path={{jinjaTemplateFile}}',
  '--eval_strategy={{evalStrategy}}',
  '--save_strategy=steps',
  '--load_best_model_at_end={{earlyStop}}',
  '--bf16',
  '--report_to={{reportTo}}',
];

export const DEFAULT_TRAINER: Omit<TrainerSettings, 'apiUrl'> = {
  image: 'ghcr.io/hearth-dev/trainer-trl:0.19',
  command: TRL_SFT_COMMAND,
  activeDeadlineSeconds: 7 * 24 * 3600,
  masterPort: 29500,
  runAsUser: 1000,
};

/** Where the trainer works inside the pod (an emptyDir). */
export const WORK_DIR = '/work';

export interface TrainerInputs {
  spec: SFTJobSpec;
  /** Hugging Face repo id of the base model (or of warmStartFrom's base). */
  baseModelPath: string;
  baseModelName: string;
  /** Checkpoint to resume from (a resume), else undefined. */
  resumeCheckpoint?: string | undefined;
  hasEval: boolean;
  nodes: number;
  gpusPerNode: number;
}

/** The placeholder values of a job; undefined = unset (the argument is dropped). */
export function placeholderValues(i: TrainerInputs): Record<string, string | undefined> {
  const s = i.spec;
  const str = (v: number | boolean | string | undefined): string | undefined => (v === undefined ? undefined : String(v));
  return {
    baseModelPath: i.baseModelPath,
    baseModelName: i.baseModelName,
    warmStartFrom: s.warmStartFrom,
    warmStartDir: s.warmStartFrom ? `${WORK_DIR}/warm-start` : undefined,
    dataDir: `${WORK_DIR}/data`,
    trainFile: `${WORK_DIR}/data/train.jsonl`,
    evalFile: i.hasEval ? `${WORK_DIR}/data/eval.jsonl` : undefined,
    evalStrategy: i.hasEval ? 'steps' : 'no',
    outputDir: `${WORK_DIR}/output`,
    resumeCheckpoint: i.resumeCheckpoint,
    resumeCheckpointDir: i.resumeCheckpoint ? `${WORK_DIR}/resume/${i.resumeCheckpoint}` : undefined,
    epochs: str(s.epochs),
    learningRate: str(s.learningRate),
    learningRateWarmupSteps: str(s.learningRateWarmupSteps),
    loraRank: str(s.loraRank),
    loraAlpha: str(s.loraRank * 2),
    maxContextLength: str(s.maxContextLength),
    batchSize: str(s.batchSize),
    packing: s.batchSize !== undefined ? 'true' : undefined,
    batchSizeSamples: str(s.batchSizeSamples),
    // Sequences per device batch: batchSizeSamples, else a batch of batchSize tokens as packed
    // blocks of maxContextLength tokens (TRL packs to max_length).
    batchSizeSequences: str(s.batchSizeSamples ?? (s.batchSize !== undefined ? Math.max(1, Math.floor(s.batchSize / s.maxContextLength)) : undefined)),
    gradientAccumulationSteps: str(s.gradientAccumulationSteps),
    optimizerWeightDecay: str(s.optimizerWeightDecay),
    jinjaTemplate: s.jinjaTemplate,
    jinjaTemplateFile: s.jinjaTemplate ? `${WORK_DIR}/chat_template.jinja` : undefined,
    earlyStop: s.earlyStop ? 'true' : undefined,
    evalAutoCarveout: str(s.evalAutoCarveout),
    isTurbo: s.isTurbo ? 'true' : undefined,
    reportTo: s.wandbConfig?.enabled ? 'wandb' : 'none',
    wandbProject: s.wandbConfig?.enabled ? s.wandbConfig.project : undefined,
    wandbEntity: s.wandbConfig?.enabled ? s.wandbConfig.entity : undefined,
    nodes: String(i.nodes),
    gpusPerNode: String(i.gpusPerNode),
  };
}

export const TRAINER_PLACEHOLDERS: readonly string[] = Object.keys(
  placeholderValues({ spec: { dataset: '', epochs: 1, loraRank: 8, maxContextLength: 8192 } as SFTJobSpec, baseModelPath: '', baseModelName: '', hasEval: false, nodes: 1, gpusPerNode: 1 }),
);

const PLACEHOLDER = /\{\{([A-Za-z]+)\}\}/g;

/** The argv for a job: placeholders filled, arguments with an unset one dropped. */
export function renderCommand(template: readonly string[], values: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  for (const arg of template) {
    let unset = false;
    const filled = arg.replace(PLACEHOLDER, (_m, name: string) => {
      const v = values[name];
      if (v === undefined) unset = true;
      return v ?? '';
    });
    if (!unset) out.push(filled);
  }
  return out;
}

/** Placeholders a template uses that Hearth does not know (a configuration error). */
export function unknownPlaceholders(template: readonly string[]): string[] {
  const bad = new Set<string>();
  for (const arg of template) for (const m of arg.matchAll(PLACEHOLDER)) if (!TRAINER_PLACEHOLDERS.includes(m[1]!)) bad.add(m[1]!);
  return [...bad];
}
