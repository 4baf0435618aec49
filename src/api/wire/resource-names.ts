// Resource ids and names. Ids: 1–63 characters of a-z, 0-9 and '-', starting with a letter and not
// ending with '-' (the fleet catalog's resource id rule). Names: `accounts/{a}/<collection>/{id}`.
import { invalidArgument } from './errors.js';

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
