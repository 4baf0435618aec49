// Batch jobs: the `batchjobs.hearth.dev` objects of the account's namespace. Reads come from the
// watch-fed cache; writes go to the API server as `hearth-api`. Ids are numeric and assigned here:
// one more than the account's largest, created with the API server as the arbiter (a 409 from a
// concurrent create moves on to the next number), so two replicas never hand out the same id.
// See mappers/batch-job.ts for the wire ⇄ object mapping.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { BatchJobSpec } from '../../crds/batch-job.js';
import type { ApiContext } from '../context.js';
import { fromKubeError, statusCodeOf } from '../kube/errors.js';
import { accountNamespace } from '../kube/namespaces.js';
import type { CustomObject, ResourceStore } from '../kube/resource-store.js';
import {
  ATOMIC_PATHS,
  BatchJobResponse,
  CANCELLABLE_STATES,
  CLUSTER_ID,
  COLLECTION,
  CreateBatchJobBody,
  GetLogsResponse,
  JOB_ANNOTATIONS,
  MUTABLE_FIELDS,
  OUTPUT_ONLY_FIELDS,
  UpdateBatchJobBody,
  WRITABLE_FIELDS,
  batchJobName,
  idOfObjectName,
  isBatchJobId,
  newBatchJobObject,
  nextBatchJobId,
  objectNameOf,
  specFromWire,
  toWire,
  wireState,
} from '../mappers/batch-job.js';
import { parseClusterScopedName } from '../mappers/node-pool.js';
import { parseOrThrow } from '../validation.js';
import { failedPrecondition, invalidArgument, invalidArguments, notFound, unavailable } from '../wire/errors.js';
import { applyFieldMask, parseFieldMask, updatePaths, type UpdateMaskRules } from '../wire/field-mask.js';
import { listPage, parsePageSize, type PageTokenCodec } from '../wire/pagination.js';
import { isResourceId } from '../wire/resource-names.js';
import { parseTimestamp } from '../wire/timestamp.js';
import { AccountParams, Empty, ListQuery, ReadMaskQuery, errorResponses, listResponse, listResponseSchema, masked, queryBool, UpdateMaskQuery, loadObject, requireStore } from './common.js';
import { rfc3339 as iso } from '../../util/rfc3339.js';

const BatchJobParams = AccountParams.extend({ batchJobId: z.string().describe('The batch job id (numeric).') });
/** `{id}:verb` paths: the id may not contain ':' (fastify regex parameter). */
const ID = ':batchJobId(^[^:]+)';
const RESOURCE_TYPE = 'batchJob';

/** Attempts at a fresh id when concurrent creates take the one we tried. */
const MAX_ID_ATTEMPTS = 20;
const MAX_BATCH_DELETE = 1000;
const LOGS_DEFAULT_PAGE_SIZE = 100;
const LOGS_MAX_PAGE_SIZE = 10_000;

const GetLogsQuery = z.object({
  ranks: z
    .union([z.string(), z.array(z.string()).max(1024)])
    .optional()
    .describe('Ranks to return lines of (repeatable); all ranks if absent.'),
  pageSize: z.coerce.number().int().min(0).optional().describe('Maximum lines (default 100, at most 10000; larger values are coerced to 10000).'),
  pageToken: z.string().max(4096).optional().describe('nextPageToken of the previous call; every other parameter must match that call.'),
  filter: z.string().max(4096).optional().describe('Only lines containing this text.'),
  readMask: z.string().max(4096).optional().describe('Fields of each entry to return; empty or "*" for all.'),
  startTime: z.string().max(64).optional().describe('RFC 3339; lines before it are left out. Unset: the last pageSize lines.'),
  startFromHead: queryBool('Oldest first (default false: newest first).'),
});

const BatchDeleteBody = z.strictObject({
  names: z
    .array(z.string().max(512))
    .min(1)
    .max(MAX_BATCH_DELETE)
    .describe('Full names of the batch jobs: accounts/{account}/clusters/{cluster}/batchJobs/{id} (accounts/{account}/batchJobs/{id} is accepted too).'),
});

/** Path id → object name: `17` → `bj-17`; a resource id made with kubectl is its own name. */
function objectNameForId(id: string): string | undefined {
  if (isBatchJobId(id)) return objectNameOf(id);
  if (isResourceId(id) && idOfObjectName(id) === undefined) return id;
  return undefined;
}

const MASK_RULES: UpdateMaskRules = { writable: WRITABLE_FIELDS, outputOnly: OUTPUT_ONLY_FIELDS, atomic: ATOMIC_PATHS };

