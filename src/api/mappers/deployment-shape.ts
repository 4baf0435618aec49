// Fleet deployment shapes (src/fleet/deployment-shapes.ts) → the Fireworks `DeploymentShape` and
// `DeploymentShapeVersion` (gatewayDeploymentShape, gatewayDeploymentShapeVersion). Shapes are
// derived from the fleet catalog and published under the shared account `fireworks`, each with
// one version (its settings' hash); read-only over REST. See ../README.md "Deployment shapes".
import { z } from 'zod';
import { AcceleratorType } from '../../crds/common.js';
import { Precision } from '../../crds/deployment.js';
import { BASE_MODEL_ACCOUNT } from '../../fleet/base-models.js';
import { REGIONS, isRegion, regionsOffering } from '../../fleet/catalog.js';
import { inMultiRegion } from '../../fleet/multi-region.js';
import { SHAPE_SETTINGS, deploymentShape, type DeploymentShape, type ShapeSetting } from '../../fleet/deployment-shapes.js';
import { formatInt64 } from '../wire/int64.js';
import { invalidArgument, invalidArguments, notFound } from '../wire/errors.js';
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

/** `accounts/{a}/deploymentShapes/{s}[/versions/{v}]`; the ids are checked against the resource id rule after. */
const SHAPE_REF = new RegExp(`^accounts/([^/]+)/${COLLECTION}/([^/]+)(?:/versions/([a-z0-9]{1,63}))?$`);

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
  if (RESOURCE_ID_PATTERN.test(ref)) return { accountId: callerAccountId, id: ref };
  const [, accountId = '', id = '', versionId] = SHAPE_REF.exec(ref) ?? [];
  if (!RESOURCE_ID_PATTERN.test(accountId) || !RESOURCE_ID_PATTERN.test(id)) {
    throw invalidArgument(field, `must be a deployment shape id or name, accounts/{account}/${COLLECTION}/{shape} (optionally /versions/{version})`, 'FORMAT');
  }
  return versionId === undefined ? { accountId, id } : { accountId, id, versionId };
}

// ---- a deployment from a shape --------------------------------------------------------------------

/**
 * The shape a deployment's `deploymentShape` names, as the caller may see it: the caller's own
 * account (which holds none: shapes come from the catalog) or the shared `fireworks` account; any
 * other account's shape reads as missing. Unknown shape or version → 404 naming it.
 */
export function resolveShape(ref: string, callerAccountId: string, field = 'deploymentShape'): DeploymentShape {
  const r = parseShapeRef(ref, callerAccountId, field);
  const visible = r.accountId === SHAPES_ACCOUNT || r.accountId === callerAccountId;
  const shape = visible && r.accountId === SHAPES_ACCOUNT ? deploymentShape(r.id) : undefined;
  if (!shape) throw notFound('deploymentShape', shapeName(r.accountId, r.id));
  if (r.versionId !== undefined && r.versionId !== shape.versionId) {
    throw notFound('deploymentShapeVersion', shapeVersionName(r.accountId, r.id, r.versionId));
  }
  return shape;
}

/** How a deployment's explicit value of a shape setting fails the shape, or undefined if it agrees. */
function contradiction(field: ShapeSetting, value: unknown, shape: DeploymentShape): string | undefined {
  const want = shape[field];
  // A shorter context window than the shape's is a narrower use of the same shape, not a contradiction.
  if (field === 'maxContextLength') return typeof value === 'number' && value > shape.maxContextLength ? `at most ${shape.maxContextLength}` : undefined;
  return value === want ? undefined : `${String(want)}`;
}

/**
 * The deployment fields with the shape's settings applied (src/fleet/deployment-shapes.ts
 * SHAPE_SETTINGS): a field the caller left out gets the shape's value; one the caller set must
 * agree (the same value; `maxContextLength` at most the shape's) or the answer is 400 naming the
 * field and `deploymentShape`. `deploymentShape` becomes the shape's version name (as the spec
 * says the server does). With `placement.region` set, the region must offer the shape's
 * accelerator type (400 naming `placement.region`); `placement.regions` and `placement.multiRegion`
 * must hold one region that does.
 */
export function applyShape(fields: Record<string, unknown>, shape: DeploymentShape): Record<string, unknown> {
  const out: Record<string, unknown> = { ...fields, deploymentShape: shapeVersionName(SHAPES_ACCOUNT, shape.id, shape.versionId) };
  const shapeRef = shapeName(SHAPES_ACCOUNT, shape.id);
  for (const field of SHAPE_SETTINGS) {
    const value = fields[field];
    if (value === undefined || value === null) {
      out[field] = shape[field];
      continue;
    }
    const want = contradiction(field, value, shape);
    if (want !== undefined) {
      throw invalidArguments([
        { field, description: `${JSON.stringify(value)} contradicts deploymentShape ${shapeRef}, which sets ${want}`, reason: 'SHAPE_CONFLICT' },
        { field: 'deploymentShape', description: `${shapeRef} sets ${field} ${want}`, reason: 'SHAPE_CONFLICT' },
      ]);
    }
  }
  checkShapeRegion(fields.placement, shape);
  return out;
}

function checkShapeRegion(placement: unknown, shape: DeploymentShape): void {
  if (!placement || typeof placement !== 'object') return;
  const { region, regions, multiRegion } = placement as { region?: unknown; regions?: unknown; multiRegion?: unknown };
  const acc = shape.acceleratorType;
  const offers = (r: unknown): boolean => typeof r === 'string' && isRegion(r) && (REGIONS[r].accelerators as readonly string[]).includes(acc);
  const where = regionsOffering(acc).join(', ');
  if (typeof region === 'string' && !offers(region)) {
    throw invalidArgument('placement.region', `${region} does not offer ${acc}, the accelerator of deploymentShape ${shapeName(SHAPES_ACCOUNT, shape.id)} (offered in ${where})`, 'SHAPE_REGION');
  }
  if (Array.isArray(regions) && !regions.some(offers)) {
    throw invalidArgument('placement.regions', `none of ${regions.join(', ')} offers ${acc}, the accelerator of deploymentShape ${shapeName(SHAPES_ACCOUNT, shape.id)} (offered in ${where})`, 'SHAPE_REGION');
  }
  if (typeof multiRegion === 'string' && !regionsOffering(acc).some((r) => inMultiRegion(multiRegion, r))) {
    throw invalidArgument('placement.multiRegion', `no region of ${multiRegion} offers ${acc}, the accelerator of deploymentShape ${shapeName(SHAPES_ACCOUNT, shape.id)} (offered in ${where})`, 'SHAPE_REGION');
  }
}
