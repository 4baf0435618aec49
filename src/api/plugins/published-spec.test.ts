// The generated table of published operations must be what the spec says today, and the path
// helpers must map the three spellings of a path to one key.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED_PATH, generatedSource } from '../../../hack/api/gen-spec.js';
import { collectionOf, fastifyPath, publishedOperation, PUBLISHED_OPERATIONS, requiredBodyFields, shapeOf } from './published-spec.js';

describe('published operations table', () => {
  it('is up to date with spec/fireworks-gateway-openapi.yml (run `npm run gen:api-spec`)', () => {
    expect(readFileSync(GENERATED_PATH, 'utf8')).toBe(generatedSource());
    expect(PUBLISHED_OPERATIONS.length).toBeGreaterThan(150);
  });

  it('maps the spec, fastify and Hearth OpenAPI spellings of a path to one shape', () => {
    const shape = '/v1/accounts/{}/deployments/{}:undelete';
    expect(shapeOf('/v1/accounts/{account_id}/deployments/{deployment_id}:undelete')).toBe(shape);
    expect(shapeOf('/v1/accounts/{accountId}/deployments/{deploymentId}:undelete')).toBe(shape);
    expect(shapeOf('/v1/accounts/:accountId/deployments/:deploymentId(^[^:]+)::undelete')).toBe(shape);
    expect(shapeOf(fastifyPath('/v1/accounts/{account_id}/deployments/{deployment_id}:undelete'))).toBe(shape);
    expect(fastifyPath('/v1/accounts/{account_id}/users/{user_id}/apiKeys/accounts/{account_id}/users/{user_id}')).toBe(
      '/v1/accounts/:accountId(^[^:]+)/users/:userId(^[^:]+)/apiKeys/accounts/:accountId2(^[^:]+)/users/:userId2(^[^:]+)',
    );
  });

  it('names the top-level collection of each path', () => {
    expect(collectionOf('/v1/accounts')).toBe('accounts');
    expect(collectionOf('/v1/accounts/{account_id}')).toBe('accounts');
    expect(collectionOf('/v1/accounts/{account_id}:testeval')).toBe('accounts');
    expect(collectionOf('/v1/accounts/{account_id}/deployments/{deployment_id}/ledger')).toBe('deployments');
    expect(collectionOf('/v1/accounts/{account_id}/evaluations:validateAssertions')).toBe('evaluations');
    expect(collectionOf('/v1/accounts/:accountId/users/:userId(^[^:]+)/apiKeys::delete')).toBe('users');
    expect(collectionOf('/v1/creditCodes:redeem')).toBe('creditCodes');
  });

  it('says which bodies are optional: no required field, DELETE, and updates (a partial resource)', () => {
    const required = (method: string, path: string) => requiredBodyFields(publishedOperation(method, path)!);
    expect(required('POST', '/v1/accounts/{accountId}/deployments/{deploymentId}:undelete')).toEqual([]);
    expect(required('POST', '/v1/accounts/{accountId}/supervisedFineTuningJobs/{id}:cancel')).toEqual([]);
    expect(required('DELETE', '/v1/accounts/{accountId}/deployments/{deploymentId}')).toEqual([]);
    expect(required('PATCH', '/v1/accounts/{accountId}/deployments/{deploymentId}')).toEqual([]);
    expect(required('POST', '/v1/accounts/{accountId}/deployments')).toEqual(['baseModel']);
    expect(required('POST', '/v1/accounts/{accountId}/users/{userId}/apiKeys:delete')).toEqual(['keyId']);
    expect(publishedOperation('POST', '/v1/accounts/{accountId}/nodePools')).toBeUndefined();
  });
});
