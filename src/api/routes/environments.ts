// Environments over HTTP: the standard collection routes (src/api/collections/routes.ts),
// `:connect` and `:disconnect`. The behaviour is in src/api/collections/environments.ts.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Environments } from '../collections/environments.js';
import { collectionRoutes } from '../collections/routes.js';
import { ConnectBody, CreateEnvironmentBody, DisconnectBody, EnvironmentResponse, UpdateEnvironmentBody } from '../mappers/environment.js';
import { BatchDeleteBody } from '../mappers/node-pool.js';
import { AccountParams } from './common.js';

const EnvironmentParams = AccountParams.extend({ environmentId: z.string().describe('The environment id.') });
const environments: FastifyPluginAsyncZod = async (app) => {
  const svc = new Environments(app.hearth);

  collectionRoutes(app, svc, {
    tags: ['Environments'],
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
    verbs: [
      {
        method: 'POST',
        verb: 'connect',
        operation: 'ConnectEnvironment',
        summary: 'Connect Environment',
        description:
          'Connects the environment to a node pool of the account. FAILED_PRECONDITION (400) if a connection is already pending or established. PERMISSION_DENIED (403) naming the pool when the caller is not an admin and has no node pool binding for it, or naming the environment when it is not shared and the caller is neither its creator nor an admin.',
        body: ConnectBody,
        handler: (accountId, id, request) => svc.connect(accountId, id, request.body as z.infer<typeof ConnectBody>, request.principal),
      },
      {
        method: 'POST',
        verb: 'disconnect',
        operation: 'DisconnectEnvironment',
        summary: 'Disconnect Environment',
        description: 'Disconnects the environment from its node pool. FAILED_PRECONDITION (400) if it is not connected. PERMISSION_DENIED (403) when it is not shared and the caller is neither its creator nor an admin.',
        body: DisconnectBody.nullish(),
        handler: (accountId, id, request) => svc.disconnect(accountId, id, (request.body as z.infer<typeof DisconnectBody> | null | undefined) ?? {}, request.principal),
      },
    ],
  });
};

export default environments;
