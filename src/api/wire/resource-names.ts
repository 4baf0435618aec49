// Resource ids and names. Ids: 1–63 characters of a-z, 0-9 and '-', starting with a letter and not
// ending with '-' (the fleet catalog's resource id rule). Names: `accounts/{a}/<collection>/{id}`.
import { z } from 'zod';
import { BASE_MODEL_ACCOUNT } from '../../fleet/base-models.js';
import { fieldNotFound, invalidArgument, invalidArguments, notFound, type ApiError } from './errors.js';

export const RESOURCE_ID_PATTERN = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isResourceId(id: string): boolean {
  return RESOURCE_ID_PATTERN.test(id);
}

/** Throws INVALID_ARGUMENT naming `field` and the rule that `id` breaks. */
export function validateResourceId(id: unknown, field: string): string {
  if (typeof id !== 'string' || id === '') throw invalidArgument(field, 'is required', 'REQUIRED');
  if (id.length > 63) throw invalidArgument(field, 'must be at most 63 characters', 'MAX_LENGTH');
  if (/^[0-9]/.test(id)) throw invalidArgument(field, 'must not start with a digit', 'FORMAT');
  if (id.startsWith('-') || id.endsWith('-')) throw invalidArgument(field, "must not start or end with '-'", 'FORMAT');
  if (!RESOURCE_ID_PATTERN.test(id)) throw invalidArgument(field, "may contain only lower-case letters, digits and '-'", 'FORMAT');
  return id;
}

/**
 * Splits a full name against a collection: `accounts/a/models/m` with `models` →
 * `{accountId: 'a', id: 'm'}`. Throws INVALID_ARGUMENT naming `field` when it does not fit.
 */
export function parseResourceName(name: unknown, collection: string, field: string): { accountId: string; id: string } {
  const parts = typeof name === 'string' ? name.split('/') : [];
  if (parts.length !== 4 || parts[0] !== 'accounts' || parts[2] !== collection) {
    throw invalidArgument(field, `must be a resource name of the form accounts/{account}/${collection}/{id}`, 'FORMAT');
  }
  return { accountId: validateResourceId(parts[1], field), id: validateResourceId(parts[3], field) };
}

export function resourceName(accountId: string, collection: string, id: string): string {
  return `accounts/${accountId}/${collection}/${id}`;
}

// ---- references to other resources ----------------------------------------------------------------

/** The account whose models, datasets and deployment shapes every account may name (the public catalog). */
export const SHARED_ACCOUNT = BASE_MODEL_ACCOUNT;

/**
 * A field of a request that names another resource. The docs write such references as full names
 * (`accounts/{a}/datasets/{d}`), the published spec often as bare ids (`nodePoolId`): both are
 * accepted, the full name only within the caller's account — or a shared account — so another
 * account's private object reads exactly like a missing one.
 */
export interface ReferenceField {
  /** Path in the resource, e.g. `dataset`, `peftDetails.baseModel`. */
  field: string;
  /** The collection named, e.g. `datasets`. */
  collection: string;
  /** The resource type word of errors, e.g. `dataset`. */
  resourceType: string;
  /** What the object keeps: the full name or the bare id. */
  stored: 'name' | 'id';
  /**
   * How this field answers a reference to nothing: 404 NOT_FOUND naming the object
   * (`field-not-found`: and the field), or 400 naming the field (reason NOT_FOUND) where the
   * collection documented that; another account's object gets the same answer.
   */
  missing: 'not-found' | 'field-not-found' | 'invalid-argument';
  /** Accounts any caller may name (`fireworks`). */
  shared?: readonly string[];
  /** Another account's object may be named if it is public; the collection checks that. */
  publicForeign?: boolean;
  /** The cluster-scoped form `accounts/{a}/clusters/{cluster}/<collection>/{id}` is accepted too. */
  cluster?: string;
  /** The field names an object the request creates (an SFT job's `outputModel`): it must be the caller's. */
  output?: boolean;
}

export interface ResourceRef {
  accountId: string;
  id: string;
  /** `accounts/{a}/<collection>/{id}`. */
  name: string;
  /** What the object stores (the full name or the id, as the field says). */
  stored: string;
}

/** The answer to a reference that names nothing the caller may see (missing or another account's). */
export function referenceNotFound(ref: ReferenceField, name: string): ApiError {
  if (ref.missing === 'not-found') return notFound(ref.resourceType, name);
  if (ref.missing === 'field-not-found') return fieldNotFound(ref.field, ref.resourceType, name);
  return invalidArguments([{ field: ref.field, description: `${ref.resourceType} "${name}" not found`, reason: 'NOT_FOUND' }]);
}

