// LoRA serving rules the Deployment controller (server flags), the DeployedModel controller (what it
// loads, how many) and the REST facade (what it accepts) must agree on: one home.

/** vLLM's LoRA limits when the operator configures none (controllers/deployment/runtime-config.ts). */
export const DEFAULT_LORA_LIMITS = { maxLoras: 8, maxLoraRank: 64, maxCpuLoras: 32 } as const;

/** Where a model uploaded to an account is materialised in a model-server pod (KServe's /mnt/models). */
export const DEFAULT_MODEL_PATH_TEMPLATE = '/mnt/models/{account}/{model}';

/**
 * The model mount of a model-server pod that accepts addons: an emptyDir the `model-files` sidecar
 * (src/artifacts/model-files-server.ts) writes an adapter's files into, at
 * `<mount>/<account>/<model>` = `adapterPath`, before the DeployedModel controller asks vLLM to load
 * it from there.
 */
export const MODEL_FILES_MOUNT = '/mnt/models';
/** The sidecar's port on the pod IP (the DeployedModel controller dials `<pod IP>:<port>`). */
export const MODEL_FILES_PORT = 8079;

/**
 * Adapters a deployment serves at once (vLLM `--max-loras`): the deployment's
 * `numPeftDeviceCached` when set, else the operator's default. Hearth loads no more DeployedModels
 * than this onto one deployment (vLLM itself would silently evict from its CPU cache instead).
 */
export function maxLorasOf(spec: { numPeftDeviceCached?: number }, defaultMaxLoras: number = DEFAULT_LORA_LIMITS.maxLoras): number {
  const n = spec.numPeftDeviceCached;
  return n !== undefined && n > 0 ? n : defaultMaxLoras;
}

interface AddonFlags {
  enableAddons?: boolean;
  enableHotReloadLatestAddon?: boolean;
  numPeftDeviceCached?: number;
}

/**
 * Whether a deployment takes DeployedModels at runtime: `enableAddons`, or
 * `enableHotReloadLatestAddon` alone (one addon at a time). Its server then runs with runtime LoRA
 * loading and, when configured, the model-files sidecar; the REST facade and the DeployedModel
 * controller accept DeployedModels onto it.
 */
export function acceptsAddons(spec: AddonFlags): boolean {
  return spec.enableAddons === true || spec.enableHotReloadLatestAddon === true;
}

/** Adapters such a deployment serves at once: 1 with hot reload alone, else `maxLorasOf`. */
export function addonSlots(spec: AddonFlags, defaultMaxLoras: number = DEFAULT_LORA_LIMITS.maxLoras): number {
  return spec.enableAddons !== true && spec.enableHotReloadLatestAddon === true ? 1 : maxLorasOf(spec, defaultMaxLoras);
}

const MODEL_NAME_RE = /^accounts\/([^/]+)\/models\/([^/]+)$/;

/**
 * `lora_path` of an adapter model: where the model server loads its files from. One function, so
 * switching to the artifact store (a signed download URL or a store path, issue 12 items 1–2)
 * changes only this. Today: the model's directory under the pod's model mount.
 */
export function adapterPath(model: string, template: string = DEFAULT_MODEL_PATH_TEMPLATE): string {
  const m = MODEL_NAME_RE.exec(model);
  if (!m?.[1] || !m[2]) return model;
  return template.replaceAll('{account}', m[1]).replaceAll('{model}', m[2]);
}
