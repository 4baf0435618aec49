// Environments over HTTP: the standard collection routes (src/api/collections/routes.ts),
// `:connect` and `:disconnect`. The behaviour is in src/api/collections/environments.ts.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Environments } from '../collections/environments.js';
import { collectionRoutes, itemParams, itemPath } from '../collections/routes.js';
import { ConnectBody, CreateEnvironmentBody, DisconnectBody, EnvironmentResponse, UpdateEnvironmentBody } from '../mappers/environment.js';
import { BatchDeleteBody } from '../mappers/node-pool.js';
import { AccountParams, Empty, errorResponses } from './common.js';

const EnvironmentParams = AccountParams.extend({ environmentId: z.string().describe('The environment id.') });
const tags = ['Environments'];

const environments: FastifyPluginAsyncZod = async (app) => {
  const svc = new Environments(app.hearth);

  collectionRoutes(app, svc, {
    tags,
    names: { one: 'Environment', many: 'Environments' },
    titles: { one: 'Environment', many: 'Environments' },
    params: EnvironmentParams,
    response: EnvironmentResponse,
    list: { description: 'Default order: name.' },
    create: { body: CreateEnvironmentBody, idFrom: 'body', resourceField: 'environment', conflict: true },
    batchDelete: {
      description: 'Every name is checked first (format, existence); the first failing one is reported and nothing is deleted. Then each environment is deleted.',
      body: BatchDeleteBody,
    },
    update: {
      description: 'The update mask is the set of fields in the body (or `updateMask`); output-only fields (including connection) are ignored.',
      body: UpdateEnvironmentBody,
    },
    delete: {},
  });

  app.post(itemPath(svc, 'connect'), {
    schema: {
      summary: 'Connect Environment',
      description: 'Connects the environment to a node pool of the account. FAILED_PRECONDITION (400) if a connection is already pending or established.',
      tags,
      operationId: 'Gateway_ConnectEnvironment',
      params: EnvironmentParams,
      body: ConnectBody,
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, id } = itemParams(svc, request);
      await svc.connect(accountId, id, request.body);
      return {};
    },
  });

  app.post(itemPath(svc, 'disconnect'), {
    schema: {
      summary: 'Disconnect Environment',
      description: 'Disconnects the environment from its node pool. FAILED_PRECONDITION (400) if it is not connected.',
      tags,
      operationId: 'Gateway_DisconnectEnvironment',
      params: EnvironmentParams,
      body: DisconnectBody.nullish(),
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, id } = itemParams(svc, request);
      await svc.disconnect(accountId, id, request.body ?? {});
      return {};
    },
  });
};

export default environments;
