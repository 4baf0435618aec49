// Environments: the `environments.hearth.dev` objects of the account's namespace (reads from the
// watch-fed cache, writes to the API server as `hearth-api`), plus `:connect`, `:disconnect` and
// `:batchDelete`. See mappers/environment.ts for the mapping and where a connection is recorded.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { EnvironmentConnection, EnvironmentSpec } from '../../crds/environment.js';
import { ENVIRONMENT, checkObjectUpdate } from '../../crds/registry.js';
import type { ApiContext } from '../context.js';
import { fromKubeError, statusCodeOf } from '../kube/errors.js';
import type { CustomObject, ResourceStore } from '../kube/resource-store.js';
import { accountNamespace } from '../kube/namespaces.js';
import {
  ATOMIC_PATHS,
  COLLECTION,
  ConnectBody,
  CreateEnvironmentBody,
  DisconnectBody,
  ENV_ANNOTATIONS,
  EnvironmentResponse,
  OUTPUT_ONLY_FIELDS,
  UpdateEnvironmentBody,
  WRITABLE_FIELDS,
  connectionFromWire,
  environmentName,
  newEnvironmentObject,
  requestedConnection,
  specFromWire,
  toWire,
} from '../mappers/environment.js';
import { BatchDeleteBody, batchDeleteIds, nodePoolName } from '../mappers/node-pool.js';
import { resourceNotFound } from '../resources.js';
import { parseOrThrow } from '../validation.js';
import { alreadyExists, failedPrecondition, invalidArguments, notFound, unavailable } from '../wire/errors.js';
import { applyFieldMask, updatePaths, type UpdateMaskRules } from '../wire/field-mask.js';
import { listPage } from '../wire/pagination.js';
import { validateResourceId } from '../wire/resource-names.js';
import { AccountParams, Empty, ListQuery, ReadMaskQuery, errorResponses, listResponse, listResponseSchema, masked, UpdateMaskQuery, loadObject, requireStore } from './common.js';
import { rfc3339 as iso } from '../../util/rfc3339.js';

const EnvironmentParams = AccountParams.extend({ environmentId: z.string().describe('The environment id.') });
const ID = ':environmentId(^[^:]+)';
const RESOURCE_TYPE = 'environment';

// `connection` is output only here: it changes through :connect / :disconnect.
const MASK_RULES: UpdateMaskRules = { writable: WRITABLE_FIELDS, outputOnly: OUTPUT_ONLY_FIELDS, atomic: ATOMIC_PATHS };

class Environments {
  constructor(private readonly ctx: ApiContext) {}

  get store(): ResourceStore<CustomObject> {
    return requireStore(this.ctx.stores?.environments, 'environments');
  }

  kubeError(e: unknown, accountId: string, id: string, op: 'create' | 'update' | 'get' | 'delete'): unknown {
    return fromKubeError(e, { resourceType: RESOURCE_TYPE, name: environmentName(accountId, id), op });
  }

  async load(accountId: string, id: string, fresh = false): Promise<CustomObject> {
    return loadObject(this.store, accountNamespace(accountId), id, {
      fresh,
      kubeError: (e) => this.kubeError(e, accountId, id, 'get'),
      missing: () => resourceNotFound(accountId, COLLECTION, id),
    });
  }

  async create(accountId: string, createdBy: string, body: z.infer<typeof CreateEnvironmentBody>): Promise<Record<string, unknown>> {
    const id = validateResourceId(body.environmentId, 'environmentId');
    const spec = specFromWire(body.environment as Record<string, unknown>);
    parseOrThrow(EnvironmentSpec, spec, 'environment');
    const ns = accountNamespace(accountId);
    const existing = await this.store.get(ns, id).catch((e: unknown) => {
      throw this.kubeError(e, accountId, id, 'get');
    });
    if (existing) throw alreadyExists(RESOURCE_TYPE, environmentName(accountId, id));
    await this.ctx.ensureNamespace?.(accountId);
    try {
      return toWire(await this.store.create(newEnvironmentObject({ accountId, namespace: ns, id, spec, createdBy })), accountId);
    } catch (e) {
      throw this.kubeError(e, accountId, id, 'create');
    }
  }

