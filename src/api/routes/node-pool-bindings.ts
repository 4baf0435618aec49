// Node pool bindings (PostgreSQL): which users of the account may use its node pools. The
// published body is the bare `{principal}` (the user's e-mail), which binds the user to every node
// pool of the account; Hearth also accepts an optional `nodePoolId` (a field of the binding message,
// output-only in the published spec) to bind one pool, which must exist (NOT_FOUND otherwise).
// Creating and deleting bindings is for account admins: a binding grants access.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getUserByEmail } from '../../db/repositories/accounts.js';
import { ACCOUNT_WIDE, createNodePoolBinding, deleteNodePoolBinding, listNodePoolBindings } from '../../db/repositories/node-pool-bindings.js';
import type { NodePoolBindingRow } from '../../db/schema/index.js';
import { assertAdmin } from '../authorize.js';
import type { ApiContext } from '../context.js';
import { fromKubeError } from '../kube/errors.js';
import { accountNamespace } from '../kube/namespaces.js';
import { CLUSTER_ID, nodePoolName } from '../mappers/node-pool.js';
import { invalidArgument, notFound, unavailable } from '../wire/errors.js';
import { listPage } from '../wire/pagination.js';
import { validateResourceId } from '../wire/resource-names.js';
import { AccountParams, Empty, ListQuery, errorResponses, listResponse, listResponseSchema, masked } from './common.js';
import { rfc3339 } from '../../util/rfc3339.js';

const COLLECTION = 'nodePoolBindings';
const ignored = z.unknown().optional().describe('Output only; ignored on input.');
const principal = z.string().max(320).regex(/^[^@\s]+@[^@\s]+$/, 'must be an e-mail address').describe('E-mail address of the user allowed to use the node pool(s).');

const bindingFields = {
  principal,
  nodePoolId: z.string().max(63).optional().describe('Hearth: the node pool the binding is for. Absent: every node pool of the account.'),
  clusterId: z.string().max(63).optional().describe(`The cluster of the node pool; Hearth has one, "${CLUSTER_ID}".`),
  accountId: ignored,
  createTime: ignored,
};

const CreateBindingBody = z.strictObject(bindingFields).describe('The binding to create: `principal` is required.');
const DeleteBindingBody = z.strictObject(bindingFields).describe('The binding to delete: the same principal (and nodePoolId) it was created with.');

export const NodePoolBindingResponse = z
  .object({
    accountId: z.string().describe('Output only. The account.'),
    clusterId: z.string().describe('Output only. The cluster.'),
    nodePoolId: z.string().optional().describe('Output only. The node pool; absent for a binding to every node pool of the account.'),
    createTime: z.string().describe('Output only. Creation time (RFC 3339).'),
    principal: z.string().describe('E-mail address of the user allowed to use the node pool(s).'),
  })
  .partial()
  .describe('A Fireworks NodePoolBinding.');

const FIELDS = ['accountId', 'clusterId', 'nodePoolId', 'principal', 'createTime'] as const;
/** The unique sort key a page token needs (bindings have no name). */
const KEY = '__key';

export function bindingToWire(row: NodePoolBindingRow): Record<string, unknown> {
  return {
    accountId: row.accountId,
    clusterId: CLUSTER_ID,
    ...(row.nodePoolId !== ACCOUNT_WIDE ? { nodePoolId: row.nodePoolId } : {}),
    createTime: rfc3339(row.createTime),
    principal: row.principal,
  };
}

/** The node pool id a body names (ACCOUNT_WIDE when none), after checking its cluster. */
function scopeOf(accountId: string, body: { nodePoolId?: string | undefined; clusterId?: string | undefined }): string {
  if (body.clusterId !== undefined && body.clusterId !== '' && body.clusterId !== CLUSTER_ID) throw notFound('cluster', `accounts/${accountId}/clusters/${body.clusterId}`);
  if (body.nodePoolId === undefined || body.nodePoolId === '') return ACCOUNT_WIDE;
  return validateResourceId(body.nodePoolId, 'nodePoolId');
}

