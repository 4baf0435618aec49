// Node pools: the `nodepools.hearth.dev` objects of the account's namespace, plus `:getStats`.
// Deleting one deletes its bindings (PostgreSQL) and is refused while environments are connected
// to it or batch jobs run on it. See mappers/node-pool.ts for the wire ⇄ object mapping and how the stats are computed.
import { NodePoolSpec } from '../../crds/node-pool.js';
import { NODE_POOL } from '../../crds/registry.js';
import { resolveFakeMachine } from '../../fleet/machine-types.js';
import { BATCH_JOB_DONE_STATES } from '../../fleet/node-pools.js';
import { deleteBindingsOfNodePool } from '../../db/repositories/node-pool-bindings.js';
import type { ApiContext } from '../context.js';
import { accountNamespace } from '../kube/namespaces.js';
import type { CustomObject } from '../kube/kind-client.js';
import { requestedConnection } from '../mappers/environment.js';
import {
  ATOMIC_PATHS,
  COLLECTION,
  OUTPUT_ONLY_FIELDS,
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
import { failedPrecondition, invalidArgument } from '../wire/errors.js';
import { CollectionService, type CollectionKind, type Draft, type Wire } from './service.js';

const RESOURCE_TYPE = 'nodePool';

export const NODE_POOLS: CollectionKind<CustomObject> = {
  collection: COLLECTION,
  resourceType: RESOURCE_TYPE,
  plural: 'node pools',
  idField: 'nodePoolId',
  client: (ctx) => ctx.kinds?.nodePools,
  strictPathIds: true,
  fullName: nodePoolName,
  // No toWire here: NodePools.toWire adds the stats, from the account's environments and batch jobs.
  specFromWire,
  newObject: newNodePoolObject,
  spec: NodePoolSpec,
  registry: NODE_POOL,
  updateMask: { writable: WRITABLE_FIELDS, outputOnly: OUTPUT_ONLY_FIELDS, atomic: ATOMIC_PATHS },
  defaultOrderBy: 'name',
  assignIds: 'random',
  checkIdFreeFirst: true,
  vanishedDeleteOk: true,
  batchTargets: (names, accountId) => batchDeleteIds(names, accountId, COLLECTION, RESOURCE_TYPE),
};

export class NodePools extends CollectionService<CustomObject> {
  constructor(ctx: ApiContext) {
    super(ctx, NODE_POOLS);
  }

  /** Environments and batch jobs of the account, from the caches (an absent cache counts as none). */
  sources(accountId: string): StatsSources {
    const ns = accountNamespace(accountId);
    const batchJobs = this.ctx.kinds?.batchJobs?.list(ns);
    return { environments: this.ctx.kinds?.environments?.list(ns) ?? [], ...(batchJobs ? { batchJobs } : {}) };
  }

  override toWire(obj: CustomObject, accountId: string): Wire {
    return toWire(obj, accountId, this.sources(accountId));
  }

  /** A list groups the sources by pool once instead of scanning them for every pool. */
  protected override listMapper(accountId: string): (obj: CustomObject) => Wire {
    const sources = indexStatsSources(this.sources(accountId));
    return (obj) => toWire(obj, accountId, sources);
  }

  /** A simulated pool must name a machine the fleet catalog has (src/fleet/machine-types.ts): 400 naming the field. */
  protected override async prepareCreate(draft: Draft): Promise<void> {
    checkMachine(draft.parsed, 'nodePool.');
  }

  protected override async checkUpdate(accountId: string, id: string, cur: CustomObject, spec: Record<string, unknown>): Promise<void> {
    await super.checkUpdate(accountId, id, cur, spec);
    checkMachine(spec, '');
  }

  /**
   * FAILED_PRECONDITION while environments are connected (or connecting) to the pool or batch jobs
   * run on it (any state but COMPLETED, FAILED, CANCELLED), naming them. The NodePool controller's
   * finalizer applies the same rule to a kubectl delete (controllers/node-pool/usage.ts).
   */
  protected override checkDeletable(accountId: string, id: string, name: string): void {
    const ns = accountNamespace(accountId);
    const envs = (this.ctx.kinds?.environments?.list(ns) ?? []).filter((env) => requestedConnection(env)?.nodePoolId === id);
    const jobs = (this.ctx.kinds?.batchJobs?.list(ns) ?? []).filter((job) => job.spec.nodePoolId === id && !BATCH_JOB_DONE_STATES.has(String(job.status?.state ?? '')));
    if (envs.length === 0 && jobs.length === 0) return;
    const users = [...envs.map((e) => `environment ${e.metadata.name}`).sort(), ...jobs.map((j) => `batchJob ${j.metadata.name}`).sort()];
    const parts: Array<[number, string, string]> = [
      [envs.length, 'connected environment(s)', 'disconnect the environments'],
      [jobs.length, 'running batch job(s)', 'cancel or wait for the batch jobs'],
    ];
    const present = parts.filter(([n]) => n > 0);
    const what = present.map(([n, w]) => `${n} ${w}`).join(' and ');
    const todo = present.map(([, , t]) => t).join(' and ');
    const listed = users.slice(0, 5).join(', ') + (users.length > 5 ? ', …' : '');
    throw failedPrecondition(`node pool "${name}" is in use by ${what} (${listed}); ${todo} first`, 'ERR_NODE_POOL_IN_USE');
  }

  protected override async afterRemove(accountId: string, id: string): Promise<void> {
    await deleteBindingsOfNodePool(this.ctx.db, accountId, id);
  }

  async stats(accountId: string, id: string): Promise<Record<string, unknown>> {
    return computeNodePoolStats(await this.load(accountId, id), this.sources(accountId));
  }
}

function checkMachine(spec: unknown, prefix: string): void {
  const fake = (spec as { fakeNodePool?: Record<string, unknown> } | undefined)?.fakeNodePool;
  if (!fake) return;
  const r = resolveFakeMachine(fake as Parameters<typeof resolveFakeMachine>[0]);
  if ('field' in r) throw invalidArgument(`${prefix}fakeNodePool.${r.field}`, r.message);
}