  async update(accountId: string, id: string, body: Record<string, unknown>, updateMask: string | undefined): Promise<Record<string, unknown>> {
    const mask = updatePaths(body, updateMask, MASK_RULES);
    const patch = specFromWire(body);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.load(accountId, id, attempt > 0);
      if (mask.length === 0) return toWire(cur, accountId);
      const spec = applyFieldMask(cur.spec, patch, mask);
      parseOrThrow(EnvironmentSpec, spec);
      const issues = checkObjectUpdate(ENVIRONMENT, { ...cur, spec }, cur);
      if (issues.length > 0) throw invalidArguments(issues.map((i) => ({ field: i.path.filter((s) => s !== 'spec').join('.'), description: i.message, reason: 'IMMUTABLE' })));
      try {
        return toWire(await this.store.replace({ ...cur, spec }), accountId);
      } catch (e) {
        if (statusCodeOf(e) === 409 && attempt < 3) continue;
        throw this.kubeError(e, accountId, id, 'update');
      }
    }
  }

  async delete(accountId: string, id: string): Promise<void> {
    await this.load(accountId, id);
    try {
      await this.store.delete(accountNamespace(accountId), id);
    } catch (e) {
      throw this.kubeError(e, accountId, id, 'delete');
    }
  }

  /** All names are checked (format, existence) before anything is deleted. */
  async batchDelete(accountId: string, names: readonly string[]): Promise<void> {
    const targets = batchDeleteIds(names, accountId, COLLECTION, RESOURCE_TYPE);
    const ns = accountNamespace(accountId);
    for (const t of targets) {
      const obj = await this.store.get(ns, t.id).catch((e: unknown) => {
        throw this.kubeError(e, accountId, t.id, 'get');
      });
      if (!obj) throw notFound(RESOURCE_TYPE, t.name);
    }
    for (const t of targets) {
      await this.store.delete(ns, t.id).catch((e: unknown) => {
        throw this.kubeError(e, accountId, t.id, 'delete');
      });
    }
  }

  /**
   * Records the requested connection in `spec.connection` (resourceVersion-guarded, so two
   * concurrent connects cannot both succeed). FAILED_PRECONDITION when one is already requested.
   */
  async connect(accountId: string, id: string, body: z.infer<typeof ConnectBody>): Promise<void> {
    const connection = connectionFromWire(body.connection as Record<string, unknown>);
    const parsed = parseOrThrow(EnvironmentConnection, connection, 'connection');
    await this.load(accountId, id);
    const pools = this.ctx.stores?.nodePools;
    if (!pools) throw unavailable('node pools need a Kubernetes cluster; this API server runs without one');
    const pool = await pools.get(accountNamespace(accountId), parsed.nodePoolId).catch((e: unknown) => {
      throw fromKubeError(e, { resourceType: 'nodePool', name: nodePoolName(accountId, parsed.nodePoolId), op: 'get' });
    });
    if (!pool) throw notFound('nodePool', nodePoolName(accountId, parsed.nodePoolId));
    if (pool.metadata.deletionTimestamp !== undefined) throw failedPrecondition(`node pool "${nodePoolName(accountId, parsed.nodePoolId)}" is being deleted`, 'ERR_NODE_POOL_DELETING');
    for (let attempt = 0; ; attempt++) {
      const cur = await this.load(accountId, id, attempt > 0);
      const name = environmentName(accountId, id);
      if (cur.metadata.deletionTimestamp !== undefined) throw failedPrecondition(`environment "${name}" is being deleted`);
      const pending = requestedConnection(cur);
      if (pending) {
        throw failedPrecondition(`environment "${name}" already has a connection to node pool "${String(pending.nodePoolId)}"; disconnect it first`, 'ERR_CONNECTION_PENDING');
      }
      const annotations: Record<string, string> = { ...(cur.metadata.annotations ?? {}), [ENV_ANNOTATIONS.connectTime]: iso(this.ctx.now()) };
      delete annotations[ENV_ANNOTATIONS.vscodeVersion];
      if (body.vscodeVersion !== undefined) annotations[ENV_ANNOTATIONS.vscodeVersion] = body.vscodeVersion;
      try {
        await this.store.replace({ ...cur, metadata: { ...cur.metadata, annotations }, spec: { ...cur.spec, connection } });
        return;
      } catch (e) {
        if (statusCodeOf(e) === 409 && attempt < 3) continue;
        throw this.kubeError(e, accountId, id, 'update');
      }
    }
  }

  /** Removes the requested connection; FAILED_PRECONDITION when the environment has none. */
  async disconnect(accountId: string, id: string, body: z.infer<typeof DisconnectBody>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.load(accountId, id, attempt > 0);
      if (!requestedConnection(cur)) throw failedPrecondition(`environment "${environmentName(accountId, id)}" is not connected to a node pool`, 'ERR_NOT_CONNECTED');
      const { connection: _gone, ...spec } = cur.spec;
      const annotations: Record<string, string> = { ...(cur.metadata.annotations ?? {}), [ENV_ANNOTATIONS.disconnectTime]: iso(this.ctx.now()) };
      delete annotations[ENV_ANNOTATIONS.disconnectForce];
      delete annotations[ENV_ANNOTATIONS.resetSnapshots];
      if (body.force) annotations[ENV_ANNOTATIONS.disconnectForce] = 'true';
      if (body.resetSnapshots) annotations[ENV_ANNOTATIONS.resetSnapshots] = 'true';
      try {
        await this.store.replace({ ...cur, metadata: { ...cur.metadata, annotations }, spec });
        return;
      } catch (e) {
        if (statusCodeOf(e) === 409 && attempt < 3) continue;
        throw this.kubeError(e, accountId, id, 'update');
      }
    }
  }

  list(accountId: string, q: z.infer<typeof ListQuery>): Record<string, unknown> {
    const all = this.store.list(accountNamespace(accountId)).map((o) => toWire(o, accountId));
    const page = listPage(all, q, { binding: { parent: `accounts/${accountId}/${COLLECTION}` }, codec: this.ctx.pageTokens, defaultOrderBy: 'name' });
    return listResponse(COLLECTION, page.items.map((p) => masked(p, q.readMask)), page);
  }
}

