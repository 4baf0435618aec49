// Fleet deployment shapes (src/fleet/deployment-shapes.ts) → the Fireworks `DeploymentShape` and
// `DeploymentShapeVersion` (gatewayDeploymentShape, gatewayDeploymentShapeVersion). Shapes are
// derived from the fleet catalog and published under the shared account `fireworks`, each with
// one version (its settings' hash); read-only over REST. See ../README.md "Deployment shapes".
import { z } from 'zod';
import { AcceleratorType } from '../../crds/common.js';
import { Precision } from '../../crds/deployment.js';
import { BASE_MODEL_ACCOUNT } from '../../fleet/base-models.js';
import type { DeploymentShape } from '../../fleet/deployment-shapes.js';
import { formatInt64 } from '../wire/int64.js';
import { invalidArgument } from '../wire/errors.js';
import { RESOURCE_ID_PATTERN } from '../wire/resource-names.js';

export const COLLECTION = 'deploymentShapes';
export const VERSIONS = 'deploymentShapeVersions';

/** The account the shapes live in: every account may read them. */
export const SHAPES_ACCOUNT = BASE_MODEL_ACCOUNT;

export const PresetType = z.enum(['PRESET_TYPE_UNSPECIFIED', 'MINIMAL', 'FAST', 'THROUGHPUT', 'FULL_PRECISION', 'AGENTIC_CODING', 'CHAT', 'SUMMARIZATION']);

export const DeploymentShapeResponse = z
  .object({
    name: z.string().describe('accounts/{account}/deploymentShapes/{shape}'),
    displayName: z.string(),
    description: z.string(),
    baseModel: z.string().describe('The base model, e.g. accounts/fireworks/models/llama-v3p1-8b-instruct.'),
    parameterCount: z.string().describe('int64: parameters of the base model.'),
    acceleratorCount: z.int32().describe('Accelerators per replica: the fewest that hold the model.'),
    acceleratorType: AcceleratorType,
    precision: Precision,
    maxContextLength: z.int32().describe("The model's full context length."),
    presetType: PresetType.describe('MINIMAL: the fewest accelerators.'),
  })
  .partial()
  .describe('A deployment shape: the settings a deployment created from it gets.');

export const DeploymentShapeVersionResponse = z
  .object({
    name: z.string().describe('accounts/{account}/deploymentShapes/{shape}/versions/{version}'),
    snapshot: DeploymentShapeResponse,
    validated: z.boolean(),
    public: z.boolean(),
    latestValidated: z.boolean(),
  })
  .partial()
  .describe('A version of a deployment shape (immutable).');

/** Field paths a list may filter and order on. */
export const SHAPE_FIELDS = Object.keys(DeploymentShapeResponse.shape);
export const VERSION_FIELDS = ['name', 'validated', 'public', 'latestValidated', ...SHAPE_FIELDS.map((f) => `snapshot.${f}`)];

export function shapeName(accountId: string, id: string): string {
  return `accounts/${accountId}/${COLLECTION}/${id}`;
}

export function shapeVersionName(accountId: string, id: string, versionId: string): string {
  return `${shapeName(accountId, id)}/versions/${versionId}`;
}

export function shapeToWire(s: DeploymentShape): Record<string, unknown> {
  return {
    name: shapeName(SHAPES_ACCOUNT, s.id),
    displayName: s.displayName,
    description: s.description,
    baseModel: s.baseModel,
    parameterCount: formatInt64(s.parameterCount),
    acceleratorCount: s.acceleratorCount,
    acceleratorType: s.acceleratorType,
    precision: s.precision,
    maxContextLength: s.maxContextLength,
    presetType: 'MINIMAL',
  };
}

export function shapeVersionToWire(s: DeploymentShape): Record<string, unknown> {
  return { name: shapeVersionName(SHAPES_ACCOUNT, s.id, s.versionId), snapshot: shapeToWire(s), validated: true, public: true, latestValidated: true };
}

/** A reference to a shape: `{account, id}` and the version when the reference names one. */
export interface ShapeRef {
  accountId: string;
  id: string;
  versionId?: string;
}

/**
 * Parses a deployment's `deploymentShape`: `accounts/{a}/deploymentShapes/{s}`, the version name
 * `…/versions/{v}` (what the server writes back), or a bare `{s}` (the caller's account).
 * Malformed → 400 naming `field`.
 */
export function parseShapeRef(ref: string, callerAccountId: string, field = 'deploymentShape'): ShapeRef {
  const parts = ref.split('/');
  const ok = (s: string | undefined): s is string => s !== undefined && RESOURCE_ID_PATTERN.test(s);
  if (parts.length === 1 && ok(parts[0])) return { accountId: callerAccountId, id: parts[0] };
  if ((parts.length === 4 || parts.length === 6) && parts[0] === 'accounts' && ok(parts[1]) && parts[2] === COLLECTION && ok(parts[3])) {
    if (parts.length === 4) return { accountId: parts[1], id: parts[3] };
    if (parts[4] === 'versions' && /^[a-z0-9]{1,63}$/.test(parts[5] ?? '')) return { accountId: parts[1], id: parts[3], versionId: parts[5]! };
  }
  throw invalidArgument(field, `must be a deployment shape id or name, accounts/{account}/${COLLECTION}/{shape} (optionally /versions/{version})`, 'FORMAT');
}
