// Batch jobs: the `batchjobs.hearth.dev` objects of the account's namespace, plus `:cancel` and
// `:getLogs`. Ids are numeric and assigned by the service: one more than the account's largest,
// created with the API server as the arbiter (service.ts, numbered ids). Object names are `bj-<id>`;
// one made with kubectl under another name keeps that name as its id. See mappers/batch-job.ts.

import { BatchJobSpec } from '../../crds/batch-job.js';
import type { ApiContext } from '../context.js';
import { fromKubeError } from '../kube/errors.js';
import { accountNamespace } from '../kube/namespaces.js';
import type { CustomObject } from '../kube/kind-client.js';
import {
  ATOMIC_PATHS,
  CANCELLABLE_STATES,
  CLUSTER_ID,
  COLLECTION,
  JOB_ANNOTATIONS,
  MUTABLE_FIELDS,
  OUTPUT_ONLY_FIELDS,
  REFERENCES,
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
import { requestedConnection } from '../mappers/environment.js';
import { parseClusterScopedName } from '../mappers/node-pool.js';
import { parseOrThrow } from '../validation.js';
import { failedPrecondition, fieldNotFound, invalidArgument, invalidArguments, notFound, permissionDenied, unavailable } from '../wire/errors.js';
import { parseFieldMask } from '../wire/field-mask.js';
import { parsePageSize } from '../wire/pagination.js';
import { isResourceId } from '../wire/resource-names.js';
import { parseTimestamp } from '../wire/timestamp.js';
import { CollectionService, type BatchTarget, type CollectionKind, type Draft } from './service.js';
import { rfc3339 as iso } from '../../util/rfc3339.js';
import { isBoundToNodePool } from '../../db/repositories/node-pool-bindings.js';
import { environmentAccessMessage, mayUseEnvironment } from '../../fleet/environment-access.js';
import { numRanksProblem } from '../../fleet/pool-ranks.js';
import type { LineCursor } from '../../db/repositories/batch-job-logs.js';
import { readJobLogs } from './batch-job-logs.js';

const RESOURCE_TYPE = 'batchJob';
const LOGS_DEFAULT_PAGE_SIZE = 100;
const LOGS_MAX_PAGE_SIZE = 10_000;

/** `:getLogs` query, as the route validated it. */
export interface GetLogsQuery {
  ranks?: string | string[];
  pageSize?: number;
  pageToken?: string;
  filter?: string;
  readMask?: string;
  startTime?: string;
  startFromHead?: boolean;
}

/** Path id → object name: `17` → `bj-17`; a resource id made with kubectl is its own name. */
function objectNameForId(id: string): string | undefined {
  if (isBatchJobId(id)) return objectNameOf(id);
  if (isResourceId(id) && idOfObjectName(id) === undefined) return id;
  return undefined;
}

/** Full names (or the URL form) of the account's jobs; all or nothing, repeats collapse. */
function batchTargets(names: readonly string[], accountId: string): BatchTarget[] {
  const out = new Map<string, BatchTarget>();
  names.forEach((n, i) => {
    const parsed = parseClusterScopedName(n, accountId, COLLECTION);
    if (parsed === undefined) {
      throw invalidArgument(`names[${i}]`, `must be a batch job name: accounts/{account}/clusters/{cluster}/${COLLECTION}/{id}`, 'FORMAT');
    }
    // Another account's job, another cluster's, or an id no job can have: all read as not found.
    if ('foreign' in parsed || objectNameForId(parsed.id) === undefined) throw notFound(RESOURCE_TYPE, n);
    if (!out.has(parsed.id)) out.set(parsed.id, { id: parsed.id, name: n });
  });
  return [...out.values()];
}

/** JSON with object keys sorted, so equal values compare equal whatever order a client wrote. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

/** The line position a page token holds; a token of another shape reads as no position. */
function cursorOf(v: unknown[] | undefined): LineCursor | undefined {
  if (!v || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= -1)) return undefined;
  return v as LineCursor;
}

function parseRanks(ranks: string | string[] | undefined): number[] {
  const list = ranks === undefined ? [] : Array.isArray(ranks) ? ranks : [ranks];
  return list.map((r, i) => {
    if (!/^\d{1,10}$/.test(r) || Number(r) > 2 ** 31 - 1) throw invalidArgument(`ranks[${i}]`, 'must be a non-negative int32', 'TYPE');
    return Number(r);
  });
}

