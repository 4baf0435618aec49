// The deployment shapes Hearth offers: one per base model and accelerator type of the fleet that
// can hold the model on one node — the fewest accelerators at the accelerator's best precision
// (FP8 where it serves FP8, else FP16) and the model's full context length. Derived from the
// catalog, so they change only when the catalog does; a shape's version is a hash of its settings.
// Published under the shared `fireworks` account (`accounts/fireworks/deploymentShapes/{id}`).
import { createHash } from 'node:crypto';
import type { Precision } from '../crds/deployment.js';
import { BASE_MODELS, MAX_ACCELERATORS_PER_NODE, baseModelName, minimumAcceleratorCount } from './base-models.js';
import { ACCELERATORS, ACCELERATOR_TYPES, type AcceleratorType } from './catalog.js';

export interface DeploymentShape {
  /** `{model id}-{accelerator short name}`, e.g. `llama-v3p1-8b-instruct-h100`. */
  id: string;
  /** 8 hex digits of the settings' SHA-256: a new catalog setting is a new version. */
  versionId: string;
  displayName: string;
  description: string;
  /** `accounts/fireworks/models/{m}`. */
  baseModel: string;
  parameterCount: number;
  /** What a deployment from this shape gets. */
  acceleratorType: AcceleratorType;
  acceleratorCount: number;
  precision: Precision;
  maxContextLength: number;
}

/** The settings a shape applies to a deployment (the fields a deployment may not contradict). */
export const SHAPE_SETTINGS = ['baseModel', 'acceleratorType', 'acceleratorCount', 'precision', 'maxContextLength'] as const;
export type ShapeSetting = (typeof SHAPE_SETTINGS)[number];

function precisionFor(acc: AcceleratorType): Precision {
  return ACCELERATORS[acc].fp8 ? 'FP8' : 'FP16';
}

function versionOf(settings: Pick<DeploymentShape, ShapeSetting>): string {
  const canonical = JSON.stringify(SHAPE_SETTINGS.map((k) => settings[k]));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 8);
}

/** Every shape of the catalog, ordered by base model, then accelerator type (catalog order). */
export function deriveDeploymentShapes(models = BASE_MODELS): DeploymentShape[] {
  const shapes: DeploymentShape[] = [];
  for (const [modelId, model] of Object.entries(models)) {
    for (const acc of ACCELERATOR_TYPES) {
      const info = ACCELERATORS[acc];
      if (model.moe && !info.moeSupported) continue;
      const precision = precisionFor(acc);
      const acceleratorCount = minimumAcceleratorCount(model, acc, precision);
      if (acceleratorCount > MAX_ACCELERATORS_PER_NODE) continue;
      const settings = { baseModel: baseModelName(modelId), acceleratorType: acc, acceleratorCount, precision, maxContextLength: model.contextLength };
      shapes.push({
        id: `${modelId}-${info.short}`,
        versionId: versionOf(settings),
        displayName: `${modelId} on ${acceleratorCount}× ${acc}`,
        description: `The fewest ${acc} that serve ${modelId} (${model.parametersB}B parameters) at ${precision} with its full ${model.contextLength}-token context.`,
        parameterCount: Math.round(model.parametersB * 1e9),
        ...settings,
      });
    }
  }
  return shapes;
}

/** The catalog's shapes, computed once. */
export const DEPLOYMENT_SHAPES: readonly DeploymentShape[] = deriveDeploymentShapes();

const BY_ID = new Map(DEPLOYMENT_SHAPES.map((s) => [s.id, s]));

export function deploymentShape(id: string): DeploymentShape | undefined {
  return BY_ID.get(id);
}