/** JSON with object keys sorted, so equal values compare equal whatever order a client wrote. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

function parseRanks(ranks: string | string[] | undefined): number[] {
  const list = ranks === undefined ? [] : Array.isArray(ranks) ? ranks : [ranks];
  return list.map((r, i) => {
    if (!/^\d{1,10}$/.test(r) || Number(r) > 2 ** 31 - 1) throw invalidArgument(`ranks[${i}]`, 'must be a non-negative int32', 'TYPE');
    return Number(r);
  });
}

class BatchJobs {
  /** Per namespace, the tail of the creates in flight on this replica (see `serialized`). */
  readonly #creates = new Map<string, Promise<void>>();

  constructor(private readonly ctx: ApiContext) {}

  /**
   * Runs the creates of one account one after the other on this replica: concurrent creates would
   * all propose the same next id and retry each other out (k creates cost k² API calls). Across
   * replicas the API server's 409 still arbitrates.
   */
  async serialized<T>(namespace: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#creates.get(namespace) ?? Promise.resolve();
    const run = prev.then(fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#creates.set(namespace, tail);
    void tail.then(() => {
      if (this.#creates.get(namespace) === tail) this.#creates.delete(namespace);
    });
    return run;
  }

  get store(): ResourceStore<CustomObject> {
    return requireStore(this.ctx.stores?.batchJobs, 'batch jobs');
  }

  notFound(accountId: string, id: string): unknown {
    return notFound(RESOURCE_TYPE, batchJobName(accountId, id));
  }

  kubeError(e: unknown, accountId: string, id: string, op: 'create' | 'update' | 'get' | 'delete'): unknown {
    return fromKubeError(e, { resourceType: RESOURCE_TYPE, name: batchJobName(accountId, id), op });
  }

  async load(accountId: string, id: string, fresh = false): Promise<CustomObject> {
    const name = objectNameForId(id);
    const store = this.store;
    if (name === undefined) throw this.notFound(accountId, id);
    return loadObject(store, accountNamespace(accountId), name, {
      fresh,
      kubeError: (e) => this.kubeError(e, accountId, id, 'get'),
      missing: () => this.notFound(accountId, id),
    });
  }

  /** The node pool (and environment) a job names must exist in the account. */
  async checkReferences(accountId: string, spec: Record<string, unknown>): Promise<void> {
    const ns = accountNamespace(accountId);
    const refs: [string, 'nodePools' | 'environments', string][] = [['nodePoolId', 'nodePools', 'nodePool']];
    if (typeof spec.environmentId === 'string') refs.push(['environmentId', 'environments', 'environment']);
    for (const [field, collection, type] of refs) {
      const store = this.ctx.stores?.[collection];
      if (!store) throw unavailable(`${collection} need a Kubernetes cluster; this API server runs without one`);
      const id = spec[field] as string;
      const found = await store.get(ns, id).catch((e: unknown) => {
        throw fromKubeError(e, { resourceType: type, name: `accounts/${accountId}/clusters/${CLUSTER_ID}/${collection}/${id}`, op: 'get' });
      });
      if (!found) throw invalidArguments([{ field, description: `${type} "accounts/${accountId}/clusters/${CLUSTER_ID}/${collection}/${id}" not found`, reason: 'NOT_FOUND' }]);
    }
  }

  async create(accountId: string, body: Record<string, unknown>, createdBy: string): Promise<Record<string, unknown>> {
    const spec = specFromWire(body);
    parseOrThrow(BatchJobSpec, spec);
    const store = this.store;
    await this.checkReferences(accountId, spec);
    const ns = accountNamespace(accountId);
    await this.ctx.ensureNamespace?.(accountId);
    return this.serialized(ns, () => this.createWithFreshId(store, { accountId, namespace: ns, spec, createdBy }));
  }

  /** Creates the job under the next free id: one more than the cache's largest, or past a 409. */
  async createWithFreshId(store: ResourceStore<CustomObject>, job: { accountId: string; namespace: string; spec: Record<string, unknown>; createdBy: string }): Promise<Record<string, unknown>> {
    const { accountId, namespace: ns } = job;
    let candidate = 0n;
    for (let attempt = 0; attempt < MAX_ID_ATTEMPTS; attempt++) {
      const fromCache = BigInt(nextBatchJobId(store.list(ns)));
      candidate = fromCache > candidate ? fromCache : candidate;
      const id = String(candidate);
      try {
        return toWire(await store.create(newBatchJobObject({ ...job, id })), accountId);
      } catch (e) {
        if (statusCodeOf(e) !== 409) throw this.kubeError(e, accountId, id, 'create');
        candidate += 1n;
      }
    }
    throw unavailable('could not assign a batch job id: too many concurrent creates; retry');
  }

  async update(accountId: string, id: string, body: Record<string, unknown>, updateMask: string | undefined): Promise<Record<string, unknown>> {
    const mask = updatePaths(body, updateMask, MASK_RULES);
    const patch = specFromWire(body);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.load(accountId, id, attempt > 0);
      if (mask.length === 0) return toWire(cur, accountId);
      const spec = applyFieldMask(cur.spec, patch, mask);
      const changed = WRITABLE_FIELDS.filter((f) => !MUTABLE_FIELDS.includes(f) && canonical(spec[f]) !== canonical(cur.spec[f]));
      if (changed.length > 0) {
        throw invalidArguments(changed.map((f) => ({ field: f, description: `cannot be changed after create (only ${MUTABLE_FIELDS.join(', ')} can)`, reason: 'IMMUTABLE' })));
      }
      parseOrThrow(BatchJobSpec, spec);
      try {
        return toWire(await this.store.replace({ ...cur, spec }), accountId);
      } catch (e) {
        if (statusCodeOf(e) === 409 && attempt < 3) continue;
        throw this.kubeError(e, accountId, id, 'update');
      }
    }
  }

  async delete(accountId: string, id: string): Promise<void> {
    const cur = await this.load(accountId, id);
    try {
      if (!(await this.store.delete(accountNamespace(accountId), cur.metadata.name))) throw this.notFound(accountId, id);
    } catch (e) {
      throw this.kubeError(e, accountId, id, 'delete');
    }
  }

  async cancel(accountId: string, id: string): Promise<void> {
    const cur = await this.load(accountId, id);
    const state = wireState(cur);
    if (state === 'CANCELLING') return;
    if (!CANCELLABLE_STATES.includes(state)) {
      throw failedPrecondition(`batch job "${batchJobName(accountId, id)}" is ${state}; only ${CANCELLABLE_STATES.join(', ')} jobs can be cancelled`, 'ERR_NOT_CANCELLABLE');
    }
    const annotations = { [JOB_ANNOTATIONS.cancelRequested]: iso(this.ctx.now()) };
    await this.store.mergePatch(accountNamespace(accountId), cur.metadata.name, { metadata: { annotations } }).catch((e: unknown) => {
      throw this.kubeError(e, accountId, id, 'update');
    });
  }

  /**
   * Lines of the job's ranks. No controller runs batch jobs yet, so there are no lines to give:
   * the answer is honest — no entries — with a token that marks "now", so a client polling for
   * new lines can keep asking. Parameters are validated exactly as they would be with lines.
   */
  async getLogs(accountId: string, id: string, q: z.infer<typeof GetLogsQuery>, codec: PageTokenCodec): Promise<Record<string, unknown>> {
    const cur = await this.load(accountId, id);
    parsePageSize(q.pageSize, { defaultSize: LOGS_DEFAULT_PAGE_SIZE, maxSize: LOGS_MAX_PAGE_SIZE });
    const ranks = parseRanks(q.ranks);
    if (q.startTime !== undefined) parseTimestamp(q.startTime, 'startTime');
    parseFieldMask(q.readMask, 'readMask', ['logTime', 'message', 'rank']);
    const binding = {
      parent: batchJobName(accountId, idOfObjectName(cur.metadata.name) ?? id),
      ranks: ranks.join(','),
      filter: q.filter,
      startTime: q.startTime,
      startFromHead: q.startFromHead ?? false,
    };
    const after = q.pageToken ? codec.decode(q.pageToken, binding) : undefined;
    const position = typeof after?.[0] === 'string' ? after[0] : iso(this.ctx.now());
    return { entries: [], nextPageToken: codec.encode([position], binding) };
  }

  /** All or nothing: every name must be a batch job of the account before any is deleted. */
  async batchDelete(accountId: string, names: string[]): Promise<void> {
    const store = this.store;
    const ns = accountNamespace(accountId);
    const targets: { id: string; wire: string }[] = [];
    names.forEach((n, i) => {
      const parsed = parseClusterScopedName(n, accountId, COLLECTION);
      if (parsed === undefined) {
        throw invalidArgument(`names[${i}]`, `must be a batch job name: accounts/{account}/clusters/{cluster}/${COLLECTION}/{id}`, 'FORMAT');
      }
      // Another account's job, another cluster's, or an id no job can have: all read as not found.
      if ('foreign' in parsed || objectNameForId(parsed.id) === undefined) throw notFound(RESOURCE_TYPE, n);
      targets.push({ id: parsed.id, wire: n });
    });
    const objects: CustomObject[] = [];
    for (const t of targets) {
      const obj = await store.get(ns, objectNameForId(t.id)!).catch((e: unknown) => {
        throw this.kubeError(e, accountId, t.id, 'get');
      });
      if (!obj) throw notFound(RESOURCE_TYPE, t.wire);
      objects.push(obj);
    }
    const unique = [...new Set(objects.map((o) => o.metadata.name))];
    await Promise.all(
      unique.map((name) =>
        store.delete(ns, name).catch((e: unknown) => {
          throw this.kubeError(e, accountId, idOfObjectName(name) ?? name, 'delete');
        }),
      ),
    );
  }

  list(accountId: string, q: z.infer<typeof ListQuery>, codec: PageTokenCodec): Record<string, unknown> {
    const all = this.store.list(accountNamespace(accountId)).map((o) => toWire(o, accountId));
    const page = listPage(all, q, { binding: { parent: `accounts/${accountId}/${COLLECTION}` }, codec, defaultOrderBy: 'createTime desc' });
    return listResponse(COLLECTION, page.items.map((d) => masked(d, q.readMask)), page);
  }
}