export const BATCH_JOBS: CollectionKind<CustomObject> = {
  collection: COLLECTION,
  resourceType: RESOURCE_TYPE,
  plural: 'batch jobs',
  idField: 'batchJobId',
  references: REFERENCES,
  client: (ctx) => ctx.kinds?.batchJobs,
  strictPathIds: false,
  objectName: objectNameForId,
  fullName: batchJobName,
  notFound: (accountId, id) => notFound(RESOURCE_TYPE, batchJobName(accountId, id)),
  toWire,
  specFromWire,
  newObject: newBatchJobObject,
  spec: BatchJobSpec,
  updateMask: { writable: WRITABLE_FIELDS, outputOnly: OUTPUT_ONLY_FIELDS, atomic: ATOMIC_PATHS },
  defaultOrderBy: 'createTime desc',
  assignIds: { next: nextBatchJobId, noun: 'batch job' },
  batchTargets,
  batchDeleteConcurrently: true,
};

export class BatchJobs extends CollectionService<CustomObject> {
  constructor(ctx: ApiContext) {
    super(ctx, BATCH_JOBS);
  }

  /**
   * What a job names is checked before it is stored (the BatchJob controller checks the same for
   * objects written with kubectl and fails them naming the field): the node pool (and environment)
   * must exist in the account (404 naming the field; another account's reads as missing) and the
   * pool not be being deleted; the caller must be allowed on the pool (an admin, or bound to it:
   * issue 13 item 2) and in the environment (its creator, anyone when it is `shared`, admins:
   * src/fleet/environment-access.ts); `numRanks` must fit the pool (src/fleet/pool-ranks.ts); the
   * environment must not be connected to another pool.
   */
  protected override async prepareCreate(draft: Draft): Promise<void> {
    void this.client; // UNAVAILABLE without a cluster, before the references are looked at
    const { accountId, spec } = draft;
    const pool = await this.#reference(accountId, POOL_REF, spec.nodePoolId as string);
    const env = typeof spec.environmentId === 'string' ? await this.#reference(accountId, ENVIRONMENT_REF, spec.environmentId) : undefined;
    const poolId = spec.nodePoolId as string;
    const poolName = `accounts/${accountId}/clusters/${CLUSTER_ID}/nodePools/${poolId}`;
    if (pool.metadata.deletionTimestamp !== undefined) throw failedPrecondition(`nodePoolId: node pool "${poolName}" is being deleted`, 'ERR_NODE_POOL_DELETING');
    if (!draft.admin && !(await isBoundToNodePool(this.ctx.db, accountId, poolId, draft.createdBy))) {
      throw permissionDenied(`nodePoolId: ${draft.createdBy} may not run batch jobs on node pool "${poolName}": no node pool binding (ask an account admin to bind you)`);
    }
    const numRanks = (draft.parsed as { numRanks?: number }).numRanks ?? 1;
    const tooMany = numRanksProblem(numRanks, poolName, pool.spec as Parameters<typeof numRanksProblem>[2]);
    if (tooMany) throw invalidArgument('numRanks', tooMany, 'TOO_MANY_RANKS');
    if (env) checkEnvironment(draft, env, poolId);
  }

