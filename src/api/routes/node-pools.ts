// Node pools over HTTP: the standard collection routes (src/api/collections/routes.ts) and
// `:getStats`. The behaviour is in src/api/collections/node-pools.ts.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NodePools } from '../collections/node-pools.js';
import { collectionRoutes } from '../collections/routes.js';
import { BatchDeleteBody, CreateNodePoolBody, NodePoolResponse, NodePoolStatsResponse, UpdateNodePoolBody } from '../mappers/node-pool.js';
import { AccountParams, ReadMaskQuery, masked } from './common.js';

const NodePoolParams = AccountParams.extend({ nodePoolId: z.string().describe('The node pool id.') });
const nodePools: FastifyPluginAsyncZod = async (app) => {
  const svc = new NodePools(app.hearth);

  collectionRoutes(app, svc, {
    tags: ['NodePools'],
    names: { one: 'NodePool', many: 'NodePools' },
    titles: { one: 'Node Pool', many: 'Node Pools' },
    params: NodePoolParams,
    response: NodePoolResponse,
    list: { description: 'Default order: name.' },
    create: { body: CreateNodePoolBody, idFrom: 'body', resourceField: 'nodePool', conflict: true },
    batchDelete: {
      description:
        'Every name is checked first (format, existence, no connected environment, no running batch job); the first failing one is reported and nothing is deleted. Then each pool is deleted.',
      body: BatchDeleteBody,
    },
    update: { description: 'The update mask is the set of fields in the body (or `updateMask`); output-only fields are ignored.', body: UpdateNodePoolBody },
    delete: { description: 'Deletes the node pool and its bindings; FAILED_PRECONDITION while environments are connected to it or batch jobs run on it (the response names them).' },
    verbs: [
      {
        method: 'GET',
        verb: 'getStats',
        operation: 'GetNodePoolStats',
        summary: 'Get Node Pool Stats',
        description: 'Nodes as the controller reports them; environments and batch jobs referencing the pool, counted from the caches.',
        query: ReadMaskQuery,
        response: NodePoolStatsResponse,
        handler: async (accountId, id, request) => masked(await svc.stats(accountId, id), (request.query as { readMask?: string }).readMask),
      },
    ],
  });
};

export default nodePools;
