// Fireworks `NodePool` (wire) ⇄ `nodepools.hearth.dev` custom object, and the NodePoolStats Hearth
// can compute from its caches.
//
// - Names: `accounts/{a}/clusters/{c}/nodePools/{p}` on the wire, while URLs omit the cluster
//   segment. Hearth manages one cluster per installation, whose id is CLUSTER_ID (`default`);
//   batch jobs and environments use the same id.
// - The spec holds the writable Fireworks fields under their Fireworks names; the wire resource adds
//   the output-only `name`, `createTime`, `updateTime`, `state`, `status` and `nodePoolStats`.
//   Output-only fields are accepted and ignored on input (AIP-203); unknown fields are rejected.
// - State: the controller's `status.state`; CREATING until it reports; DELETING while the object is
//   being removed (deletionTimestamp).
// - Stats: what the controller reports for the nodes (`status.nodePoolStats.nodeCount`,
//   `ranksPerNode`), else 0 nodes and the ranks of the spec's simulated machine (its GPUs, 1 for a
//   CPU machine: src/fleet/pool-ranks.ts); environments and batch jobs are counted from the
//   caches (see computeNodePoolStats).
import { z } from 'zod';
import { Status } from '../../crds/common.js';
import { API_VERSION, LABELS } from '../../crds/group.js';
import { NodePoolSpecFields, NodePoolState, NodePoolStats } from '../../crds/node-pool.js';
import type { CustomObject } from '../kube/kind-client.js';
import { invalidArgument, notFound } from '../wire/errors.js';
import { omitUnset } from '../wire/omit.js';
import { isResourceId } from '../wire/resource-names.js';
import { rfc3339 } from '../../util/rfc3339.js';
import { ranksPerNode as poolRanksPerNode } from '../../fleet/pool-ranks.js';

export const COLLECTION = 'nodePools';

/** The id of the one cluster Hearth manages, in `accounts/{a}/clusters/{c}/…` names. */
export const CLUSTER_ID = 'default';

/** `accounts/{a}/clusters/default/nodePools/{p}`. */
export function nodePoolName(accountId: string, id: string): string {
  return `accounts/${accountId}/clusters/${CLUSTER_ID}/${COLLECTION}/${id}`;
}

// ---- wire schemas --------------------------------------------------------------------------------

const timestampOut = z.string().describe('RFC 3339 timestamp.');

const OUTPUT_ONLY = {
  name: z.string().describe('Output only. accounts/{account}/clusters/{cluster}/nodePools/{node_pool}.'),
  createTime: timestampOut.describe('Output only. Creation time.'),
  updateTime: timestampOut.describe('Output only. Last update time.'),
  state: NodePoolState.describe('Output only. The state of the node pool.'),
  status: Status.describe('Output only. Details of the last failed operation.'),
  nodePoolStats: NodePoolStats.describe('Output only. Live statistics of the node pool.'),
};
export const OUTPUT_ONLY_FIELDS: readonly string[] = Object.keys(OUTPUT_ONLY);

const WRITABLE = NodePoolSpecFields.shape;
export const WRITABLE_FIELDS: readonly string[] = Object.keys(WRITABLE);

const ignoredOnInput = Object.fromEntries(
  Object.entries(OUTPUT_ONLY).map(([k, v]) => [k, z.unknown().optional().describe(`${v.description ?? ''} Ignored on input.`)]),
) as Record<keyof typeof OUTPUT_ONLY, z.ZodOptional<z.ZodUnknown>>;

/** The node pool inside a create body. */
export const NodePoolInput = z.strictObject({ ...WRITABLE, ...ignoredOnInput }).describe('The properties of the node pool being created.');

/** POST body: the `{nodePool, nodePoolId}` wrapper (both required). */
export const CreateNodePoolBody = z
  .strictObject({
    nodePool: NodePoolInput,
    nodePoolId: z.string().describe('The node pool id to use in the node pool name, e.g. my-pool.'),
  })
  .describe('The node pool to create and its id.');

/** PATCH body: any subset of the resource. */
export const UpdateNodePoolBody = z
  .strictObject({ ...WRITABLE, ...ignoredOnInput })
  .partial()
  .describe('The fields to change; the update mask is the set of fields present (or `updateMask`).');

