// How a NodePool's nodes are marked, and how a workload (an Environment's pods, a BatchJob's
// pods, an overprovisioning placeholder) lands on them and only on them. One home, so the
// NodePool controller that makes or selects the nodes and the controllers that place pods on them
// agree (issue 13).
//
// A pool's nodes carry two labels — the pool id and its account — and one taint keyed by the pool
// label, so a pod lands on them only when it both selects the pool (nodeSelector) and tolerates
// it. Two accounts may each have a pool called `train`: the account label keeps their pods apart,
// and the taint keeps every other pod (the GPU serving fleet, other pools) off.
import type { V1Toleration } from '@kubernetes/client-node';
import { GROUP } from '../crds/group.js';

export const NODE_POOL_LABELS = {
  /** On a pool's nodes and on the pods placed on them: the pool id. */
  pool: `${GROUP}/node-pool`,
  /** On a pool's nodes: the account that owns the pool. */
  account: `${GROUP}/node-pool-account`,
} as const;

/** The taint on every node of a pool: `hearth.dev/node-pool=<pool id>:NoSchedule`. */
export const NODE_POOL_TAINT_KEY = NODE_POOL_LABELS.pool;

/** Labels every node of the pool carries (nodes Hearth creates, or existing nodes it selects). */
export function nodePoolNodeLabels(account: string, poolId: string): Record<string, string> {
  return { [NODE_POOL_LABELS.pool]: poolId, [NODE_POOL_LABELS.account]: account };
}

/** The taint of the pool's nodes. */
export function nodePoolTaint(poolId: string): { key: string; value: string; effect: 'NoSchedule' } {
  return { key: NODE_POOL_TAINT_KEY, value: poolId, effect: 'NoSchedule' };
}

/** What a pod spec needs to run on the pool's nodes, and nowhere else. */
export function nodePoolScheduling(account: string, poolId: string): { nodeSelector: Record<string, string>; tolerations: V1Toleration[] } {
  return {
    nodeSelector: nodePoolNodeLabels(account, poolId),
    tolerations: [{ key: NODE_POOL_TAINT_KEY, operator: 'Equal', value: poolId, effect: 'NoSchedule' }],
  };
}

/**
 * The label every pod placed on a pool carries (its pool id), beside nodePoolScheduling. The
 * NodePool controller watches pods by this label: a pending pod without it does not make the pool grow.
 */
export function nodePoolPodLabels(poolId: string): Record<string, string> {
  return { [NODE_POOL_LABELS.pool]: poolId };
}

/**
 * BatchJob states in which a job no longer holds anything on its pool. A job in any other state
 * (and an environment with a connection) keeps the pool from being deleted: the REST delete
 * refuses, and the NodePool controller's finalizer waits.
 */
export const BATCH_JOB_DONE_STATES: ReadonlySet<string> = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);
