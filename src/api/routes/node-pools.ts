// Node pools: the `nodepools.hearth.dev` objects of the account's namespace (reads from the
// watch-fed cache, writes to the API server as `hearth-api`), plus `:getStats` and `:batchDelete`.
// See mappers/node-pool.ts for the wire ⇄ object mapping and how the stats are computed.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NodePoolSpec } from '../../crds/node-pool.js';
import { NODE_POOL, checkObjectUpdate } from '../../crds/registry.js';
import { deleteBindingsOfNodePool } from '../../db/repositories/node-pool-bindings.js';
import type { ApiContext } from '../context.js';
import { fromKubeError, statusCodeOf } from '../kube/errors.js';
import type { CustomObject, ResourceStore } from '../kube/resource-store.js';
import { accountNamespace } from '../kube/namespaces.js';
import { requestedConnection } from '../mappers/environment.js';
import {
  ATOMIC_PATHS,
  BatchDeleteBody,
  COLLECTION,
  CreateNodePoolBody,
  NodePoolResponse,
  NodePoolStatsResponse,
  OUTPUT_ONLY_FIELDS,
  UpdateNodePoolBody,
  WRITABLE_FIELDS,
  batchDeleteIds,
  computeNodePoolStats,
  indexStatsSources,
  newNodePoolObject,
  nodePoolName,
  specFromWire,
  toWire,
  type StatsSources,
} from '../mappers/node-pool.js';
import { resourceNotFound } from '../resources.js';
import { parseOrThrow } from '../validation.js';
import { alreadyExists, failedPrecondition, invalidArgument, invalidArguments, notFound } from '../wire/errors.js';
import { applyFieldMask, fieldMaskFromBody, parseFieldMask } from '../wire/field-mask.js';
import { listPage } from '../wire/pagination.js';
import { validateResourceId } from '../wire/resource-names.js';
import { AccountParams, Empty, ListQuery, ReadMaskQuery, errorResponses, listResponse, listResponseSchema, masked, UpdateMaskQuery, loadObject, requireStore } from './common.js';

const NodePoolParams = AccountParams.extend({ nodePoolId: z.string().describe('The node pool id.') });
/** `{id}:verb` paths: the id may not contain ':' (fastify regex parameter). */
const ID = ':nodePoolId(^[^:]+)';
const RESOURCE_TYPE = 'nodePool';

function maskOf(body: Record<string, unknown>, updateMask: string | undefined): string[] {
  const requested = parseFieldMask(updateMask, 'updateMask') ?? fieldMaskFromBody(body, ATOMIC_PATHS);
  const out: string[] = [];
  for (const p of requested) {
    const top = p.split('.')[0]!;
    if (WRITABLE_FIELDS.includes(top)) out.push(p);
    else if (!OUTPUT_ONLY_FIELDS.includes(top)) throw invalidArgument('updateMask', `unknown field "${p}"`, 'FIELD_MASK');
  }
  return out;
}

export class NodePools {
  constructor(private readonly ctx: ApiContext) {}

  get store(): ResourceStore<CustomObject> {
    return requireStore(this.ctx.stores?.nodePools, 'node pools');
  }

  /** Environments and batch jobs of the account, from the caches (an absent cache counts as none). */
  sources(accountId: string): StatsSources {
    const ns = accountNamespace(accountId);
    const batchJobs = this.ctx.stores?.batchJobs?.list(ns);
    return { environments: this.ctx.stores?.environments?.list(ns) ?? [], ...(batchJobs ? { batchJobs } : {}) };
  }

  wire(obj: CustomObject, accountId: string, sources = this.sources(accountId)): Record<string, unknown> {
    return toWire(obj, accountId, sources);
  }

  kubeError(e: unknown, accountId: string, id: string, op: 'create' | 'update' | 'get' | 'delete'): unknown {
    return fromKubeError(e, { resourceType: RESOURCE_TYPE, name: nodePoolName(accountId, id), op });
  }

  async load(accountId: string, id: string, fresh = false): Promise<CustomObject> {
    return loadObject(this.store, accountNamespace(accountId), id, {
      fresh,
      kubeError: (e) => this.kubeError(e, accountId, id, 'get'),
      missing: () => resourceNotFound(accountId, COLLECTION, id),
    });
  }