const tags = ['Environments'];

const environments: FastifyPluginAsyncZod = async (app) => {
  const svc = new Environments(app.hearth);

  app.get('/accounts/:accountId/environments', {
    schema: {
      summary: 'List Environments',
      description: 'Default order: name.',
      tags,
      operationId: 'Gateway_ListEnvironments',
      params: AccountParams,
      querystring: ListQuery,
      response: { 200: listResponseSchema(COLLECTION, EnvironmentResponse), ...errorResponses },
    },
    handler: async (request) => svc.list(request.params.accountId, request.query),
  });

  app.post('/accounts/:accountId/environments', {
    schema: {
      summary: 'Create Environment',
      tags,
      operationId: 'Gateway_CreateEnvironment',
      params: AccountParams,
      body: CreateEnvironmentBody,
      response: { 200: EnvironmentResponse, ...errorResponses, 409: errorResponses[400] },
    },
    handler: async (request) => svc.create(request.params.accountId, request.principal.email, request.body),
  });

  app.post('/accounts/:accountId/environments::batchDelete', {
    schema: {
      summary: 'Batch Delete Environments',
      description: 'Every name is checked first (format, existence); the first failing one is reported and nothing is deleted. Then each environment is deleted.',
      tags,
      operationId: 'Gateway_BatchDeleteEnvironments',
      params: AccountParams,
      body: BatchDeleteBody,
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      await svc.batchDelete(request.params.accountId, request.body.names);
      return {};
    },
  });

  app.get(`/accounts/:accountId/environments/${ID}`, {
    schema: {
      summary: 'Get Environment',
      tags,
      operationId: 'Gateway_GetEnvironment',
      params: EnvironmentParams,
      querystring: ReadMaskQuery,
      response: { 200: EnvironmentResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, environmentId } = request.params;
      validateResourceId(environmentId, 'environmentId');
      return masked(toWire(await svc.load(accountId, environmentId), accountId), request.query.readMask);
    },
  });

  app.patch(`/accounts/:accountId/environments/${ID}`, {
    schema: {
      summary: 'Update Environment',
      description: 'The update mask is the set of fields in the body (or `updateMask`); output-only fields (including connection) are ignored.',
      tags,
      operationId: 'Gateway_UpdateEnvironment',
      params: EnvironmentParams,
      querystring: UpdateMaskQuery,
      body: UpdateEnvironmentBody,
      response: { 200: EnvironmentResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, environmentId } = request.params;
      validateResourceId(environmentId, 'environmentId');
      return svc.update(accountId, environmentId, request.body as Record<string, unknown>, request.query.updateMask);
    },
  });

  app.delete(`/accounts/:accountId/environments/${ID}`, {
    schema: {
      summary: 'Delete Environment',
      tags,
      operationId: 'Gateway_DeleteEnvironment',
      params: EnvironmentParams,
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, environmentId } = request.params;
      validateResourceId(environmentId, 'environmentId');
      await svc.delete(accountId, environmentId);
      return {};
    },
  });

  app.post(`/accounts/:accountId/environments/${ID}::connect`, {
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
      const { accountId, environmentId } = request.params;
      validateResourceId(environmentId, 'environmentId');
      await svc.connect(accountId, environmentId, request.body);
      return {};
    },
  });

  app.post(`/accounts/:accountId/environments/${ID}::disconnect`, {
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
      const { accountId, environmentId } = request.params;
      validateResourceId(environmentId, 'environmentId');
      await svc.disconnect(accountId, environmentId, request.body ?? {});
      return {};
    },
  });
};

export default environments;