/** `accounts/{a}/<collection>/{id}`, or with `clusters/{c}/` before the collection; undefined if neither. */
function splitReference(value: string, ref: ReferenceField): { accountId: string; id: string; cluster?: string } | undefined {
  const m = /^accounts\/([^/]+)\/(?:clusters\/([^/]+)\/)?([^/]+)\/([^/]+)$/.exec(value);
  if (!m || m[3] !== ref.collection || (m[2] !== undefined && ref.cluster === undefined)) return undefined;
  return { accountId: m[1]!, id: m[4]!, ...(m[2] !== undefined ? { cluster: m[2] } : {}) };
}

/** Whether the caller may name `accountId`'s object in this field; throws the field's answer if not. */
function checkAccount(ref: ReferenceField, accountId: string, callerAccountId: string, name: string): void {
  if (accountId === callerAccountId) return;
  if (ref.output === true) throw invalidArgument(ref.field, `must name a ${ref.resourceType} of account ${callerAccountId}, not ${name}`, 'FORMAT');
  const visible = (ref.shared ?? []).includes(accountId) || ref.publicForeign === true;
  // An id-stored reference cannot hold another account's object.
  if (!visible || ref.stored === 'id') throw referenceNotFound(ref, name);
}

/**
 * Parses a reference in either form: a bare id (the caller's account) or the full name. Malformed
 * → 400 naming the field; another account's name → the field's NOT_FOUND answer unless the account
 * is shared, or `publicForeign` (the caller then checks the object is public).
 */
export function parseReference(value: unknown, ref: ReferenceField, callerAccountId: string): ResourceRef {
  const forms = `an id or a resource name accounts/{account}/${ref.collection}/{id}`;
  if (typeof value !== 'string' || value === '') throw invalidArgument(ref.field, `is required: ${forms}`, 'REQUIRED');
  if (!value.includes('/')) {
    // A bare id stored as an id is the spec's own form: the CRD's id rule reports a bad one.
    const id = ref.stored === 'id' ? value : validateResourceId(value, ref.field);
    const name = resourceName(callerAccountId, ref.collection, id);
    return { accountId: callerAccountId, id, name, stored: ref.stored === 'name' ? name : id };
  }
  const split = splitReference(value, ref);
  if (!split) throw invalidArgument(ref.field, `must be ${forms}`, 'FORMAT');
  // Hearth runs one cluster per installation: another cluster id names nothing.
  if (split.cluster !== undefined && split.cluster !== ref.cluster) throw referenceNotFound(ref, value);
  const accountId = validateResourceId(split.accountId, ref.field);
  const id = validateResourceId(split.id, ref.field);
  const name = resourceName(accountId, ref.collection, id);
  checkAccount(ref, accountId, callerAccountId, name);
  return { accountId, id, name, stored: ref.stored === 'name' ? name : id };
}

/** Reads a dotted path of a plain object. */
function getPath(obj: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
  o[keys.at(-1)!] = value;
}

/**
 * Rewrites every reference field present (not empty) in `resource` to the form its object stores,
 * after the checks of parseReference; returns the parsed references by field. Changes `resource`.
 */
export function normalizeReferences(resource: Record<string, unknown>, refs: readonly ReferenceField[], callerAccountId: string): Map<string, ResourceRef> {
  const out = new Map<string, ResourceRef>();
  for (const ref of refs) {
    const value = getPath(resource, ref.field);
    if (value === undefined || value === null || value === '') continue;
    const parsed = parseReference(value, ref, callerAccountId);
    setPath(resource, ref.field, parsed.stored);
    out.set(ref.field, parsed);
  }
  return out;
}

/** A model reference (`accounts/{a}/models/{m}`): the caller's, the shared catalog's, or another account's public one. */
export function modelReference(field: string, missing: ReferenceField['missing'] = 'not-found'): ReferenceField {
  return { field, collection: 'models', resourceType: 'model', stored: 'name', missing, shared: [SHARED_ACCOUNT], publicForeign: true };
}

/**
 * The wire schema of a reference field whose stored form is an id: the body accepts either form
 * (the CRD's id rule applies to what is stored, after parseReference).
 */
export function referenceInput(ref: ReferenceField, description: string): z.ZodOptional<z.ZodString> {
  return z.string().max(512).optional().describe(`${description} An id or accounts/{account}/${ref.collection}/{id}.`);
}