/** The resource as the API returns it. */
export const NodePoolResponse = z
  .object({ ...WRITABLE, ...Object.fromEntries(Object.entries(OUTPUT_ONLY).map(([k, v]) => [k, v.optional()])) })
  .partial()
  .describe('A Fireworks NodePool.');

/** `:getStats` response. */
export const NodePoolStatsResponse = NodePoolStats;

/** `:batchDelete` body (node pools and environments alike). */
export const BatchDeleteBody = z
  .strictObject({ names: z.array(z.string().max(512)).min(1).max(1000).describe('Full resource names of the resources to delete.') })
  .describe('The resources to delete.');

/** Paths of PATCH masks replaced as a whole (maps, oneof messages). */
export const ATOMIC_PATHS = ['annotations', 'eksNodePool', 'fakeNodePool'] as const;

// ---- object → wire -------------------------------------------------------------------------------

export function isoOf(v: unknown): string | undefined {
  if (v instanceof Date) return rfc3339(v);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function wireState(obj: CustomObject): z.infer<typeof NodePoolState> {
  if (obj.metadata.deletionTimestamp !== undefined) return 'DELETING';
  const reported = obj.status?.state as z.infer<typeof NodePoolState> | undefined;
  if (!reported || reported === 'STATE_UNSPECIFIED') return 'CREATING';
  return reported;
}

export type NodePoolStatsWire = z.infer<typeof NodePoolStats>;

/** What the stats are computed from: the account's cached environments and batch jobs. */
export interface StatsSources {
  environments: readonly CustomObject[];
  /** Undefined when the API has no batch-job cache: batch jobs then count as none. */
  batchJobs?: readonly CustomObject[];
  /** The same objects grouped by the node pool they reference (indexStatsSources), for lists. */
  byPool?: ReadonlyMap<string, { environments: CustomObject[]; batchJobs: CustomObject[] }>;
}

function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

function ranksPerNode(obj: CustomObject): number | undefined {
  const reported = int((obj.status?.nodePoolStats as Record<string, unknown> | undefined)?.ranksPerNode);
  if (reported !== undefined) return reported;
  // Before the controller reports: what the spec's simulated machine gives (src/fleet/pool-ranks.ts).
  return poolRanksPerNode(obj.spec as Parameters<typeof poolRanksPerNode>[0]);
}

function connectionOf(env: CustomObject): { nodePoolId?: string; numRanks?: number } | undefined {
  // The requested connection (what :connect wrote) claims ranks from the moment it is requested;
  // the observed one (the controller's) counts while the request is gone but not yet released.
  return (env.spec.connection ?? env.status?.connection) as { nodePoolId?: string; numRanks?: number } | undefined;
}

/** Groups the sources by node pool once, so a list computes every pool's stats in one pass. */
export function indexStatsSources(sources: StatsSources): StatsSources {
  const byPool = new Map<string, { environments: CustomObject[]; batchJobs: CustomObject[] }>();
  const entry = (id: string): { environments: CustomObject[]; batchJobs: CustomObject[] } => {
    let e = byPool.get(id);
    if (!e) byPool.set(id, (e = { environments: [], batchJobs: [] }));
    return e;
  };
  for (const env of sources.environments) {
    const id = connectionOf(env)?.nodePoolId;
    if (typeof id === 'string') entry(id).environments.push(env);
  }
  for (const job of sources.batchJobs ?? []) if (typeof job.spec.nodePoolId === 'string') entry(job.spec.nodePoolId).batchJobs.push(job);
  return { ...sources, byPool };
}

/** NodePoolStats of pool `id` from the node pool object and the environments/batch jobs referencing it. */
export function computeNodePoolStats(obj: CustomObject, sources: StatsSources): NodePoolStatsWire {
  const id = obj.metadata.name;
  const reported = (obj.status?.nodePoolStats ?? {}) as Record<string, unknown>;
  const mine = sources.byPool ? (sources.byPool.get(id) ?? { environments: [], batchJobs: [] }) : sources;
  let environmentCount = 0;
  let environmentRanks = 0;
  for (const env of mine.environments) {
    const c = connectionOf(env);
    if (c?.nodePoolId !== id) continue;
    environmentCount++;
    environmentRanks += int(c.numRanks) ?? 1;
  }
  const batchJobCount: Record<string, number> = {};
  const batchJobRanks: Record<string, number> = {};
  for (const job of mine.batchJobs ?? []) {
    if (job.spec.nodePoolId !== id) continue;
    const reportedState = job.status?.state as string | undefined;
    const state = job.metadata.deletionTimestamp !== undefined ? 'DELETING' : !reportedState || reportedState === 'STATE_UNSPECIFIED' ? 'CREATING' : reportedState;
    batchJobCount[state] = (batchJobCount[state] ?? 0) + 1;
    batchJobRanks[state] = (batchJobRanks[state] ?? 0) + (int(job.spec.numRanks) ?? 1);
  }
  const stats: NodePoolStatsWire = {
    nodeCount: int(reported.nodeCount) ?? 0,
    environmentCount,
    environmentRanks,
    batchJobCount,
    batchJobRanks,
  };
  const perNode = ranksPerNode(obj);
  if (perNode !== undefined) stats.ranksPerNode = perNode;
  // proto3 JSON: empty maps are left out; the counts stay, 0 included.
  return omitUnset(stats);
}

/** The wire resource for a custom object of account `accountId`. */
export function toWire(obj: CustomObject, accountId: string, sources: StatsSources): Record<string, unknown> {
  const status = obj.status ?? {};
  const createTime = isoOf(obj.metadata.creationTimestamp);
  const stats = computeNodePoolStats(obj, sources);
  return {
    ...omitUnset({
      name: nodePoolName(accountId, obj.metadata.name),
      ...structuredClone(obj.spec),
      createTime,
      updateTime: isoOf(status.updateTime) ?? createTime,
      state: wireState(obj),
      status: status.status,
    }),
    nodePoolStats: stats,
  };
}

// ---- wire → object -------------------------------------------------------------------------------

/** The writable part of a wire body (output-only fields dropped). */
export function specFromWire(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (!OUTPUT_ONLY_FIELDS.includes(k) && v !== undefined) out[k] = v;
  return out;
}

/** The custom object for a new node pool (spec as the user wrote it: the API server defaults it). */
export function newNodePoolObject(args: { accountId: string; namespace: string; id: string; spec: Record<string, unknown> }): CustomObject {
  return {
    apiVersion: API_VERSION,
    kind: 'NodePool',
    metadata: { name: args.id, namespace: args.namespace, labels: { [LABELS.account]: args.accountId } },
    spec: args.spec,
  };
}

/**
 * Parses a `:batchDelete` name of `collection` in account `accountId`: the full name
 * `accounts/{a}/clusters/{c}/<collection>/{id}` or the URL form `accounts/{a}/<collection>/{id}`.
 * Returns the id, `{foreign: true}` for a well-formed name of another account or cluster (it must
 * read as missing), or undefined when the name is malformed.
 */
export function parseClusterScopedName(name: string, accountId: string, collection: string): { id: string } | { foreign: true } | undefined {
  const parts = name.split('/');
  let a: string | undefined;
  let c: string = CLUSTER_ID;
  let id: string | undefined;
  if (parts.length === 6 && parts[0] === 'accounts' && parts[2] === 'clusters' && parts[4] === collection) {
    [, a, , c = '', , id] = parts;
  } else if (parts.length === 4 && parts[0] === 'accounts' && parts[2] === collection) {
    [, a, , id] = parts;
  } else return undefined;
  if (!a || !c || !id) return undefined;
  if (a !== accountId || c !== CLUSTER_ID) return { foreign: true };
  return { id };
}

/**
 * The ids named by a `:batchDelete` body, in order and without repeats. A malformed name is
 * INVALID_ARGUMENT naming `names[i]`; another account's or cluster's name is NOT_FOUND (it must
 * read exactly as a missing one).
 */
export function batchDeleteIds(names: readonly string[], accountId: string, collection: string, resourceType: string): { id: string; name: string }[] {
  const out: { id: string; name: string }[] = [];
  const seen = new Set<string>();
  names.forEach((name, i) => {
    const parsed = parseClusterScopedName(name, accountId, collection);
    if (parsed === undefined || ('id' in parsed && !isResourceId(parsed.id))) {
      throw invalidArgument(`names[${i}]`, `must be a resource name of the form accounts/{account}/clusters/{cluster}/${collection}/{id}`, 'FORMAT');
    }
    if ('foreign' in parsed) throw notFound(resourceType, name);
    if (seen.has(parsed.id)) return;
    seen.add(parsed.id);
    out.push({ id: parsed.id, name });
  });
  return out;
}