const tags = ['BatchJobs'];

const batchJobs: FastifyPluginAsyncZod = async (app) => {
  const svc = new BatchJobs(app.hearth);

  app.get('/accounts/:accountId/batchJobs', {
    schema: {
      summary: 'List Batch Jobs',
      description: 'Default order: createTime desc.',
      tags,
      operationId: 'Gateway_ListBatchJobs',
      params: AccountParams,
      querystring: ListQuery,
      response: { 200: listResponseSchema(COLLECTION, BatchJobResponse), ...errorResponses },
    },
    handler: async (request) => svc.list(request.params.accountId, request.query, app.hearth.pageTokens),
  });

  app.post('/accounts/:accountId/batchJobs', {
    schema: {
      summary: 'Create Batch Job',
      description: 'The server assigns the numeric id. nodePoolId (and environmentId, when set) must name objects of the account.',
      tags,
      operationId: 'Gateway_CreateBatchJob',
      params: AccountParams,
      body: CreateBatchJobBody,
      response: { 200: BatchJobResponse, ...errorResponses },
    },
    handler: async (request) => svc.create(request.params.accountId, request.body as Record<string, unknown>, request.principal.email),
  });

  app.post('/accounts/:accountId/batchJobs::batchDelete', {
    schema: {
      summary: 'Batch Delete Batch Jobs',
      description: 'All or nothing: if a name is malformed (400) or not a batch job of the account (404, naming the first), nothing is deleted.',
      tags,
      operationId: 'Gateway_BatchDeleteBatchJobs',
      params: AccountParams,
      body: BatchDeleteBody,
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      await svc.batchDelete(request.params.accountId, request.body.names);
      return {};
    },
  });

  app.get(`/accounts/:accountId/batchJobs/${ID}`, {
    schema: {
      summary: 'Get Batch Job',
      tags,
      operationId: 'Gateway_GetBatchJob',
      params: BatchJobParams,
      querystring: ReadMaskQuery,
      response: { 200: BatchJobResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, batchJobId } = request.params;
      return masked(toWire(await svc.load(accountId, batchJobId), accountId), request.query.readMask);
    },
  });

  app.patch(`/accounts/:accountId/batchJobs/${ID}`, {
    schema: {
      summary: 'Update Batch Job',
      description: `The update mask is the set of fields in the body (or updateMask). Only ${MUTABLE_FIELDS.join(', ')} can change after create.`,
      tags,
      operationId: 'Gateway_UpdateBatchJob',
      params: BatchJobParams,
      querystring: UpdateMaskQuery,
      body: UpdateBatchJobBody,
      response: { 200: BatchJobResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, batchJobId } = request.params;
      return svc.update(accountId, batchJobId, request.body as Record<string, unknown>, request.query.updateMask);
    },
  });

  app.delete(`/accounts/:accountId/batchJobs/${ID}`, {
    schema: {
      summary: 'Delete Batch Job',
      tags,
      operationId: 'Gateway_DeleteBatchJob',
      params: BatchJobParams,
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      await svc.delete(request.params.accountId, request.params.batchJobId);
      return {};
    },
  });

  app.post(`/accounts/:accountId/batchJobs/${ID}::cancel`, {
    schema: {
      summary: 'Cancel Batch Job',
      description: 'Cancels a job that is creating, queued, pending or running (it reads CANCELLING until it stops); a finished job answers FAILED_PRECONDITION.',
      tags,
      operationId: 'Gateway_CancelBatchJob',
      params: BatchJobParams,
      body: z.strictObject({}).optional(),
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      await svc.cancel(request.params.accountId, request.params.batchJobId);
      return {};
    },
  });

  app.get(`/accounts/:accountId/batchJobs/${ID}::getLogs`, {
    schema: {
      summary: 'Get Batch Job Logs',
      description: 'No controller runs batch jobs yet: the answer has no entries and a nextPageToken to poll with.',
      tags,
      operationId: 'Gateway_GetBatchJobLogs',
      params: BatchJobParams,
      querystring: GetLogsQuery,
      response: { 200: GetLogsResponse, ...errorResponses },
    },
    handler: async (request) => svc.getLogs(request.params.accountId, request.params.batchJobId, request.query, app.hearth.pageTokens),
  });
};

export default batchJobs;
