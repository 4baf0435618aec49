// The resource types and (AIP-122) resource names of the `/v1/accounts/*` collections, and the
// one NOT_FOUND error every route uses: a missing object and another account's object must read
// exactly the same.
import { notFound, type ApiError } from '../wire/errors.js';

/** REST collection → the resource type word used in errors (the spec's message names). */
export const RESOURCE_TYPES: Record<string, string> = {
  accounts: 'account',
  users: 'user',
  apiKeys: 'apiKey',
  quotas: 'quota',
  deployments: 'deployment',
  deployedModels: 'deployedModel',
  models: 'model',
  datasets: 'dataset',
  nodePools: 'nodePool',
  nodePoolBindings: 'nodePoolBinding',
  environments: 'environment',
  batchJobs: 'batchJob',
  supervisedFineTuningJobs: 'supervisedFineTuningJob',
  reservations: 'reservation',
};

/** `accounts/{a}` or `accounts/{a}/<collection>/{id}`. */
export function resourceNameOf(accountId: string, collection: string, id?: string): string {
  return collection === 'accounts' || id === undefined ? `accounts/${accountId}` : `accounts/${accountId}/${collection}/${id}`;
}

export function resourceNotFound(accountId: string, collection: string, id?: string): ApiError {
  const type = collection === 'accounts' || id === undefined ? 'account' : (RESOURCE_TYPES[collection] ?? 'resource');
  return notFound(type, resourceNameOf(accountId, collection, id));
}