  async create(accountId: string, body: z.infer<typeof CreateNodePoolBody>): Promise<Record<string, unknown>> {
    const id = validateResourceId(body.nodePoolId, 'nodePoolId');
    const spec = specFromWire(body.nodePool as Record<string, unknown>);
    parseOrThrow(NodePoolSpec, spec, 'nodePool');
    const ns = accountNamespace(accountId);
    const existing = await this.store.get(ns, id).catch((e: unknown) => {
      throw this.kubeError(e, accountId, id, 'get');
    });
    if (existing) throw alreadyExists(RESOURCE_TYPE, nodePoolName(accountId, id));
    await this.ctx.ensureNamespace?.(accountId);
    try {
      return this.wire(await this.store.create(newNodePoolObject({ accountId, namespace: ns, id, spec })), accountId);
    } catch (e) {
      throw this.kubeError(e, accountId, id, 'create');
    }
  }

  async update(accountId: string, id: string, body: Record<string, unknown>, updateMask: string | undefined): Promise<Record<string, unknown>> {
    const mask = maskOf(body, updateMask);
    const patch = specFromWire(body);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.load(accountId, id, attempt > 0);
      if (mask.length === 0) return this.wire(cur, accountId);
      const spec = applyFieldMask(cur.spec, patch, mask);
      parseOrThrow(NodePoolSpec, spec);
      const issues = checkObjectUpdate(NODE_POOL, { ...cur, spec }, cur);
      if (issues.length > 0) throw invalidArguments(issues.map((i) => ({ field: i.path.filter((s) => s !== 'spec').join('.'), description: i.message, reason: 'IMMUTABLE' })));
      try {
        return this.wire(await this.store.replace({ ...cur, spec }), accountId);
      } catch (e) {
        if (statusCodeOf(e) === 409 && attempt < 3) continue;
        throw this.kubeError(e, accountId, id, 'update');
      }
    }
  }

  /** FAILED_PRECONDITION while environments are connected (or connecting) to the pool. */
  assertUnused(accountId: string, id: string, name: string): void {
    const connected = (this.ctx.stores?.environments?.list(accountNamespace(accountId)) ?? []).filter((env) => requestedConnection(env)?.nodePoolId === id);
    if (connected.length > 0) {
      const names = connected.map((e) => e.metadata.name).sort();
      throw failedPrecondition(`node pool "${name}" has ${connected.length} connected environment(s) (${names.slice(0, 5).join(', ')}); disconnect them first`, 'ERR_NODE_POOL_IN_USE');
    }
  }

  async remove(accountId: string, id: string): Promise<void> {
    try {
      await this.store.delete(accountNamespace(accountId), id);
    } catch (e) {
      throw this.kubeError(e, accountId, id, 'delete');
    }
    await deleteBindingsOfNodePool(this.ctx.db, accountId, id);
  }

  async delete(accountId: string, id: string): Promise<void> {
    await this.load(accountId, id);
    this.assertUnused(accountId, id, nodePoolName(accountId, id));
    await this.remove(accountId, id);
  }

  /** All names are checked (format, existence, not in use) before anything is deleted. */
  async batchDelete(accountId: string, names: readonly string[]): Promise<void> {
    const targets = batchDeleteIds(names, accountId, COLLECTION, RESOURCE_TYPE);
    const ns = accountNamespace(accountId);
    for (const t of targets) {
      const obj = await this.store.get(ns, t.id).catch((e: unknown) => {
        throw this.kubeError(e, accountId, t.id, 'get');
      });
      if (!obj) throw notFound(RESOURCE_TYPE, t.name);
      this.assertUnused(accountId, t.id, t.name);
    }
    for (const t of targets) await this.remove(accountId, t.id);
  }

  async stats(accountId: string, id: string): Promise<Record<string, unknown>> {
    return computeNodePoolStats(await this.load(accountId, id), this.sources(accountId));
  }

  list(accountId: string, q: z.infer<typeof ListQuery>): Record<string, unknown> {
    const sources = indexStatsSources(this.sources(accountId));
    const all = this.store.list(accountNamespace(accountId)).map((o) => this.wire(o, accountId, sources));
    const page = listPage(all, q, { binding: { parent: `accounts/${accountId}/${COLLECTION}` }, codec: this.ctx.pageTokens, defaultOrderBy: 'name' });
    return listResponse(COLLECTION, page.items.map((p) => masked(p, q.readMask)), page);
  }
}