async function assertNodePoolExists(ctx: ApiContext, accountId: string, id: string): Promise<void> {
  const client = ctx.kinds?.nodePools;
  if (!client) throw unavailable('node pools need a Kubernetes cluster; this API server runs without one');
  const obj = await client.get(accountNamespace(accountId), id).catch((e: unknown) => {
    throw fromKubeError(e, { resourceType: 'nodePool', name: nodePoolName(accountId, id), op: 'get' });
  });
  if (!obj) throw notFound('nodePool', nodePoolName(accountId, id));
}

const tags = ['NodePoolBindings'];

const nodePoolBindings: FastifyPluginAsyncZod = async (app) => {
  const ctx = app.hearth;

  app.get('/accounts/:accountId/nodePoolBindings', {
    schema: {
      summary: 'List Node Pool Bindings',
      description: 'Default order: nodePoolId, principal (bindings have no name).',
      tags,
      operationId: 'Gateway_ListNodePoolBindings',
      params: AccountParams,
      querystring: ListQuery,
      response: { 200: listResponseSchema(COLLECTION, NodePoolBindingResponse), ...errorResponses },
    },
    handler: async (request) => {
      const { accountId } = request.params;
      const rows = await listNodePoolBindings(ctx.db, accountId);
      const all = rows.map((r) => ({ ...bindingToWire(r), [KEY]: `${r.nodePoolId}/${r.principal}` }));
      const page = listPage(all, request.query, {
        binding: { parent: `accounts/${accountId}/${COLLECTION}` },
        codec: ctx.pageTokens,
        defaultOrderBy: 'nodePoolId,principal',
        filterFields: FIELDS,
        orderByFields: FIELDS,
        idField: KEY,
      });
      const items = page.items.map(({ [KEY]: _key, ...b }) => masked(b, request.query.readMask));
      return listResponse(COLLECTION, items, page);
    },
  });

  app.post('/accounts/:accountId/nodePoolBindings', {
    schema: {
      summary: 'Create Node Pool Binding',
      description:
        'Admins only. `principal` must be the e-mail of a user of the account (INVALID_ARGUMENT otherwise). Without `nodePoolId` the user may use every node pool of the account; with it, that pool (NOT_FOUND if it does not exist).',
      tags,
      operationId: 'Gateway_CreateNodePoolBinding',
      params: AccountParams,
      body: CreateBindingBody,
      response: { 200: NodePoolBindingResponse, ...errorResponses, 409: errorResponses[400] },
    },
    handler: async (request) => {
      const { accountId } = request.params;
      assertAdmin(request.principal, 'create node pool bindings');
      const body = request.body;
      const nodePoolId = scopeOf(accountId, body);
      if (!(await getUserByEmail(ctx.db, accountId, body.principal))) throw invalidArgument('principal', `must be the e-mail address of a user of account "${accountId}"`, 'UNKNOWN_PRINCIPAL');
      if (nodePoolId !== ACCOUNT_WIDE) await assertNodePoolExists(ctx, accountId, nodePoolId);
      const row = await createNodePoolBinding(ctx.db, { accountId, nodePoolId, principal: body.principal, createdBy: request.principal.email });
      return bindingToWire(row);
    },
  });

  app.post('/accounts/:accountId/nodePoolBindings::delete', {
    schema: {
      summary: 'Delete Node Pool Binding',
      description: 'Admins only. Deletes the binding of `principal` (to `nodePoolId`, or the account-wide one without it); NOT_FOUND if there is none.',
      tags,
      operationId: 'Gateway_DeleteNodePoolBinding',
      params: AccountParams,
      body: DeleteBindingBody,
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId } = request.params;
      assertAdmin(request.principal, 'delete node pool bindings');
      const nodePoolId = scopeOf(accountId, request.body);
      await deleteNodePoolBinding(ctx.db, accountId, nodePoolId, request.body.principal);
      return {};
    },
  });
};

export default nodePoolBindings;
