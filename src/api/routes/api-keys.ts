// API keys (PostgreSQL): create (the key is in this response only), list, `apiKeys:delete`.
// Users manage their own keys; admins anyone's in the account.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getUser } from '../../db/repositories/accounts.js';
import { listApiKeys } from '../../db/repositories/api-keys.js';
import { assertCanManageKeysOf } from '../authorize.js';
import { issueApiKey, revokeKey } from '../../auth/keys.js';
import { ApiKeyResponse, apiKeyToWire } from '../mappers/accounts.js';
import { resourceNotFound } from '../collections/names.js';
import { notFound } from '../wire/errors.js';
import { listPage } from '../wire/pagination.js';
import { parseTimestamp } from '../wire/timestamp.js';
import { AccountParams, Empty, ListQuery, errorResponses, listResponse, listResponseSchema, masked } from './common.js';

const UserParams = AccountParams.extend({ userId: z.string().describe('The user id.') });
const ignored = z.unknown().optional().describe('Output only; ignored on input.');

const CreateApiKeyBody = z.strictObject({
  apiKey: z
    .strictObject({
      displayName: z.string().max(63).optional().describe('Default "default".'),
      expireTime: z.string().optional().describe('RFC 3339; unset: never expires.'),
      annotations: z.record(z.string().max(253), z.string().max(4096)).optional(),
      keyId: ignored,
      key: ignored,
      createTime: ignored,
      secure: ignored,
      email: ignored,
      prefix: ignored,
      lastUsed: ignored,
    })
    .describe('The key to create.'),
});

const DeleteApiKeyBody = z.strictObject({ keyId: z.string().min(1).max(64).describe('The key to revoke.') });

const apiKeys: FastifyPluginAsyncZod = async (app) => {
  const { db, authenticator } = app.hearth;

  async function owner(accountId: string, userId: string) {
    const user = await getUser(db, accountId, userId);
    if (!user) throw resourceNotFound(accountId, 'users', userId);
    return user;
  }

  app.post('/accounts/:accountId/users/:userId/apiKeys', {
    schema: {
      summary: 'Create API Key',
      description: 'The response carries the key itself (`key`): it is shown once and never again.',
      tags: ['ApiKeys'],
      operationId: 'Gateway_CreateApiKey',
      params: UserParams,
      body: CreateApiKeyBody,
      response: { 200: ApiKeyResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, userId } = request.params;
      const user = await owner(accountId, userId);
      assertCanManageKeysOf(request.principal, userId);
      const { apiKey } = request.body;
      const issued = await issueApiKey(db, {
        accountId,
        userId,
        displayName: apiKey.displayName,
        expireTime: apiKey.expireTime === undefined ? null : parseTimestamp(apiKey.expireTime, 'apiKey.expireTime'),
        annotations: apiKey.annotations,
      });
      return apiKeyToWire(issued.row, user.email, issued.key);
    },
  });

  app.get('/accounts/:accountId/users/:userId/apiKeys', {
    schema: {
      summary: 'List API Keys',
      tags: ['ApiKeys'],
      operationId: 'Gateway_ListApiKeys',
      params: UserParams,
      querystring: ListQuery,
      response: { 200: listResponseSchema('apiKeys', ApiKeyResponse), ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, userId } = request.params;
      const user = await owner(accountId, userId);
      assertCanManageKeysOf(request.principal, userId);
      const all = (await listApiKeys(db, accountId, userId)).map((k) => apiKeyToWire(k, user.email));
      const page = listPage(all, request.query, {
        binding: { parent: `accounts/${accountId}/users/${userId}/apiKeys` },
        codec: app.hearth.pageTokens,
        defaultOrderBy: 'createTime',
        idField: 'keyId',
      });
      return listResponse('apiKeys', page.items.map((k) => masked(k, request.query.readMask)), page);
    },
  });

  app.post('/accounts/:accountId/users/:userId/apiKeys::delete', {
    schema: {
      summary: 'Delete API Key',
      description: 'Revokes the key; every API replica refuses it within a second.',
      tags: ['ApiKeys'],
      operationId: 'Gateway_DeleteApiKey',
      params: UserParams,
      body: DeleteApiKeyBody,
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, userId } = request.params;
      await owner(accountId, userId);
      assertCanManageKeysOf(request.principal, userId);
      const { keyId } = request.body;
      const revoked = await revokeKey(db, { accountId, userId, keyId, authenticator });
      if (!revoked) throw notFound('apiKey', `accounts/${accountId}/users/${userId}/apiKeys/${keyId}`);
      return {};
    },
  });
};

export default apiKeys;