const tags = ['NodePools'];

const nodePools: FastifyPluginAsyncZod = async (app) => {
  const svc = new NodePools(app.hearth);

  app.get('/accounts/:accountId/nodePools', {
    schema: {
      summary: 'List Node Pools',
      description: 'Default order: name.',
      tags,
      operationId: 'Gateway_ListNodePools',
      params: AccountParams,
      querystring: ListQuery,
      response: { 200: listResponseSchema(COLLECTION, NodePoolResponse), ...errorResponses },
    },
    handler: async (request) => svc.list(request.params.accountId, request.query),
  });

  app.post('/accounts/:accountId/nodePools', {
    schema: {
      summary: 'Create Node Pool',
      tags,
      operationId: 'Gateway_CreateNodePool',
      params: AccountParams,
      body: CreateNodePoolBody,
      response: { 200: NodePoolResponse, ...errorResponses, 409: errorResponses[400] },
    },
    handler: async (request) => svc.create(request.params.accountId, request.body),
  });

  app.post('/accounts/:accountId/nodePools::batchDelete', {
    schema: {
      summary: 'Batch Delete Node Pools',
      description:
        'Every name is checked first (format, existence, no connected environment); the first failing one is reported and nothing is deleted. Then each pool is deleted.',
      tags,
      operationId: 'Gateway_BatchDeleteNodePools',
      params: AccountParams,
      body: BatchDeleteBody,
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      await svc.batchDelete(request.params.accountId, request.body.names);
      return {};
    },
  });

  app.get(`/accounts/:accountId/nodePools/${ID}`, {
    schema: {
      summary: 'Get Node Pool',
      tags,
      operationId: 'Gateway_GetNodePool',
      params: NodePoolParams,
      querystring: ReadMaskQuery,
      response: { 200: NodePoolResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, nodePoolId } = request.params;
      validateResourceId(nodePoolId, 'nodePoolId');
      return masked(svc.wire(await svc.load(accountId, nodePoolId), accountId), request.query.readMask);
    },
  });

  app.get(`/accounts/:accountId/nodePools/${ID}::getStats`, {
    schema: {
      summary: 'Get Node Pool Stats',
      description: 'Nodes as the controller reports them; environments and batch jobs referencing the pool, counted from the caches.',
      tags,
      operationId: 'Gateway_GetNodePoolStats',
      params: NodePoolParams,
      querystring: ReadMaskQuery,
      response: { 200: NodePoolStatsResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, nodePoolId } = request.params;
      validateResourceId(nodePoolId, 'nodePoolId');
      return masked(await svc.stats(accountId, nodePoolId), request.query.readMask);
    },
  });

  app.patch(`/accounts/:accountId/nodePools/${ID}`, {
    schema: {
      summary: 'Update Node Pool',
      description: 'The update mask is the set of fields in the body (or `updateMask`); output-only fields are ignored.',
      tags,
      operationId: 'Gateway_UpdateNodePool',
      params: NodePoolParams,
      querystring: UpdateMaskQuery,
      body: UpdateNodePoolBody,
      response: { 200: NodePoolResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, nodePoolId } = request.params;
      validateResourceId(nodePoolId, 'nodePoolId');
      return svc.update(accountId, nodePoolId, request.body as Record<string, unknown>, request.query.updateMask);
    },
  });

  app.delete(`/accounts/:accountId/nodePools/${ID}`, {
    schema: {
      summary: 'Delete Node Pool',
      description: 'Deletes the node pool and its bindings; FAILED_PRECONDITION while environments are connected to it.',
      tags,
      operationId: 'Gateway_DeleteNodePool',
      params: NodePoolParams,
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, nodePoolId } = request.params;
      validateResourceId(nodePoolId, 'nodePoolId');
      await svc.delete(accountId, nodePoolId);
      return {};
    },
  });
};

export default nodePools;