  /** The account's object `id` the reference names, or 404 naming its field. */
  async #reference(accountId: string, { field, collection, type }: Reference, id: string): Promise<CustomObject> {
    const client = this.ctx.kinds?.[collection];
    if (!client) throw unavailable(`${collection} need a Kubernetes cluster; this API server runs without one`);
    const name = `accounts/${accountId}/clusters/${CLUSTER_ID}/${collection}/${id}`;
    const found = await client.get(accountNamespace(accountId), id).catch((e: unknown) => {
      throw fromKubeError(e, { resourceType: type, name, op: 'get' });
    });
    if (!found) throw fieldNotFound(field, type, name);
    return found;
  }

  /** Only MUTABLE_FIELDS may differ from the job's (sending the whole job back unchanged is fine). */
  protected override async checkUpdate(_accountId: string, _id: string, cur: CustomObject, spec: Record<string, unknown>): Promise<void> {
    const changed = WRITABLE_FIELDS.filter((f) => !MUTABLE_FIELDS.includes(f) && canonical(spec[f]) !== canonical(cur.spec[f]));
    if (changed.length > 0) {
      throw invalidArguments(changed.map((f) => ({ field: f, description: `cannot be changed after create (only ${MUTABLE_FIELDS.join(', ')} can)`, reason: 'IMMUTABLE' })));
    }
    parseOrThrow(BatchJobSpec, spec);
  }

  override async batchDelete(accountId: string, names: readonly string[]): Promise<void> {
    void this.client; // UNAVAILABLE without a cluster, before the names are looked at
    await super.batchDelete(accountId, names);
  }

  async cancel(accountId: string, id: string): Promise<void> {
    const cur = await this.load(accountId, id);
    const state = wireState(cur);
    if (state === 'CANCELLING') return;
    if (!CANCELLABLE_STATES.includes(state)) {
      throw failedPrecondition(`batch job "${batchJobName(accountId, id)}" is ${state}; only ${CANCELLABLE_STATES.join(', ')} jobs can be cancelled`, 'ERR_NOT_CANCELLABLE');
    }
    await this.annotate(accountId, id, cur.metadata.name, { [JOB_ANNOTATIONS.cancelRequested]: iso(this.ctx.now()) });
  }

  /**
   * Lines of the job's ranks: archived ranks from PostgreSQL, running ones from their pods
   * (batch-job-logs.ts). The page token holds the last line's position and is bound to every other
   * parameter; with fewer lines than asked it still comes back, so a client polling for new lines
   * (startFromHead) keeps asking from where it is.
   */
  async getLogs(accountId: string, id: string, q: GetLogsQuery): Promise<Record<string, unknown>> {
    const cur = await this.load(accountId, id);
    const pageSize = parsePageSize(q.pageSize, { defaultSize: LOGS_DEFAULT_PAGE_SIZE, maxSize: LOGS_MAX_PAGE_SIZE });
    const ranks = parseRanks(q.ranks);
    const since = q.startTime !== undefined ? parseTimestamp(q.startTime, 'startTime') : undefined;
    const mask = parseFieldMask(q.readMask, 'readMask', ['logTime', 'message', 'rank']);
    const headFirst = q.startFromHead ?? false;
    const binding = {
      parent: batchJobName(accountId, idOfObjectName(cur.metadata.name) ?? id),
      ranks: ranks.join(','),
      filter: q.filter,
      startTime: q.startTime,
      startFromHead: headFirst,
    };
    const codec = this.ctx.pageTokens;
    const after = q.pageToken ? cursorOf(codec.decode(q.pageToken, binding)) : undefined;
    const page = await readJobLogs(this.ctx.db, this.ctx.podLogs, {
      namespace: cur.metadata.namespace ?? accountNamespace(accountId),
      name: cur.metadata.name,
      uid: String(cur.metadata.uid ?? ''),
      ranks,
      numRanks: typeof cur.spec.numRanks === 'number' ? cur.spec.numRanks : 1,
      ...(q.filter ? { contains: q.filter } : {}),
      ...(since !== undefined ? { sinceMicros: since.getTime() * 1000 } : {}),
      headFirst,
      ...(after ? { after } : {}),
      pageSize,
    });
    // No line yet: a token from the start (oldest first) or the end (newest first), to poll with.
    const position: LineCursor = page.last ?? after ?? (headFirst ? [-1, -1, -1] : [Number.MAX_SAFE_INTEGER, 0, 0]);
    const entries = mask === undefined ? page.entries : page.entries.map((e) => Object.fromEntries(Object.entries(e).filter(([k]) => mask.includes(k))));
    return { entries, nextPageToken: codec.encode([...position], binding) };
  }

}

interface Reference {
  field: string;
  collection: 'nodePools' | 'environments';
  type: string;
}
const POOL_REF: Reference = { field: 'nodePoolId', collection: 'nodePools', type: 'nodePool' };
const ENVIRONMENT_REF: Reference = { field: 'environmentId', collection: 'environments', type: 'environment' };

/** The caller may use the environment (src/fleet/environment-access.ts) and it is not on another pool. */
function checkEnvironment(draft: Draft, env: CustomObject, poolId: string): void {
  const envName = `accounts/${draft.accountId}/clusters/${CLUSTER_ID}/environments/${env.metadata.name}`;
  const like = { metadata: { annotations: env.metadata.annotations ?? {} }, spec: { shared: env.spec.shared === true } };
  if (!mayUseEnvironment(like, { email: draft.createdBy, role: draft.admin ? 'admin' : 'user' })) throw permissionDenied(`environmentId: ${environmentAccessMessage(envName, like)}`);
  const elsewhere = connectedPool(env);
  if (elsewhere !== undefined && elsewhere !== poolId) {
    throw failedPrecondition(`environmentId: environment "${envName}" is connected to node pool "${elsewhere}", not "${poolId}": run the job on that pool, or disconnect the environment first`, 'ERR_ENVIRONMENT_ON_OTHER_POOL');
  }
}

/**
 * The pool an environment is on or on its way to: the connection requested (`spec.connection`),
 * else the one its status reports while it is connected.
 */
function connectedPool(env: CustomObject): string | undefined {
  const requested = requestedConnection(env)?.nodePoolId;
  if (typeof requested === 'string') return requested;
  const status = (env.status ?? {}) as { state?: string; connection?: { nodePoolId?: string } };
  return ['CONNECTED', 'CONNECTING', 'RECONNECTING'].includes(status.state ?? '') ? status.connection?.nodePoolId : undefined;
}
